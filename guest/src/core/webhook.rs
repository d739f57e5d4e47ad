//! Meta's webhooks: the subscription handshake, `X-Hub-Signature-256`, and parsing a
//! POST body into events, one per message, status or change. Nothing is dropped: what
//! this version does not model becomes an `Unknown` event holding the raw JSON.

use super::error::{Error, GraphError};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// Where an event belongs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Routing {
    /// `entry[].id`.
    pub waba_id: String,
    /// `metadata.phone_number_id`.
    pub phone_number_id: Option<String>,
    /// `metadata.display_phone_number`.
    pub display_phone_number: Option<String>,
}

/// The other party.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    /// `wa_id`.
    pub wa_id: Option<String>,
    /// `user_id` (BSUID).
    pub user_id: Option<String>,
    /// `profile.name`.
    pub name: Option<String>,
}

/// Reply and forward context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageContext {
    /// `context.id`.
    pub message_id: Option<String>,
    /// `context.from`.
    pub from: Option<String>,
    /// `context.forwarded`.
    pub forwarded: bool,
    /// `context.frequently_forwarded`.
    pub frequently_forwarded: bool,
}

/// An inbound message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageContent {
    /// A text body.
    Text(String),
    /// A type not modelled yet: the message object's raw JSON.
    Other(String),
}

/// An inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// Its `wamid`.
    pub id: String,
    /// The sender.
    pub from: String,
    /// Meta's `type`.
    pub message_type: String,
    /// Context.
    pub context: Option<MessageContext>,
    /// Content.
    pub content: MessageContent,
}

/// Delivery status, in Meta's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryStatus {
    /// sent
    Sent,
    /// delivered
    Delivered,
    /// read
    Read,
    /// played
    Played,
    /// failed
    Failed,
    /// deleted
    Deleted,
}

impl DeliveryStatus {
    /// Meta's status string, if known.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "failed" => Self::Failed,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }

    /// The status as Meta spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }
}

/// Conversation data of a status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conversation {
    /// id
    pub id: String,
    /// origin.type
    pub origin_type: Option<String>,
    /// expiration_timestamp
    pub expiration_timestamp: Option<u64>,
}

/// Pricing data of a status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pricing {
    /// billable
    pub billable: Option<bool>,
    /// pricing_model
    pub pricing_model: Option<String>,
    /// category
    pub category: Option<String>,
    /// type
    pub pricing_type: Option<String>,
}

/// A status update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The message's `wamid`.
    pub message_id: String,
    /// `recipient_id`.
    pub recipient_id: Option<String>,
    /// The status.
    pub status: DeliveryStatus,
    /// The status as sent.
    pub raw_status: String,
    /// `errors`.
    pub errors: Vec<GraphError>,
    /// `conversation`.
    pub conversation: Option<Conversation>,
    /// `pricing`.
    pub pricing: Option<Pricing>,
    /// `biz_opaque_callback_data`.
    pub biz_opaque_callback_data: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    /// An inbound message.
    Message(InboundMessage),
    /// A status update.
    Status(StatusUpdate),
    /// Anything not modelled: raw JSON.
    Unknown(String),
}

impl EventBody {
    /// A short name for the kind of event (`message`, `status`, `unknown`).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Message(_) => "message",
            EventBody::Status(_) => "status",
            EventBody::Unknown(_) => "unknown",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Same for every delivery of the same event.
    pub idempotency_key: String,
    /// The change's `field`.
    pub field: String,
    /// Routing keys.
    pub routing: Routing,
    /// The contact.
    pub contact: Option<Contact>,
    /// Meta's timestamp (Unix seconds).
    pub timestamp: Option<u64>,
    /// What happened.
    pub body: EventBody,
}

// ---- signature and handshake ----------------------------------------------------

/// The header Meta signs webhooks with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Check `sha256=<hex>` over the exact raw body, in constant time.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Error> {
    let header = header
        .ok_or_else(|| Error::BadSignature("the X-Hub-Signature-256 header is missing".into()))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| Error::BadSignature("the header must be sha256=<64 hex digits>".into()))?;
    let mut expected = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut expected)
        .map_err(|_| Error::BadSignature("the header must be sha256=<64 hex digits>".into()))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| {
        Error::BadSignature("the signature does not match the body under the app secret".into())
    })
}

/// `sha256=<hex>` for a body, as Meta computes it.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Answer the subscription handshake: the challenge, if the mode and token match.
pub fn verify_subscription(
    expected_token: Option<&str>,
    mode: &str,
    token: &str,
    challenge: &str,
) -> Result<String, Error> {
    let expected = expected_token
        .ok_or_else(|| Error::NotConfigured("the tenant has no verify-token".into()))?;
    if mode != "subscribe" {
        return Err(Error::invalid("hub.mode", "must be subscribe"));
    }
    // Compare digests so that the comparison takes the same time wherever they differ.
    if Sha256::digest(expected.as_bytes()) != Sha256::digest(token.as_bytes()) {
        return Err(Error::invalid("hub.verify_token", "does not match"));
    }
    Ok(challenge.to_string())
}

// ---- parsing ----------------------------------------------------------------------

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    entry: Vec<Entry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default, deserialize_with = "string_or_number")]
    id: String,
    #[serde(borrow, default)]
    changes: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(default)]
    field: String,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct MessagesValue<'a> {
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<RawContact>,
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    statuses: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Metadata {
    display_phone_number: Option<String>,
    phone_number_id: Option<String>,
}

#[derive(Deserialize, Clone)]
struct RawContact {
    wa_id: Option<String>,
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize, Clone)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    id: String,
    #[serde(default)]
    from: String,
    #[serde(default, deserialize_with = "opt_u64")]
    timestamp: Option<u64>,
    #[serde(rename = "type", default)]
    message_type: String,
    text: Option<RawText>,
    context: Option<RawContext>,
}

#[derive(Deserialize)]
struct RawText {
    body: String,
}

#[derive(Deserialize)]
struct RawContext {
    id: Option<String>,
    from: Option<String>,
    #[serde(default)]
    forwarded: bool,
    #[serde(default)]
    frequently_forwarded: bool,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    #[serde(default, deserialize_with = "opt_u64")]
    timestamp: Option<u64>,
    recipient_id: Option<String>,
    #[serde(default)]
    errors: Vec<RawWebhookError>,
    conversation: Option<RawConversation>,
    pricing: Option<RawPricing>,
    biz_opaque_callback_data: Option<String>,
}

#[derive(Deserialize)]
struct RawWebhookError {
    #[serde(default)]
    code: i32,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<RawErrorData>,
}

#[derive(Deserialize)]
struct RawErrorData {
    details: Option<String>,
}

#[derive(Deserialize)]
struct RawConversation {
    #[serde(default)]
    id: String,
    origin: Option<RawOrigin>,
    #[serde(default, deserialize_with = "opt_u64")]
    expiration_timestamp: Option<u64>,
}

#[derive(Deserialize)]
struct RawOrigin {
    #[serde(rename = "type")]
    origin_type: Option<String>,
}

#[derive(Deserialize)]
struct RawPricing {
    billable: Option<bool>,
    pricing_model: Option<String>,
    category: Option<String>,
    #[serde(rename = "type")]
    pricing_type: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

/// Meta sends timestamps as strings of digits; accept numbers too, and ignore junk.
fn opt_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    })
}

fn digest_key(prefix: &str, raw: &str) -> String {
    let d = Sha256::digest(raw.as_bytes());
    format!("{prefix}:{}", hex::encode(&d[..16]))
}

fn contact_for(contacts: &[RawContact], wa_id: Option<&str>) -> Option<Contact> {
    let c = contacts
        .iter()
        .find(|c| wa_id.is_some() && c.wa_id.as_deref() == wa_id)
        .or_else(|| {
            if contacts.len() == 1 {
                contacts.first()
            } else {
                None
            }
        });
    match (c, wa_id) {
        (Some(c), _) => Some(Contact {
            wa_id: c.wa_id.clone().or_else(|| wa_id.map(str::to_string)),
            user_id: c.user_id.clone(),
            name: c.profile.as_ref().and_then(|p| p.name.clone()),
        }),
        (None, Some(w)) if !w.is_empty() => Some(Contact {
            wa_id: Some(w.to_string()),
            ..Contact::default()
        }),
        _ => None,
    }
}

fn message_event(
    raw: &RawValue,
    m: RawMessage,
    contacts: &[RawContact],
) -> (Option<u64>, Option<Contact>, String, EventBody) {
    let content = match (&*m.message_type, m.text) {
        ("text", Some(t)) => MessageContent::Text(t.body),
        _ => MessageContent::Other(raw.get().to_string()),
    };
    let context = m.context.map(|c| MessageContext {
        message_id: c.id,
        from: c.from,
        forwarded: c.forwarded,
        frequently_forwarded: c.frequently_forwarded,
    });
    let contact = contact_for(contacts, Some(&m.from));
    let key = format!("message:{}", m.id);
    let body = EventBody::Message(InboundMessage {
        id: m.id,
        from: m.from,
        message_type: m.message_type,
        context,
        content,
    });
    (m.timestamp, contact, key, body)
}

fn status_event(
    raw: &RawValue,
    s: RawStatus,
    contacts: &[RawContact],
) -> (Option<u64>, Option<Contact>, String, EventBody) {
    let contact = contact_for(contacts, s.recipient_id.as_deref());
    let Some(status) = DeliveryStatus::parse(&s.status) else {
        return (
            s.timestamp,
            contact,
            digest_key("status", raw.get()),
            EventBody::Unknown(raw.get().to_string()),
        );
    };
    let key = format!("status:{}:{}", s.id, s.status);
    let errors = s
        .errors
        .into_iter()
        .map(|e| GraphError {
            code: e.code,
            message: e.message.or(e.title).unwrap_or_default(),
            details: e.error_data.and_then(|d| d.details),
            ..GraphError::default()
        })
        .collect();
    let body = EventBody::Status(StatusUpdate {
        message_id: s.id,
        recipient_id: s.recipient_id,
        status,
        raw_status: s.status,
        errors,
        conversation: s.conversation.map(|c| Conversation {
            id: c.id,
            origin_type: c.origin.and_then(|o| o.origin_type),
            expiration_timestamp: c.expiration_timestamp,
        }),
        pricing: s.pricing.map(|p| Pricing {
            billable: p.billable,
            pricing_model: p.pricing_model,
            category: p.category,
            pricing_type: p.pricing_type,
        }),
        biz_opaque_callback_data: s.biz_opaque_callback_data,
    });
    (s.timestamp, contact, key, body)
}

/// Parse a webhook POST body into events: every message and status of every change of
/// every entry becomes one event, in order; anything else becomes an `Unknown` event.
pub fn parse(body: &[u8]) -> Result<Vec<Event>, Error> {
    let payload: Payload<'_> = serde_json::from_slice(body)
        .map_err(|e| Error::invalid("body", format!("not a WhatsApp webhook payload: {e}")))?;
    let mut events = Vec::new();
    for entry in payload.entry {
        for raw_change in entry.changes {
            parse_change(&entry.id, raw_change, &mut events);
        }
    }
    Ok(events)
}

fn parse_change(waba_id: &str, raw_change: &RawValue, out: &mut Vec<Event>) {
    let routing_only = |field: &str| {
        (
            Routing {
                waba_id: waba_id.to_string(),
                ..Routing::default()
            },
            field.to_string(),
        )
    };
    let unknown = |routing: Routing, field: String, raw: &RawValue| Event {
        idempotency_key: digest_key("change", raw.get()),
        field,
        routing,
        contact: None,
        timestamp: None,
        body: EventBody::Unknown(raw.get().to_string()),
    };
    let Ok(change) = serde_json::from_str::<Change<'_>>(raw_change.get()) else {
        let (r, f) = routing_only("");
        out.push(unknown(r, f, raw_change));
        return;
    };
    let value = change
        .value
        .and_then(|v| serde_json::from_str::<MessagesValue<'_>>(v.get()).ok())
        .unwrap_or_default();
    let routing = Routing {
        waba_id: waba_id.to_string(),
        phone_number_id: value
            .metadata
            .as_ref()
            .and_then(|m| m.phone_number_id.clone()),
        display_phone_number: value
            .metadata
            .as_ref()
            .and_then(|m| m.display_phone_number.clone()),
    };
    if change.field != "messages" || (value.messages.is_empty() && value.statuses.is_empty()) {
        out.push(unknown(routing, change.field, raw_change));
        return;
    }
    let items = value
        .messages
        .iter()
        .map(|raw| match serde_json::from_str::<RawMessage>(raw.get()) {
            Ok(m) => message_event(raw, m, &value.contacts),
            Err(_) => (
                None,
                None,
                digest_key("message", raw.get()),
                EventBody::Unknown(raw.get().to_string()),
            ),
        })
        .chain(value.statuses.iter().map(|raw| {
            match serde_json::from_str::<RawStatus>(raw.get()) {
                Ok(s) => status_event(raw, s, &value.contacts),
                Err(_) => (
                    None,
                    None,
                    digest_key("status", raw.get()),
                    EventBody::Unknown(raw.get().to_string()),
                ),
            }
        }));
    for (timestamp, contact, idempotency_key, body) in items {
        out.push(Event {
            idempotency_key,
            field: change.field.clone(),
            routing: routing.clone(),
            contact,
            timestamp,
            body,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        let body = br#"{"entry":[]}"#;
        let sig = sign(b"secret", body);
        assert!(verify_signature(b"secret", body, Some(&sig)).is_ok());
        assert!(
            verify_signature(
                b"secret",
                body,
                Some(&sig.to_uppercase().replace("SHA256=", "sha256="))
            )
            .is_ok()
        );
        for bad in [
            None,
            Some(""),
            Some("sha1=00"),
            Some("sha256=zz"),
            Some("sha256=00"),
        ] {
            assert!(
                matches!(
                    verify_signature(b"secret", body, bad),
                    Err(Error::BadSignature(_))
                ),
                "{bad:?}"
            );
        }
        assert!(verify_signature(b"other", body, Some(&sig)).is_err());
        assert!(verify_signature(b"secret", br#"{"entry": []}"#, Some(&sig)).is_err());
    }

    #[test]
    fn the_handshake_needs_subscribe_and_the_token() {
        assert_eq!(
            verify_subscription(Some("t"), "subscribe", "t", "123").unwrap(),
            "123"
        );
        assert!(verify_subscription(Some("t"), "subscribe", "u", "123").is_err());
        assert!(verify_subscription(Some("t"), "unsubscribe", "t", "123").is_err());
        assert!(matches!(
            verify_subscription(None, "subscribe", "t", "1"),
            Err(Error::NotConfigured(_))
        ));
    }

    #[test]
    fn junk_is_invalid_input_not_a_panic() {
        for junk in [
            &b""[..],
            b"null",
            b"[1,2]",
            b"{\"entry\":5}",
            b"\xff\xfe",
            b"{\"entry\":[{\"changes\":",
        ] {
            assert!(
                matches!(parse(junk), Err(Error::InvalidInput { .. })),
                "{junk:?}"
            );
        }
        assert_eq!(parse(b"{}").unwrap(), vec![]);
    }

    #[test]
    fn a_change_that_is_not_an_object_is_kept_as_unknown() {
        let ev = parse(br#"{"entry":[{"id":"1","changes":[42,{"field":"messages","value":{"statuses":[{"bogus":1}]}}]}]}"#).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[0].body, EventBody::Unknown(s) if s == "42"));
        assert!(matches!(&ev[1].body, EventBody::Unknown(s) if s.contains("bogus")));
    }
}
