//! The published JSON Schema of the events (`host/schema/events.schema.json`, generated
//! from the component's writers by `guest/src/core/webhook/schema.rs`) against real
//! output, with a real validator (the `jsonschema` crate, draft 2020-12): every event the
//! built component makes of every payload of our corpus and of pywa's, as the host
//! records it, and the events the host writes itself.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use whatsapp_host::api::GraphError;
use whatsapp_host::runtime::ConnectionEvents;
use whatsapp_tests::corpus::{self, Payload};
use whatsapp_tests::{APP_SECRET, Harness, envelope, http, parser, quiet, sign};

/// The kinds the host writes itself; every other kind is the component's.
const HOST_KINDS: [&str; 2] = ["unroutable", "connection"];

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("host/schema/events.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The schema, itself checked against draft 2020-12's meta-schema.
struct Checker {
    schema: Value,
    validator: jsonschema::Validator,
}

impl Checker {
    fn new() -> Checker {
        let schema = schema();
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            panic!("the published schema is not a valid 2020-12 schema: {e}");
        }
        let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
        Checker { schema, validator }
    }

    /// Every kind the schema names.
    fn kinds(&self) -> BTreeSet<String> {
        self.schema["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    }

    /// Why `json` (one event, as recorded) is not valid, if it is not: the errors against
    /// the schema of its own kind, which say more than the top level's `oneOf`.
    fn errors(&self, json: &str) -> Option<String> {
        if let Err(e) = serde_json::from_str::<NoDuplicateKeys>(json) {
            return Some(e.to_string());
        }
        let v: Value = match serde_json::from_str(json) {
            Ok(v) => v,
            Err(e) => return Some(format!("not JSON: {e}")),
        };
        if self.validator.is_valid(&v) {
            return None;
        }
        let kind = v["type"].as_str().unwrap_or_default();
        let mut detail: Vec<String> = Vec::new();
        if self.schema["$defs"].get(kind).is_some() {
            let own = json!({
                "$schema": self.schema["$schema"],
                "$defs": self.schema["$defs"],
                "$ref": format!("#/$defs/{kind}"),
            });
            let own = jsonschema::draft202012::new(&own).expect("a kind's schema compiles");
            detail = own
                .iter_errors(&v)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
        }
        if detail.is_empty() {
            detail = self
                .validator
                .iter_errors(&v)
                .map(|e| e.to_string())
                .collect();
        }
        Some(detail.join("; "))
    }

    fn assert_valid(&self, label: &str, json: &str) {
        if let Some(why) = self.errors(json) {
            panic!("{label}: an event the schema does not allow: {why}\n{json}");
        }
    }
}

/// Deserializes any JSON, and fails on an object that has a key twice, at any depth: a
/// validator sees the parsed value, in which the last of the two would silently win.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            if !seen.insert(k.clone()) {
                return Err(de::Error::custom(format!(
                    "the key {k:?} twice in one object"
                )));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}

/// What one corpus gave: how many events, of which kinds, with which content members.
#[derive(Default)]
struct Seen {
    events: usize,
    kinds: BTreeMap<String, usize>,
    contents: BTreeSet<String>,
}

/// The content members (`text`, `image`, …) the schema lists for messages.
fn content_keys(c: &Checker) -> BTreeSet<String> {
    c.schema["$defs"]["message_content"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["required"][0].as_str().unwrap().to_string())
        .collect()
}

/// Every event the component makes of `payloads` through `webhooks.ingest`: the records
/// whose `json` the host stores as it is (`server.rs`), each checked.
async fn check_corpus(c: &Checker, payloads: &[Payload]) -> Seen {
    let contents = content_keys(c);
    let mut p = parser(APP_SECRET).await;
    let mut seen = Seen::default();
    for pl in payloads {
        let r = p
            .ingest(&pl.body)
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{}: {e:?}", pl.label()));
        assert_eq!(r.not_mine, 0, "{}", pl.label());
        for e in &r.events {
            let label = format!("{} ({})", pl.label(), e.idempotency_key);
            c.assert_valid(&label, &e.json);
            let v: Value = serde_json::from_str(&e.json).unwrap();
            assert_eq!(v["type"], e.kind.as_str(), "{label}: the record's kind");
            *seen.kinds.entry(e.kind.clone()).or_default() += 1;
            let mut items = vec![&v];
            if let Some(ms) = v["messages"].as_array() {
                items.extend(ms);
            }
            for item in items {
                for k in item.as_object().unwrap().keys() {
                    if contents.contains(k) {
                        seen.contents.insert(k.clone());
                    }
                }
            }
            seen.events += 1;
        }
    }
    seen
}

#[tokio::test]
async fn every_event_of_our_corpus_is_one_the_schema_allows() {
    let c = Checker::new();
    let seen = check_corpus(&c, &corpus::webhooks()).await;
    eprintln!(
        "schema: {} events of our corpus valid, by kind: {:?}",
        seen.events, seen.kinds
    );
    assert!(seen.events >= 100, "{} events", seen.events);
    // Our corpus covers every kind the component writes, and every content (the guest's
    // corpus test holds it to that), so each part of the schema is met by real output.
    let component_kinds: BTreeSet<String> = c
        .kinds()
        .into_iter()
        .filter(|k| k != "rejected" && !HOST_KINDS.contains(&k.as_str()))
        .collect();
    let kinds: BTreeSet<String> = seen.kinds.keys().cloned().collect();
    assert_eq!(
        kinds, component_kinds,
        "kinds our corpus gave vs the schema's"
    );
    assert_eq!(
        seen.contents,
        content_keys(&c),
        "message contents our corpus gave"
    );
}

#[tokio::test]
async fn every_event_of_pywas_corpus_is_one_the_schema_allows() {
    let Some(payloads) = corpus::pywa_webhooks() else {
        return;
    };
    let c = Checker::new();
    let seen = check_corpus(&c, &payloads).await;
    eprintln!(
        "schema: {} events of pywa's corpus valid, by kind: {:?}",
        seen.events, seen.kinds
    );
    assert!(seen.events > 50, "{} events", seen.events);
}

/// The events as the webhook server records them: the component's, the `rejected` and
/// `unroutable` ones the server writes, and the `connection` ones the host notes.
#[tokio::test]
async fn the_events_the_host_records_are_ones_the_schema_allows() {
    let c = Checker::new();
    let h = Harness::start(quiet()).await;
    let post = |body: Vec<u8>| {
        let sig = sign(APP_SECRET, &body);
        let url = h.webhook_url.clone();
        async move { http("POST", &url, &[("x-hub-signature-256", &sig)], body).await }
    };
    let text = json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": whatsapp_tests::PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15551234567"}],
        "messages": [{"from": "15551234567", "id": "wamid.schema1", "timestamp": "1700000000",
            "type": "text", "text": {"body": "hi"}}]});
    assert_eq!(post(envelope("messages", text)).await.0, 200);
    // Signed, but not a webhook: kept as `rejected`, with no tenant.
    assert_eq!(post(b"\xff not json".to_vec()).await.0, 200);
    // A change of a WABA no tenant has: `unroutable`, under the host's own secret.
    let other = json!({"object": "whatsapp_business_account", "entry": [{"id": "999000111",
        "changes": [{"field": "account_update", "value": {"event": "PARTNER_ADDED"}}]}]});
    assert_eq!(post(serde_json::to_vec(&other).unwrap()).await.0, 200);
    // The host's notes of a tenant's connection.
    h.db.connected("acme", 7, &["102290129340398".to_string()]);
    h.db.reauth_required(
        "acme",
        8,
        &GraphError {
            code: 190,
            subcode: Some(463),
            error_type: Some("OAuthException".into()),
            message: "Error validating access token".into(),
            details: None,
            fbtrace_id: None,
            is_transient: false,
            http_status: 401,
        },
    );
    let rows = h.db.events(None, 0, 1000).unwrap();
    let mut kinds = BTreeSet::new();
    for r in &rows {
        c.assert_valid(
            &format!("recorded {} {}", r.kind, r.idempotency_key),
            &r.json,
        );
        kinds.insert(r.kind.as_str());
        // As forwarded and published: with its seq.
        c.assert_valid(
            &format!("forwarded {} {}", r.kind, r.idempotency_key),
            &whatsapp_host::forward::outgoing_json(r),
        );
    }
    for k in ["message", "rejected", "unroutable", "connection"] {
        assert!(kinds.contains(k), "no {k} event recorded: {kinds:?}");
    }
    // The webhook-ingress component writes `rejected` with the guest's own writer.
    let ingress = whatsapp_guest::core::webhook::json::rejected(Some("acme"), "why", b"\xff");
    c.assert_valid("the ingress's rejected", &ingress);
}

/// The test can fail: output the writers never make is refused.
#[tokio::test]
async fn events_the_writers_never_make_are_refused() {
    let c = Checker::new();
    let mut p = parser(APP_SECRET).await;
    let mut real = Vec::new();
    for (file, name) in [("messages.json", "text"), ("statuses.json", "delivered")] {
        let body = whatsapp_tests::webhook(file, name);
        let r = p.ingest(&body).await.unwrap().unwrap();
        real.push(serde_json::from_str::<Value>(&r.events[0].json).unwrap());
    }
    let (message, status) = (real[0].clone(), real[1].clone());
    c.assert_valid("the real message", &message.to_string());
    c.assert_valid("the real status", &status.to_string());
    let broken: Vec<(&str, Value)> = vec![
        ("a message without message_id", {
            let mut m = message.clone();
            m.as_object_mut().unwrap().remove("message_id");
            m
        }),
        ("an unknown key", {
            let mut m = message.clone();
            m["bogus"] = json!(1);
            m
        }),
        ("an unknown key in a nested object", {
            let mut m = message.clone();
            m["contact"]["bogus"] = json!(1);
            m
        }),
        ("two contents", {
            let mut m = message.clone();
            m["image"] = json!({"id": "1", "mime_type": null, "sha256": null, "caption": null,
                "filename": null, "url": null, "voice": false, "animated": false});
            m
        }),
        ("no content", {
            let mut m = message.clone();
            m.as_object_mut().unwrap().remove("text");
            m
        }),
        ("a content of the wrong type", {
            let mut m = message.clone();
            m["text"] = json!({"body": "hi"});
            m
        }),
        ("a kind that does not exist", {
            let mut m = message.clone();
            m["type"] = json!("messages");
            m
        }),
        ("a negative timestamp", {
            let mut m = message.clone();
            m["timestamp"] = json!(-1);
            m
        }),
        ("a status Meta does not send", {
            let mut s = status.clone();
            s["status"] = json!("pending");
            s
        }),
        ("a status's member under a message", {
            let mut m = message.clone();
            m["recipient_id"] = status["recipient_id"].clone();
            m
        }),
        ("null for a string always given", {
            let mut s = status.clone();
            s["message_id"] = Value::Null;
            s
        }),
    ];
    for (what, v) in broken {
        assert!(
            c.errors(&v.to_string()).is_some(),
            "{what}: the schema allows it\n{v}"
        );
    }
    let twice = r#"{"type":"account-review","idempotency_key":"k","field":"f","waba_id":"w","phone_number_id":null,"display_phone_number":null,"timestamp":null,"decision":"APPROVED","decision":"REJECTED"}"#;
    assert!(
        c.errors(twice).is_some_and(|e| e.contains("twice")),
        "a key written twice"
    );
}
