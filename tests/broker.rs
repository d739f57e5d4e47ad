//! The Redis Streams sink against a real Redis server (`.ci/redis.sh` starts one; the
//! tests say they are skipped without `WA_REDIS_URL`, and fail without it when
//! `WA_REQUIRE_REDIS=1`): each tenant's events in its stream in the order recorded, under
//! IDs that are their sequence numbers; a cursor moved back (a crash before it was
//! saved) and two hosts publishing at once write nothing twice; an entry Redis refuses
//! is put aside and the rest go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use whatsapp_host::broker::{self, BrokerSink, Redis, RedisConfig, Reply};
use whatsapp_host::storage::{Database, NewEvent};

fn redis_url() -> Option<String> {
    match std::env::var("WA_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("WA_REQUIRE_REDIS").as_deref() != Ok("1"),
                "WA_REQUIRE_REDIS=1 but WA_REDIS_URL is not set (.ci/redis.sh prints one)"
            );
            eprintln!("skipped: set WA_REDIS_URL (.ci/redis.sh prints one)");
            None
        }
    }
}

/// A sink over a fresh database, its streams under a prefix of this test's own.
fn sink(url: &str) -> BrokerSink {
    static N: AtomicUsize = AtomicUsize::new(0);
    let prefix = format!(
        "wa-test-{}-{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    BrokerSink {
        db: Arc::new(Database::open_in_memory().unwrap()),
        config: RedisConfig::from_url(url, &prefix).unwrap(),
        batch: 7,
        poll: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

fn event(tenant: Option<&str>, key: &str) -> NewEvent {
    NewEvent {
        tenant: tenant.map(str::to_string),
        kind: "message".into(),
        idempotency_key: key.into(),
        json: serde_json::json!({"type": "message", "key": key}).to_string(),
    }
}

/// Publish until the cursor is at the newest event.
async fn drain(s: &BrokerSink) {
    let mut redis = None;
    for _ in 0..1000 {
        if s.step(&mut redis).await.unwrap() == 0 {
            return;
        }
    }
    panic!("the sink did not catch up");
}

/// A stream's entries: (ID, seq field, the event's key).
async fn entries(r: &mut Redis, stream: &str) -> Vec<(String, String, String)> {
    let Reply::Array(items) = r
        .command(&[b"XRANGE", stream.as_bytes(), b"-", b"+"])
        .await
        .unwrap()
    else {
        panic!("XRANGE answered no list");
    };
    items
        .into_iter()
        .map(|item| {
            let Reply::Array(parts) = item else {
                panic!("an entry that is not a list")
            };
            let [Reply::Text(id), Reply::Array(fields)] = &parts[..] else {
                panic!("an entry of another shape: {parts:?}")
            };
            let field = |name: &str| {
                fields
                    .chunks(2)
                    .find(|kv| kv[0] == Reply::Text(name.into()))
                    .and_then(|kv| match &kv[1] {
                        Reply::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .unwrap_or_default()
            };
            let event: serde_json::Value = serde_json::from_str(&field("event")).unwrap();
            (
                id.clone(),
                field("seq"),
                event["key"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_tenant_gets_its_events_in_order_and_nothing_twice_after_a_cursor_goes_back() {
    let Some(url) = redis_url() else { return };
    let s = sink(&url);
    let mut events = Vec::new();
    for i in 0..20 {
        let tenant = if i % 2 == 0 { "acme" } else { "globex" };
        events.push(event(Some(tenant), &format!("{tenant}-{i}")));
    }
    events.push(event(None, "nobody"));
    s.db.record_events(&events, 1).unwrap();
    drain(&s).await;
    assert_eq!(s.db.cursor(broker::CURSOR).unwrap(), Some(21));

    let mut r = Redis::connect(&s.config).await.unwrap();
    let acme = entries(&mut r, &s.config.stream(Some("acme"))).await;
    let keys: Vec<&str> = acme.iter().map(|e| e.2.as_str()).collect();
    let want: Vec<String> = (0..20).step_by(2).map(|i| format!("acme-{i}")).collect();
    assert_eq!(keys, want);
    for (id, seq, _) in &acme {
        assert_eq!(id, &format!("{seq}-0"), "the entry's ID is the event's seq");
    }
    assert_eq!(
        entries(&mut r, &s.config.stream(Some("globex")))
            .await
            .len(),
        10
    );
    let nobody = entries(&mut r, &s.config.stream(None)).await;
    assert_eq!(
        nobody.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(),
        ["nobody"]
    );

    // A crash before the cursor was saved: the same events are published again, and
    // Redis keeps each once.
    s.db.set_cursor(broker::CURSOR, 3).unwrap();
    drain(&s).await;
    assert_eq!(entries(&mut r, &s.config.stream(Some("acme"))).await, acme);
    assert!(s.db.dead_letters(broker::CURSOR).unwrap().is_empty());
    for t in [Some("acme"), Some("globex"), None] {
        r.command(&[b"DEL", s.config.stream(t).as_bytes()])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn two_hosts_publishing_the_same_log_write_each_event_once() {
    let Some(url) = redis_url() else { return };
    let s = sink(&url);
    let events: Vec<NewEvent> = (0..300)
        .map(|i| event(Some("acme"), &format!("e{i}")))
        .collect();
    s.db.record_events(&events, 1).unwrap();
    // A second host: the same database and streams, a cursor of its own making.
    let other = BrokerSink {
        db: s.db.clone(),
        config: s.config.clone(),
        batch: 13,
        poll: s.poll,
        max_backoff: s.max_backoff,
    };
    tokio::join!(drain(&s), async {
        let mut redis = None;
        let mut moved_back = false;
        for _ in 0..1000 {
            if other.step(&mut redis).await.unwrap() == 0 {
                break;
            }
            // Once, the shared cursor moved back, as a slower host saving late would.
            let at = other.db.cursor(broker::CURSOR).unwrap().unwrap_or(0);
            if !moved_back && at > 50 {
                other.db.set_cursor(broker::CURSOR, 10).unwrap();
                moved_back = true;
            }
        }
    });
    drain(&s).await;
    let mut r = Redis::connect(&s.config).await.unwrap();
    let got = entries(&mut r, &s.config.stream(Some("acme"))).await;
    let keys: Vec<String> = got.into_iter().map(|e| e.2).collect();
    let want: Vec<String> = (0..300).map(|i| format!("e{i}")).collect();
    assert_eq!(keys, want, "every event once, in order");
    r.command(&[b"DEL", s.config.stream(Some("acme")).as_bytes()])
        .await
        .unwrap();
}

#[tokio::test]
async fn an_entry_redis_refuses_is_put_aside_and_the_rest_go_on() {
    let Some(url) = redis_url() else { return };
    let s = sink(&url);
    let mut r = Redis::connect(&s.config).await.unwrap();
    // Another program holds a plain key where the tenant's stream would be.
    let taken = s.config.stream(Some("taken"));
    r.command(&[b"SET", taken.as_bytes(), b"not a stream"])
        .await
        .unwrap();
    s.db.record_events(
        &[
            event(Some("acme"), "a1"),
            event(Some("taken"), "t1"),
            event(Some("acme"), "a2"),
        ],
        1,
    )
    .unwrap();
    drain(&s).await;
    let acme = entries(&mut r, &s.config.stream(Some("acme"))).await;
    assert_eq!(
        acme.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    let dead = s.db.dead_letters(broker::CURSOR).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].seq, 2);
    assert!(dead[0].reason.contains("WRONGTYPE"), "{dead:?}");
    for k in [taken, s.config.stream(Some("acme"))] {
        r.command(&[b"DEL", k.as_bytes()]).await.unwrap();
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_saying_it() {
    let Some(url) = redis_url() else { return };
    let mut config = RedisConfig::from_url(&url, "x:").unwrap();
    config.password = Some(zeroize::Zeroizing::new("wrong-password-9f2".into()));
    let err = Redis::connect(&config).await.err().expect("refused");
    assert!(err.contains("AUTH refused"), "{err}");
    assert!(!err.contains("wrong-password-9f2"), "{err}");
}
