//! Outgoing messages: validation against Meta's limits, then the Graph request.

use super::error::Error;
use super::graph::{Request, read_json};
use super::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// Meta's limits, each with its source, in one place.
pub mod limits {
    pub use crate::core::outgoing::limits::*;
    /// `biz_opaque_callback_data`, characters (messages reference: "maximum 512 characters").
    pub const CALLBACK_DATA_MAX: usize = 512;
    /// Digits in an E.164 number (ITU-T E.164: at most 15 digits).
    pub const PHONE_DIGITS_MAX: usize = 15;
    /// Fewest digits we accept as a number (shortest national numbers plus country code).
    pub const PHONE_DIGITS_MIN: usize = 7;
    /// Alphanumerics after a BSUID's `CC.` (or a parent BSUID's `CC.ENT.`): "up to 128"
    /// (Meta, "Business-scoped user IDs").
    pub const BSUID_ID_MAX: usize = 128;
    /// A `wamid` we accept as a reference (Meta's are about 60 characters).
    pub const WAMID_MAX: usize = 256;
}

pub use super::outgoing::Content;

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Outgoing {
    /// E.164 number, `wa_id`, or business-scoped user id (see [`Recipient`]).
    pub to: String,
    /// The content.
    pub content: Content,
    /// The `wamid` replied to.
    pub reply_to: Option<String>,
    /// Data Meta echoes in status webhooks.
    pub biz_opaque_callback_data: Option<String>,
}

/// Meta's answer to an accepted send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// The `wamid`.
    pub message_id: String,
    /// The canonical `wa_id`, when the message went to a number.
    pub wa_id: Option<String>,
    /// The business-scoped user id, when the message went to one.
    pub user_id: Option<String>,
    /// The recipient as given.
    pub input: String,
    /// `message_status`, when present.
    pub message_status: Option<String>,
}

/// Whom a message goes to, in the form Meta wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A phone number or `wa_id`: digits only (a leading `+` is dropped). Sent as `to`.
    Number(String),
    /// A business-scoped user id (BSUID), all Meta gives of a user who shows a username
    /// instead of a number: a two-letter country code, `.`, and up to 128 alphanumerics
    /// (`US.13491208655302741918`), or a parent BSUID shared by linked portfolios
    /// (`US.ENT.11815799212886844830`). Sent as `recipient` (Meta, "Business-scoped user
    /// IDs": `to` for numbers, `recipient` for BSUIDs).
    User(String),
    /// A group the number owns, given as `group:{group-id}`. Sent as `to` with
    /// `recipient_type: group` (Meta, "Groups API: group messaging").
    Group(String),
}

impl Recipient {
    /// A user (a number, a `wa_id` or a BSUID), not a group: what block lists and group
    /// participants name.
    pub fn user(to: &str) -> Result<Self, Error> {
        match Recipient::parse(to)? {
            Recipient::Group(_) => Err(Error::invalid(
                "to",
                "must be a user (a number, a wa_id or a business-scoped user id), not a group",
            )),
            r => Ok(r),
        }
    }

    /// `to` as a caller gives it.
    pub fn parse(to: &str) -> Result<Self, Error> {
        if let Some(id) = to.strip_prefix(GROUP_PREFIX) {
            return match super::ids::check_group_id(id) {
                Ok(()) => Ok(Recipient::Group(id.to_string())),
                Err(_) => Err(Error::invalid(
                    "to",
                    "a group must be `group:` and a group id Meta gave",
                )),
            };
        }
        if let Some(id) = bsuid(to) {
            return Ok(Recipient::User(id.to_string()));
        }
        let digits = to.strip_prefix('+').unwrap_or(to);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "to",
                "must be an E.164 number (+ and digits only), a wa_id, or a business-scoped \
                 user id (a country code, a dot, then letters and digits: US.1349120865530274)",
            ));
        }
        if !(limits::PHONE_DIGITS_MIN..=limits::PHONE_DIGITS_MAX).contains(&digits.len()) {
            return Err(Error::invalid(
                "to",
                format!(
                    "must have {} to {} digits including the country code",
                    limits::PHONE_DIGITS_MIN,
                    limits::PHONE_DIGITS_MAX
                ),
            ));
        }
        if digits.starts_with('0') {
            return Err(Error::invalid(
                "to",
                "must start with a country code, not 0",
            ));
        }
        Ok(Recipient::Number(digits.to_string()))
    }

    /// The contact it names: the digits, or the BSUID (as the webhook state keys it,
    /// `webhook::state::contact_id`).
    pub fn id(&self) -> &str {
        match self {
            Recipient::Number(id) | Recipient::User(id) | Recipient::Group(id) => id,
        }
    }

    /// `individual` or `group`, as a send's `recipient_type` says.
    pub fn kind(&self) -> &'static str {
        match self {
            Recipient::Group(_) => "group",
            _ => "individual",
        }
    }

    /// The member of a send's body that carries it.
    pub fn field(&self) -> &'static str {
        match self {
            Recipient::Number(_) | Recipient::Group(_) => "to",
            Recipient::User(_) => "recipient",
        }
    }
}

/// What names a group in `to`: `group:{group-id}`.
pub const GROUP_PREFIX: &str = "group:";

/// The message types Meta delivers to groups (Meta, "Groups API: group messaging":
/// interactive, commerce and view-once messages are not supported in groups).
const GROUP_TYPES: &[&str] = &[
    "text", "image", "video", "audio", "document", "sticker", "location", "contacts", "reaction",
    "template",
];

/// `s` when it has a BSUID's form.
fn bsuid(s: &str) -> Option<&str> {
    let (country, rest) = s.split_once('.')?;
    let id = rest.strip_prefix("ENT.").unwrap_or(rest);
    let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    let id_ok = (1..=limits::BSUID_ID_MAX).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric());
    (country_ok && id_ok).then_some(s)
}

fn check_wamid(field: &str, id: &str) -> Result<(), Error> {
    if id.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if id.len() > limits::WAMID_MAX {
        return Err(Error::invalid(
            field,
            format!("must be at most {} bytes", limits::WAMID_MAX),
        ));
    }
    Ok(())
}

/// Validate a message and build its `POST /{phone-number-id}/messages` request.
pub fn send_request(settings: &Settings, msg: &Outgoing) -> Result<Request, Error> {
    let to = Recipient::parse(&msg.to)?;
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": to.kind(),
    });
    body[to.field()] = to.id().into();
    let (kind, content) = super::outgoing::build(&msg.content)?;
    if matches!(to, Recipient::Group(_)) && !GROUP_TYPES.contains(&kind) {
        return Err(Error::invalid(
            "content",
            format!(
                "a group takes text, media, location, contacts, reactions and templates, not {kind}"
            ),
        ));
    }
    body["type"] = kind.into();
    body[kind] = content;
    if let Some(id) = &msg.reply_to {
        check_wamid("reply-to", id)?;
        body["context"] = json!({ "message_id": id });
    }
    if let Some(data) = &msg.biz_opaque_callback_data {
        if data.chars().count() > limits::CALLBACK_DATA_MAX {
            return Err(Error::invalid(
                "biz-opaque-callback-data",
                format!("must be at most {} characters", limits::CALLBACK_DATA_MAX),
            ));
        }
        body["biz_opaque_callback_data"] = data.as_str().into();
    }
    let url = settings.url(&format!("{}/messages", settings.phone_number_id()?));
    Ok(Request::post_json(url, &body))
}

/// Build the mark-as-read request, with the typing indicator when asked.
pub fn mark_read_request(
    settings: &Settings,
    message_id: &str,
    typing: bool,
) -> Result<Request, Error> {
    check_wamid("message-id", message_id)?;
    let mut body = json!({
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    });
    if typing {
        body["typing_indicator"] = json!({ "type": "text" });
    }
    let url = settings.url(&format!("{}/messages", settings.phone_number_id()?));
    Ok(Request::post_json(url, &body))
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    contacts: Vec<SendContact>,
    #[serde(default)]
    messages: Vec<SendMessage>,
}

#[derive(Deserialize)]
struct SendContact {
    input: Option<String>,
    wa_id: Option<String>,
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct SendMessage {
    id: String,
    message_status: Option<String>,
}

/// Read Meta's answer to a send.
pub fn read_send_response(status: u16, body: &[u8]) -> Result<SendResult, Error> {
    let r: SendResponse = read_json(status, body)?;
    let m = r.messages.into_iter().next().ok_or_else(|| {
        Error::Ambiguous(
            "Meta answered 2xx without a message id; the message may have been sent".into(),
        )
    })?;
    let c = r.contacts.into_iter().next();
    Ok(SendResult {
        message_id: m.id,
        wa_id: c.as_ref().and_then(|c| c.wa_id.clone()),
        user_id: c.as_ref().and_then(|c| c.user_id.clone()),
        input: c.and_then(|c| c.input).unwrap_or_default(),
        message_status: m.message_status,
    })
}

/// Read Meta's answer to mark-read (`{"success": true}`).
pub fn read_success(status: u16, body: &[u8]) -> Result<(), Error> {
    let v: Value = read_json(status, body)?;
    if v.get("success").and_then(Value::as_bool) == Some(true) {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "Meta did not confirm: {}",
            super::error::excerpt(body)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_pairs([("phone-number-id".to_string(), "106540352242922".to_string())])
    }

    fn text(to: &str, body: &str) -> Outgoing {
        Outgoing {
            to: to.into(),
            content: Content::Text {
                body: body.into(),
                preview_url: false,
            },
            reply_to: None,
            biz_opaque_callback_data: None,
        }
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::InvalidInput { field, .. } => field,
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }

    #[test]
    fn a_text_with_preview_context_and_callback_data_builds_meta_shape() {
        let mut m = text("+15551234567", "see https://example.com");
        m.content = Content::Text {
            body: "see https://example.com".into(),
            preview_url: true,
        };
        m.reply_to = Some("wamid.ABC".into());
        m.biz_opaque_callback_data = Some("campaign-7".into());
        let r = send_request(&settings(), &m).unwrap();
        assert_eq!(
            r.url,
            "https://graph.facebook.com/v23.0/106540352242922/messages"
        );
        let v: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "to": "15551234567", "type": "text",
                   "text": {"body": "see https://example.com", "preview_url": true},
                   "context": {"message_id": "wamid.ABC"},
                   "biz_opaque_callback_data": "campaign-7"})
        );
    }

    #[test]
    fn text_length_is_counted_in_characters_at_the_limit() {
        let at = "é".repeat(limits::TEXT_BODY_MAX);
        assert!(send_request(&settings(), &text("15551234567", &at)).is_ok());
        let over = "é".repeat(limits::TEXT_BODY_MAX + 1);
        assert_eq!(
            field_of(send_request(&settings(), &text("15551234567", &over)).unwrap_err()),
            "content.text.body"
        );
        assert_eq!(
            field_of(send_request(&settings(), &text("15551234567", "  ")).unwrap_err()),
            "content.text.body"
        );
    }

    #[test]
    fn recipients_must_be_e164_digits_or_a_bsuid() {
        let long = format!("US.{}", "1".repeat(129));
        for bad in [
            "",
            "+",
            "12345",
            "+1 555 123",
            "0155512345",
            "+1555123456789012",
            "abc1234567",
            "US.",
            "us.1234567",
            "USA.1234567",
            "US.12 34",
            "US.ENT.",
            "US.12.34",
            long.as_str(),
        ] {
            assert_eq!(
                field_of(Recipient::parse(bad).unwrap_err()),
                "to",
                "{bad:?}"
            );
        }
        assert_eq!(
            Recipient::parse("+972987654321").unwrap(),
            Recipient::Number("972987654321".into())
        );
        for id in [
            "US.13491208655302741918",
            "BR.1502576394655843",
            "US.ENT.11815799212886844830",
        ] {
            assert_eq!(Recipient::parse(id).unwrap(), Recipient::User(id.into()));
        }
    }

    #[test]
    fn a_group_is_sent_to_with_its_recipient_type_and_takes_no_interactive() {
        let gid = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjA";
        let r = send_request(&settings(), &text(&format!("group:{gid}"), "hi all")).unwrap();
        let v: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            (&v["recipient_type"], &v["to"], v.get("recipient")),
            (&json!("group"), &json!(gid), None)
        );
        for bad in ["group:", "group:a/b", "group:a?b"] {
            assert_eq!(field_of(Recipient::parse(bad).unwrap_err()), "to", "{bad}");
        }
        assert!(Recipient::user(&format!("group:{gid}")).is_err());
        let mut m = text(&format!("group:{gid}"), "");
        m.content = Content::Buttons {
            header: None,
            body: "pick".into(),
            footer: None,
            buttons: vec![super::super::outgoing::ReplyButton {
                id: "a".into(),
                title: "A".into(),
            }],
        };
        assert_eq!(
            field_of(send_request(&settings(), &m).unwrap_err()),
            "content"
        );
    }

    #[test]
    fn a_bsuid_is_sent_as_recipient_and_a_number_as_to() {
        let body = |to: &str| -> Value {
            let r = send_request(&settings(), &text(to, "hi")).unwrap();
            serde_json::from_slice(r.body.as_ref().unwrap()).unwrap()
        };
        let v = body("US.13491208655302741918");
        assert_eq!(v["recipient"], "US.13491208655302741918");
        assert!(v.get("to").is_none(), "{v}");
        let v = body("+15551234567");
        assert_eq!(v["to"], "15551234567");
        assert!(v.get("recipient").is_none(), "{v}");
        // Meta's answer to a send to a BSUID names the user, not a number.
        let answer = br#"{"messaging_product":"whatsapp","contacts":[{"input":"US.13491208655302741918","user_id":"US.13491208655302741918"}],"messages":[{"id":"wamid.B"}]}"#;
        let r = read_send_response(200, answer).unwrap();
        assert_eq!(
            (r.wa_id, r.user_id.as_deref()),
            (None, Some("US.13491208655302741918"))
        );
    }

    #[test]
    fn callback_data_and_reply_ids_are_bounded() {
        let mut m = text("15551234567", "hi");
        m.biz_opaque_callback_data = Some("x".repeat(513));
        assert_eq!(
            field_of(send_request(&settings(), &m).unwrap_err()),
            "biz-opaque-callback-data"
        );
        let mut m = text("15551234567", "hi");
        m.reply_to = Some(" ".into());
        assert_eq!(
            field_of(send_request(&settings(), &m).unwrap_err()),
            "reply-to"
        );
    }

    #[test]
    fn sending_needs_a_phone_number_id() {
        let e = send_request(&Settings::from_pairs([]), &text("15551234567", "hi")).unwrap_err();
        assert!(matches!(e, Error::NotConfigured(_)));
    }

    #[test]
    fn mark_read_carries_the_typing_indicator_when_asked() {
        let r = mark_read_request(&settings(), "wamid.X", true).unwrap();
        let v: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({"messaging_product": "whatsapp", "status": "read",
            "message_id": "wamid.X", "typing_indicator": {"type": "text"}})
        );
        let r = mark_read_request(&settings(), "wamid.X", false).unwrap();
        let v: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert!(v.get("typing_indicator").is_none());
    }

    #[test]
    fn send_responses_give_the_wamid_and_wa_id() {
        let body = br#"{"messaging_product":"whatsapp","contacts":[{"input":"+15551234567","wa_id":"15551234567"}],"messages":[{"id":"wamid.HBgL","message_status":"accepted"}]}"#;
        let r = read_send_response(200, body).unwrap();
        assert_eq!(
            (r.message_id.as_str(), r.wa_id.as_deref(), r.input.as_str()),
            ("wamid.HBgL", Some("15551234567"), "+15551234567")
        );
        assert_eq!(r.message_status.as_deref(), Some("accepted"));
        assert!(matches!(
            read_send_response(200, b"{}"),
            Err(Error::Ambiguous(_))
        ));
        let err = br#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"fbtrace_id":"Az"}}"#;
        assert!(matches!(
            read_send_response(401, err),
            Err(Error::Unauthorized(_))
        ));
    }
}
