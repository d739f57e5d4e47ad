//! The error every operation returns, and the classification of Graph API errors.

use serde::Deserialize;

/// A Graph API error object, or one synthesized locally (then `http_status` is 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphError {
    /// Meta's error code.
    pub code: i32,
    /// Meta's `error_subcode`.
    pub subcode: Option<i32>,
    /// Meta's `type`.
    pub error_type: Option<String>,
    /// Meta's `message` (or a webhook error's `title`).
    pub message: String,
    /// `error_data.details`.
    pub details: Option<String>,
    /// `fbtrace_id`.
    pub fbtrace_id: Option<String>,
    /// `is_transient`.
    pub is_transient: bool,
    /// The HTTP status of the response; 0 when local or from a webhook.
    pub http_status: u16,
}

/// Every failure an operation reports; mirrors the WIT `types.error` case for case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Refused before any request; `field` names the argument.
    InvalidInput {
        /// The field, as a path into the argument.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tenant setting the operation needs is missing.
    NotConfigured(String),
    /// Token invalid, expired or revoked: reconnect.
    Unauthorized(GraphError),
    /// Throughput limit.
    RateLimited {
        /// Seconds to wait, when known.
        retry_after_seconds: Option<u32>,
        /// The error behind it.
        error: GraphError,
    },
    /// Outside the 24-hour customer-service window.
    OutsideWindow(Option<GraphError>),
    /// The template does not exist or does not match.
    TemplateMismatch(GraphError),
    /// The recipient cannot get this message.
    Recipient(GraphError),
    /// Refused on policy grounds.
    PolicyBlocked(GraphError),
    /// Any other Graph error.
    Meta(GraphError),
    /// A webhook signature is missing, malformed or wrong.
    BadSignature(String),
    /// The host's egress policy refused the request.
    EgressDenied(String),
    /// The request did not reach Meta; safe to retry.
    Network(String),
    /// The request may have reached Meta; retrying may duplicate it.
    Ambiguous(String),
    /// Storage or crypto failed.
    Storage(String),
    /// Anything else.
    Other(String),
}

impl Error {
    /// An `InvalidInput` for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A refusal worth another try after a pause: Meta throttled the request (the
    /// `rate-limited` class: 4, 80007, 130429, 131056) or called the error transient.
    /// Meta processed nothing, so sending again cannot duplicate the message.
    pub fn is_throttle(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            Error::Unauthorized(g)
            | Error::TemplateMismatch(g)
            | Error::Recipient(g)
            | Error::PolicyBlocked(g)
            | Error::Meta(g)
            | Error::OutsideWindow(Some(g)) => g.is_transient,
            _ => false,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta = |f: &mut std::fmt::Formatter<'_>, what: &str, e: &GraphError| {
            write!(f, "{what}: {} (code {}", e.message, e.code)?;
            if let Some(s) = e.subcode {
                write!(f, ", subcode {s}")?;
            }
            if let Some(t) = &e.fbtrace_id {
                write!(f, ", fbtrace_id {t}")?;
            }
            write!(f, ")")
        };
        match self {
            Error::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Error::NotConfigured(s) => write!(f, "not configured: {s}"),
            Error::Unauthorized(e) => meta(f, "unauthorized, reconnect needed", e),
            Error::RateLimited { error, .. } => meta(f, "rate limited", error),
            Error::OutsideWindow(Some(e)) => meta(f, "outside the 24-hour window", e),
            Error::OutsideWindow(None) => write!(f, "outside the 24-hour window"),
            Error::TemplateMismatch(e) => meta(f, "template mismatch", e),
            Error::Recipient(e) => meta(f, "recipient problem", e),
            Error::PolicyBlocked(e) => meta(f, "blocked by policy", e),
            Error::Meta(e) => meta(f, "Graph API error", e),
            Error::BadSignature(s) => write!(f, "bad webhook signature: {s}"),
            Error::EgressDenied(s) => write!(f, "egress denied: {s}"),
            Error::Network(s) => write!(f, "network error (not sent): {s}"),
            Error::Ambiguous(s) => write!(f, "ambiguous outcome (may have been sent): {s}"),
            Error::Storage(s) => write!(f, "storage error: {s}"),
            Error::Other(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for Error {}

/// How a Graph error code is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Reconnect needed.
    Unauthorized,
    /// Throughput.
    RateLimited,
    /// 24-hour window.
    OutsideWindow,
    /// Template problems.
    TemplateMismatch,
    /// Recipient problems.
    Recipient,
    /// Policy.
    PolicyBlocked,
}

/// Graph error codes and what a caller should make of them, from Meta's error-code
/// reference (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
/// Codes not listed stay `Error::Meta` with everything kept.
pub const CLASSES: &[(i32, Class)] = &[
    (190, Class::Unauthorized),        // access token expired or invalid
    (102, Class::Unauthorized),        // session key invalid
    (463, Class::Unauthorized),        // session expired
    (467, Class::Unauthorized),        // invalid access token
    (4, Class::RateLimited),           // application request limit
    (80007, Class::RateLimited),       // WABA rate limit
    (130429, Class::RateLimited),      // Cloud API throughput
    (131056, Class::RateLimited),      // business/consumer pair rate limit
    (131047, Class::OutsideWindow),    // re-engagement message: more than 24 hours
    (131026, Class::Recipient),        // message undeliverable
    (131050, Class::Recipient),        // user stopped marketing messages
    (131062, Class::Recipient),        // BSUID recipients not supported for this message
    (132000, Class::TemplateMismatch), // parameter count mismatch
    (132001, Class::TemplateMismatch), // template does not exist
    (132005, Class::TemplateMismatch), // hydrated text too long
    (132007, Class::TemplateMismatch), // format character policy
    (132012, Class::TemplateMismatch), // parameter format mismatch
    (132015, Class::TemplateMismatch), // template paused
    (132016, Class::TemplateMismatch), // template disabled
    (368, Class::PolicyBlocked),       // temporarily blocked for policy violations
    (131031, Class::PolicyBlocked),    // account locked
];

/// The class of a Graph error code, if it has one.
pub fn class_of(code: i32) -> Option<Class> {
    CLASSES.iter().find(|(c, _)| *c == code).map(|(_, k)| *k)
}

/// Turn a classified Graph error into the `Error` case a caller acts on.
pub fn classify(e: GraphError) -> Error {
    match class_of(e.code) {
        Some(Class::Unauthorized) => Error::Unauthorized(e),
        Some(Class::RateLimited) => Error::RateLimited {
            retry_after_seconds: None,
            error: e,
        },
        Some(Class::OutsideWindow) => Error::OutsideWindow(Some(e)),
        Some(Class::TemplateMismatch) => Error::TemplateMismatch(e),
        Some(Class::Recipient) => Error::Recipient(e),
        Some(Class::PolicyBlocked) => Error::PolicyBlocked(e),
        None => Error::Meta(e),
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<RawGraphError>,
}

#[derive(Deserialize)]
struct RawGraphError {
    #[serde(default)]
    message: String,
    #[serde(rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    code: i32,
    error_subcode: Option<i32>,
    #[serde(default)]
    is_transient: bool,
    error_data: Option<ErrorData>,
    fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// The `Error` for a non-2xx Graph response. A body that is not a Graph error object
/// still becomes `Error::Meta`, with the status and a short excerpt of the body.
pub fn from_response(status: u16, body: &[u8]) -> Error {
    let parsed = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.error);
    let e = match parsed {
        Some(r) => GraphError {
            code: r.code,
            subcode: r.error_subcode,
            error_type: r.error_type,
            message: r.message,
            details: r.error_data.and_then(|d| d.details),
            fbtrace_id: r.fbtrace_id,
            is_transient: r.is_transient,
            http_status: status,
        },
        None => GraphError {
            code: 0,
            message: format!("HTTP {status}: {}", excerpt(body)),
            http_status: status,
            ..GraphError::default()
        },
    };
    classify(e)
}

/// The first of a list of Graph errors, as Meta writes them per item of a request about
/// several (a user of a block, a join request); `status` is the request's.
pub fn item_error(errors: &serde_json::Value, status: u16) -> GraphError {
    let e = errors.as_array().and_then(|es| es.first());
    GraphError {
        code: e
            .and_then(|e| {
                e["code"]
                    .as_i64()
                    .or_else(|| e["code"].as_str()?.parse().ok())
            })
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(0),
        message: e
            .and_then(|e| item_text(e, "message").or_else(|| item_text(e, "title")))
            .unwrap_or_default(),
        details: e.and_then(|e| item_text(&e["error_data"], "details")),
        http_status: status,
        ..GraphError::default()
    }
}

fn item_text(v: &serde_json::Value, k: &str) -> Option<String> {
    v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// At most 200 characters of a body, for messages.
pub fn excerpt(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let mut out: String = s.chars().take(200).collect();
    if s.chars().nth(200).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: i32, sub: Option<i32>) -> Vec<u8> {
        let mut e = serde_json::json!({"message": "m", "type": "OAuthException", "code": code,
            "fbtrace_id": "AbC", "is_transient": false, "error_data": {"details": "d"}});
        if let Some(s) = sub {
            e["error_subcode"] = s.into();
        }
        serde_json::to_vec(&serde_json::json!({ "error": e })).unwrap()
    }

    #[test]
    fn every_table_row_classifies_as_listed() {
        for (code, class) in CLASSES {
            let got = from_response(400, &body(*code, Some(2494010)));
            let ok = match (class, &got) {
                (Class::Unauthorized, Error::Unauthorized(g))
                | (Class::OutsideWindow, Error::OutsideWindow(Some(g)))
                | (Class::TemplateMismatch, Error::TemplateMismatch(g))
                | (Class::Recipient, Error::Recipient(g))
                | (Class::PolicyBlocked, Error::PolicyBlocked(g))
                | (Class::RateLimited, Error::RateLimited { error: g, .. }) => {
                    g.code == *code
                        && g.subcode == Some(2494010)
                        && g.fbtrace_id.as_deref() == Some("AbC")
                }
                _ => false,
            };
            assert!(ok, "code {code} gave {got:?}");
        }
    }

    #[test]
    fn unlisted_codes_keep_everything() {
        let got = from_response(400, &body(131009, None));
        assert_eq!(
            got,
            Error::Meta(GraphError {
                code: 131009,
                subcode: None,
                error_type: Some("OAuthException".into()),
                message: "m".into(),
                details: Some("d".into()),
                fbtrace_id: Some("AbC".into()),
                is_transient: false,
                http_status: 400
            })
        );
    }

    #[test]
    fn a_body_that_is_not_graph_json_is_still_an_error() {
        match from_response(502, b"<html>bad gateway</html>") {
            Error::Meta(g) => {
                assert_eq!(g.http_status, 502);
                assert!(g.message.contains("bad gateway"));
            }
            other => panic!("{other:?}"),
        }
    }
}
