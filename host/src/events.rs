//! The component's errors as JSON and as one line for people. (Events themselves come
//! from the component as JSON already: `webhooks.ingest`.)

use crate::runtime::api::{Error, ErrorKind, GraphError};
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

/// An error kind by its WIT name.
pub fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::InvalidInput => "invalid-input",
        ErrorKind::NotConfigured => "not-configured",
        ErrorKind::Unauthorized => "unauthorized",
        ErrorKind::RateLimited => "rate-limited",
        ErrorKind::OutsideWindow => "outside-window",
        ErrorKind::TemplateMismatch => "template-mismatch",
        ErrorKind::Recipient => "recipient",
        ErrorKind::PolicyBlocked => "policy-blocked",
        ErrorKind::Meta => "meta",
        ErrorKind::BadSignature => "bad-signature",
        ErrorKind::EgressDenied => "egress-denied",
        ErrorKind::Network => "network",
        ErrorKind::Ambiguous => "ambiguous",
        ErrorKind::Storage => "storage",
        ErrorKind::Other => "other",
    }
}

/// A component error as JSON: `{"error": kind, "message": ..., ...}` with the details
/// its kind carries (`field`, `retry_after_seconds`, `graph`). Never holds a secret.
pub fn error_json(e: &Error) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("error".into(), json!(kind_name(e.kind)));
    o.insert("message".into(), json!(e.message));
    if let Some(f) = &e.field {
        o.insert("field".into(), json!(f));
    }
    if let Some(s) = e.retry_after_seconds {
        o.insert("retry_after_seconds".into(), json!(s));
    }
    if let Some(g) = &e.graph {
        o.insert("graph".into(), graph_error_json(g));
    }
    Value::Object(o)
}

/// A component error in one line, for people: the component writes it.
pub fn describe_error(e: &Error) -> String {
    e.message.clone()
}
