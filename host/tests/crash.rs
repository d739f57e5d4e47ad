//! Crash safety of `wa-host serve`, as separate processes: signed POSTs arrive in a loop,
//! the server is killed with SIGKILL in the middle of them, and restarted on the same
//! data directory. Every POST that got 200 is in `wa-host events list` exactly once
//! (redeliveries of the acknowledged ones included), and forwarding to the platform
//! resumes where it stopped.

mod support;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::test_cache;
use whatsapp_guest::core::webhook::sign;

const WA_HOST: &str = env!("CARGO_BIN_EXE_wa-host");
const APP_SECRET: &str = "crash-app-secret";
const FORWARD_SECRET: &str = "crash-forward-secret";
const PNID: &str = "106540352242922";

fn wa_host(data: &Path) -> Command {
    let mut c = Command::new(WA_HOST);
    c.env("WA_DATA_DIR", data)
        .env("WA_CACHE_DIR", test_cache())
        .env("WA_APP_SECRET", APP_SECRET)
        .env("WA_FORWARD_SECRET", FORWARD_SECRET)
        .env_remove("WA_MASTER_KEY");
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A webhook Meta would send for one inbound text, `wamid.crash-<n>`.
fn payload(n: u32) -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{PNID}"}},"contacts":[{{"profile":{{"name":"Crash"}},"wa_id":"15551234567"}}],"messages":[{{"from":"15551234567","id":"wamid.crash-{n}","timestamp":"1764000000","text":{{"body":"message {n}"}},"type":"text"}}]}},"field":"messages"}}]}}]}}"#
    )
    .into_bytes()
}

/// One HTTP/1.1 request on a fresh connection; the status, or the I/O error.
fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let line = String::from_utf8_lossy(&resp);
    line.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {} bytes", resp.len())))
}

fn deliver(port: u16, n: u32) -> std::io::Result<u16> {
    let body = payload(n);
    let signature = sign(APP_SECRET.as_bytes(), &body);
    post(
        port,
        "/webhook",
        &[("x-hub-signature-256", &signature)],
        &body,
    )
}

/// The platform: records the `x-wa-event-seq` of every forwarded event whose
/// signature checks, and answers 200.
fn receiver() -> (u16, Arc<Mutex<Vec<i64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break (String::new(), Vec::new()),
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                    let len: usize = header(&head, "content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < i + 4 + len {
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    break (head, buf[i + 4..].to_vec());
                }
            };
            let signed = header(&head, "x-wa-signature-256")
                .is_some_and(|v| v == sign(FORWARD_SECRET.as_bytes(), &body));
            if let (true, Some(seq)) = (signed, header(&head, "x-wa-event-seq")) {
                log.lock().unwrap().push(seq.parse().unwrap());
            }
            let status = if signed { "200 OK" } else { "401 Unauthorized" };
            let _ = s.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (port, seen)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim())
    })
}

/// A running `wa-host serve`, killed with SIGKILL when dropped (a failing test too).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, port: u16, forward: u16) -> Server {
    let child = wa_host(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "127.0.0.1:0"])
        .args([
            "--forward-url",
            &format!("http://127.0.0.1:{forward}/events"),
        ])
        .env("WA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wa-host serve");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

/// `wa-host events list`: each recorded message id with how many events carry it, and
/// every sequence number.
fn recorded(data: &Path) -> (BTreeMap<String, usize>, BTreeSet<i64>) {
    let out = wa_host(data)
        .args(["events", "list", "--limit", "100000"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ids = BTreeMap::new();
    let mut seqs = BTreeSet::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        seqs.insert(v["seq"].as_i64().expect("every listed event has its seq"));
        let text = line.to_string();
        if let Some(start) = text.find("wamid.crash-") {
            let id: String = text[start..].chars().take_while(|c| *c != '"').collect();
            *ids.entry(id).or_insert(0) += 1;
        }
    }
    (ids, seqs)
}

#[test]
fn a_sigkilled_server_loses_no_acknowledged_post_and_forwarding_resumes() {
    let dir = std::env::temp_dir().join(format!("wa-crash-{}", std::process::id()));
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
        .write_all(b"crash-token\n")
        .unwrap();
    assert!(add.wait().unwrap().success());

    let (forward_port, forwarded) = receiver();
    let port = free_port();
    let mut server = Some(serve(&dir, port, forward_port));

    // POSTs from another thread, until the server is gone; then SIGKILL mid-stream.
    let (tx, rx) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let started = Instant::now();
        for n in 0..20_000u32 {
            let r = deliver(port, n);
            let gone = r.is_err();
            tx.send((n, r.ok())).unwrap();
            if gone || started.elapsed() > Duration::from_secs(60) {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut acked = BTreeSet::new();
    let mut refused = 0;
    while let Ok((n, status)) = rx.recv() {
        match status {
            Some(200) => {
                acked.insert(n);
            }
            Some(_) => refused += 1,
            None => break,
        }
        if acked.len() >= 300 || started.elapsed() > Duration::from_secs(30) {
            drop(server.take()); // SIGKILL
        }
    }
    client.join().unwrap();
    assert!(
        acked.len() >= 300,
        "{} acknowledged before the kill",
        acked.len()
    );
    let forwarded_before = forwarded.lock().unwrap().clone();

    // Restart on the same data directory: Meta redelivers what it had no 200 for, and
    // (as it may) some of what it had.
    let server = serve(&dir, port, forward_port);
    let last = *acked.last().unwrap();
    let redeliver: Vec<u32> = (0..=last + 20)
        .filter(|n| !acked.contains(n) || n % 10 == 0)
        .collect();
    for n in redeliver {
        if deliver(port, n).unwrap() == 200 {
            acked.insert(n);
        }
    }
    for n in last + 21..last + 121 {
        assert_eq!(deliver(port, n).unwrap(), 200);
        acked.insert(n);
    }

    // Forwarding catches up with everything recorded.
    let (ids, seqs) = recorded(&dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: BTreeSet<i64> = forwarded.lock().unwrap().iter().copied().collect();
        if seqs.is_subset(&got) {
            break;
        }
        assert!(Instant::now() < deadline, "forwarding did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    for n in &acked {
        let id = format!("wamid.crash-{n}");
        assert_eq!(ids.get(&id), Some(&1), "{id} was acknowledged: listed once");
    }
    assert!(
        ids.keys()
            .all(|id| acked.contains(&id["wamid.crash-".len()..].parse().unwrap())),
        "only acknowledged messages are listed"
    );
    // Resumed, not restarted: after the restart nothing already acknowledged by the
    // platform is sent again, but for the one in flight when the server died.
    let all = forwarded.lock().unwrap().clone();
    let before: BTreeSet<i64> = forwarded_before.iter().copied().collect();
    let again = all[forwarded_before.len()..]
        .iter()
        .filter(|s| before.contains(s))
        .count();
    assert!(
        again <= 1,
        "{again} events forwarded again after the restart"
    );
    println!(
        "{} acknowledged, {refused} refused (503) around the kill, {} forwarded before it, {} events recorded",
        acked.len(),
        forwarded_before.len(),
        seqs.len()
    );
}
