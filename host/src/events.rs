//! Events as JSON: one flat object per event, the shape `wa-host events list`, `webhook
//! parse` and the demo print, and the shape recorded in the database.

use crate::runtime::api::{DeliveryStatus, Event, EventBody, GraphError, MessageContent};
use serde_json::{Map, Value, json};

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

/// The kind of an event: `message`, `status` or `unknown`.
pub fn kind(e: &Event) -> &'static str {
    match e.body {
        EventBody::Message(_) => "message",
        EventBody::Status(_) => "status",
        EventBody::Unknown(_) => "unknown",
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
    match &e.body {
        EventBody::Message(m) => {
            o.insert("message_id".into(), m.id.clone().into());
            o.insert("from".into(), m.from.clone().into());
            o.insert("message_type".into(), m.message_type.clone().into());
            match &m.content {
                MessageContent::Text(t) => o.insert("text".into(), t.clone().into()),
                MessageContent::Other(r) => o.insert("content".into(), raw(r)),
            };
            if let Some(c) = &m.context {
                o.insert(
                    "context".into(),
                    json!({ "message_id": c.message_id, "from": c.from, "forwarded": c.forwarded,
                            "frequently_forwarded": c.frequently_forwarded }),
                );
            }
        }
        EventBody::Status(s) => {
            o.insert("message_id".into(), s.message_id.clone().into());
            o.insert("recipient_id".into(), json!(s.recipient_id));
            o.insert("status".into(), status_str(s.status).into());
            if !s.errors.is_empty() {
                o.insert(
                    "errors".into(),
                    s.errors.iter().map(graph_error_json).collect(),
                );
            }
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
        EventBody::Unknown(r) => {
            o.insert("raw".into(), raw(r));
        }
    }
    Value::Object(o)
}

/// A component error as JSON: `{"error": case, ...fields}`. Never holds a secret.
pub fn error_json(e: &crate::runtime::api::Error) -> Value {
    use crate::runtime::api::Error as E;
    let (case, detail) = match e {
        E::InvalidInput(i) => (
            "invalid-input",
            json!({ "field": i.field, "reason": i.reason }),
        ),
        E::NotConfigured(s) => ("not-configured", json!({ "message": s })),
        E::Unauthorized(g) => ("unauthorized", json!({ "graph": graph_error_json(g) })),
        E::RateLimited(r) => (
            "rate-limited",
            json!({ "retry_after_seconds": r.retry_after_seconds, "graph": graph_error_json(&r.error) }),
        ),
        E::OutsideWindow(g) => (
            "outside-window",
            json!({ "graph": g.as_ref().map(graph_error_json) }),
        ),
        E::TemplateMismatch(g) => ("template-mismatch", json!({ "graph": graph_error_json(g) })),
        E::Recipient(g) => ("recipient", json!({ "graph": graph_error_json(g) })),
        E::PolicyBlocked(g) => ("policy-blocked", json!({ "graph": graph_error_json(g) })),
        E::Meta(g) => ("meta", json!({ "graph": graph_error_json(g) })),
        E::BadSignature(s) => ("bad-signature", json!({ "message": s })),
        E::EgressDenied(s) => ("egress-denied", json!({ "message": s })),
        E::Network(s) => ("network", json!({ "message": s })),
        E::Ambiguous(s) => ("ambiguous", json!({ "message": s })),
        E::Storage(s) => ("storage", json!({ "message": s })),
        E::Other(s) => ("other", json!({ "message": s })),
    };
    let mut v = json!({ "error": case });
    if let (Some(o), Value::Object(d)) = (v.as_object_mut(), detail) {
        o.extend(d);
    }
    v
}

/// A component error in one line, for people.
pub fn describe_error(e: &crate::runtime::api::Error) -> String {
    use crate::runtime::api::Error as E;
    let g = |what: &str, g: &GraphError| {
        let mut s = format!("{what}: {} (code {}", g.message, g.code);
        if let Some(sc) = g.subcode {
            s.push_str(&format!(", subcode {sc}"));
        }
        if let Some(t) = &g.fbtrace_id {
            s.push_str(&format!(", fbtrace_id {t}"));
        }
        s + ")"
    };
    match e {
        E::InvalidInput(i) => format!("invalid {}: {}", i.field, i.reason),
        E::NotConfigured(s) => format!("not configured: {s}"),
        E::Unauthorized(e) => g("unauthorized, the business must reconnect", e),
        E::RateLimited(r) => g("rate limited", &r.error),
        E::OutsideWindow(Some(e)) => g("outside the 24-hour window", e),
        E::OutsideWindow(None) => "outside the 24-hour window; send a template".into(),
        E::TemplateMismatch(e) => g("template mismatch", e),
        E::Recipient(e) => g("recipient problem", e),
        E::PolicyBlocked(e) => g("blocked by policy", e),
        E::Meta(e) => g("Graph API error", e),
        E::BadSignature(s) => format!("bad webhook signature: {s}"),
        E::EgressDenied(s) => format!("egress denied: {s}"),
        E::Network(s) => format!("network error (nothing was sent): {s}"),
        E::Ambiguous(s) => {
            format!("ambiguous (the request may have been delivered; do not retry blindly): {s}")
        }
        E::Storage(s) => format!("storage error: {s}"),
        E::Other(s) => s.clone(),
    }
}
