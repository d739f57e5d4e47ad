//! The component's errors as JSON and as one line for people. (Events themselves come
//! from the component as JSON already: `webhooks.ingest`.)

use crate::runtime::api::GraphError;
use serde_json::{Value, json};

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
