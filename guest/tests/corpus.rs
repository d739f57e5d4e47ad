//! The sans-IO core natively on every one of pywa's recorded payloads (read from
//! ../shared): each asserts the event's kind and key fields, not only that it parsed.

use whatsapp_guest::core::webhook::{
    DeliveryStatus, Event, EventBody as B, MessageContent as C, PhoneNumberUpdateKind,
    TemplateUpdateKind, parse,
};

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

fn content(e: &Event) -> &C {
    match &e.body {
        B::Message(m) => &m.content,
        B::Echo(m) => &m.content,
        other => panic!("not a message: {other:?}"),
    }
}

/// Checks one payload's events; panics with the reason.
fn check(file: &str, name: &str, ev: &[Event]) {
    let first = &ev[0];
    let one = || assert_eq!(ev.len(), 1, "{file}/{name}: {ev:#?}");
    match (file, name) {
        ("message.json", "text" | "reply" | "forwarded" | "forwarded_many_times" | "referral") => {
            one();
            assert!(matches!(content(first), C::Text(t) if !t.is_empty()));
        }
        ("message.json", "image" | "media_with_url") => {
            let C::Image(m) = content(first) else {
                panic!()
            };
            assert_eq!(
                (m.id.as_str(), m.mime_type.as_deref()),
                ("65463453", Some("image/jpeg"))
            );
            assert_eq!(m.url.is_some(), name == "media_with_url");
        }
        ("message.json", "video") => {
            assert!(matches!(content(first), C::Video(m) if !m.id.is_empty()))
        }
        ("message.json", "document") => {
            assert!(matches!(content(first), C::Document(m) if !m.id.is_empty()))
        }
        ("message.json", "audio") => assert!(matches!(content(first), C::Audio(m) if !m.voice)),
        ("message.json", "voice") => assert!(matches!(content(first), C::Audio(m) if m.voice)),
        ("message.json", "static_sticker") => {
            assert!(matches!(content(first), C::Sticker(m) if !m.animated))
        }
        ("message.json", "animated_sticker") => {
            assert!(matches!(content(first), C::Sticker(m) if m.animated))
        }
        ("message.json", "reaction") => {
            assert!(
                matches!(content(first), C::Reaction(r) if r.message_id == "wamid.yzxyzx=" && r.emoji.as_deref() == Some("😮"))
            )
        }
        ("message.json", "unreaction_empty" | "unreaction_no_emoji") => {
            assert!(
                matches!(content(first), C::Reaction(r) if r.emoji.is_none() && !r.message_id.is_empty())
            )
        }
        ("message.json", "current_location" | "chosen_location") => {
            let C::Location(l) = content(first) else {
                panic!()
            };
            assert!(l.latitude != 0.0 && l.longitude != 0.0);
        }
        ("message.json", "contacts") => {
            let C::Contacts(cards) = content(first) else {
                panic!()
            };
            assert_eq!(cards.len(), 3);
            assert_eq!(cards[0].formatted_name.as_deref(), Some("Chandler Bing"));
            assert_eq!(cards[0].phones, ["+1 555-555-5555"]);
        }
        ("message.json", "order") => {
            let C::Order(o) = content(first) else {
                panic!()
            };
            assert_eq!(
                (o.catalog_id.as_str(), o.items.len()),
                ("354160437058781", 3)
            );
            assert_eq!(
                (
                    o.items[0].product_retailer_id.as_str(),
                    o.items[0].quantity,
                    o.items[0].currency.as_str()
                ),
                ("HAMBURGER", 3, "ILS")
            );
        }
        ("message.json", "unsupported" | "unsupported_with_type") => {
            let B::Message(m) = &first.body else { panic!() };
            assert!(matches!(m.content, C::Unsupported(_)));
            if name == "unsupported_with_type" {
                assert_eq!(m.content, C::Unsupported(Some("pool".into())));
                assert_eq!(m.errors[0].code, 131051);
            }
        }
        ("message.json", "interactive_message_with_err") => {
            assert_eq!(ev.len(), 2);
            assert!(matches!(content(first), C::Other(_)));
            assert!(matches!(&ev[1].body, B::Errors(es) if es[0].code == 131000));
        }
        ("message_status.json", _) => {
            one();
            let B::Status(s) = &first.body else { panic!() };
            let want = match name {
                "sent" | "with_tracker" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" | "group" => DeliveryStatus::Read,
                "played" => DeliveryStatus::Played,
                "failed" => DeliveryStatus::Failed,
                other => panic!("new status fixture {other}"),
            };
            assert_eq!(s.status, want);
        }
        ("callback_button.json", "button") => {
            assert!(
                matches!(content(first), C::ButtonReply(c) if c.id == "callback_data" && c.title == "title")
            )
        }
        ("callback_button.json", _) => {
            assert!(
                matches!(content(first), C::QuickReply(q) if q.payload == "callback_data" && q.text == "title")
            )
        }
        ("callback_selection.json", _) => {
            let C::ListReply(c) = content(first) else {
                panic!()
            };
            assert_eq!(c.id, "callback_data");
            assert_eq!(c.description.is_some(), name == "description");
        }
        ("flow_completion.json", _) => {
            let C::FlowReply(f) = content(first) else {
                panic!()
            };
            assert!(f.response_json.contains("delivery_rating"));
            assert_eq!(f.flow_token.is_some(), name == "completion");
        }
        ("call_permission_update.json", _) => {
            assert!(matches!(content(first), C::CallPermissionReply(r) if r.response == name))
        }
        ("deleted_message.json", _) => assert!(
            matches!(content(first), C::Revoke(id) if id == "<ORIGINAL_WHATSAPP_MESSAGE_ID>")
        ),
        ("edited_message.json", _) => {
            let C::Edit(e) = content(first) else { panic!() };
            assert_eq!(
                (e.message_type.as_str(), e.text.as_deref()),
                ("image", Some("Updated image caption"))
            );
        }
        ("system.json", _) => {
            let C::System(s) = content(first) else {
                panic!()
            };
            assert_eq!(s.new_wa_id.is_some(), name == "phone_number_change");
        }
        ("outgoing_message.json", _) => {
            one();
            let B::Echo(e) = &first.body else {
                panic!("{first:?}")
            };
            match name {
                "text" => assert!(matches!(e.content, C::Text(ref t) if t == "Test message")),
                "delete" => assert!(matches!(e.content, C::Revoke(ref id) if id == "wamid.zzzzzz")),
                _ => assert!(
                    matches!(e.content, C::Edit(ref ed) if ed.text.as_deref() == Some("Text was edited"))
                ),
            }
        }
        ("template_status_update.json", _) => {
            let B::Template(t) = &first.body else {
                panic!()
            };
            assert_eq!(t.kind, TemplateUpdateKind::Status);
            assert_eq!(
                t.value.as_deref(),
                Some(if name == "approved" {
                    "APPROVED"
                } else {
                    "REJECTED"
                })
            );
            assert!(t.name.is_some() && t.language.is_some() && t.category.is_some());
            assert!(first.timestamp.is_some());
        }
        ("template_category_update.json", _) => {
            assert!(
                matches!(&first.body, B::Template(t) if t.kind == TemplateUpdateKind::Category && t.value.as_deref() == Some("MARKETING"))
            )
        }
        ("template_quality_update.json", _) => assert!(matches!(&first.body, B::Template(t)
            if t.kind == TemplateUpdateKind::Quality && t.value.as_deref() == Some("YELLOW") && t.previous.as_deref() == Some("GREEN"))),
        ("template_components_update.json", _) => {
            assert!(
                matches!(&first.body, B::Template(t) if t.kind == TemplateUpdateKind::Components && t.value.is_some())
            )
        }
        ("account_update.json", _) => {
            one();
            let B::Account(a) = &first.body else { panic!() };
            let want = match name {
                "ad_account_linked" => "AD_ACCOUNT_LINKED",
                "authentication_international_eligibility" => "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
                "account_disabled" => "DISABLED_UPDATE",
                "mm_api_for_wa_terms_of_service" => "MM_LITE_TERMS_SIGNED",
                "partner_led_business_verification_status" => {
                    "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE"
                }
                "partner_removed_wa_app_disconnection" => "PARTNER_REMOVED",
                "primary_business_location_set" => "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE",
                "pricing_tiering_update" => "VOLUME_BASED_PRICING_TIER_UPDATE",
                other => return assert_eq!(a.event, other.to_uppercase()),
            };
            assert_eq!(a.event, want);
        }
        ("user_marketing_preferences.json", _) => {
            let B::Preference(p) = &first.body else {
                panic!()
            };
            assert_eq!(
                (p.wa_id.as_str(), p.category.as_str(), p.value.as_str()),
                ("16505551234", "marketing_messages", name)
            );
        }
        ("call_connect.json", _) => {
            assert!(
                matches!(&first.body, B::Call(c) if c.event == "connect" && c.id == "wacid.xxxx=" && c.direction.is_some())
            )
        }
        ("call_status.json", _) => assert!(
            matches!(&first.body, B::Call(c) if c.event == "status" && c.status.as_deref() == Some("RINGING"))
        ),
        ("call_terminate.json", _) => {
            assert_eq!(ev.len(), 2);
            assert!(
                matches!(&first.body, B::Call(c) if c.event == "terminate" && c.duration_seconds == Some(120))
            );
            assert!(matches!(&ev[1].body, B::Errors(es) if es[0].code == 12455));
        }
        other => panic!("no expectation for {other:?}: {ev:#?}"),
    }
    let _ = PhoneNumberUpdateKind::Name;
}

#[test]
fn every_pywa_fixture_gives_its_typed_events() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/pywa/updates");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut n = 0;
    for file in files.iter().filter(|f| f.ends_with(".json")) {
        for (name, body) in payloads(file) {
            let ev = parse(&body).unwrap_or_else(|e| panic!("{file}/{name}: {e}"));
            assert!(!ev.is_empty(), "{file}/{name}");
            assert!(
                ev.iter().all(|e| !matches!(e.body, B::Unknown(_))),
                "{file}/{name} has an unknown event: {ev:#?}"
            );
            check(file, &name, &ev);
            n += 1;
        }
    }
    assert_eq!(n, 74);
}

#[test]
fn phone_number_updates_which_no_fixture_has() {
    let body = br#"{"entry":[{"id":"W","time":1700000000,"changes":[
        {"field":"phone_number_name_update","value":{"display_phone_number":"15550783881","decision":"APPROVED","requested_verified_name":"Acme"}},
        {"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_1K"}}]}]}"#;
    let ev = parse(body).unwrap();
    assert!(
        matches!(&ev[0].body, B::PhoneNumber(p) if p.kind == PhoneNumberUpdateKind::Name && p.event.as_deref() == Some("APPROVED") && p.requested_verified_name.as_deref() == Some("Acme"))
    );
    assert!(
        matches!(&ev[1].body, B::PhoneNumber(p) if p.kind == PhoneNumberUpdateKind::Quality && p.current_limit.as_deref() == Some("TIER_1K"))
    );
    assert_eq!(ev[0].timestamp, Some(1700000000));
    assert_ne!(ev[0].idempotency_key, ev[1].idempotency_key);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

    #[test]
    fn any_bytes_in_no_panic_out(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = parse(&body);
    }

    #[test]
    fn any_json_value_in_a_change_no_panic_out(v in json_value()) {
        let body = serde_json::json!({"entry": [{"id": "W", "changes": [{"field": "messages", "value": {"messages": [v.clone()], "statuses": [v.clone()], "contacts": [v]}}]}]});
        let ev = parse(&serde_json::to_vec(&body).unwrap()).unwrap();
        proptest::prop_assert_eq!(ev.len(), 2);
    }
}

fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z_]{0,8}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("text")),
        Just(serde_json::Value::from("interactive")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("type".to_string()),
                    Just("text".to_string()),
                    Just("status".to_string()),
                    Just("interactive".to_string()),
                    "[a-z_]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
