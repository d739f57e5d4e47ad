//! Webhooks through the real component in the real host: every body of our corpus
//! (`tests/data/webhooks`) and of pywa's when it is beside the repository, and the cases
//! no corpus file has (batches, encodings, bad input).

use serde_json::{Value, json};
use whatsapp_host::api::{DeliveryStatus, Error, ErrorKind, Event, EventBody, MessageContent};
use whatsapp_tests::corpus::{self, Payload};
use whatsapp_tests::{parser, sign, webhook};

const SECRET: &str = "fixture-app-secret";

/// The events a body must produce: one per message, status, echo, call, preference,
/// group item, history chunk and synced contact of each change, one more for change-level errors (a `flows` alert's
/// `errors` are its own figures), or one for the change itself.
fn expected_events(body: &[u8]) -> usize {
    let v: Value = serde_json::from_slice(body).unwrap();
    let len = |c: &Value, k: &str| c["value"][k].as_array().map_or(0, Vec::len);
    v["entry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["changes"].as_array().unwrap().iter())
        .map(|c| {
            let items: usize = [
                "messages",
                "statuses",
                "message_echoes",
                "calls",
                "user_preferences",
            ]
            .iter()
            .map(|k| len(c, k))
            .sum();
            let groups = match c["field"].as_str() {
                Some(f) if f.starts_with("group_") => len(c, "groups"),
                _ => 0,
            };
            // A history change: one event per chunk, one for the media that follow.
            let items = match c["field"].as_str() {
                Some("history") => len(c, "history") + usize::from(len(c, "messages") > 0),
                _ => items,
            } + len(c, "state_sync");
            let errors = c["field"] != "flows" && len(c, "errors") > 0;
            let n = items + groups + usize::from(errors);
            n.max(1)
        })
        .sum()
}

async fn receive(body: &[u8]) -> Vec<Event> {
    let mut p = parser(SECRET).await;
    p.receive(body, Some(&sign(SECRET, body)))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// Every payload gives the events its body holds; only our `unknown.json` gives `unknown`.
async fn parses_with_no_change_dropped(payloads: &[Payload]) {
    let mut p = parser(SECRET).await;
    for pl in payloads {
        let body = &pl.body;
        let events = p
            .receive(body, Some(&sign(SECRET, body)))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{}: {e:?}", pl.label()));
        assert_eq!(events.len(), expected_events(body), "{}", pl.label());
        for e in &events {
            assert_eq!(
                matches!(e.body, EventBody::Unknown(_)),
                pl.corpus == "ours" && pl.file == "unknown.json",
                "{}: {e:?}",
                pl.label()
            );
            assert!(!e.idempotency_key.is_empty(), "{}", pl.label());
            assert!(!e.routing.waba_id.is_empty(), "{}", pl.label());
        }
    }
}

#[tokio::test]
async fn every_payload_of_ours_parses_with_no_change_dropped() {
    let payloads = corpus::webhooks();
    assert!(payloads.len() >= 70, "{} payloads", payloads.len());
    parses_with_no_change_dropped(&payloads).await;
}

#[tokio::test]
async fn every_pywa_payload_parses_with_no_change_dropped() {
    let Some(payloads) = corpus::pywa_webhooks() else {
        return;
    };
    assert_eq!(payloads.len(), 74, "pywa's set has 74 payloads");
    parses_with_no_change_dropped(&payloads).await;
}

#[tokio::test]
async fn a_text_message_carries_its_routing_contact_and_content() {
    let events = receive(&webhook("messages.json", "text")).await;
    let [e] = events.as_slice() else {
        panic!("{events:?}")
    };
    let wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQTEXTAA=";
    assert_eq!(e.idempotency_key, format!("message:{wamid}"));
    assert_eq!(e.field, "messages");
    assert_eq!(e.routing.waba_id, "102290129340398");
    assert_eq!(
        e.routing.phone_number_id.as_deref(),
        Some("106540352242922")
    );
    assert_eq!(
        e.routing.display_phone_number.as_deref(),
        Some("15550783881")
    );
    assert_eq!(e.timestamp, Some(1733323200));
    let c = e.contact.as_ref().unwrap();
    assert_eq!(
        (c.wa_id.as_deref(), c.user_id.as_deref(), c.name.as_deref()),
        (
            Some("16505551234"),
            Some("US.1086225403950561"),
            Some("Kerry Fisher")
        )
    );
    let EventBody::Message(m) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(
        (m.id.as_str(), m.from.as_str(), m.message_type.as_str()),
        (wamid, "16505551234", "text")
    );
    assert_eq!(
        m.content,
        MessageContent::Text("Hi! Is the blue jacket still in stock?".into())
    );
    assert!(m.context.is_none());
}

#[tokio::test]
async fn a_user_with_a_username_is_named_by_bsuid_and_username() {
    let events = receive(&webhook("messages.json", "username_only")).await;
    let [e] = events.as_slice() else {
        panic!("{events:?}")
    };
    let c = e.contact.as_ref().unwrap();
    assert_eq!(
        (
            c.wa_id.as_deref(),
            c.user_id.as_deref(),
            c.username.as_deref(),
            c.parent_user_id.as_deref()
        ),
        (None, Some("US.7359204871654321"), Some("@sam.rivers"), None)
    );
    let EventBody::Message(m) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(
        (m.from.as_str(), m.from_user_id.as_deref()),
        ("", Some("US.7359204871654321"))
    );
}

#[tokio::test]
async fn replies_and_forwards_keep_their_context() {
    let text_of = |e: &Event| match &e.body {
        EventBody::Message(m) => (m.content.clone(), m.context.clone().unwrap()),
        other => panic!("{other:?}"),
    };
    let (content, ctx) = text_of(&receive(&webhook("messages.json", "reply")).await[0]);
    assert_eq!(content, MessageContent::Text("Yes, size M please".into()));
    assert_eq!(
        (ctx.message_id.as_deref(), ctx.from.as_deref()),
        (
            Some("wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA=="),
            Some("15550783881")
        )
    );
    let (_, ctx) = text_of(&receive(&webhook("messages.json", "forwarded")).await[0]);
    assert!(ctx.forwarded && !ctx.frequently_forwarded);
    let (_, ctx) = text_of(&receive(&webhook("messages.json", "frequently_forwarded")).await[0]);
    assert!(ctx.frequently_forwarded);
}

#[tokio::test]
async fn media_messages_are_typed_with_their_ids() {
    let e = &receive(&webhook("messages.json", "image")).await[0];
    let EventBody::Message(m) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(m.message_type, "image");
    let MessageContent::Image(media) = &m.content else {
        panic!("{m:?}")
    };
    assert_eq!(
        (
            media.id.as_str(),
            media.mime_type.as_deref(),
            media.sha256.as_deref()
        ),
        (
            "1479537139650973",
            Some("image/jpeg"),
            Some("ZmFrZS1zaGEyNTYtb2YtdGhlLWltYWdl")
        )
    );
    let e = &receive(&webhook("messages.json", "voice")).await[0];
    let EventBody::Message(m) = &e.body else {
        panic!("{e:?}")
    };
    assert!(matches!(&m.content, MessageContent::Audio(a) if a.voice));
}

#[tokio::test]
async fn every_status_fixture_names_its_status() {
    for (name, want) in [
        ("sent", DeliveryStatus::Sent),
        ("delivered", DeliveryStatus::Delivered),
        ("read", DeliveryStatus::Read),
        ("played", DeliveryStatus::Played),
        ("failed_undeliverable", DeliveryStatus::Failed),
        ("with_callback_data", DeliveryStatus::Sent),
        ("group_read", DeliveryStatus::Read),
        ("deleted", DeliveryStatus::Deleted),
        ("delivered_to_bsuid", DeliveryStatus::Delivered),
    ] {
        let events = receive(&webhook("statuses.json", name)).await;
        let [e] = events.as_slice() else {
            panic!("{name}: {events:?}")
        };
        let EventBody::Status(s) = &e.body else {
            panic!("{name}: {e:?}")
        };
        assert_eq!(s.status, want, "{name}");
        assert_eq!(
            e.idempotency_key,
            format!("status:{}:{}", s.message_id, s.raw_status),
            "{name}"
        );
    }
    // A message sent to a business-scoped user id: the user is named by BSUID and
    // username, with no number.
    let e = &receive(&webhook("statuses.json", "delivered_to_bsuid")).await[0];
    let c = e.contact.as_ref().unwrap();
    assert_eq!(
        (
            c.wa_id.as_deref(),
            c.user_id.as_deref(),
            c.username.as_deref()
        ),
        (None, Some("US.7359204871654321"), Some("@sam.rivers"))
    );
    let e = &receive(&webhook("statuses.json", "failed_undeliverable")).await[0];
    let EventBody::Status(s) = &e.body else {
        panic!()
    };
    assert_eq!(s.errors.len(), 1);
    assert_eq!(s.errors[0].code, 131026);
    assert_eq!(s.errors[0].message, "Message undeliverable");
    assert!(
        s.errors[0]
            .details
            .as_deref()
            .unwrap()
            .contains("could not be delivered")
    );
    let e = &receive(&webhook("statuses.json", "with_callback_data")).await[0];
    let EventBody::Status(s) = &e.body else {
        panic!()
    };
    assert_eq!(
        s.biz_opaque_callback_data.as_deref(),
        Some("outbox:entry-000042")
    );
    let e = &receive(&webhook("statuses.json", "sent")).await[0];
    let EventBody::Status(s) = &e.body else {
        panic!()
    };
    let conv = s.conversation.as_ref().unwrap();
    assert_eq!(
        (
            conv.id.as_str(),
            conv.origin_type.as_deref(),
            conv.expiration_timestamp
        ),
        (
            "6e6ff7d1a5bd5ebbcbd8fd4ae2c6cd25",
            Some("marketing"),
            Some(1733409660)
        )
    );
    let pricing = s.pricing.as_ref().unwrap();
    assert_eq!(
        (
            pricing.billable,
            pricing.pricing_model.as_deref(),
            pricing.category.as_deref()
        ),
        (Some(true), Some("PMP"), Some("marketing"))
    );
    assert_eq!(
        e.contact.as_ref().unwrap().wa_id.as_deref(),
        Some("16505551234")
    );
}

fn msg(id: &str, text: &str) -> Value {
    json!({"from": "15551234567", "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}})
}

fn status(id: &str, s: &str) -> Value {
    json!({"id": id, "status": s, "timestamp": "1700000001", "recipient_id": "15551234567"})
}

fn change(pnid: &str, messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    json!({"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": pnid},
        "contacts": [{"profile": {"name": "A"}, "wa_id": "15551234567"}],
        "messages": messages, "statuses": statuses}})
}

#[tokio::test]
async fn a_batched_post_yields_every_entry_change_message_and_status_in_order() {
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [
        {"id": "W1", "changes": [
            change("P1", vec![msg("m1", "a"), msg("m2", "b")], vec![status("s1", "sent"), status("s1", "delivered")]),
            change("P2", vec![msg("m3", "c")], vec![]),
        ]},
        {"id": "W2", "changes": [
            change("P3", vec![], vec![status("s2", "read"), status("s3", "failed")]),
            {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}},
        ]},
    ]}))
    .unwrap();
    let events = receive(&body).await;
    let keys: Vec<&str> = events.iter().map(|e| e.idempotency_key.as_str()).collect();
    assert_eq!(
        &keys[..8],
        [
            "message:m1",
            "message:m2",
            "status:s1:sent",
            "status:s1:delivered",
            "message:m3",
            "status:s2:read",
            "status:s3:failed",
            keys[7]
        ]
    );
    assert_eq!(events.len(), 8);
    let routes: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.routing.waba_id.as_str(),
                e.routing.phone_number_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(routes[4], ("W1", Some("P2")));
    assert_eq!(routes[6], ("W2", Some("P3")));
    assert!(
        matches!(&events[7].body, EventBody::Template(t) if t.value.as_deref() == Some("APPROVED") && t.template_id == "1")
    );
    assert_eq!(events[7].field, "message_template_status_update");
}

#[tokio::test]
async fn a_thousand_message_post_parses_whole() {
    let messages: Vec<Value> = (0..1000)
        .map(|i| msg(&format!("wamid.{i}"), &format!("message {i}")))
        .collect();
    let body = serde_json::to_vec(
        &json!({"entry": [{"id": "W", "changes": [change("P", messages, vec![])]}]}),
    )
    .unwrap();
    let events = receive(&body).await;
    assert_eq!(events.len(), 1000);
    assert_eq!(events[999].idempotency_key, "message:wamid.999");
}

#[tokio::test]
async fn utf8_escapes_and_slashes_are_signed_over_the_raw_bytes() {
    // The same text three ways: literal UTF-8, \u escapes (with a surrogate pair), escaped slashes.
    let bodies = [
        r#"{"entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P"},"messages":[{"from":"1555","id":"m","timestamp":"1","type":"text","text":{"body":"héllo 👋 a/b"}}]}}]}]}"#.to_string(),
        r#"{"entry":[{"id":"W","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P"},"messages":[{"from":"1555","id":"m","timestamp":"1","type":"text","text":{"body":"h\u00e9llo \ud83d\udc4b a\/b"}}]}}]}]}"#.to_string(),
    ];
    for body in &bodies {
        let events = receive(body.as_bytes()).await;
        let EventBody::Message(m) = &events[0].body else {
            panic!()
        };
        assert_eq!(m.content, MessageContent::Text("héllo 👋 a/b".into()));
    }
    // A signature over the escaped form does not verify the literal form: bytes, not JSON.
    let mut p = parser(SECRET).await;
    let sig = sign(SECRET, bodies[1].as_bytes());
    assert!(matches!(
        p.receive(bodies[0].as_bytes(), Some(&sig)).await.unwrap(),
        Err(Error {
            kind: ErrorKind::BadSignature,
            ..
        })
    ));
}

#[tokio::test]
async fn bad_signatures_and_bad_bodies_are_typed_errors() {
    let body = webhook("messages.json", "text");
    let mut p = parser(SECRET).await;
    for sig in [
        None,
        Some("".to_string()),
        Some("sha256=abc".into()),
        Some(sign("wrong-secret", &body)),
        Some(sign(SECRET, b"other")),
    ] {
        let r = p.receive(&body, sig.as_deref()).await.unwrap();
        assert!(
            matches!(
                r,
                Err(Error {
                    kind: ErrorKind::BadSignature,
                    ..
                })
            ),
            "{sig:?}: {r:?}"
        );
    }
    let truncated = &body[..body.len() / 2];
    let r = p
        .receive(truncated, Some(&sign(SECRET, truncated)))
        .await
        .unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "body"),
        "{r:?}"
    );
    let r = p.parse(b"\x00\xff not json").await.unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::InvalidInput,
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn unknown_message_types_and_change_level_errors_are_kept() {
    let body = serde_json::to_vec(&json!({"entry": [{"id": "W", "changes": [
        {"field": "messages", "value": {"metadata": {"phone_number_id": "P"},
            "messages": [{"from": "1555", "id": "m9", "timestamp": "1", "type": "hologram", "hologram": {"x": 1}}]}},
        {"field": "messages", "value": {"metadata": {"phone_number_id": "P"},
            "errors": [{"code": 131051, "title": "Message type unknown"}]}},
    ]}]}))
    .unwrap();
    let events = receive(&body).await;
    assert_eq!(events.len(), 2);
    let EventBody::Message(m) = &events[0].body else {
        panic!()
    };
    assert_eq!(m.message_type, "hologram");
    assert!(matches!(&m.content, MessageContent::Other(raw) if raw.contains("hologram")));
    assert!(
        matches!(&events[1].body, EventBody::Errors(es) if es[0].code == 131051 && es[0].message == "Message type unknown")
    );
}

#[tokio::test]
async fn the_handshake_answers_only_the_right_token() {
    let (s, _, _) = whatsapp_tests::services(Default::default());
    let rt = whatsapp_tests::runtime(s);
    let b =
        whatsapp_host::TenantBinding::new("t", [("verify-token".to_string(), "vt".to_string())]);
    let mut i = rt.instantiate(&b).await.unwrap();
    assert_eq!(
        i.verify_subscription("subscribe", "vt", "1158201444")
            .await
            .unwrap()
            .unwrap(),
        "1158201444"
    );
    assert!(
        i.verify_subscription("subscribe", "nope", "1")
            .await
            .unwrap()
            .is_err()
    );
}
