//! Webhook verify + parse: an attacker controls the body and the signature header. The
//! body is raw bytes, or a change of any documented field (groups, history, contact
//! sync, account alerts, …) whose value is built from Meta's member names.
//! Whatever they send, verification refuses anything not signed with the app secret,
//! parsing returns events or a typed error (never a panic), every event maps to the
//! JSON the host forwards, and the state each event keeps is kept without a panic and
//! never under an empty contact.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use whatsapp_guest::core::Error;
use whatsapp_guest::core::webhook::{self, json, state};

/// The tenant's buckets, in memory.
#[derive(Default)]
struct Mem(std::collections::HashMap<(&'static str, String), Vec<u8>>);

impl state::Store for Mem {
    type Error = std::convert::Infallible;
    fn get(&mut self, b: &'static str, k: &str) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.0.get(&(b, k.to_string())).cloned())
    }
    fn set(&mut self, b: &'static str, k: &str, v: &[u8]) -> Result<(), Self::Error> {
        self.0.insert((b, k.to_string()), v.to_vec());
        Ok(())
    }
}

const SECRET: &[u8] = b"fuzz-app-secret";

#[derive(Arbitrary, Debug)]
enum Header {
    Missing,
    /// What the attacker wrote.
    Raw(String),
    /// A correct signature of the body, so the parser runs on signed input too.
    Signed,
    /// A correct signature with some whitespace or case change around it.
    SignedWith {
        prefix: String,
        upper: bool,
    },
}

/// Every change `field` Meta documents (and the tests' corpus holds).
const FIELDS: &[&str] = &[
    "account_alerts",
    "account_review_update",
    "account_update",
    "business_capability_update",
    "calls",
    "flows",
    "group_lifecycle_update",
    "group_participants_update",
    "group_settings_update",
    "group_status_update",
    "history",
    "message_template_components_update",
    "message_template_quality_update",
    "message_template_status_update",
    "messages",
    "phone_number_name_update",
    "phone_number_quality_update",
    "security",
    "smb_app_state_sync",
    "smb_message_echoes",
    "template_category_update",
    "user_preferences",
];

/// The member names those changes' values use: a structured body picks its keys from
/// these (or writes its own), so that the fuzzer reaches every field's reader, not only
/// the JSON tokenizer.
const KEYS: &[&str] = &[
    "action",
    "added_participants",
    "address",
    "alert_description",
    "alert_info",
    "alert_severity",
    "alert_state",
    "alert_status",
    "alert_type",
    "animated",
    "audio",
    "availability",
    "ban_info",
    "billable",
    "biz_opaque_callback_data",
    "body",
    "button",
    "button_reply",
    "call_permission_reply",
    "calls",
    "caption",
    "catalog_id",
    "category",
    "chunk_order",
    "code",
    "contact",
    "contacts",
    "context",
    "conversation",
    "correct_category",
    "country",
    "ctwa_clid",
    "currency",
    "current_limit",
    "decision",
    "description",
    "detail",
    "details",
    "direction",
    "display_phone_number",
    "document",
    "duration",
    "edit",
    "email",
    "emails",
    "emoji",
    "end_time",
    "entity_id",
    "entity_type",
    "error_count",
    "error_data",
    "error_rate",
    "error_type",
    "errors",
    "event",
    "expiration_timestamp",
    "failed_participants",
    "filename",
    "first_name",
    "flow_id",
    "formatted_name",
    "forwarded",
    "frequently_forwarded",
    "from",
    "from_user_id",
    "full_name",
    "group_description",
    "group_id",
    "group_subject",
    "groups",
    "headline",
    "history",
    "history_context",
    "hologram",
    "hologram_id",
    "href",
    "id",
    "image",
    "image_url",
    "initiated_by",
    "input",
    "interactive",
    "invite_link",
    "is_permanent",
    "item_price",
    "join_approval_mode",
    "join_request_id",
    "lang_hint",
    "last_name",
    "latitude",
    "list_reply",
    "location",
    "longitude",
    "max_daily_conversation_per_phone",
    "max_daily_conversations_per_business",
    "max_phone_numbers_per_business",
    "max_phone_numbers_per_waba",
    "media_type",
    "message",
    "message_echoes",
    "message_id",
    "message_template_button_text",
    "message_template_button_type",
    "message_template_button_url",
    "message_template_buttons",
    "message_template_category",
    "message_template_element",
    "message_template_footer",
    "message_template_id",
    "message_template_language",
    "message_template_name",
    "message_template_title",
    "messages",
    "messaging_product",
    "metadata",
    "mime_type",
    "name",
    "new_category",
    "new_quality_score",
    "new_status",
    "nfm_reply",
    "old_limit",
    "old_status",
    "order",
    "origin",
    "original_message_id",
    "other_info",
    "owner_business_id",
    "p50_latency",
    "p90_latency",
    "payload",
    "phase",
    "phone",
    "phone_number",
    "phone_number_id",
    "phones",
    "previous_category",
    "previous_quality_score",
    "pricing",
    "pricing_model",
    "product_items",
    "product_retailer_id",
    "profile",
    "progress",
    "quantity",
    "reaction",
    "reason",
    "recipient_id",
    "recipient_participant_id",
    "recipient_type",
    "recipient_user_id",
    "recommendation",
    "referral",
    "rejection_info",
    "rejection_reason",
    "removed_participants",
    "request_id",
    "requested_verified_name",
    "requester",
    "requests_count",
    "response",
    "response_json",
    "response_source",
    "revoke",
    "sdp",
    "sdp_type",
    "session",
    "sha256",
    "source_id",
    "source_type",
    "source_url",
    "start_time",
    "state_sync",
    "status",
    "statuses",
    "sticker",
    "subject",
    "system",
    "text",
    "threads",
    "threshold",
    "timestamp",
    "title",
    "to",
    "type",
    "unsupported",
    "update_successful",
    "url",
    "user_id",
    "user_preferences",
    "username",
    "value",
    "video",
    "violation_info",
    "violation_type",
    "voice",
    "wa_id",
    "waba_ban_date",
    "waba_ban_state",
    "waba_id",
    "waba_info",
];

/// A JSON value, its keys mostly Meta's.
#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A string of digits, as Meta writes ids and timestamps.
    Digits(u64),
    Arr(Vec<Json>),
    Obj(Vec<(Key, Json)>),
}

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u16),
    Own(String),
}

impl Json {
    fn value(&self, depth: u32) -> serde_json::Value {
        use serde_json::Value as V;
        if depth > 8 {
            return V::Null;
        }
        match self {
            Json::Null => V::Null,
            Json::Bool(b) => V::Bool(*b),
            Json::Int(n) => (*n).into(),
            Json::Float(f) => serde_json::Number::from_f64(*f).map_or(V::Null, V::Number),
            Json::Str(s) => s.as_str().into(),
            Json::Digits(n) => n.to_string().into(),
            Json::Arr(xs) => V::Array(xs.iter().map(|x| x.value(depth + 1)).collect()),
            Json::Obj(kvs) => V::Object(
                kvs.iter()
                    .map(|(k, v)| {
                        let k = match k {
                            Key::Known(i) => KEYS[usize::from(*i) % KEYS.len()].to_string(),
                            Key::Own(s) => s.clone(),
                        };
                        (k, v.value(depth + 1))
                    })
                    .collect(),
            ),
        }
    }
}

/// What is posted: bytes as they come, or one change of a documented field whose value
/// is built from Meta's member names.
#[derive(Arbitrary, Debug)]
enum Body {
    Raw(Vec<u8>),
    Change { field: u8, value: Json },
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(b) => b.clone(),
            Body::Change { field, value } => serde_json::json!({
                "object": "whatsapp_business_account",
                "entry": [{ "id": "102290129340398", "time": 1733324000, "changes": [{
                    "field": FIELDS[usize::from(*field) % FIELDS.len()],
                    "value": value.value(0),
                }] }],
            })
            .to_string()
            .into_bytes(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    header: Header,
    body: Body,
    /// Query components of the GET handshake.
    mode: String,
    token: String,
}

fuzz_target!(|input: Input| {
    let body = input.body.bytes();
    let good = webhook::sign(SECRET, &body);
    let header = match &input.header {
        Header::Missing => None,
        Header::Raw(h) => Some(h.clone()),
        Header::Signed => Some(good.clone()),
        Header::SignedWith { prefix, upper } => Some(format!(
            "{prefix}{}",
            if *upper {
                good.to_uppercase()
            } else {
                good.clone()
            }
        )),
    };
    match webhook::verify_signature(SECRET, &body, header.as_deref()) {
        Ok(()) => {
            // Only the right MAC over these exact bytes gets through.
            let h = header.as_deref().unwrap().trim();
            let hex_part = h.strip_prefix("sha256=").expect("accepted without sha256=");
            assert!(
                hex_part.eq_ignore_ascii_case(&good["sha256=".len()..]),
                "accepted a signature that is not the body's: {h}"
            );
        }
        Err(Error::BadSignature(_)) => {
            assert!(
                !matches!(input.header, Header::Signed),
                "refused its own signature"
            );
        }
        Err(e) => panic!("verification failed with a non-signature error: {e:?}"),
    }

    match webhook::parse(&body) {
        Ok(events) => {
            let (out, inn) = (["stop".to_string()], ["start".to_string()]);
            let words = state::Keywords {
                opt_out: &out,
                opt_in: &inn,
            };
            let mut store = Mem::default();
            for e in &events {
                let Ok(()) = state::keep(&mut store, words, e, || 1);
                let text = json::to_json(e, Some("tenant"));
                assert!(!text.contains('\n'), "an event's JSON is one line");
                let v: serde_json::Value =
                    serde_json::from_str(&text).expect("an event's JSON parses");
                assert!(v.is_object(), "an event's JSON is an object");
                // Every contact is its wa_id or its BSUID: nothing shared under an empty one.
                let number = e.routing.phone_number_id.as_deref().unwrap_or_default();
                for key in [
                    state::last_inbound_key(number, ""),
                    state::consent_key(""),
                    state::bsuid_key(""),
                ] {
                    let k = (state::CONTACTS_BUCKET, key);
                    assert!(!store.0.contains_key(&k), "state kept under {:?}", k.1);
                }
            }
        }
        Err(Error::InvalidInput { .. }) => {}
        Err(e) => panic!("parse failed with something other than invalid input: {e:?}"),
    }

    // The GET handshake's query values, decoded as the server decodes them.
    let mode = webhook::form_decode(&input.mode);
    let token = webhook::form_decode(&input.token);
    let r = webhook::verify_subscription(Some("verify-me"), &mode, &token, "challenge");
    assert_eq!(
        r.is_ok(),
        mode == "subscribe" && token == "verify-me",
        "the handshake's answer"
    );
});
