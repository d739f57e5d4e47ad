//! The sans-IO core natively on pywa's recorded payloads (read from ../shared).

use whatsapp_guest::core::webhook::{DeliveryStatus, EventBody, MessageContent, parse};

fn payloads(file: &str) -> Vec<(String, Vec<u8>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/pywa/updates")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    v.into_iter()
        .map(|(k, p)| (k, serde_json::to_vec(&p).unwrap()))
        .collect()
}

#[test]
fn text_messages_parse_to_text_events() {
    for (name, body) in payloads("message.json") {
        let events = parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(events.len(), 1, "{name}");
        let EventBody::Message(m) = &events[0].body else {
            panic!("{name}: {:?}", events[0])
        };
        match (m.message_type.as_str(), &m.content) {
            ("text", MessageContent::Text(t)) => assert!(!t.is_empty(), "{name}"),
            ("text", other) => panic!("{name}: a text became {other:?}"),
            (_, MessageContent::Other(raw)) => assert!(raw.contains(&m.id), "{name}"),
            (_, other) => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn statuses_parse_in_metas_order() {
    let mut seen = Vec::new();
    for (name, body) in payloads("message_status.json") {
        let events = parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let EventBody::Status(s) = &events[0].body else {
            panic!("{name}")
        };
        assert_eq!(s.status.as_str(), s.raw_status, "{name}");
        seen.push(s.status);
    }
    assert!(
        DeliveryStatus::Sent < DeliveryStatus::Delivered
            && DeliveryStatus::Delivered < DeliveryStatus::Read
    );
    for s in [
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::Played,
        DeliveryStatus::Failed,
    ] {
        assert!(seen.contains(&s), "no {s:?} fixture");
    }
}
