//! The outbox across crashes and hosts, as separate processes against `wa-host sandbox`
//! (Meta's throughput kept, statuses late, twice and out of order, webhooks retried as
//! Meta retries them): a campaign of 10,000 recipients is dispatched by a `wa-host
//! serve` SIGKILLed twice in the middle of it, then by two hosts on one PostgreSQL
//! database, one of them SIGKILLed. Every entry ends accepted by Meta (and read, as its
//! statuses come in), the sandbox accepted exactly one message per recipient (none sent
//! twice, none lost), and refused none for throughput.

mod support;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::test_cache;

const WA_HOST: &str = env!("CARGO_BIN_EXE_wa-host");
const APP_SECRET: &str = "outbox-crash-app-secret";
const MASTER_KEY: &str = "7a1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
const PNID: &str = "106540352242922";
const PNID2: &str = "106540352242933";
const N: usize = 10_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process, SIGKILLed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct World {
    data: PathBuf,
    database: Option<String>,
    sandbox_port: u16,
}

impl World {
    fn wa_host(&self) -> Command {
        let mut c = Command::new(WA_HOST);
        c.arg("--data-dir")
            .arg(&self.data)
            .arg("--allow-egress")
            .arg(format!("http://127.0.0.1:{}", self.sandbox_port))
            .env("WA_CACHE_DIR", test_cache())
            .env("WA_MASTER_KEY", MASTER_KEY)
            .env("WA_APP_SECRET", APP_SECRET)
            .env("WA_MPS_PER_NUMBER", "1000")
            .env("WA_LOG", "warn")
            .env_remove("WA_DATABASE_URL");
        if let Some(db) = &self.database {
            c.env("WA_DATABASE_URL", db);
        }
        c
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut child = self
            .wa_host()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `wa-host serve` on `port`, dispatching with 2-second leases; once it listens.
    fn serve(&self, port: u16) -> Proc {
        let child = self
            .wa_host()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-listen", "127.0.0.1:0", "--outbox-lease-secs", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Proc(child)
    }

    /// A GET of the sandbox's, as JSON.
    fn sandbox(&self, path: &str) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.sandbox_port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let text = String::from_utf8_lossy(&resp);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {head}"))
    }

    /// Messages the sandbox accepted, per recipient.
    fn accepted(&self) -> std::collections::HashMap<String, usize> {
        let mut per = std::collections::HashMap::new();
        for s in self.sandbox("/sandbox/sends")["data"].as_array().unwrap() {
            *per.entry(s["to"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        per
    }

    fn progress(&self) -> Value {
        let out = self.run(&["outbox", "--tenant", "acme", "progress", "spring"], b"");
        serde_json::from_str(out.trim()).unwrap()
    }

    /// Wait until the sandbox accepted at least `n` messages.
    fn until_accepted(&self, n: usize) {
        let started = Instant::now();
        while self.accepted().values().sum::<usize>() < n {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "fewer than {n} sent in time"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until every entry of the campaign is settled (Meta accepted it: sent,
    /// delivered or read) and, as far as the statuses came in that time, read; the last
    /// progress. An entry whose `read` webhook the sandbox stopped retrying stays
    /// `delivered`, which is as final for the outbox.
    fn until_settled(&self) -> Value {
        let started = Instant::now();
        let mut settled_at: Option<Instant> = None;
        loop {
            let p = self.progress();
            let accepted = ["sent", "delivered", "read"]
                .iter()
                .map(|s| p[*s].as_u64().unwrap_or(0))
                .sum::<u64>();
            if accepted == N as u64 {
                let at = *settled_at.get_or_insert_with(Instant::now);
                if p["read"] == N || at.elapsed() > Duration::from_secs(60) {
                    return p;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "not settled in time: {p}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Every recipient got exactly one message, and the sandbox refused none.
    fn check_sandbox(&self) {
        let per = self.accepted();
        assert_eq!(per.len(), N, "every recipient reached");
        let twice: Vec<_> = per.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "sent twice: {twice:?}");
        let limits = self.sandbox("/sandbox/limits");
        assert_eq!(limits["throughput_refusals"], 0, "{limits}");
        assert_eq!(limits["pair_refusals"], 0, "{limits}");
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// The sandbox, posting webhooks to `webhook_port`, until dropped.
fn sandbox(world: &World, webhook_port: u16) -> Proc {
    let child = Command::new(WA_HOST)
        .args([
            "sandbox",
            "--listen",
            &format!("127.0.0.1:{}", world.sandbox_port),
        ])
        .args([
            "--webhook-url",
            &format!("http://127.0.0.1:{webhook_port}/webhook"),
        ])
        .args(["--mps-per-number", "1000", "--chaotic-statuses"])
        .args(["--webhook-retry-secs", "300"])
        .env("WA_APP_SECRET", APP_SECRET)
        .env("WA_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", world.sandbox_port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    Proc(child)
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wa-outbox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The tenant, sending from two numbers through the sandbox.
fn add_tenant(world: &World) {
    world.run(
        &[
            "tenant",
            "add",
            "acme",
            "--phone-number-id",
            PNID,
            "--number",
            PNID2,
            "--waba-id",
            "102290129340398",
            "--graph-origin",
            &format!("http://127.0.0.1:{}", world.sandbox_port),
            "--token-stdin",
            "--set",
            "window-policy=off",
        ],
        b"sandbox-access-token\n",
    );
}

fn recipient(i: usize) -> String {
    format!("1555{:07}", 2_000_000 + i)
}

/// The campaign's items as JSON lines, alternating between the tenant's two numbers.
fn campaign_items(path: &Path) {
    let mut lines = String::new();
    for i in 0..N {
        let item = json!({
            "message": { "to": format!("+{}", recipient(i)), "content": { "template": {
                "name": "hello_world", "language": "en_US", "header": null, "body": [],
                "buttons": [], "carousel": [], "offer_expires_at_ms": null } },
                "reply_to": null, "biz_opaque_callback_data": null },
            "phone_number_id": if i % 2 == 0 { PNID } else { PNID2 },
            "key": format!("spring:{i}"), "not_before_ms": null,
            "priority": "campaign", "campaign": "spring",
        });
        lines.push_str(&item.to_string());
        lines.push('\n');
    }
    std::fs::write(path, lines).unwrap();
}

#[test]
fn a_campaign_survives_a_host_sigkilled_twice_with_nothing_sent_twice_or_lost() {
    let data = dir("crash");
    let world = World {
        data: data.clone(),
        database: None,
        sandbox_port: free_port(),
    };
    let port = free_port();
    let _sandbox = sandbox(&world, port);
    add_tenant(&world);
    let items = data.join("items.jsonl");
    campaign_items(&items);
    let enqueued = world.run(
        &[
            "outbox",
            "--tenant",
            "acme",
            "enqueue",
            items.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(enqueued.lines().count(), N);
    // Enqueued again (a platform retrying its call): the same entries, none added.
    let again = world.run(
        &[
            "outbox",
            "--tenant",
            "acme",
            "enqueue",
            items.to_str().unwrap(),
        ],
        b"",
    );
    assert!(again.lines().all(|l| l.contains("\"created\":false")));

    for stop_at in [N / 4, N * 3 / 5] {
        let host = world.serve(port);
        world.until_accepted(stop_at);
        drop(host); // SIGKILL, in the middle of its sends
    }
    let _host = world.serve(port);
    let p = world.until_settled();
    assert_eq!(
        (&p["queued"], &p["sending"], &p["unknown"], &p["failed"]),
        (&json!(0), &json!(0), &json!(0), &json!(0)),
        "{p}"
    );
    world.check_sandbox();
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn two_hosts_on_one_postgres_database_share_a_campaign_and_survive_one_killed() {
    let url = match std::env::var("WA_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(
                std::env::var("WA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "WA_REQUIRE_POSTGRES=1 but WA_POSTGRES_URL is not set"
            );
            eprintln!("skipped: set WA_POSTGRES_URL (e.g. $(.ci/postgres.sh | tail -1))");
            return;
        }
    };
    let schema = format!("wa_outbox_{}", std::process::id());
    let mut admin = whatsapp_host::storage::postgres::client(&url).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let data = dir("two-hosts");
    let world = World {
        data: data.clone(),
        database: Some(format!("{url}{sep}options=-csearch_path%3D{schema}")),
        sandbox_port: free_port(),
    };
    let (port_a, port_b) = (free_port(), free_port());
    // Meta posts webhooks to one endpoint: here host B's.
    let _sandbox = sandbox(&world, port_b);
    add_tenant(&world);
    let items = data.join("items.jsonl");
    campaign_items(&items);
    let a = world.serve(port_a);
    let _b = world.serve(port_b);
    world.run(
        &[
            "outbox",
            "--tenant",
            "acme",
            "enqueue",
            items.to_str().unwrap(),
        ],
        b"",
    );
    world.until_accepted(N / 3);
    drop(a); // SIGKILL: B takes A's numbers over, and settles what A was sending
    let p = world.until_settled();
    assert_eq!(
        (&p["queued"], &p["sending"], &p["unknown"], &p["failed"]),
        (&json!(0), &json!(0), &json!(0), &json!(0)),
        "{p}"
    );
    world.check_sandbox();
    drop(_b);
    let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    let _ = std::fs::remove_dir_all(&data);
}
