//! Several `wa-host` processes on one PostgreSQL database (`--database-url`), as a
//! platform runs them behind a load balancer: a tenant added by one is served by the
//! others, a delivery Meta sends twice (once to each) is recorded once, and every
//! process lists the same events in the same order; with a Redis server (`WA_REDIS_URL`),
//! both also publish to Redis Streams, and the tenant's stream holds each event once.
//! Runs when `WA_POSTGRES_URL` names a server (`.ci/postgres.sh`, over TLS);
//! `WA_REQUIRE_POSTGRES=1` makes its absence a failure.

mod support;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::test_cache;
use whatsapp_guest::core::webhook::sign;

const MASTER_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
const APP_SECRET: &str = "shared-store-app-secret";
const PNID: &str = "106540352242922";

/// The server's URL, or none (the test then says it was skipped).
fn postgres() -> Option<String> {
    match std::env::var("WA_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("WA_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "WA_REQUIRE_POSTGRES=1 but WA_POSTGRES_URL is not set"
            );
            eprintln!("skipped: set WA_POSTGRES_URL (e.g. $(.ci/postgres.sh | tail -1))");
            None
        }
    }
}

/// A schema of its own, dropped when done; the URL that uses it.
struct Schema {
    admin: String,
    name: String,
}

impl Schema {
    fn create(url: &str) -> (Schema, String) {
        let name = format!("wa_shared_store_{}", std::process::id());
        let mut c = whatsapp_host::storage::postgres::client(url).unwrap();
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-csearch_path%3D{name}");
        (
            Schema {
                admin: url.to_string(),
                name,
            },
            scoped,
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = whatsapp_host::storage::postgres::client(&self.admin) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn wa_host(data_dir: &Path, database: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wa-host"));
    c.arg("--data-dir")
        .arg(data_dir)
        .env("WA_DATABASE_URL", database)
        .env("WA_CACHE_DIR", test_cache())
        .env("WA_MASTER_KEY", MASTER_KEY)
        .env("WA_APP_SECRET", APP_SECRET)
        .env("WA_LOG", "warn");
    c
}

fn run(data_dir: &Path, database: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = wa_host(data_dir, database)
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
    out
}

/// A `wa-host serve`, killed when dropped.
struct Serve(Child, u16);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Redis server for the broker sink, when `WA_REDIS_URL` names one.
fn redis() -> Option<String> {
    let url = std::env::var("WA_REDIS_URL").ok().filter(|u| !u.is_empty());
    assert!(
        url.is_some() || std::env::var("WA_REQUIRE_REDIS").as_deref() != Ok("1"),
        "WA_REQUIRE_REDIS=1 but WA_REDIS_URL is not set"
    );
    url
}

/// This test's streams.
fn stream_prefix() -> String {
    format!("wa-shared-{}:", std::process::id())
}

fn serve(data_dir: &Path, database: &str) -> Serve {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = wa_host(data_dir, database);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "127.0.0.1:0"]);
    if let Some(url) = redis() {
        cmd.env("WA_SINK_REDIS_URL", url)
            .args(["--redis-stream-prefix", &stream_prefix()]);
    }
    let child = cmd
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
    Serve(child, port)
}

/// POST a signed webhook; the status code.
fn post(port: u16, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-hub-signature-256: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        sign(APP_SECRET.as_bytes(), body),
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn inbound(id: &str) -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{PNID}"}},"contacts":[{{"profile":{{"name":"Ana"}},"wa_id":"15551234567"}}],"messages":[{{"from":"15551234567","id":"{id}","timestamp":"1764000000","type":"text","text":{{"body":"hi"}}}}]}}}}]}}]}}"#
    )
    .into_bytes()
}

fn events(data_dir: &Path, database: &str) -> Vec<serde_json::Value> {
    let out = run(data_dir, database, &["events", "list"], b"");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wa-shared-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn hosts_on_one_postgres_database_share_tenants_and_record_each_event_once() {
    let Some(url) = postgres() else { return };
    let (_schema, db) = Schema::create(&url);
    // One data directory (its compiled-component cache is shared; the master key comes
    // from the environment), three processes.
    let (a, b, c) = (dir("hosts"), dir("hosts"), dir("hosts"));
    // A tenant added through one process (its token sealed under the shared master key)…
    run(
        &c,
        &db,
        &[
            "tenant",
            "add",
            "acme",
            "--phone-number-id",
            PNID,
            "--waba-id",
            "102290129340398",
            "--token-stdin",
        ],
        b"EAAG-shared-store-token\n",
    );
    // …is served by two others, each also publishing to Redis Streams when there is a
    // server.
    let (one, two) = (serve(&a, &db), serve(&b, &db));
    // Meta delivers the same update to both (a retry landing elsewhere): recorded once.
    let twice = inbound("wamid.twice");
    assert_eq!(post(one.1, &twice), 200);
    assert_eq!(post(two.1, &twice), 200);
    // Updates spread over both, concurrently.
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let port = if i % 2 == 0 { one.1 } else { two.1 };
            std::thread::spawn(move || post(port, &inbound(&format!("wamid.spread{i}"))))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    // Both hosts publish the one log: the tenant's stream has each event once, in order.
    let streamed = redis().map(|url| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use whatsapp_host::broker::{Redis, RedisConfig, Reply};
            let config = RedisConfig::from_url(&url, &stream_prefix()).unwrap();
            let stream = config.stream(Some("acme"));
            let mut r = Redis::connect(&config).await.unwrap();
            let started = Instant::now();
            let ids = loop {
                let Reply::Array(items) = r
                    .command(&[b"XRANGE", stream.as_bytes(), b"-", b"+"])
                    .await
                    .unwrap()
                else {
                    panic!("XRANGE answered no list")
                };
                if items.len() >= 21 || started.elapsed() > Duration::from_secs(60) {
                    break items
                        .into_iter()
                        .map(|i| match i {
                            Reply::Array(p) => match &p[0] {
                                Reply::Text(id) => {
                                    id.trim_end_matches("-0").parse::<i64>().unwrap()
                                }
                                other => panic!("an entry ID {other:?}"),
                            },
                            other => panic!("an entry {other:?}"),
                        })
                        .collect::<Vec<i64>>();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            r.command(&[b"DEL", stream.as_bytes()]).await.unwrap();
            ids
        })
    });
    drop((one, two));
    let seen = events(&c, &db);
    let ids: Vec<&str> = seen
        .iter()
        .filter_map(|e| e["message_id"].as_str())
        .collect();
    assert_eq!(
        ids.iter().filter(|i| **i == "wamid.twice").count(),
        1,
        "{ids:?}"
    );
    assert_eq!(ids.len(), 21, "{ids:?}");
    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Every process sees the same log.
    assert_eq!(events(&a, &db), seen);
    if let Some(streamed) = streamed {
        assert_eq!(streamed, seqs, "the stream holds the log once, in order");
    }
    let _ = std::fs::remove_dir_all(a);
}
