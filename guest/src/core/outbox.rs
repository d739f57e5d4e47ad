//! The outbox's rules: what an entry may hold, how a send names its entry so that status
//! webhooks find it again, and what becomes of an entry whose send failed. The host
//! stores and schedules; these decide.

use super::error::{Error, GraphError};
use super::graph::Request;
use super::settings::Settings;
use super::webhook::{DeliveryStatus, StatusUpdate};

/// The most items one `enqueue` takes.
pub const MAX_ITEMS: usize = 10_000;
/// The longest idempotency key or campaign name.
pub const MAX_NAME: usize = 128;
/// `biz_opaque_callback_data` holds at most 512 characters (Cloud API, "Send messages":
/// `biz_opaque_callback_data`).
pub const MAX_CALLBACK: usize = 512;
/// What a send's `biz_opaque_callback_data` starts with when the outbox sent it.
const TAG: &str = "outbox:";
/// Between the entry's id and the caller's own callback data.
const SEP: char = '|';

/// A day, in milliseconds.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// The first retry's wait; each further one doubles, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: u64 = 1_000;
/// The longest wait between tries of a transient failure.
const MAX_BACKOFF_MS: u64 = 15 * 60 * 1000;

/// Check an item's names and its callback data's room before it is stored; `at` is the
/// item's path (`items[3]`). The outbox's tag and the entry's id take 28 of the callback
/// data's 512 characters.
pub fn check_item(
    at: &str,
    key: Option<&str>,
    campaign: Option<&str>,
    callback: Option<&str>,
) -> Result<(), Error> {
    for (field, v) in [("key", key), ("campaign", campaign)] {
        if let Some(v) = v
            && (v.is_empty() || v.chars().count() > MAX_NAME)
        {
            return Err(Error::invalid(
                format!("{at}.{field}"),
                "must be 1 to 128 characters",
            ));
        }
    }
    // The tag and the entry's id (at most 20 digits) go before the caller's data.
    let room = MAX_CALLBACK - TAG.len() - 21;
    if callback.is_some_and(|c| c.chars().count() > room) {
        return Err(Error::invalid(
            format!("{at}.message.biz-opaque-callback-data"),
            format!("must be at most {room} characters in the outbox"),
        ));
    }
    Ok(())
}

/// The `biz_opaque_callback_data` a send of entry `id` carries: the tag and the id, then
/// the caller's own data after `|`.
pub fn callback(id: &str, own: Option<&str>) -> String {
    match own {
        Some(o) => format!("{TAG}{id}{SEP}{o}"),
        None => format!("{TAG}{id}"),
    }
}

/// The request that sends entry `id` whose message `enqueue` built as `body`: the same
/// body, naming the entry in its `biz_opaque_callback_data`, from the settings' number.
pub fn delivery_request(settings: &Settings, body: &str, id: &str) -> Result<Request, Error> {
    let mut v: serde_json::Value = serde_json::from_str(body)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| Error::invalid("body", "must be a JSON object"))?;
    let own = v["biz_opaque_callback_data"].as_str().map(str::to_string);
    v["biz_opaque_callback_data"] = callback(id, own.as_deref()).into();
    let url = settings.url(&format!("{}/messages", settings.phone_number_id()?));
    Ok(Request::post_json(url, &v))
}

/// A page of the number's message history, newest first: each message's delivery events,
/// when each was, and whether its webhook was delivered (Cloud API, "Message History":
/// `GET /{phone-number-id}/message_history`).
pub fn history_request(settings: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut url = settings.url(&format!(
        "{}/message_history?fields=events%7Bwebhook_update_state,timestamp%7D&limit=100",
        settings.phone_number_id()?
    ));
    if let Some(a) = after {
        url.push_str(&format!("&after={}", super::graph::encode_query(a)));
    }
    Ok(Request::get(url))
}

/// What a page of message history says of the messages since a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// A message since then has a status webhook Meta has not delivered yet: an entry
    /// whose send may have left could still be named by it.
    Pending,
    /// Every message since then had its status webhooks delivered: an entry no status
    /// named was never accepted, and may be sent.
    Clear,
    /// Read on from this cursor.
    More(String),
}

/// Read a page of message history (newest first) back to `since_secs`. An entry whose
/// send may have left is settled this way before it is sent again: had Meta accepted
/// it, its `sent` status (naming the entry) would be among the webhooks delivered.
pub fn read_history(v: &serde_json::Value, since_secs: u64) -> History {
    for m in v["data"].as_array().into_iter().flatten() {
        let events = m["events"]["data"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if !events.is_empty()
            && events
                .iter()
                .all(|e| super::graph::json_u64(&e["timestamp"]) < since_secs)
        {
            return History::Clear;
        }
        if events.is_empty()
            || events
                .iter()
                .any(|e| e["webhook_update_state"].as_str() != Some("DELIVERED"))
        {
            return History::Pending;
        }
    }
    match super::graph::next_after(v) {
        Some(after) => History::More(after),
        None => History::Clear,
    }
}

/// The entry a status's `biz_opaque_callback_data` names, when the outbox sent it.
pub fn entry_of(callback: &str) -> Option<&str> {
    let rest = callback.strip_prefix(TAG)?;
    let id = rest.split(SEP).next().unwrap_or(rest);
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// How far a status says an entry's message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Meta sent it.
    Sent,
    /// On the recipient's phone.
    Delivered,
    /// Read, or played.
    Read,
    /// Meta could not deliver it.
    Failed,
}

/// A status's news for the outbox entry it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The entry.
    pub id: &'a str,
    /// How far its message got.
    pub stage: Stage,
    /// Meta's first error, when it failed.
    pub failure: Option<&'a GraphError>,
}

/// What status `s` says of the entry its `biz_opaque_callback_data` names, if the outbox
/// sent it (a `deleted` status moves no entry).
pub fn progress(s: &StatusUpdate) -> Option<Progress<'_>> {
    let id = entry_of(s.biz_opaque_callback_data.as_deref()?)?;
    let stage = match s.status {
        DeliveryStatus::Sent => Stage::Sent,
        DeliveryStatus::Delivered => Stage::Delivered,
        DeliveryStatus::Read | DeliveryStatus::Played => Stage::Read,
        DeliveryStatus::Failed => Stage::Failed,
        _ => return None,
    };
    Some(Progress {
        id,
        stage,
        failure: (stage == Stage::Failed).then(|| s.errors.first()).flatten(),
    })
}

/// A message a contact wrote: the ids the contact goes by (its `wa_id`, its BSUID), by
/// which the reply is counted for the campaign that reached it last. Empty for any
/// other event.
pub fn reply_from(e: &crate::core::webhook::Event) -> Vec<String> {
    let crate::core::webhook::EventBody::Message(m) = &e.body else {
        return Vec::new();
    };
    let c = e.contact.as_ref();
    let ids = [
        c.and_then(|c| c.wa_id.as_deref()).or(Some(&m.from)),
        c.and_then(|c| c.user_id.as_deref())
            .or(m.from_user_id.as_deref()),
    ];
    let mut out: Vec<String> = Vec::new();
    for id in ids.into_iter().flatten().filter(|i| !i.is_empty()) {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// What becomes of an entry whose send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Try again after this many milliseconds.
    Retry(u64),
    /// It fails.
    Fail,
    /// Its campaign is held until resumed.
    HoldCampaign,
    /// The tenant's outbox is held until it reconnects.
    HoldTenant,
    /// It may have been sent: unknown until a status names it.
    Unknown,
}

/// What to do with an entry whose try number `attempt` (from 1) failed with `e`, from
/// Meta's error-code reference
/// (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes):
/// - a refused token (190 and its kin) holds the tenant until it reconnects;
/// - throughput (4, 80007, 130429, 131056) and transient errors wait and try again,
///   after Meta's `retry-after` when it gave one, else doubling from a second;
/// - 131049, the per-user marketing limit: "do not retry immediately", and the limit is
///   counted over a day, so it waits a day;
/// - 131048, the spam rate limit, and a template paused (132015) or disabled (132016):
///   every further message of the campaign would fail alike, so it is held;
/// - a request that did not leave (network, egress, storage) waits and tries again; one
///   that may have left (`ambiguous`) is unknown, never sent again blindly;
/// - anything else (invalid input, outside the window, opted out, a recipient Meta
///   cannot reach) fails the entry alone.
pub fn action(e: &Error, attempt: u32) -> Action {
    let backoff = FIRST_BACKOFF_MS
        .saturating_mul(1 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    let code = graph(e).map(|g| g.code);
    match (e, code) {
        (Error::Unauthorized(_), _) => Action::HoldTenant,
        (_, Some(131049)) => Action::Retry(DAY_MS),
        (_, Some(131048 | 132015 | 132016)) => Action::HoldCampaign,
        (
            Error::RateLimited {
                retry_after_seconds: Some(s),
                ..
            },
            _,
        ) => Action::Retry(u64::from(*s) * 1000),
        (Error::Network(_) | Error::EgressDenied(_) | Error::Storage(_), _) => {
            Action::Retry(backoff)
        }
        (Error::Ambiguous(_), _) => Action::Unknown,
        _ if e.is_throttle() => Action::Retry(backoff),
        _ => Action::Fail,
    }
}

/// The Graph error behind `e`, when Meta answered.
fn graph(e: &Error) -> Option<&GraphError> {
    match e {
        Error::Unauthorized(g)
        | Error::RateLimited { error: g, .. }
        | Error::OutsideWindow(Some(g))
        | Error::TemplateMismatch(g)
        | Error::Recipient(g)
        | Error::PolicyBlocked(g)
        | Error::Meta(g) => Some(g),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(code: i32) -> Error {
        super::super::error::classify(GraphError {
            code,
            message: "m".into(),
            ..GraphError::default()
        })
    }

    #[test]
    fn a_send_names_its_entry_and_keeps_the_callers_data() {
        assert_eq!(callback("42", None), "outbox:42");
        assert_eq!(callback("42", Some("order|7")), "outbox:42|order|7");
        assert_eq!(entry_of("outbox:42|order|7"), Some("42"));
        assert_eq!(entry_of("outbox:42"), Some("42"));
        assert_eq!(entry_of("order-42"), None);
        assert_eq!(entry_of("outbox:"), None);
        assert_eq!(entry_of("outbox:4x2"), None);
    }

    #[test]
    fn names_and_callback_room_are_checked() {
        assert!(check_item("items[0]", Some("k"), Some("c"), Some("x")).is_ok());
        let e = check_item("items[3]", Some(""), None, None).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { ref field, .. } if field == "items[3].key"));
        let long = "x".repeat(129);
        assert!(check_item("items[0]", None, Some(&long), None).is_err());
        let full = "x".repeat(500);
        let e = check_item("items[1]", None, None, Some(&full)).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { ref field, .. }
            if field == "items[1].message.biz-opaque-callback-data"));
        assert!(check_item("items[1]", None, None, Some(&"x".repeat(484))).is_ok());
    }

    #[test]
    fn history_is_clear_only_when_every_recent_webhook_was_delivered() {
        let page = |msgs: serde_json::Value, next: bool| {
            let mut v = serde_json::json!({ "data": msgs });
            if next {
                v["paging"] =
                    serde_json::json!({ "cursors": { "after": "C2" }, "next": "https://x" });
            }
            v
        };
        let msg = |at: u64, state: &str| {
            serde_json::json!({ "id": "1", "message_id": "wamid.x", "events": { "data": [
                { "id": "e", "delivery_status": "SENT", "webhook_update_state": state, "timestamp": at }] } })
        };
        let delivered = page(
            serde_json::json!([msg(200, "DELIVERED"), msg(150, "DELIVERED")]),
            true,
        );
        assert_eq!(read_history(&delivered, 100), History::More("C2".into()));
        assert_eq!(
            read_history(&delivered, 160),
            History::Clear,
            "older than since"
        );
        let pending = page(
            serde_json::json!([msg(200, "DELIVERED"), msg(190, "RETRYING")]),
            true,
        );
        assert_eq!(read_history(&pending, 100), History::Pending);
        assert_eq!(
            read_history(&page(serde_json::json!([]), false), 100),
            History::Clear
        );
        let no_events = page(serde_json::json!([{ "id": "1", "message_id": "w" }]), false);
        assert_eq!(
            read_history(&no_events, 100),
            History::Pending,
            "unknown: wait"
        );
    }

    #[test]
    fn failures_become_the_actions_meta_documents() {
        assert_eq!(action(&meta(190), 1), Action::HoldTenant);
        assert_eq!(action(&meta(131049), 1), Action::Retry(DAY_MS));
        assert_eq!(action(&meta(131048), 1), Action::HoldCampaign);
        assert_eq!(action(&meta(132015), 1), Action::HoldCampaign);
        assert_eq!(action(&meta(132016), 2), Action::HoldCampaign);
        assert_eq!(action(&meta(130429), 1), Action::Retry(1_000));
        assert_eq!(action(&meta(131056), 3), Action::Retry(4_000));
        assert_eq!(action(&meta(130429), 40), Action::Retry(MAX_BACKOFF_MS));
        let told = Error::RateLimited {
            retry_after_seconds: Some(30),
            error: GraphError::default(),
        };
        assert_eq!(action(&told, 1), Action::Retry(30_000));
        assert_eq!(action(&meta(131026), 1), Action::Fail);
        assert_eq!(action(&meta(131050), 1), Action::Fail);
        assert_eq!(action(&meta(132000), 1), Action::Fail);
        assert_eq!(action(&Error::OutsideWindow(None), 1), Action::Fail);
        assert_eq!(
            action(&Error::Network("refused".into()), 2),
            Action::Retry(2_000)
        );
        assert_eq!(
            action(&Error::Ambiguous("reset".into()), 1),
            Action::Unknown
        );
        let transient = super::super::error::classify(GraphError {
            code: 1,
            is_transient: true,
            ..GraphError::default()
        });
        assert_eq!(action(&transient, 1), Action::Retry(1_000));
        assert_eq!(action(&Error::invalid("to", "bad"), 1), Action::Fail);
    }
}
