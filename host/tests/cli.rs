//! The `wa-host` binary as a user runs it.

#[path = "../../tests/support/corpus.rs"]
mod corpus;
mod support;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::test_cache;

fn wa_host(data_dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wa-host"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("WA_CACHE_DIR", test_cache());
    run(cmd, stdin)
}

/// Run `cmd` with no master key or app secret from the environment, `stdin` as its
/// input, and its output collected.
fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .env_remove("WA_MASTER_KEY")
        .env_remove("WA_APP_SECRET")
        .env("WA_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wa-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A failed status from our corpus.
fn fixture_text() -> Vec<u8> {
    corpus::webhook("statuses.json", "failed_undeliverable")
}

#[test]
fn webhook_parse_verifies_then_prints_one_json_line_per_event() {
    let dir = temp_dir("parse");
    let body = fixture_text();
    let sig = whatsapp_guest::core::webhook::sign(b"s3cret", &body);
    let out = wa_host(
        &dir,
        &[
            "webhook",
            "parse",
            "--app-secret",
            "s3cret",
            "--signature",
            &sig,
        ],
        &body,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "status");
    assert_eq!(lines[0]["status"], "failed");
    assert_eq!(lines[0]["errors"][0]["code"], 131026);

    let out = wa_host(
        &dir,
        &[
            "webhook",
            "parse",
            "--app-secret",
            "other",
            "--signature",
            &sig,
        ],
        &body,
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad webhook signature"), "{err}");
    assert!(!err.contains("other"), "the secret leaked: {err}");

    let out = wa_host(
        &dir,
        &["webhook", "parse", "--app-secret", "s3cret"],
        b"{\"entry\": [",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid body"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn webhook_parse_without_a_data_dir_caches_the_compiled_component_under_xdg_cache_home() {
    let xdg = temp_dir("xdg-cache");
    let body = fixture_text();
    let parse = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wa-host"));
        cmd.args(["webhook", "parse", "--app-secret", "s3cret"])
            .env_remove("WA_CACHE_DIR")
            .env_remove("WA_DATA_DIR")
            .env("XDG_CACHE_HOME", &xdg);
        let out = run(cmd, &body);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    parse();
    let cached: Vec<PathBuf> = std::fs::read_dir(xdg.join("wa-host"))
        .expect("the cache directory under XDG_CACHE_HOME")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    // The next run reads that very file: spoilt, it is reported and compiled anew.
    std::fs::write(&cached[0], b"not a precompiled component").unwrap();
    let stderr = parse();
    assert!(
        stderr.contains("ignoring the unreadable cached component"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&xdg);
}

#[test]
fn a_token_given_on_stdin_is_sealed_and_never_printed() {
    let dir = temp_dir("tenant");
    let token = "EAAGm0PX4ZCpsBAPLAINTEXT-TOKEN-7f3a9";
    let app_secret = "app-secret-9c1e77d2";
    let out = wa_host(
        &dir,
        &[
            "tenant",
            "add",
            "acme",
            "--phone-number-id",
            "106540352242922",
            "--waba-id",
            "102290129340398",
            "--token-stdin",
            "--app-secret-stdin",
        ],
        format!("{token}\n{app_secret}\n").as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut printed = out.stdout.clone();
    printed.extend(out.stderr);
    for args in [
        &["tenant", "list"][..],
        &["tenant", "show", "acme"],
        &["events", "list"],
    ] {
        let o = wa_host(&dir, args, b"");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        printed.extend(o.stdout);
        printed.extend(o.stderr);
    }
    let printed = String::from_utf8(printed).unwrap();
    assert!(
        printed.contains("\"has_access_token\":true")
            || printed.contains("\"has_access_token\": true"),
        "{printed}"
    );
    for secret in [token, app_secret] {
        assert!(!printed.contains(secret), "a secret was printed: {printed}");
        for entry in walk(&dir) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds a secret in plaintext",
                entry.display()
            );
        }
    }
    // Adding the same phone number again is refused with a clear message.
    let out = wa_host(
        &dir,
        &[
            "tenant",
            "add",
            "other",
            "--phone-number-id",
            "106540352242922",
            "--waba-id",
            "1",
        ],
        b"",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already belongs to another tenant"));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn the_demo_completes_the_round_trip() {
    let dir = temp_dir("demo");
    let out = wa_host(&dir, &["demo", "--timeout-secs", "60"], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for status in ["sent", "delivered", "read"] {
        assert!(
            stdout.contains(&format!("\"status\":\"{status}\"")),
            "no {status} in {stdout}"
        );
    }
    assert!(stdout.contains("\"type\":\"message\""), "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_logs_nest_graph_requests_in_component_calls_in_webhooks_and_hold_no_secret() {
    let dir = temp_dir("json-logs");
    let out = Command::new(env!("CARGO_BIN_EXE_wa-host"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["--log-format", "json", "demo", "--timeout-secs", "60"])
        .env("WA_CACHE_DIR", test_cache())
        .env("WA_LOG", "warn,whatsapp_host=debug")
        .env_remove("WA_MASTER_KEY")
        .env_remove("WA_APP_SECRET")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("each log line is one JSON object"))
        .collect();
    let names = |l: &serde_json::Value| -> Vec<String> {
        l["spans"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| s["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // A send: its Graph request inside the component call that made it.
    assert!(
        lines.iter().any(|l| names(l) == ["component", "graph"]
            && l["spans"][0]["call"] == "send"
            && l["span"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/messages"))
            && l["fields"]["status"] == 200),
        "{stderr}"
    );
    // A webhook: the tenant's ingest inside the POST.
    assert!(
        lines.iter().any(|l| names(l) == ["webhook", "component"]
            && l["span"]["call"] == "ingest"
            && l["span"]["tenant"] == "demo"),
        "{stderr}"
    );
    for secret in ["EAAS", "sandbox-app-secret", "client_secret", "code="] {
        assert!(!stderr.contains(secret), "{secret} in the logs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `events schema` prints the published JSON Schema, without a data directory to read.
#[test]
fn events_schema_prints_the_published_schema() {
    let dir = temp_dir("schema");
    let out = wa_host(&dir, &["events", "schema"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = include_str!("../schema/events.schema.json");
    assert_eq!(String::from_utf8_lossy(&out.stdout), published);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(!dir.join("wa-host.sqlite3").exists(), "no database made");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_dead_letters_lists_what_forwarding_put_aside_and_a_failed_replay_keeps_it() {
    use whatsapp_host::storage::{Database, NewEvent};
    let dir = temp_dir("dead-letters");
    std::fs::create_dir_all(&dir).unwrap();
    {
        let db = Database::open(&dir.join("wa-host.sqlite3")).unwrap();
        let ev = NewEvent {
            tenant: Some("acme".into()),
            kind: "message".into(),
            idempotency_key: "k1".into(),
            json: r#"{"type":"message","key":"k1"}"#.into(),
        };
        db.record_events(&[ev], 1).unwrap();
        let seq = db.last_seq().unwrap();
        db.add_dead_letter(
            whatsapp_host::forward::CURSOR,
            seq,
            "the platform answered 422",
            5,
        )
        .unwrap();
    }
    let out = wa_host(&dir, &["events", "dead-letters"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(line["reason"], "the platform answered 422");
    assert_eq!(line["event"]["key"], "k1");
    // Nothing listens on port 1: the replay fails, says so, and the letter stays.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wa-host"));
    cmd.arg("--data-dir")
        .arg(&dir)
        .args([
            "events",
            "dead-letters",
            "--replay",
            "--forward-url",
            "http://127.0.0.1:1/x",
        ])
        .env("WA_CACHE_DIR", test_cache())
        .env("WA_FORWARD_SECRET", "s");
    let out = run(cmd, b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not delivered"));
    let out = wa_host(&dir, &["events", "dead-letters"], b"");
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_follow_prints_new_events_as_they_are_recorded() {
    use whatsapp_host::storage::{Database, NewEvent};
    let dir = temp_dir("follow");
    std::fs::create_dir_all(&dir).unwrap();
    let db = Database::open(&dir.join("wa-host.sqlite3")).unwrap();
    let ev = |k: &str| NewEvent {
        tenant: Some("t".into()),
        kind: "message".into(),
        idempotency_key: k.into(),
        json: format!("{{\"type\":\"message\",\"key\":\"{k}\"}}"),
    };
    db.record_events(&[ev("old")], 0).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wa-host"))
        .arg("--data-dir")
        .arg(&dir)
        // --after makes the start independent of how fast the process comes up.
        .args(["events", "follow", "--after", "1"])
        .env_remove("WA_MASTER_KEY")
        .env("WA_CACHE_DIR", test_cache())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    db.record_events(&[ev("new1"), ev("new2")], 0).unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .take(2)
            .map(|l| l.unwrap())
            .collect::<Vec<_>>()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("\"new1\"") && lines[1].contains("\"new2\""),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("\"old\"")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn send_dry_run_prints_the_request_for_flags_and_json_files_without_a_token() {
    let dir = temp_dir("dry-run");
    let token = "EAAG-dry-run-secret-token";
    let out = wa_host(
        &dir,
        &[
            "tenant",
            "add",
            "shop",
            "--phone-number-id",
            "106540352242922",
            "--waba-id",
            "1",
            "--token-stdin",
            "--set",
            "window-policy=off",
        ],
        format!("{token}\n").as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/messages");
    let mut runs: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--to".into(),
                "+15551234567".into(),
                "--text".into(),
                "hi".into(),
            ],
            "text",
        ),
        (
            vec![
                "--to".into(),
                "15551234567".into(),
                "--image".into(),
                "https://example.com/a.jpg".into(),
                "--caption".into(),
                "c".into(),
            ],
            "image",
        ),
        (
            vec![
                "--to".into(),
                "15551234567".into(),
                "--template".into(),
                "hello_world".into(),
                "--param".into(),
                "first_name=Ana".into(),
            ],
            "template",
        ),
    ];
    for (file, kind) in [
        ("text.json", "text"),
        ("buttons.json", "interactive"),
        ("template.json", "template"),
    ] {
        runs.push((
            vec!["--json".into(), examples.join(file).display().to_string()],
            kind,
        ));
    }
    for (args, kind) in runs {
        let mut all = vec!["send", "--tenant", "shop", "--dry-run"];
        all.extend(args.iter().map(String::as_str));
        let out = wa_host(&dir, &all, b"");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{args:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(
            v["url"], "https://graph.facebook.com/v23.0/106540352242922/messages",
            "{args:?}"
        );
        assert_eq!(v["body"]["type"], kind, "{args:?}");
        assert_eq!(v["headers"]["authorization"], "Bearer <redacted>");
        assert!(!stdout.contains(token));
    }
    // An invalid message names the field and exits non-zero.
    let out = wa_host(
        &dir,
        &[
            "send",
            "--tenant",
            "shop",
            "--dry-run",
            "--to",
            "15551234567",
            "--text",
            "",
        ],
        b"",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("content.text.body"));
    std::fs::remove_dir_all(&dir).unwrap();
}
