//! Spans exported over OTLP/HTTP, as a collector receives them: `wa-host` runs with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a small receiver on 127.0.0.1, which
//! decodes each `POST /v1/traces` (protobuf) the way a collector does.
//!
//! The batch processor's schedule is set far beyond the test (`OTEL_BSP_SCHEDULE_DELAY`),
//! so what arrives was sent by the flush at exit: at the end of `demo`, and after
//! SIGTERM for `serve`. The logs are `warn` only: the export has a filter of its own.

mod support;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::test_cache;
use whatsapp_guest::core::webhook::sign;

const WA_HOST: &str = env!("CARGO_BIN_EXE_wa-host");
/// Longer than any test: only the flush at exit sends spans.
const NEVER_MS: &str = "600000";
/// How long a `wa-host` process may take before the test gives up on it.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(240);

/// One `POST` the receiver took.
struct Post {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// An OTLP/HTTP receiver on 127.0.0.1: it answers every request 200 with an empty
/// (valid) `ExportTraceServiceResponse` and keeps what it was sent.
struct Receiver {
    endpoint: String,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let posts = Arc::new(Mutex::new(Vec::new()));
        let kept = posts.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || serve_connection(conn, &kept));
            }
        });
        Receiver { endpoint, posts }
    }

    fn posts(&self) -> std::sync::MutexGuard<'_, Vec<Post>> {
        self.posts.lock().unwrap()
    }
}

/// HTTP/1.1 with keep-alive, as the exporter's pool speaks it; a body must have a
/// `content-length`.
fn serve_connection(conn: TcpStream, kept: &Mutex<Vec<Post>>) {
    conn.set_read_timeout(Some(PROCESS_TIMEOUT)).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let Some(len) = headers.get("content-length").and_then(|l| l.parse().ok()) else {
            let _ = writer.write_all(
                b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            return;
        };
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        assert_eq!(method, "POST", "the exporter only POSTs");
        kept.lock().unwrap().push(Post {
            path: path.to_string(),
            content_type: headers.get("content-type").cloned().unwrap_or_default(),
            body,
        });
        let answered = writer.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
        if answered.is_err() {
            return;
        }
    }
}

/// A span as the tests look at it.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    name: String,
    attributes: BTreeMap<String, String>,
    /// Every string the span carries: attribute and event values, event names.
    strings: Vec<String>,
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

/// Every span the receiver was sent, after checking each POST is OTLP/HTTP protobuf
/// to `/v1/traces`.
fn spans(receiver: &Receiver) -> Vec<Span> {
    let mut out = Vec::new();
    for post in receiver.posts().iter() {
        assert_eq!(post.path, "/v1/traces");
        assert_eq!(post.content_type, "application/x-protobuf");
        let request = ExportTraceServiceRequest::decode(post.body.as_slice())
            .expect("an OTLP ExportTraceServiceRequest");
        for rs in request.resource_spans {
            let resource = attributes(&rs.resource.map(|r| r.attributes).unwrap_or_default());
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    let attributes = attributes(&s.attributes);
                    let mut strings: Vec<String> = attributes.values().cloned().collect();
                    for e in &s.events {
                        strings.push(e.name.clone());
                        strings.extend(e.attributes.iter().map(|kv| text(&kv.value)));
                    }
                    out.push(Span {
                        service: service.clone(),
                        trace_id: s.trace_id,
                        span_id: s.span_id,
                        parent_span_id: s.parent_span_id,
                        name: s.name,
                        attributes,
                        strings,
                    });
                }
            }
        }
    }
    out
}

/// The span `child` is in, if it was exported: same trace, its parent's id.
fn parent<'a>(spans: &'a [Span], child: &Span) -> Option<&'a Span> {
    spans
        .iter()
        .find(|p| p.trace_id == child.trace_id && p.span_id == child.parent_span_id)
}

/// No secret in any span, nor anywhere in what was sent.
fn assert_no_secret(receiver: &Receiver, spans: &[Span], secrets: &[&str]) {
    for secret in secrets {
        for s in spans {
            assert!(
                !s.strings.iter().any(|v| v.contains(secret)),
                "{secret} exported in {s:?}"
            );
        }
        for post in receiver.posts().iter() {
            assert!(
                !post
                    .body
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "{secret} in a request to the collector"
            );
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wa-otlp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `wa-host` exporting to `endpoint`, quiet logs, spans sent only at exit.
fn wa_host(data_dir: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(WA_HOST);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("WA_CACHE_DIR", test_cache())
        .env("WA_LOG", "warn")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", NEVER_MS)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("WA_MASTER_KEY")
        .env_remove("WA_APP_SECRET")
        .env_remove("WA_ADMIN_TOKEN");
    cmd
}

/// Wait for `child` at most [`PROCESS_TIMEOUT`] (killing it then), and return its exit
/// status and stderr.
fn finish(mut child: Child) -> (std::process::ExitStatus, String) {
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wa-host did not exit within {PROCESS_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, reader.join().unwrap())
}

#[test]
fn the_demo_exports_graph_requests_in_component_calls_in_webhooks_and_no_secret() {
    let receiver = Receiver::start();
    let dir = temp_dir("demo");
    let child = wa_host(&dir, &receiver.endpoint)
        .args(["demo", "--timeout-secs", "120"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = finish(child);
    assert!(status.success(), "{stderr}");
    // The logs were `warn`: not one span in them, yet all were exported.
    assert!(!stderr.contains("component call returned"), "{stderr}");
    let spans = spans(&receiver);
    assert!(!spans.is_empty(), "nothing exported; stderr: {stderr}");
    assert!(spans.iter().all(|s| s.service == "wa-host"), "{spans:?}");
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);
    for name in ["webhook", "component", "graph"] {
        assert!(named(name).next().is_some(), "no {name} span in {spans:?}");
    }
    // A send: its Graph request's span is a child of the component call that made it.
    assert!(
        named("graph").any(|g| {
            g.attributes.get("method").map(String::as_str) == Some("POST")
                && g.attributes
                    .get("path")
                    .is_some_and(|p| p.ends_with("/messages"))
                && parent(&spans, g).is_some_and(|c| {
                    c.name == "component"
                        && c.attributes.get("call").map(String::as_str) == Some("send")
                })
        }),
        "no graph span under a component send in {spans:?}"
    );
    // Every Graph request was made by a component call.
    for g in named("graph") {
        let c = parent(&spans, g);
        assert!(
            c.is_some_and(|c| c.name == "component"),
            "{g:?} is not in a component span"
        );
    }
    // A webhook: the tenant's ingest inside the POST.
    assert!(
        named("component").any(|c| {
            c.attributes.get("call").map(String::as_str) == Some("ingest")
                && c.attributes.get("tenant").map(String::as_str) == Some("demo")
                && parent(&spans, c).is_some_and(|w| w.name == "webhook")
        }),
        "no ingest under a webhook in {spans:?}"
    );
    // What the demo's tenant holds: a token (`EAAS…`), the app secret (and the app
    // token made of it), the verify token; and what an OAuth exchange carries.
    assert_no_secret(
        &receiver,
        &spans,
        &[
            "EAAS",
            "sandbox-app-secret",
            "demo-verify-token",
            "client_secret",
            "code=",
            "Bearer",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const PNID: &str = "106540352242922";
const APP_SECRET: &str = "otlp-test-app-secret";
const TOKEN: &str = "EAAG-otlp-test-token-5e1d";

/// A webhook Meta would send for one inbound text.
fn payload() -> Vec<u8> {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{PNID}"}},"contacts":[{{"profile":{{"name":"Otlp"}},"wa_id":"15551234567"}}],"messages":[{{"from":"15551234567","id":"wamid.otlp-1","timestamp":"1764000000","text":{{"body":"hello"}},"type":"text"}}]}},"field":"messages"}}]}}]}}"#
    )
    .into_bytes()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_exports_the_webhook_span_when_it_stops_on_sigterm() {
    let receiver = Receiver::start();
    let dir = temp_dir("serve");
    std::fs::create_dir_all(&dir).unwrap();
    let mut add = wa_host(&dir, &receiver.endpoint)
        .env("WA_APP_SECRET", APP_SECRET)
        .args(["tenant", "add", "acme", "--phone-number-id", PNID])
        .args(["--waba-id", "102290129340398", "--token-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{TOKEN}\n").as_bytes())
        .unwrap();
    let (status, stderr) = finish(add);
    assert!(status.success(), "{stderr}");
    let before = receiver.posts().len();

    let (port, admin) = (free_port(), free_port());
    let server = wa_host(&dir, &receiver.endpoint)
        .env("WA_APP_SECRET", APP_SECRET)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--drain-timeout-secs", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", admin)).is_err() {
        assert!(started.elapsed() < PROCESS_TIMEOUT, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = payload();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut request = format!(
        "POST /webhook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-hub-signature-256: {}\r\nconnection: close\r\n\r\n",
        body.len(),
        sign(APP_SECRET.as_bytes(), &body)
    )
    .into_bytes();
    request.extend_from_slice(&body);
    s.write_all(&request).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        receiver.posts().len(),
        before,
        "spans were sent before the exit"
    );

    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    let signalled = unsafe { libc::kill(server.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(signalled, 0, "SIGTERM sent");
    let (status, stderr) = finish(server);
    assert!(status.success(), "serve exits 0 after SIGTERM: {stderr}");

    let spans = spans(&receiver);
    let webhook = spans
        .iter()
        .find(|s| s.name == "webhook")
        .unwrap_or_else(|| panic!("no webhook span in {spans:?}; stderr: {stderr}"));
    assert_eq!(webhook.service, "wa-host");
    assert!(
        spans.iter().any(|c| c.name == "component"
            && c.attributes.get("call").map(String::as_str) == Some("ingest")
            && c.attributes.get("tenant").map(String::as_str) == Some("acme")
            && parent(&spans, c).is_some_and(|w| w.span_id == webhook.span_id)),
        "no ingest under the webhook in {spans:?}"
    );
    assert_no_secret(&receiver, &spans, &[APP_SECRET, TOKEN, "sha256="]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_collector_that_does_not_answer_costs_a_warning_not_the_demo() {
    // A port nothing listens on.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let dir = temp_dir("unreachable");
    let child = wa_host(&dir, &endpoint)
        .args(["demo", "--timeout-secs", "120"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = finish(child);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("traces: cannot export to"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
