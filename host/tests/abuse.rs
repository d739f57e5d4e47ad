//! `wa-host serve` under abuse, as an operator would see it from outside, with small
//! limits so that each case is quick: idle connections and connections past the cap,
//! headers that trickle or never end, a body that trickles, a flood of unsigned POSTs,
//! and SIGTERM in the middle of a load. Throughout, legitimate signed POSTs are answered,
//! and every one answered 200 is recorded exactly once; SIGTERM drains and exits 0.

mod support;
use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::test_cache;
use whatsapp_guest::core::webhook::sign;

const WA_HOST: &str = env!("CARGO_BIN_EXE_wa-host");
const APP_SECRET: &str = "abuse-app-secret";
const PNID: &str = "106540352242922";
/// The limits the server runs with here.
const MAX_CONNECTIONS: usize = 48;
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// How much later than its timeout a connection may be closed (a loaded CI machine).
const SLACK: Duration = Duration::from_secs(4);

fn wa_host(data: &Path) -> Command {
    let mut c = Command::new(WA_HOST);
    c.env("WA_DATA_DIR", data)
        .env("WA_CACHE_DIR", test_cache())
        .env("WA_APP_SECRET", APP_SECRET)
        .env_remove("WA_MASTER_KEY")
        .env_remove("WA_ADMIN_TOKEN");
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(HEADER_TIMEOUT + SLACK)).unwrap();
    s
}

/// A webhook Meta would send for one inbound text, `wamid.abuse-<n>`.
fn payload(n: u32) -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{PNID}"}},"contacts":[{{"profile":{{"name":"Abuse"}},"wa_id":"15551234567"}}],"messages":[{{"from":"15551234567","id":"wamid.abuse-{n}","timestamp":"1764000000","text":{{"body":"message {n}"}},"type":"text"}}]}},"field":"messages"}}]}}]}}"#
    )
    .into_bytes()
}

fn request(body: &[u8], signature: &str) -> Vec<u8> {
    let mut r = format!(
        "POST /webhook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-hub-signature-256: {signature}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// What a connection answered before it closed: the status, or `None` when it closed
/// (or reset) without one.
fn status_of(mut s: TcpStream) -> Option<u16> {
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    String::from_utf8_lossy(&resp)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
}

/// A signed POST of `wamid.abuse-<n>` on a fresh connection: its status, `None` when
/// the connection failed.
fn deliver(port: u16, n: u32) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let body = payload(n);
    s.write_all(&request(&body, &sign(APP_SECRET.as_bytes(), &body)))
        .ok()?;
    status_of(s)
}

/// Whether the server closes `s` (a read sees EOF or a reset) before `within` passes.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        s.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // an error response before the close
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn serve_holds_up_under_abuse_and_drains_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("wa-abuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut add = wa_host(&dir)
        .args(["tenant", "add", "acme", "--phone-number-id", PNID])
        .args(["--waba-id", "102290129340398", "--token-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"abuse-token\n")
        .unwrap();
    assert!(add.wait().unwrap().success());

    let (port, admin) = (free_port(), free_port());
    let mut server = wa_host(&dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
        .args([
            "--header-timeout-secs",
            &HEADER_TIMEOUT.as_secs().to_string(),
        ])
        .args(["--body-timeout-secs", &BODY_TIMEOUT.as_secs().to_string()])
        .args(["--drain-timeout-secs", "20"])
        .env("WA_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", admin)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut n = 0u32;
    let mut legit = |expect: &str| {
        n += 1;
        let status = deliver(port, n);
        assert_eq!(status, Some(200), "a signed POST {expect}");
        acked.lock().unwrap().insert(n);
    };
    legit("at the start");

    // Idle connections up to near the cap: legitimate POSTs still get through.
    let mut idle: Vec<TcpStream> = (0..MAX_CONNECTIONS - 8).map(|_| connect(port)).collect();
    std::thread::sleep(Duration::from_millis(200));
    legit("beside idle connections");

    // Past the cap: each extra connection is answered 503 at once and closed.
    let extra: Vec<TcpStream> = (0..20).map(|_| connect(port)).collect();
    let busy = extra
        .into_iter()
        .map(status_of)
        .filter(|s| *s == Some(503))
        .count();
    assert!(
        busy >= 12,
        "{busy} of 20 connections past the cap answered 503"
    );
    // The idle connections are closed at the header timeout: none is held open.
    let still_open = idle
        .iter_mut()
        .map(|s| closed_within(s, SLACK))
        .filter(|closed| !closed)
        .count();
    assert_eq!(
        still_open, 0,
        "idle connections still open past the timeout"
    );
    drop(idle);

    // A connection whose headers trickle in, one byte at a time, is closed at the header
    // timeout all the same; so is one that sends a megabyte of headers (431 first).
    let trickle = std::thread::spawn(move || {
        let mut s = connect(port);
        let start = Instant::now();
        let head = format!(
            "POST /webhook HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: {}",
            "a".repeat(100)
        );
        for b in head.bytes() {
            if s.write_all(&[b]).is_err() || start.elapsed() > HEADER_TIMEOUT + SLACK {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        closed_within(&mut s, Duration::from_millis(200))
    });
    let mut huge = connect(port);
    let _ = huge.write_all(
        format!(
            "POST /webhook HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: {}\r\n",
            "a".repeat(1 << 20)
        )
        .as_bytes(),
    );
    let huge_status = status_of(huge);
    assert!(
        matches!(huge_status, Some(431) | None),
        "a megabyte of headers: {huge_status:?}"
    );

    // A body that trickles: 408 at the body timeout.
    let mut slow = connect(port);
    let body = payload(0);
    let head = format!(
        "POST /webhook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nx-hub-signature-256: {}\r\n\r\n",
        body.len(),
        sign(APP_SECRET.as_bytes(), &body)
    );
    slow.write_all(head.as_bytes()).unwrap();
    let sent_at = Instant::now();
    let slow_status = std::thread::spawn(move || {
        let reader = slow.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            for b in body.iter().take(40) {
                if slow.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let status = status_of(reader);
        let _ = writer.join();
        status
    });

    // An unsigned flood, interleaved with legitimate POSTs.
    for i in 0..300 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = payload(1_000_000 + i);
        s.write_all(&request(&body, "sha256=00")).unwrap();
        assert_eq!(status_of(s), Some(401), "an unsigned POST");
        if i % 50 == 0 {
            legit("during an unsigned flood");
        }
    }
    assert_eq!(slow_status.join().unwrap(), Some(408), "a trickling body");
    assert!(
        sent_at.elapsed() < BODY_TIMEOUT + SLACK + Duration::from_secs(30),
        "the trickling body was cut at its timeout"
    );
    assert!(
        trickle.join().unwrap(),
        "trickling headers were cut at the header timeout"
    );

    // A keep-alive connection that answered once and then idles is closed too.
    let mut kept = connect(port);
    let body = payload(999_999);
    let keep = request(&body, &sign(APP_SECRET.as_bytes(), &body)).replace_connection_close();
    kept.write_all(&keep).unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200", "the keep-alive request");
    acked.lock().unwrap().insert(999_999);
    assert!(
        closed_within(&mut kept, HEADER_TIMEOUT + SLACK),
        "an idle keep-alive connection is closed"
    );
    legit("after the abuse");

    // SIGTERM in the middle of a load: the server stops accepting, answers what is in
    // flight, commits it and exits 0.
    let stop = Arc::new(AtomicBool::new(false));
    let mut loaders = Vec::new();
    for t in 0..4u32 {
        let (stop, acked) = (stop.clone(), acked.clone());
        loaders.push(std::thread::spawn(move || {
            let mut refused = 0;
            for i in 0..5_000u32 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let n = 2_000_000 + t * 100_000 + i;
                match deliver(port, n) {
                    Some(200) => {
                        acked.lock().unwrap().insert(n);
                    }
                    _ => refused += 1,
                }
            }
            refused
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    let signalled = unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(signalled, 0, "SIGTERM sent");
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("serve did not exit within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    assert!(exit.success(), "serve exits 0 after SIGTERM: {exit:?}");

    // Every POST answered 200 is recorded, once.
    let out = wa_host(&dir)
        .args(["events", "list", "--limit", "1000000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut recorded = std::collections::BTreeMap::<u32, usize>::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if let Some(i) = line.find("wamid.abuse-") {
            let id: String = line[i + "wamid.abuse-".len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            *recorded.entry(id.parse().unwrap()).or_default() += 1;
        }
    }
    let acked = acked.lock().unwrap();
    let during_load = acked.iter().filter(|n| **n >= 2_000_000).count();
    assert!(during_load > 0, "the load got answers before SIGTERM");
    for n in acked.iter() {
        assert_eq!(
            recorded.get(n),
            Some(&1),
            "wamid.abuse-{n} was answered 200"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{} POSTs acknowledged ({during_load} during the load SIGTERM ended), {busy} of 20 past the cap refused",
        acked.len()
    );
}

trait KeepAlive {
    fn replace_connection_close(self) -> Vec<u8>;
}

impl KeepAlive for Vec<u8> {
    /// The request without its `connection: close`.
    fn replace_connection_close(self) -> Vec<u8> {
        let text = String::from_utf8(self).unwrap();
        text.replacen("connection: close\r\n", "", 1).into_bytes()
    }
}
