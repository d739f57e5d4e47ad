//! Events as JSON: one flat object per event. The shape `wa-host events list`, `webhook
//! parse`, the demo, the forwarder and the webhook-ingress component all produce.
//!
//! The component's core types and the host's WIT types carry the same names, so one
//! macro writes the mapping for both: [`crate::event_json!`] over a module that holds
//! `Event`, `EventBody`, `MessageContent`, … . The guest core instantiates it here
//! (`to_json` over [`crate::core::webhook::Event`]); the host over its generated bindings.

/// Define `to_json(&Event, Option<&str>) -> serde_json::Value`, `kind(&Event)` and
/// `graph_error_json(&GraphError)` over the event types in the module `$t` (the
/// caller needs `serde_json`).
#[macro_export]
macro_rules! event_json {
    ($($t:ident)::+) => {
        #[allow(unused_imports)]
        use $($t)::+::{
            DeliveryStatus, Event, EventBody, GraphError, Media, MessageContent,
            PhoneNumberUpdateKind, ReplyChoice, TemplateUpdateKind,
        };
        #[allow(unused_imports)]
        use serde_json::{json, Map, Value};

        fn status_str(s: DeliveryStatus) -> &'static str {
            match s {
                DeliveryStatus::Sent => "sent",
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Read => "read",
                DeliveryStatus::Played => "played",
                DeliveryStatus::Failed => "failed",
                DeliveryStatus::Deleted => "deleted",
            }
        }

        /// A Graph error as JSON.
        pub fn graph_error_json(e: &GraphError) -> Value {
            json!({
                "code": e.code,
                "subcode": e.subcode,
                "type": e.error_type,
                "message": e.message,
                "details": e.details,
                "fbtrace_id": e.fbtrace_id,
                "is_transient": e.is_transient,
                "http_status": e.http_status,
            })
        }

        /// Raw JSON kept by the component, re-embedded as JSON (or as a string if it is not).
        fn raw(s: &str) -> Value {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }

        /// The kind of an event: `message`, `status`, `echo`, `template`, `account`,
        /// `phone-number`, `preference`, `call`, `errors` or `unknown`.
        pub fn kind(e: &Event) -> &'static str {
            match e.body {
                EventBody::Message(_) => "message",
                EventBody::Status(_) => "status",
                EventBody::Echo(_) => "echo",
                EventBody::Template(_) => "template",
                EventBody::Account(_) => "account",
                EventBody::PhoneNumber(_) => "phone-number",
                EventBody::Preference(_) => "preference",
                EventBody::Call(_) => "call",
                EventBody::Errors(_) => "errors",
                EventBody::Unknown(_) => "unknown",
            }
        }

        fn media_json(m: &Media) -> Value {
            json!({ "id": m.id, "mime_type": m.mime_type, "sha256": m.sha256, "caption": m.caption,
                    "filename": m.filename, "url": m.url, "voice": m.voice, "animated": m.animated })
        }

        fn choice_json(c: &ReplyChoice) -> Value {
            json!({ "id": c.id, "title": c.title, "description": c.description })
        }

        /// A message's content as `(key, value)`: the key names the kind (`text`, `image`, …).
        fn content_json(c: &MessageContent) -> (&'static str, Value) {
            use MessageContent as C;
            match c {
                C::Text(t) => ("text", t.clone().into()),
                C::Image(m) => ("image", media_json(m)),
                C::Video(m) => ("video", media_json(m)),
                C::Audio(m) => ("audio", media_json(m)),
                C::Document(m) => ("document", media_json(m)),
                C::Sticker(m) => ("sticker", media_json(m)),
                C::Location(l) => (
                    "location",
                    json!({ "latitude": l.latitude, "longitude": l.longitude, "name": l.name, "address": l.address, "url": l.url }),
                ),
                C::Contacts(cards) => (
                    "contacts",
                    cards
                        .iter()
                        .map(|c| json!({ "formatted_name": c.formatted_name, "phones": c.phones, "wa_ids": c.wa_ids, "emails": c.emails, "raw": raw(&c.raw) }))
                        .collect(),
                ),
                C::Reaction(r) => ("reaction", json!({ "message_id": r.message_id, "emoji": r.emoji })),
                C::ButtonReply(c) => ("button_reply", choice_json(c)),
                C::ListReply(c) => ("list_reply", choice_json(c)),
                C::FlowReply(f) => (
                    "flow_reply",
                    json!({ "name": f.name, "body": f.body, "flow_token": f.flow_token, "response": raw(&f.response_json) }),
                ),
                C::CallPermissionReply(r) => (
                    "call_permission_reply",
                    json!({ "response": r.response, "expiration_timestamp": r.expiration_timestamp, "source": r.source }),
                ),
                C::QuickReply(q) => ("quick_reply", json!({ "payload": q.payload, "text": q.text })),
                C::Order(o) => (
                    "order",
                    json!({ "catalog_id": o.catalog_id, "text": o.text, "items": o.items.iter().map(|i| json!({
                        "product_retailer_id": i.product_retailer_id, "quantity": i.quantity,
                        "item_price": i.item_price, "currency": i.currency })).collect::<Vec<_>>() }),
                ),
                C::System(s) => ("system", json!({ "kind": s.kind, "body": s.body, "new_wa_id": s.new_wa_id })),
                C::Edit(e) => (
                    "edit",
                    json!({ "original_message_id": e.original_message_id, "message_type": e.message_type, "text": e.text, "message": raw(&e.raw) }),
                ),
                C::Revoke(id) => ("revoke", json!({ "original_message_id": id })),
                C::Unsupported(t) => ("unsupported", json!({ "type": t })),
                C::Other(r) => ("content", raw(r)),
            }
        }

        /// An event as one flat JSON object; `tenant` is added when known.
        pub fn to_json(e: &Event, tenant: Option<&str>) -> Value {
            let mut o = Map::new();
            o.insert("type".into(), kind(e).into());
            if let Some(t) = tenant {
                o.insert("tenant".into(), t.into());
            }
            o.insert("idempotency_key".into(), e.idempotency_key.clone().into());
            o.insert("field".into(), e.field.clone().into());
            o.insert("waba_id".into(), e.routing.waba_id.clone().into());
            o.insert("phone_number_id".into(), json!(e.routing.phone_number_id));
            o.insert(
                "display_phone_number".into(),
                json!(e.routing.display_phone_number),
            );
            o.insert("timestamp".into(), json!(e.timestamp));
            if let Some(c) = &e.contact {
                o.insert(
                    "contact".into(),
                    json!({ "wa_id": c.wa_id, "user_id": c.user_id, "name": c.name }),
                );
            }
            let errors = |o: &mut Map<String, Value>, es: &[GraphError]| {
                if !es.is_empty() {
                    o.insert("errors".into(), es.iter().map(graph_error_json).collect());
                }
            };
            match &e.body {
                EventBody::Message(m) => {
                    o.insert("message_id".into(), m.id.clone().into());
                    o.insert("from".into(), m.from.clone().into());
                    if let Some(u) = &m.from_user_id {
                        o.insert("from_user_id".into(), u.clone().into());
                    }
                    o.insert("message_type".into(), m.message_type.clone().into());
                    let (k, v) = content_json(&m.content);
                    o.insert(k.into(), v);
                    if let Some(c) = &m.context {
                        o.insert(
                            "context".into(),
                            json!({ "message_id": c.message_id, "from": c.from, "forwarded": c.forwarded,
                                    "frequently_forwarded": c.frequently_forwarded }),
                        );
                    }
                    if let Some(r) = &m.referral {
                        o.insert(
                            "referral".into(),
                            json!({ "source_url": r.source_url, "source_id": r.source_id, "source_type": r.source_type,
                                    "headline": r.headline, "body": r.body, "media_type": r.media_type, "ctwa_clid": r.ctwa_clid }),
                        );
                    }
                    errors(&mut o, &m.errors);
                }
                EventBody::Echo(m) => {
                    o.insert("message_id".into(), m.id.clone().into());
                    o.insert("from".into(), m.from.clone().into());
                    o.insert("to".into(), m.to.clone().into());
                    o.insert("to_user_id".into(), json!(m.to_user_id));
                    o.insert("message_type".into(), m.message_type.clone().into());
                    let (k, v) = content_json(&m.content);
                    o.insert(k.into(), v);
                }
                EventBody::Status(s) => {
                    o.insert("message_id".into(), s.message_id.clone().into());
                    o.insert("recipient_id".into(), json!(s.recipient_id));
                    o.insert("status".into(), status_str(s.status).into());
                    errors(&mut o, &s.errors);
                    if let Some(c) = &s.conversation {
                        o.insert(
                            "conversation".into(),
                            json!({ "id": c.id, "origin_type": c.origin_type, "expiration_timestamp": c.expiration_timestamp }),
                        );
                    }
                    if let Some(p) = &s.pricing {
                        o.insert(
                            "pricing".into(),
                            json!({ "billable": p.billable, "pricing_model": p.pricing_model, "category": p.category, "type": p.pricing_type }),
                        );
                    }
                    if let Some(d) = &s.biz_opaque_callback_data {
                        o.insert("biz_opaque_callback_data".into(), d.clone().into());
                    }
                }
                EventBody::Template(t) => {
                    let k = match t.kind {
                        TemplateUpdateKind::Status => "status",
                        TemplateUpdateKind::Category => "category",
                        TemplateUpdateKind::Quality => "quality",
                        TemplateUpdateKind::Components => "components",
                    };
                    o.insert("update".into(), k.into());
                    o.insert("template_id".into(), t.template_id.clone().into());
                    o.insert("name".into(), json!(t.name));
                    o.insert("language".into(), json!(t.language));
                    o.insert("value".into(), json!(t.value));
                    o.insert("previous".into(), json!(t.previous));
                    o.insert("reason".into(), json!(t.reason));
                    o.insert("category".into(), json!(t.category));
                }
                EventBody::Account(a) => {
                    o.insert("event".into(), a.event.clone().into());
                    o.insert("raw".into(), raw(&a.raw));
                }
                EventBody::PhoneNumber(p) => {
                    let k = match p.kind {
                        PhoneNumberUpdateKind::Name => "name",
                        PhoneNumberUpdateKind::Quality => "quality",
                    };
                    o.insert("update".into(), k.into());
                    o.insert("event".into(), json!(p.event));
                    o.insert(
                        "requested_verified_name".into(),
                        json!(p.requested_verified_name),
                    );
                    o.insert("current_limit".into(), json!(p.current_limit));
                    o.insert("raw".into(), raw(&p.raw));
                }
                EventBody::Preference(p) => {
                    o.insert("wa_id".into(), p.wa_id.clone().into());
                    o.insert("category".into(), p.category.clone().into());
                    o.insert("value".into(), p.value.clone().into());
                    o.insert("detail".into(), json!(p.detail));
                }
                EventBody::Call(c) => {
                    o.insert("call_id".into(), c.id.clone().into());
                    o.insert("event".into(), c.event.clone().into());
                    o.insert("direction".into(), json!(c.direction));
                    o.insert("from".into(), json!(c.from));
                    o.insert("to".into(), json!(c.to));
                    o.insert("status".into(), json!(c.status));
                    o.insert("duration_seconds".into(), json!(c.duration_seconds));
                }
                EventBody::Errors(es) => errors(&mut o, es),
                EventBody::Unknown(r) => {
                    o.insert("raw".into(), raw(r));
                }
            }
            Value::Object(o)
        }
    };
}

/// The names the macro reads, over the core's own types.
mod core_types {
    pub use crate::core::error::GraphError;
    pub use crate::core::webhook::types::*;
}

crate::event_json!(self::core_types);

/// The event for a verified body that could not be read (not JSON, not a webhook
/// payload): kept whole, base64, with the reason, so that it is not lost. The webhook
/// server records it and the ingress forwards it; both answer Meta 200.
pub fn rejected(tenant: Option<&str>, reason: &str, body: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "type": "rejected",
        "tenant": tenant,
        "reason": reason,
        "body_base64": crate::core::encoding::base64(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbound_text_becomes_one_flat_object() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"W1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"P1"},
            "contacts":[{"profile":{"name":"Ana"},"wa_id":"15551234567"}],
            "messages":[{"from":"15551234567","id":"wamid.X","timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}}]}]}"#;
        let events = crate::core::webhook::parse(body).unwrap();
        let v = to_json(&events[0], Some("acme"));
        assert_eq!(v["type"], "message");
        assert_eq!(v["tenant"], "acme");
        assert_eq!(v["text"], "hi");
        assert_eq!(v["phone_number_id"], "P1");
        assert_eq!(v["contact"]["name"], "Ana");
        assert_eq!(v["timestamp"], 1_700_000_000u64);
        assert_eq!(kind(&events[0]), "message");
    }

    #[test]
    fn a_rejected_body_is_kept_whole() {
        let v = rejected(Some("t"), "why", &[0xff, 0xfe]);
        assert_eq!(
            (v["type"].as_str(), v["body_base64"].as_str()),
            (Some("rejected"), Some("//4="))
        );
    }
}
