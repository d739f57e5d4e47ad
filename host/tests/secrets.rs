//! Secrets stay secret. Every command of `wa-host` runs as a platform would run it, with
//! debug logging and request recording on, through sends that succeed and fail, good and
//! forged webhooks, a wrong verify token and a platform that refuses forwarded events.
//! Then every byte it wrote (stdout, stderr, the recording, every file of the data
//! directory, the database and its WAL included) is searched for every secret: access
//! tokens, app secrets, the verify token, the forwarding secret, the master key (as given
//! and as raw bytes). Failures name the secret and the place, never the secret itself.

mod support;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::test_cache;
use whatsapp_guest::core::webhook::sign;

const WA_HOST: &str = env!("CARGO_BIN_EXE_wa-host");

const TOKEN: &str = "EAAGtoken1SECRETacme7f3a9c0d";
const BAD_TOKEN: &str = "EAAGtoken2SECRETbeta51e7aa2";
const APP_SECRET: &str = "appsecret3SECRET91bd4c";
const TENANT_APP_SECRET: &str = "appsecret4SECRETbeta08f2";
const VERIFY_TOKEN: &str = "verify5SECRET55e1";
const FORWARD_SECRET: &str = "forward6SECRET3c9d";
const CATALOG_TOKEN: &str = "catalog7SECRETtoken2b8e";
const FLOW_KEY_PEM: &str = include_str!("../../tests/data/flow-test-key.pem");
const MASTER_KEY: &str = "5ec7e75ec7e75ec7e7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7";
const PNID: &str = "106540352242922";
const PNID_BETA: &str = "106540352242923";

fn secrets() -> Vec<(&'static str, Vec<u8>)> {
    let mut raw_master = [0u8; 32];
    hex::decode_to_slice(MASTER_KEY, &mut raw_master).unwrap();
    vec![
        ("access token", TOKEN.into()),
        ("refused access token", BAD_TOKEN.into()),
        ("app secret", APP_SECRET.into()),
        ("tenant app secret", TENANT_APP_SECRET.into()),
        ("verify token", VERIFY_TOKEN.into()),
        ("forwarding secret", FORWARD_SECRET.into()),
        ("master key (hex)", MASTER_KEY.into()),
        ("master key (upper hex)", MASTER_KEY.to_uppercase().into()),
        ("master key (bytes)", raw_master.to_vec()),
        ("catalog token", CATALOG_TOKEN.into()),
        // A line from the middle of the flow private key's PEM, and its DER.
        (
            "flow private key (PEM)",
            FLOW_KEY_PEM.lines().nth(5).unwrap().into(),
        ),
        ("flow private key (DER)", {
            let b64: String = FLOW_KEY_PEM
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            whatsapp_guest::core::encoding::from_base64(&b64).unwrap()[40..80].to_vec()
        }),
    ]
}

struct Env {
    dir: PathBuf,
    outputs: Vec<(String, Vec<u8>)>,
    /// The master key comes from the key file in the data directory, not WA_MASTER_KEY.
    no_master_key_env: bool,
    /// Further environment for every command.
    extra_env: Vec<(&'static str, String)>,
}

impl Env {
    fn cmd(&self) -> Command {
        let mut c = Command::new(WA_HOST);
        if !self.no_master_key_env {
            c.env("WA_MASTER_KEY", MASTER_KEY);
        }
        c.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        c.env("WA_DATA_DIR", self.dir.join("data"))
            .env("WA_CACHE_DIR", test_cache())
            .env("WA_APP_SECRET", APP_SECRET)
            .env("WA_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("WA_FORWARD_SECRET", FORWARD_SECRET)
            .env("WA_SANDBOX_TOKEN", TOKEN)
            .env("WA_LOG", "debug")
            .env("WA_RECORD_REQUESTS", self.dir.join("requests.jsonl"));
        c
    }

    /// Run `wa-host args`, feeding `stdin`; keep what it printed.
    fn run(&mut self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let name = args[..args.len().min(2)].join(" ");
        self.outputs
            .push((format!("stdout of {name}"), out.stdout.clone()));
        self.outputs
            .push((format!("stderr of {name}"), out.stderr.clone()));
        out
    }

    /// Start a long-running `wa-host args` whose output goes to files in the temp dir.
    fn spawn(&self, name: &str, args: &[&str]) -> Daemon {
        self.spawn_with(self.cmd(), name, args)
    }

    /// [`Env::spawn`] of a command prepared by the caller.
    fn spawn_with(&self, mut cmd: Command, name: &str, args: &[&str]) -> Daemon {
        let out = std::fs::File::create(self.dir.join(format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.dir.join(format!("{name}.err"))).unwrap();
        Daemon(cmd.args(args).stdout(out).stderr(err).spawn().unwrap())
    }
}

/// Assert that a command succeeded, saying which and what it printed to stderr.
fn succeeded(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A background process, killed when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 exchange; the whole response.
fn http(port: u16, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    resp
}

/// A platform that refuses every forwarded event (so forwarding retries and logs).
fn refusing_platform() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    port
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_secret_appears_in_output_logs_recordings_or_the_data_directory() {
    let dir = std::env::temp_dir().join(format!("wa-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut env = Env {
        dir: dir.clone(),
        outputs: Vec::new(),
        no_master_key_env: false,
        extra_env: Vec::new(),
    };
    let (sandbox_port, server_port) = (free_port(), free_port());
    let sandbox = format!("http://127.0.0.1:{sandbox_port}");
    let forward = format!("http://127.0.0.1:{}/events", refusing_platform());

    // Two tenants: one with the sandbox's token, one with a token it refuses and an
    // app secret of its own.
    let add = |env: &mut Env, name: &str, pnid: &str, stdin: &str, own_secret: bool| {
        let mut args = vec!["tenant", "add", name, "--phone-number-id", pnid];
        args.extend(["--waba-id", "102290129340398", "--graph-origin", &sandbox]);
        args.push("--token-stdin");
        if own_secret {
            args.push("--app-secret-stdin");
        }
        let out = env.run(&args, stdin);
        assert!(out.status.success(), "tenant add {name} failed");
    };
    add(&mut env, "acme", PNID, &format!("{TOKEN}\n"), false);
    add(
        &mut env,
        "beta",
        PNID_BETA,
        &format!("{BAD_TOKEN}\n{TENANT_APP_SECRET}\n"),
        true,
    );
    env.run(
        &["tenant", "set-catalog-token", "acme"],
        &format!("{CATALOG_TOKEN}\n"),
    );
    let imported = env.run(&["flows", "import-key", "--tenant", "acme"], FLOW_KEY_PEM);
    assert!(imported.status.success(), "flows import-key failed");
    env.run(&["tenant", "list"], "");
    env.run(&["tenant", "show", "acme"], "");
    env.run(&["tenant", "show", "beta"], "");

    let sandbox_proc = env.spawn(
        "sandbox",
        &[
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{sandbox_port}"),
            "--webhook-url",
            &format!("http://127.0.0.1:{server_port}/webhook"),
        ],
    );
    let server = env.spawn(
        "serve",
        &[
            "serve",
            "--listen",
            &format!("127.0.0.1:{server_port}"),
            "--admin-listen",
            "127.0.0.1:0",
            "--forward-url",
            &forward,
        ],
    );
    wait_for(sandbox_port);
    wait_for(server_port);

    // The customer writes first, then the business answers; beta's send is refused.
    http(
        sandbox_port,
        "POST",
        "/sandbox/inbound",
        &[("content-type", "application/json")],
        format!(r#"{{"phone_number_id":"{PNID}","from":"15551234567","text":"hello"}}"#).as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let egress = ["--allow-egress", sandbox.as_str()];
    let ok = env.run(
        &[
            &egress[..],
            &[
                "send",
                "--tenant",
                "acme",
                "--to",
                "+15551234567",
                "--text",
                "hi",
            ],
        ]
        .concat(),
        "",
    );
    assert!(ok.status.success(), "acme's send failed");
    let refused = env.run(
        &[
            &egress[..],
            &[
                "send",
                "--tenant",
                "beta",
                "--to",
                "+15551234567",
                "--text",
                "hi",
            ],
        ]
        .concat(),
        "",
    );
    assert!(!refused.status.success(), "beta's token is refused");
    // The management commands, including ones that fail.
    for args in [
        &["templates", "list", "--tenant", "acme", "--all"][..],
        &["templates", "sync", "--tenant", "beta"],
        &[
            "catalog",
            "list",
            "--tenant",
            "acme",
            "--catalog",
            "1234567890",
        ],
        &["flows", "list", "--tenant", "acme"],
        &["media", "get", "--tenant", "acme", "1234567890"],
        &["call", "--tenant", "beta", "flows.list"],
    ] {
        env.run(&[&egress[..], args].concat(), "");
    }
    // Any operation by name: its answer as JSON; arguments that do not fit refused,
    // naming where, before the component runs; the component's error as JSON.
    let listed = env.run(&["call", "--list"], "");
    succeeded(&listed, "call --list");
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .contains(r#""operation":"business.create-qr-code""#)
    );
    let qr = env.run(
        &[
            &egress[..],
            &[
                "call",
                "--tenant",
                "acme",
                "business.create-qr-code",
                r#"{"prefilled_message": "Winter sale", "image": "png"}"#,
            ],
        ]
        .concat(),
        "",
    );
    succeeded(&qr, "call business.create-qr-code");
    let qr: serde_json::Value = serde_json::from_slice(&qr.stdout).unwrap();
    assert!(
        qr["deep_link_url"]
            .as_str()
            .unwrap()
            .starts_with("https://wa.me/message/"),
        "{qr}"
    );
    let bad = env.run(
        &[
            &egress[..],
            &[
                "call",
                "--tenant",
                "acme",
                "business.create-qr-code",
                r#"{"prefilled_message": 7}"#,
            ],
        ]
        .concat(),
        "",
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("prefilled_message: expected a string"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let refused = env.run(
        &[
            &egress[..],
            &[
                "call",
                "--tenant",
                "acme",
                "business.delete-qr-code",
                r#"{"code": "../x"}"#,
            ],
        ]
        .concat(),
        "",
    );
    assert!(!refused.status.success());
    let e: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(
        (e["error"].as_str(), e["field"].as_str()),
        (Some("invalid-input"), Some("code"))
    );
    // Insights: turned on, then pricing as a table (a text sent first: free customer
    // service) and template analytics as JSON lines.
    let text = [
        "send",
        "--tenant",
        "acme",
        "--to",
        "+15551234567",
        "--text",
        "hello",
    ];
    succeeded(&env.run(&[&egress[..], &text].concat(), ""), "send");
    let mut insights = |args: &[&str]| {
        let out = env.run(
            &[&egress[..], &["insights", "--tenant", "acme"], args].concat(),
            "",
        );
        succeeded(&out, &format!("insights {args:?}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(insights(&["enable"]).trim(), r#"{"enabled":true}"#);
    let table = insights(&["--format", "table", "pricing"]);
    // The header, then the text sent above: free customer service, by day.
    assert!(
        table
            .trim_start()
            .starts_with("start  phone_number  country"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("FREE_CUSTOMER_SERVICE")),
        "{table}"
    );
    for line in insights(&["templates", "1407680676729941"]).lines() {
        let day: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(day["template_id"], "1407680676729941");
    }
    // Denied egress (no allow-list entry).
    env.run(
        &[
            "send",
            "--tenant",
            "acme",
            "--to",
            "+15551234567",
            "--text",
            "hi",
        ],
        "",
    );

    // Webhooks: the handshake with the right and a wrong token, forged and signed POSTs.
    let handshake = |token: &str| {
        format!("/webhook?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=42")
    };
    let good = http(server_port, "GET", &handshake(VERIFY_TOKEN), &[], b"");
    assert!(
        String::from_utf8_lossy(&good).ends_with("42"),
        "the handshake answers"
    );
    http(server_port, "GET", &handshake("wrong"), &[], b"");
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    http(
        server_port,
        "POST",
        "/webhook",
        &[("x-hub-signature-256", "sha256=00")],
        body,
    );
    let signature = sign(APP_SECRET.as_bytes(), body);
    http(
        server_port,
        "POST",
        "/webhook",
        &[("x-hub-signature-256", &signature)],
        body,
    );
    let payload = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"{PNID_BETA}"}},"messages":[{{"from":"15551234567","id":"wamid.b1","timestamp":"1764000000","type":"text","text":{{"body":"x"}}}}]}}}}]}}]}}"#
    );
    let beta_sig = sign(TENANT_APP_SECRET.as_bytes(), payload.as_bytes());
    http(
        server_port,
        "POST",
        "/webhook",
        &[("x-hub-signature-256", &beta_sig)],
        payload.as_bytes(),
    );
    env.run(&["webhook", "parse", "--signature", "sha256=0123"], "{}");

    // Wait for acme's statuses, then stop everything.
    let started = Instant::now();
    loop {
        let out = env.run(&["events", "list"], "");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("\"read\"") && text.contains("wamid.b1") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the events did not arrive"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500)); // a forwarding retry or two
    drop(server);
    drop(sandbox_proc);

    // Everything written, searched for every secret.
    let mut places = std::mem::take(&mut env.outputs);
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    for f in files {
        places.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    let recording = places
        .iter()
        .find(|(p, _)| p.ends_with("requests.jsonl"))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("requests were recorded");
    assert!(
        recording.contains("/messages"),
        "the sends are in the recording"
    );
    let serve_log = std::fs::read_to_string(dir.join("serve.err")).unwrap();
    assert!(!serve_log.is_empty(), "serve logged something to search");
    let mut found = Vec::new();
    for (what, secret) in secrets() {
        for (place, bytes) in &places {
            if contains(bytes, &secret) {
                found.push(format!("the {what} is in {place}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

const NEW_TOKEN: &str = "EAAGtoken8SECRETnext4d2c";
const ADMIN_TOKEN: &str = "admin9SECRETbearer77e0";
const PIN: &str = "864213";
const SANDBOX_APP_ID: &str = "740271835411211";

/// `wa-host connect` prints the authorize URL first; the "browser" follows it through
/// the sandbox's dialog to the command's loopback callback. What the command printed.
fn connect_through_the_dialog(env: &mut Env, callback_port: u16) {
    use std::io::BufRead;
    let mut child = env
        .cmd()
        .args([
            "connect",
            "--tenant",
            "gym",
            "--listen",
            &format!("127.0.0.1:{callback_port}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|_| panic!("not JSON: {first}"));
    let url = v["authorize_url"]
        .as_str()
        .expect("an authorize_url")
        .to_string();
    // The dialog (the sandbox) answers with a redirect to the callback.
    let rest = url.split_once("://").unwrap().1;
    let (authority, target) = rest.split_at(rest.find('/').unwrap());
    let port: u16 = authority.rsplit(':').next().unwrap().parse().unwrap();
    let answer = String::from_utf8(http(port, "GET", target, &[], b"")).unwrap();
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no redirect: {answer}"))
        .to_string();
    let target = location
        .split_once(&format!("127.0.0.1:{callback_port}"))
        .unwrap()
        .1;
    http(callback_port, "GET", target, &[], b"");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let mut err = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let status = child.wait().unwrap();
    let mut printed = first.into_bytes();
    printed.extend(&rest);
    assert!(
        status.success(),
        "connect failed: {}",
        String::from_utf8_lossy(&err)
    );
    let last: serde_json::Value = serde_json::from_slice(rest.trim_ascii()).unwrap();
    assert_eq!(last["credential"], "connected", "{last}");
    env.outputs.push(("stdout of connect".into(), printed));
    env.outputs.push(("stderr of connect".into(), err));
}

#[test]
fn connecting_reconnecting_and_rotating_the_master_key_leak_nothing() {
    let dir = std::env::temp_dir().join(format!("wa-secrets-connect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (sandbox_port, server_port, callback_port) = (free_port(), free_port(), free_port());
    let admin_port = free_port();
    let sandbox = format!("http://127.0.0.1:{sandbox_port}");
    let server = format!("http://127.0.0.1:{server_port}");
    let mut env = Env {
        dir: dir.clone(),
        outputs: Vec::new(),
        // The master key in a key file this time (a rotation rewrites it).
        no_master_key_env: true,
        extra_env: vec![("WA_ALLOW_EGRESS", sandbox.clone())],
    };

    // A tenant that connects through OAuth, and one with a token given on stdin and an
    // app secret of its own.
    let out = env.run(
        &[
            "tenant",
            "add",
            "gym",
            "--graph-origin",
            &sandbox,
            "--set",
            &format!("app-id={SANDBOX_APP_ID}"),
            "--set",
            "window-policy=off",
        ],
        "",
    );
    succeeded(&out, "tenant add gym");
    let out = env.run(
        &[
            "tenant",
            "add",
            "acme",
            "--phone-number-id",
            "106540352242999",
            "--waba-id",
            "102290129340398",
            "--graph-origin",
            &sandbox,
            "--token-stdin",
            "--app-secret-stdin",
        ],
        &format!("{TOKEN}\n{TENANT_APP_SECRET}\n"),
    );
    succeeded(&out, "tenant add acme");
    let key_before = std::fs::read_to_string(dir.join("data/master.key")).unwrap();

    let sandbox_proc = env.spawn(
        "sandbox",
        &[
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{sandbox_port}"),
            "--webhook-url",
            &format!("{server}/webhook"),
        ],
    );
    let mut serve = env.cmd();
    serve.env("WA_ADMIN_TOKEN", ADMIN_TOKEN);
    let server_proc = env.spawn_with(
        serve,
        "serve",
        &[
            "serve",
            "--listen",
            &format!("127.0.0.1:{server_port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin_port}"),
            "--public-url",
            &server,
        ],
    );
    wait_for(sandbox_port);
    wait_for(server_port);
    wait_for(admin_port);

    connect_through_the_dialog(&mut env, callback_port);
    for args in [
        &["numbers", "list", "--tenant", "gym"][..],
        &["numbers", "select", "--tenant", "gym", PNID],
        &["numbers", "profile", "--tenant", "gym"],
        &["health", "--tenant", "gym"],
        &["templates", "sync", "--tenant", "gym"],
    ] {
        let out = env.run(args, "");
        succeeded(&out, &format!("{args:?}"));
    }
    let out = env.run(
        &["numbers", "register", "--tenant", "gym", PNID_BETA],
        &format!("{PIN}\n"),
    );
    succeeded(&out, "register");
    let out = env.run(
        &[
            "numbers",
            "subscribe",
            "--tenant",
            "gym",
            "--callback",
            &format!("{server}/webhook"),
        ],
        &format!("{VERIFY_TOKEN}\n"),
    );
    succeeded(&out, "Meta's handshake of the callback");
    // The admin API, with its bearer token.
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let health = http(
        admin_port,
        "GET",
        "/admin/tenants/gym/health",
        &[("authorization", &auth)],
        b"",
    );
    assert!(
        String::from_utf8_lossy(&health).contains("\"readiness\""),
        "{}",
        String::from_utf8_lossy(&health)
    );
    env.outputs.push(("the admin API's answer".into(), health));
    let put = format!(r#"{{"access_token":"{NEW_TOKEN}"}}"#);
    http(
        admin_port,
        "PUT",
        "/admin/tenants/acme/token",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        put.as_bytes(),
    );

    // The master key is rotated while serve runs; serve keeps verifying acme's webhooks
    // (its app secret is re-sealed under the new key) and gym keeps sending.
    let post = |n: u32| {
        let payload = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"106540352242999"}},"messages":[{{"from":"15551234567","id":"wamid.rot{n}","timestamp":"1764000000","type":"text","text":{{"body":"x"}}}}]}}}}]}}]}}"#
        );
        let sig = sign(TENANT_APP_SECRET.as_bytes(), payload.as_bytes());
        String::from_utf8(http(
            server_port,
            "POST",
            "/webhook",
            &[("x-hub-signature-256", &sig)],
            payload.as_bytes(),
        ))
        .unwrap()
    };
    assert!(post(1).starts_with("HTTP/1.1 200"), "before the rotation");
    let rotated = env.run(&["rotate-key"], "");
    succeeded(&rotated, "rotate-key");
    let report: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(report["stale"], 0, "{report}");
    assert_eq!(
        report["resealed"], 3,
        "gym's token, acme's token and app secret: {report}"
    );
    assert_eq!(report["retired"].as_array().unwrap().len(), 1, "{report}");
    let key_after = std::fs::read_to_string(dir.join("data/master.key")).unwrap();
    assert_ne!(key_before.trim(), key_after.trim());
    assert_eq!(key_after.lines().count(), 1, "the old key is retired");
    let answer = post(2);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "after the rotation: {answer}"
    );
    let sent = env.run(
        &[
            "send",
            "--tenant",
            "gym",
            "--to",
            "+15551234567",
            "--text",
            "hi",
        ],
        "",
    );
    succeeded(&sent, "gym sends after the rotation");
    let out = env.run(&["tenant", "remove", "acme"], "");
    assert!(out.status.success());
    env.run(&["events", "list"], "");
    drop(server_proc);
    drop(sandbox_proc);

    let mut places = std::mem::take(&mut env.outputs);
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let mut found = Vec::new();
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, line) in [key_before.trim(), key_after.trim()]
        .into_iter()
        .enumerate()
    {
        let mut raw = [0u8; 32];
        hex::decode_to_slice(line, &mut raw).unwrap();
        keys.push((format!("master key {n} (hex)"), line.as_bytes().to_vec()));
        keys.push((format!("master key {n} (bytes)"), raw.to_vec()));
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        if f.ends_with("data/master.key") {
            continue;
        }
        for (what, k) in &keys {
            if contains(&bytes, k) {
                found.push(format!("the {what} is in {}", f.display()));
            }
        }
        places.push((f.display().to_string(), bytes));
    }
    for (place, bytes) in &places {
        for (what, k) in &keys {
            if contains(bytes, k) && !place.contains('/') {
                found.push(format!("the {what} is in {place}"));
            }
        }
    }
    let mut all: Vec<(&str, Vec<u8>)> = vec![
        ("access token", TOKEN.into()),
        ("replacement token", NEW_TOKEN.into()),
        ("tenant app secret", TENANT_APP_SECRET.into()),
        ("admin token", ADMIN_TOKEN.into()),
        ("two-step PIN", PIN.into()),
        // Every token the sandbox issues starts so.
        ("a token issued through OAuth", b"EAAS".to_vec()),
    ];
    all.push(("verify token", VERIFY_TOKEN.into()));
    for (what, secret) in all {
        for (place, bytes) in &places {
            if contains(bytes, &secret) {
                found.push(format!("the {what} is in {place}"));
            }
        }
    }
    let recording = std::fs::read_to_string(dir.join("requests.jsonl")).unwrap_or_default();
    for call in [
        "/oauth/access_token?",
        "/debug_token?",
        "/phone_numbers?",
        "/register",
        "/subscribed_apps",
        "/whatsapp_business_profile",
    ] {
        assert!(recording.contains(call), "{call} was recorded");
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(found.is_empty(), "{}", found.join("\n"));
}
