//! The webhook server's guarantees: each event recorded exactly once, state kept as
//! events pass, forwarding signed, in order, retried and resumed, metrics exposed.

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use whatsapp_host::api::DeliveryStatus;
use whatsapp_host::forward::{Forwarder, SEQ_HEADER, SIGNATURE_HEADER};
use whatsapp_host::net::{self, Resp};
use whatsapp_host::storage::{KvBackend, NewEvent};
use whatsapp_tests::{
    APP_SECRET, Harness, PHONE_NUMBER_ID, WABA_ID, envelope, http, parser, quiet, sign,
};

fn messages_value(v: Value) -> Value {
    let mut v = v;
    v["messaging_product"] = "whatsapp".into();
    v["metadata"] =
        json!({"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID});
    v
}

fn text_from(from: &str, id: &str, body: &str) -> Vec<u8> {
    envelope(
        "messages",
        messages_value(
            json!({"contacts": [{"profile": {"name": "C"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1700000100", "type": "text", "text": {"body": body}}]}),
        ),
    )
}

fn status(id: &str, s: &str) -> Vec<u8> {
    let mut st =
        json!({"id": id, "status": s, "timestamp": "1700000200", "recipient_id": "15551234567"});
    if s == "failed" {
        st["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    }
    envelope("messages", messages_value(json!({"statuses": [st]})))
}

async fn post(h: &Harness, body: Vec<u8>) -> (u16, String) {
    post_signed(h, APP_SECRET, body).await
}

/// POST a webhook signed with `secret`.
async fn post_signed(h: &Harness, secret: &str, body: Vec<u8>) -> (u16, String) {
    let sig = sign(secret, &body);
    http(
        "POST",
        &h.webhook_url,
        &[("x-hub-signature-256", &sig)],
        body,
    )
    .await
}

#[tokio::test]
async fn under_a_loop_of_posts_delivered_twice_each_event_is_recorded_exactly_once() {
    let h = Harness::start(quiet()).await;
    for i in 0..100 {
        let body = text_from(
            "15551234567",
            &format!("wamid.loop{i}"),
            &format!("hello {i}"),
        );
        assert_eq!(
            post(&h, body.clone()).await,
            (200, "recorded 1 events\n".into())
        );
        assert_eq!(post(&h, body).await, (200, "recorded 0 events\n".into()));
    }
    let rows = h.db.events(Some("acme"), 0, 1000).unwrap();
    assert_eq!(rows.len(), 100);
    let keys: std::collections::HashSet<_> =
        rows.iter().map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 100);
    let (code, metrics) = http("GET", &format!("{}/metrics", h.admin_origin), &[], vec![]).await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("wa_webhook_events_total{tenant=\"acme\"} 100"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wa_webhook_duplicates_total{tenant=\"acme\"} 100"),
        "{metrics}"
    );
    // Latency histograms beside the counters: the POSTs, their ingest calls and commits.
    for series in [
        "wa_webhook_request_seconds_bucket{le=\"+Inf\",status=\"200\"}",
        "wa_component_call_seconds_count{call=\"ingest\"}",
        "wa_commit_seconds_count ",
    ] {
        let count = metrics
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert!(
            count.is_some_and(|n| n >= 200),
            "{series}: {count:?}\n{metrics}"
        );
    }
    // A wrong signature is counted, and still nothing is recorded.
    let body = text_from("15551234567", "wamid.forged", "x");
    assert_eq!(post_signed(&h, "not-the-secret", body).await.0, 401);
    let (_, metrics) = http("GET", &format!("{}/metrics", h.admin_origin), &[], vec![]).await;
    assert!(
        metrics.contains("wa_webhook_signature_failures_total{tenant=\"acme\"} 1"),
        "{metrics}"
    );
    assert_eq!(h.db.events(Some("acme"), 0, 1000).unwrap().len(), 100);
}

#[tokio::test]
async fn statuses_out_of_order_never_move_a_message_backwards() {
    let h = Harness::start(quiet()).await;
    for s in ["read", "sent", "delivered", "sent"] {
        assert_eq!(post(&h, status("wamid.ooo", s)).await.0, 200);
    }
    let st = h
        .instance()
        .await
        .status("wamid.ooo")
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(st.status, DeliveryStatus::Read);
    // Each distinct status is one event; the repeated `sent` is a duplicate.
    assert_eq!(h.db.events(Some("acme"), 0, 10).unwrap().len(), 3);
    // failed is terminal and keeps its errors.
    post(&h, status("wamid.f", "sent")).await;
    post(&h, status("wamid.f", "failed")).await;
    post(&h, status("wamid.f", "delivered")).await;
    let st = h
        .instance()
        .await
        .status("wamid.f")
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(st.status, DeliveryStatus::Failed);
    assert_eq!(st.errors[0].code, 131026);
    assert!(
        h.instance()
            .await
            .status("wamid.never")
            .await
            .unwrap()
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn inbound_messages_keep_the_window_and_consent() {
    let h = Harness::start(quiet()).await;
    // The consent as stored is `state@time` (the time of the message that gave it).
    let consent = || {
        h.db.get("acme", "contacts", "consent:15551234567")
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
            .map(|v| v.split('@').next().unwrap().to_string())
    };
    post(&h, text_from("15551234567", "wamid.hi", "hello")).await;
    assert_eq!(
        h.db.get(
            "acme",
            "contacts",
            &format!("last-inbound:{PHONE_NUMBER_ID}:15551234567")
        )
        .unwrap(),
        Some(b"1700000100".to_vec())
    );
    assert_eq!(consent(), None);
    post(&h, text_from("15551234567", "wamid.stop", " Stop ")).await;
    assert_eq!(consent().as_deref(), Some("stopped"));
    let pref = envelope(
        "user_preferences",
        messages_value(json!({"user_preferences": [{"wa_id": "15551234567",
        "detail": "User requested to resume marketing messages", "category": "marketing_messages", "value": "resume", "timestamp": 1731705721}]})),
    );
    post(&h, pref).await;
    assert_eq!(consent().as_deref(), Some("ok"));
    post(&h, text_from("15551234567", "wamid.stop2", "STOP")).await;
    post(&h, text_from("15551234567", "wamid.start", "start")).await;
    assert_eq!(consent().as_deref(), Some("ok"));
    // The first STOP, delivered again after the later resume: recorded once, and it does
    // not undo the resume (the host deduplicates; the state refuses the older change).
    assert_eq!(
        post(&h, text_from("15551234567", "wamid.stop", " Stop ")).await,
        (200, "recorded 0 events\n".into())
    );
    assert_eq!(consent().as_deref(), Some("ok"));
}

/// A text from a user who shows a username instead of a number: Meta's webhook carries
/// the business-scoped user id (BSUID) and the username, and no `wa_id` or `from`.
fn text_from_username(bsuid: &str, username: &str, id: &str, at: u64, body: &str) -> Vec<u8> {
    envelope(
        "messages",
        messages_value(json!({
            "contacts": [{"profile": {"name": "U", "username": username}, "user_id": bsuid}],
            "messages": [{"from_user_id": bsuid, "id": id, "timestamp": at.to_string(),
                "type": "text", "text": {"body": body}}]})),
    )
}

#[tokio::test]
async fn contacts_with_usernames_keep_their_own_window_and_consent() {
    let h = Harness::start(quiet()).await;
    let (ann, bob) = ("US.13491208655302741918", "GB.1086225403950561");
    let kept = |key: String| {
        h.db.get("acme", "contacts", &key)
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    };
    let window = |bsuid: &str| kept(format!("last-inbound:{PHONE_NUMBER_ID}:{bsuid}"));
    let consent = |bsuid: &str| kept(format!("consent:{bsuid}"));
    let (code, _) = post(
        &h,
        text_from_username(ann, "@ann", "wamid.ann", 1700000100, "hi"),
    )
    .await;
    assert_eq!(code, 200);
    post(
        &h,
        text_from_username(bob, "@bob", "wamid.bob", 1700000200, "STOP"),
    )
    .await;
    assert_eq!(window(ann).as_deref(), Some("1700000100"));
    assert_eq!(window(bob).as_deref(), Some("1700000200"));
    assert_eq!(consent(ann), None);
    assert_eq!(consent(bob).as_deref(), Some("stopped@1700000200"));
    // A preference names such a user by BSUID alone, and changes that user's consent.
    let pref = envelope(
        "user_preferences",
        messages_value(json!({"user_preferences": [{"user_id": bob,
        "detail": "User requested to resume marketing messages", "category": "marketing_messages",
        "value": "resume", "timestamp": 1700000250}]})),
    );
    assert_eq!(post(&h, pref).await.0, 200);
    assert_eq!(consent(bob).as_deref(), Some("ok@1700000250"));
    assert_eq!(consent(ann), None);
    // Nothing was kept under an empty contact, where all such users would meet.
    assert_eq!(window(""), None);
    assert_eq!(consent(""), None);
    // The events are recorded with the BSUID and the username.
    let rows = h.db.events(Some("acme"), 0, 10).unwrap();
    assert_eq!(rows.len(), 3);
    let first: Value = serde_json::from_str(&rows[0].json).unwrap();
    assert_eq!(
        (&first["contact"]["user_id"], &first["contact"]["username"]),
        (&json!(ann), &json!("@ann")),
        "{first}"
    );
    assert_eq!(first["contact"].get("wa_id"), Some(&Value::Null), "{first}");
    // A parent BSUID (linked portfolios) is carried beside the BSUID.
    let mut body: Value = serde_json::from_slice(&text_from_username(
        bob,
        "@bob",
        "wamid.bob2",
        1700000300,
        "hello",
    ))
    .unwrap();
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["parent_user_id"] =
        "US.ENT.11815799212886844830".into();
    post(&h, serde_json::to_vec(&body).unwrap()).await;
    let rows = h.db.events(Some("acme"), 0, 10).unwrap();
    let fourth: Value = serde_json::from_str(&rows[3].json).unwrap();
    assert_eq!(
        fourth["contact"]["parent_user_id"], "US.ENT.11815799212886844830",
        "{fourth}"
    );
}

#[tokio::test]
async fn a_sender_id_too_long_for_a_key_is_still_recorded() {
    // Signed by Meta but malformed: an id over the key-value store's 1 KiB keys. Its
    // state goes under the id's digest; the POST is answered 200, not 500 (which Meta
    // would retry for days).
    let h = Harness::start(quiet()).await;
    let long = "1".repeat(3000);
    assert_eq!(
        post(&h, text_from(&long, "wamid.long", "hello")).await,
        (200, "recorded 1 events\n".into())
    );
}

#[tokio::test]
async fn template_updates_reach_every_tenant_of_the_waba_and_fill_its_cache() {
    let h = Harness::start(quiet()).await;
    let body = envelope(
        "message_template_status_update",
        json!({"event": "APPROVED", "message_template_id": 1689556908129832u64,
        "message_template_name": "order_confirmation", "message_template_language": "en_US", "reason": "NONE", "message_template_category": "UTILITY"}),
    );
    assert_eq!(post(&h, body).await.0, 200);
    let cached: Value = serde_json::from_slice(
        &h.db
            .get("acme", "templates", "order_confirmation:en_US")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (cached["status"].as_str(), cached["category"].as_str()),
        (Some("APPROVED"), Some("UTILITY"))
    );
    let rows = h.db.events(Some("acme"), 0, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, "template");
}

#[tokio::test]
async fn ingest_leaves_other_numbers_to_their_tenants() {
    let h = Harness::start(quiet()).await;
    let mut v = messages_value(
        json!({"messages": [{"from": "1555", "id": "wamid.other", "timestamp": "1", "type": "text", "text": {"body": "x"}}]}),
    );
    v["metadata"]["phone_number_id"] = "999".into();
    let body = envelope("messages", v);
    let r = h.instance().await.ingest(&body).await.unwrap().unwrap();
    assert_eq!((r.events.len(), r.not_mine), (0, 1));
}

#[tokio::test]
async fn random_bytes_through_the_component_never_trap() {
    let mut p = parser("s").await;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for n in 0..300 {
        let len = (n * 7) % 700;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly JSON punctuation and quotes, so some inputs get deep into the parser.
                const ALPHABET: &[u8] = b"{}[]\":,entrychangesvalue0123 \\\xff";
                ALPHABET[(x % ALPHABET.len() as u64) as usize]
            })
            .collect();
        assert!(p.parse(&body).await.is_ok(), "trap on {body:?}");
        assert!(
            p.receive(&body, Some(&sign("s", &body))).await.is_ok(),
            "trap on {body:?}"
        );
    }
}

struct Platform {
    got: Mutex<Vec<(i64, Value, String)>>,
    fail_first: Mutex<bool>,
}

async fn platform(p: Arc<Platform>, req: hyper::Request<hyper::body::Incoming>) -> Resp {
    let seq: i64 = req.headers()[SEQ_HEADER].to_str().unwrap().parse().unwrap();
    let sig = req.headers()[SIGNATURE_HEADER]
        .to_str()
        .unwrap()
        .to_string();
    let header = |name: &str| req.headers()[name].to_str().unwrap().to_string();
    let standard = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let body: Bytes = req.into_body().collect().await.unwrap().to_bytes();
    // Standard Webhooks: the same body signed over `id.timestamp.body`, `v1,<base64>`.
    let (id, timestamp, signature) = standard;
    assert_eq!(id, format!("evt_{seq}"));
    let age = whatsapp_host::app::now_secs() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "webhook-timestamp {timestamp}");
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(b"forward-secret").unwrap();
    hmac::Mac::update(&mut mac, format!("{id}.{timestamp}.").as_bytes());
    hmac::Mac::update(&mut mac, &body);
    let expected = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        hmac::Mac::finalize(mac).into_bytes(),
    );
    assert_eq!(signature, format!("v1,{expected}"), "webhook-signature");
    let mut fail = p.fail_first.lock().unwrap();
    if *fail {
        *fail = false;
        return net::text(hyper::StatusCode::SERVICE_UNAVAILABLE, "later");
    }
    assert_eq!(
        sig,
        sign("forward-secret", &body),
        "forwarded body not signed with the secret"
    );
    p.got
        .lock()
        .unwrap()
        .push((seq, serde_json::from_slice(&body).unwrap(), sig));
    net::text(hyper::StatusCode::OK, "ok")
}

#[tokio::test]
async fn forwarding_is_signed_in_order_retried_and_resumes_after_a_restart() {
    let h = Harness::start(quiet()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let p = Arc::new(Platform {
        got: Mutex::new(vec![]),
        fail_first: Mutex::new(true),
    });
    let (stop_platform, rx) = tokio::sync::watch::channel(false);
    let mut rx2 = rx.clone();
    tokio::spawn(net::serve(
        listener,
        net::Limits::default(),
        p.clone(),
        platform,
        async move {
            let _ = rx2.wait_for(|s| *s).await;
        },
    ));
    let ev = |k: &str, contact: &str| NewEvent {
        tenant: Some("acme".into()),
        kind: "message".into(),
        idempotency_key: k.into(),
        json: json!({"type": "message", "key": k, "contact": {"wa_id": contact}}).to_string(),
    };
    h.db.record_events(&[ev("a1", "A"), ev("b1", "B"), ev("a2", "A")], 0)
        .unwrap();

    let run = |until: usize| {
        let (stop, mut srx) = tokio::sync::watch::channel(false);
        let f = Forwarder {
            db: h.db.clone(),
            url: url.clone(),
            secret: zeroize::Zeroizing::new("forward-secret".into()),
            poll: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            batch: 1,
            holder: "host-a".into(),
        };
        let task = tokio::spawn(f.run(async move {
            let _ = srx.wait_for(|s| *s).await;
        }));
        let p = p.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(20), async {
                while p.got.lock().unwrap().len() < until {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .expect("forwarding did not finish");
            stop.send(true).unwrap();
            task.await.unwrap();
        }
    };
    run(3).await;
    assert_eq!(whatsapp_host::forward::backlog(&h.db), Some(0));
    // Recorded while the forwarder is down: forwarded after the restart, nothing twice.
    h.db.record_events(&[ev("b2", "B"), ev("a3", "A")], 0)
        .unwrap();
    assert_eq!(whatsapp_host::forward::backlog(&h.db), Some(2));
    assert_eq!(
        whatsapp_host::forward::backlog_by_tenant(&h.db),
        Some(vec![("acme".to_string(), 2)])
    );
    run(5).await;
    let got = p.got.lock().unwrap().clone();
    let keys: Vec<&str> = got
        .iter()
        .map(|(_, v, _)| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a1", "b1", "a2", "b2", "a3"]);
    let seqs: Vec<i64> = got
        .iter()
        .map(|(s, v, _)| {
            assert_eq!(v["seq"].as_i64(), Some(*s));
            *s
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    stop_platform.send(true).unwrap();
}

/// A platform that keeps what each POST carried: the seqs of its events (one object or
/// an array), by tenant, checking the ids the headers give.
#[derive(Default)]
struct Counting {
    /// (tenant, seq) in the order received.
    got: Mutex<Vec<(String, i64)>>,
    /// Events per POST.
    sizes: Mutex<Vec<usize>>,
}

async fn counting(p: Arc<Counting>, req: hyper::Request<hyper::body::Incoming>) -> Resp {
    let listed = req.headers()[SEQ_HEADER].to_str().unwrap().to_string();
    let id = req.headers()["webhook-id"].to_str().unwrap().to_string();
    let body: Bytes = req.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    let events = match v {
        Value::Array(items) => items,
        one => vec![one],
    };
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let joined: Vec<String> = seqs.iter().map(i64::to_string).collect();
    assert_eq!(listed, joined.join(","), "x-wa-event-seq lists the seqs");
    let expected = match &seqs[..] {
        [one] => format!("evt_{one}"),
        [first, .., last] => format!("evt_{first}-{last}"),
        [] => panic!("an empty POST"),
    };
    assert_eq!(id, expected, "webhook-id");
    p.sizes.lock().unwrap().push(events.len());
    p.got.lock().unwrap().extend(events.iter().map(|e| {
        (
            e["tenant"].as_str().unwrap().to_string(),
            e["seq"].as_i64().unwrap(),
        )
    }));
    net::text(hyper::StatusCode::OK, "ok")
}

/// Two hosts forward from one database: they split the partitions between them, every
/// event reaches the platform once, each tenant's in order, in batches; when one stops it
/// gives its partitions back and the other forwards them.
#[tokio::test]
async fn two_hosts_share_forwarding_in_batches_and_send_nothing_twice() {
    let h = Harness::start(quiet()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let p = Arc::new(Counting::default());
    let (stop_platform, rx) = tokio::sync::watch::channel(false);
    let mut rx1 = rx.clone();
    tokio::spawn(net::serve(
        listener,
        net::Limits::default(),
        p.clone(),
        counting,
        async move {
            let _ = rx1.wait_for(|s| *s).await;
        },
    ));
    let host = |holder: &str| {
        let (stop, mut srx) = tokio::sync::watch::channel(false);
        let f = Forwarder {
            db: h.db.clone(),
            url: url.clone(),
            secret: zeroize::Zeroizing::new("forward-secret".into()),
            poll: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            batch: 7,
            holder: holder.into(),
        };
        let task = tokio::spawn(f.run(async move {
            let _ = srx.wait_for(|s| *s).await;
        }));
        (stop, task)
    };
    let held = |holder: &str| {
        h.db.leases()
            .unwrap()
            .iter()
            .filter(|l| l.name.starts_with("forward#") && l.holder == holder)
            .count()
    };
    let (stop_a, task_a) = host("host-a");
    let (stop_b, task_b) = host("host-b");
    tokio::time::timeout(Duration::from_secs(20), async {
        while held("host-a") != 8 || held("host-b") != 8 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the two hosts split the sixteen partitions");

    let record = |from: usize, to: usize| {
        let events: Vec<NewEvent> = (from..to)
            .map(|i| {
                let tenant = format!("t{:02}", i % 20);
                NewEvent {
                    tenant: Some(tenant.clone()),
                    kind: "message".into(),
                    idempotency_key: format!("k{i}"),
                    json: json!({"type": "message", "tenant": tenant, "i": i}).to_string(),
                }
            })
            .collect();
        h.db.record_events(&events, 0).unwrap();
    };
    let wait_for = |n: usize| {
        let p = p.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(30), async {
                while p.got.lock().unwrap().len() < n {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .expect("forwarding did not finish");
        }
    };
    for chunk in 0..4 {
        record(chunk * 50, chunk * 50 + 50);
    }
    wait_for(200).await;
    // Host b stops: its partitions are given back and host a forwards them.
    stop_b.send(true).unwrap();
    task_b.await.unwrap();
    assert_eq!(
        held("host-b"),
        0,
        "a stopped host gives its partitions back"
    );
    record(200, 260);
    wait_for(260).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_a.send(true).unwrap();
    task_a.await.unwrap();

    let got = p.got.lock().unwrap().clone();
    let mut seqs: Vec<i64> = got.iter().map(|(_, s)| *s).collect();
    seqs.sort();
    seqs.dedup();
    assert_eq!(got.len(), 260, "nothing sent twice");
    assert_eq!(seqs.len(), 260, "every event sent");
    for t in 0..20 {
        let tenant = format!("t{t:02}");
        let order: Vec<i64> = got
            .iter()
            .filter(|(x, _)| *x == tenant)
            .map(|(_, s)| *s)
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{tenant} in order: {order:?}"
        );
    }
    let sizes = p.sizes.lock().unwrap().clone();
    assert!(sizes.iter().all(|n| (1..=7).contains(n)), "{sizes:?}");
    assert!(sizes.iter().any(|n| *n > 1), "batched: {sizes:?}");
    assert_eq!(whatsapp_host::forward::backlog(&h.db), Some(0));
    stop_platform.send(true).unwrap();
}

/// A platform that refuses (422) every event whose key is `poison` until told to take it.
#[derive(Default)]
struct Picky {
    take_poison: std::sync::atomic::AtomicBool,
    got: Mutex<Vec<String>>,
}

async fn picky(p: Arc<Picky>, req: hyper::Request<hyper::body::Incoming>) -> Resp {
    let body: Bytes = req.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    let key = v["key"].as_str().unwrap().to_string();
    if key == "poison" && !p.take_poison.load(std::sync::atomic::Ordering::SeqCst) {
        return net::text(hyper::StatusCode::UNPROCESSABLE_ENTITY, "no");
    }
    p.got.lock().unwrap().push(key);
    net::text(hyper::StatusCode::OK, "ok")
}

#[tokio::test]
async fn an_event_the_platform_refuses_for_good_is_put_aside_and_replayed_later() {
    use whatsapp_host::forward::{self, Delivery, Sender};
    let h = Harness::start(quiet()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let p = Arc::new(Picky::default());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (mut rx1, mut rx2) = (rx.clone(), rx);
    tokio::spawn(net::serve(
        listener,
        net::Limits::default(),
        p.clone(),
        picky,
        async move {
            let _ = rx1.wait_for(|s| *s).await;
        },
    ));
    let ev = |k: &str| NewEvent {
        tenant: Some("acme".into()),
        kind: "message".into(),
        idempotency_key: k.into(),
        json: json!({"type": "message", "key": k}).to_string(),
    };
    h.db.record_events(&[ev("first"), ev("poison"), ev("after")], 0)
        .unwrap();
    let f = Forwarder {
        db: h.db.clone(),
        url: url.clone(),
        secret: zeroize::Zeroizing::new("forward-secret".into()),
        poll: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        batch: 1,
        holder: "host-a".into(),
    };
    let task = tokio::spawn(f.run(async move {
        let _ = rx2.wait_for(|s| *s).await;
    }));
    tokio::time::timeout(Duration::from_secs(20), async {
        while p.got.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the events after the refused one are forwarded");
    assert_eq!(*p.got.lock().unwrap(), ["first", "after"]);
    let dead = h.db.dead_letters(forward::CURSOR).unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("422"), "{dead:?}");
    let poison_seq = dead[0].seq;

    // Still refused: it stays on the list. Taken: delivered and off the list.
    let sender = Sender::new(&url, zeroize::Zeroizing::new("forward-secret".into()));
    let again = forward::replay(&h.db, &sender, None).await.unwrap();
    assert!(
        matches!(&again[..], [(s, Delivery::Refused(_))] if *s == poison_seq),
        "{again:?}"
    );
    p.take_poison
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let again = forward::replay(&h.db, &sender, Some(&[poison_seq]))
        .await
        .unwrap();
    assert_eq!(again, [(poison_seq, Delivery::Delivered)]);
    assert!(h.db.dead_letters(forward::CURSOR).unwrap().is_empty());
    assert_eq!(*p.got.lock().unwrap(), ["first", "after", "poison"]);
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_tenant_with_its_own_app_secret_verifies_under_it_alone() {
    let h = Harness::start(quiet()).await;
    whatsapp_host::tenants::add(&h.db, &h.vault, own_app("own-app-secret"), 0).unwrap();
    let body = text_to("500000000000005", "400000000000004", "wamid.own");
    // The host-wide secret (the other app's) does not verify this tenant's POST.
    assert_eq!(post(&h, body.clone()).await.0, 401);
    assert_eq!(post_signed(&h, "own-app-secret", body).await.0, 200);
    assert_eq!(h.db.events(Some("own-app"), 0, 10).unwrap().len(), 1);
    assert!(h.db.events(Some("acme"), 0, 10).unwrap().is_empty());
}

#[tokio::test]
async fn a_post_whose_commit_fails_is_refused_and_its_redelivery_is_recorded() {
    let h = Harness::start(quiet()).await;
    let body = text_from("15551234567", "wamid.commitfail", "Is anyone there?");
    // Another process holds the database's write lock past the busy timeout.
    let blocker = rusqlite::Connection::open(&h.db_path).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (code, answer) = post(&h, body.clone()).await;
    assert_eq!(code, 503, "{answer}");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert!(h.db.events(None, 0, 10).unwrap().is_empty());
    // Meta delivers it again: processed afresh, not taken for a duplicate.
    let (code, answer) = post(&h, body.clone()).await;
    assert_eq!(code, 200, "{answer}");
    let rows = h.db.events(None, 0, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].json.contains("Is anyone there?"));
    // A third delivery is the duplicate.
    let (code, _) = post(&h, body).await;
    assert_eq!(code, 200);
    assert_eq!(h.db.events(None, 0, 10).unwrap().len(), 1);
}

/// A text message to `pnid` of WABA `waba`.
fn text_to(waba: &str, pnid: &str, id: &str) -> Vec<u8> {
    let mut v = messages_value(
        json!({"messages": [{"from": "1555", "id": id, "timestamp": "1", "type": "text", "text": {"body": "x"}}]}),
    );
    v["metadata"]["phone_number_id"] = pnid.into();
    serde_json::to_vec(
        &json!({"entry": [{"id": waba, "changes": [{"field": "messages", "value": v}]}]}),
    )
    .unwrap()
}

fn own_app(secret: &str) -> whatsapp_host::tenants::NewTenant {
    whatsapp_host::tenants::NewTenant {
        id: "own-app".into(),
        phone_number_id: "400000000000004".into(),
        waba_id: "500000000000005".into(),
        app_secret: Some(zeroize::Zeroizing::new(secret.into())),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_tenant_removed_or_given_a_new_secret_is_routed_anew_at_once() {
    // The server keeps the tenants webhooks name for a second; a change made through
    // the same database must not wait for that.
    let h = Harness::start(quiet()).await;
    let add = |secret| whatsapp_host::tenants::add(&h.db, &h.vault, own_app(secret), 0).unwrap();
    let body = |id| text_to("500000000000005", "400000000000004", id);
    add("first-secret");
    assert_eq!(
        post_signed(&h, "first-secret", body("wamid.a")).await.0,
        200
    );
    whatsapp_host::tenants::remove(&h.db, "own-app").unwrap();
    // Nobody owns the number now, and the host-wide secret is another app's.
    assert_eq!(
        post_signed(&h, "first-secret", body("wamid.b")).await.0,
        401
    );
    add("second-secret");
    assert_eq!(
        post_signed(&h, "first-secret", body("wamid.c")).await.0,
        401
    );
    assert_eq!(
        post_signed(&h, "second-secret", body("wamid.d")).await.0,
        200
    );
    let ids: Vec<String> =
        h.db.events(Some("own-app"), 0, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.idempotency_key)
            .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        ids[0].contains("wamid.a") && ids[1].contains("wamid.d"),
        "{ids:?}"
    );
}

#[tokio::test]
async fn a_routes_entry_keeps_one_warm_instance_within_the_pools_share() {
    use whatsapp_host::directory::Directory;
    use whatsapp_host::tenants::Defaults;
    let h = Harness::start(quiet()).await;
    let dir = Directory::default();
    let defaults = Defaults::default();
    let owners =
        |dir: &Directory| dir.owners(&h.db, &h.vault, &defaults, WABA_ID, Some(PHONE_NUMBER_ID));
    let first = owners(&dir);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].record.id, "acme");
    assert!(first[0].binding.is_ok() && first[0].app_secret.is_ok());
    // Asked again, the same entry answers.
    assert!(Arc::ptr_eq(&first[0], &owners(&dir)[0]));

    let known = &first[0];
    let a = known.instance(&h.runtime).await.unwrap();
    let b = known.instance(&h.runtime).await.unwrap();
    assert_eq!(dir.warm(), 0);
    known.keep(a, 1);
    assert_eq!(dir.warm(), 1);
    // One per entry: the second is not kept.
    known.keep(b, 1);
    assert_eq!(dir.warm(), 1);
    // Taken back out, then refused for want of room (a limit of 0).
    let mut a = known.instance(&h.runtime).await.unwrap();
    assert_eq!(dir.warm(), 0);
    assert!(
        a.info().await.unwrap().is_ok(),
        "the warm instance still answers"
    );
    known.keep(a, 0);
    assert_eq!(dir.warm(), 0);
    let a = known.instance(&h.runtime).await.unwrap();
    known.keep(a, 1);
    assert_eq!(dir.warm(), 1);

    // A tenant written moves the route to a new entry; the old one, once nobody holds
    // it, gives its instance back to the pool.
    whatsapp_host::tenants::set_identity(&h.db, "acme", WABA_ID, Some("15550000000")).unwrap();
    let second = owners(&dir);
    assert!(!Arc::ptr_eq(&first[0], &second[0]));
    assert_eq!(
        second[0].record.display_phone_number.as_deref(),
        Some("15550000000")
    );
    assert_eq!(dir.warm(), 1);
    drop(first);
    assert_eq!(dir.warm(), 0);
}
