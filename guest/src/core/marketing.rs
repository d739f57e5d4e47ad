//! Meta's Marketing Messages API ("MM Lite"): a marketing template sent through
//! `POST /{phone-number-id}/marketing_messages` (the same body as `/messages`) is
//! delivered with Meta's marketing optimizations. A send goes there when the tenant's
//! `marketing-messages` setting is `lite`, the template is MARKETING (the template cache
//! says so) and the WABA's `marketing_messages_onboarding_status` is `ONBOARDED`;
//! otherwise through `/messages`, as before.
//!
//! Source: Meta, "Marketing Messages API for WhatsApp": "Send marketing messages" and
//! "Onboarding" (the WhatsApp Business Account's `marketing_messages_onboarding_status`).

use super::error::Error;
use super::graph::{Request, json_text, read_json};
use super::settings::Settings;

/// The status a WABA sends marketing messages through MM Lite with.
pub const ONBOARDED: &str = "ONBOARDED";

/// How long a status read from Meta is trusted before it is read again.
pub const STATUS_TTL_SECS: u64 = 3600;

/// Where the status is remembered, in the connection bucket: `"{status} {unix seconds}"`.
pub const STATUS_KEY: &str = "mm-lite";

/// `GET /{waba-id}?fields=marketing_messages_onboarding_status`.
pub fn status_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(s.url(&format!(
        "{}?fields=marketing_messages_onboarding_status",
        s.waba_id()?
    ))))
}

/// Read the status (empty when Meta has none for the WABA).
pub fn read_status(status: u16, body: &[u8]) -> Result<String, Error> {
    let v: serde_json::Value = read_json(status, body)?;
    Ok(json_text(&v["marketing_messages_onboarding_status"]))
}

/// The status to remember, read at `now`.
pub fn remember(status: &str, now: u64) -> String {
    format!("{status} {now}")
}

/// A remembered status, while it is younger than [`STATUS_TTL_SECS`] at `now`.
pub fn remembered(value: &str, now: u64) -> Option<&str> {
    let (status, at) = value.rsplit_once(' ')?;
    let at: u64 = at.parse().ok()?;
    (now.saturating_sub(at) < STATUS_TTL_SECS).then_some(status)
}

/// Whether the WABA's status decides a send's endpoint: the setting on and a MARKETING
/// template (for any other send the status need not be read).
pub fn candidate(s: &Settings, category: Option<&str>) -> bool {
    s.marketing_messages_lite && category == Some("MARKETING")
}

/// Whether a send goes through MM Lite: a [`candidate`], the WABA onboarded.
pub fn use_lite(s: &Settings, category: Option<&str>, status: Option<&str>) -> bool {
    candidate(s, category) && status == Some(ONBOARDED)
}

/// A `/messages` send moved to `/marketing_messages`, its body unchanged.
pub fn to_lite(mut req: Request) -> Request {
    if let Some(base) = req.url.strip_suffix("/messages") {
        req.url = format!("{base}/marketing_messages");
    }
    // Meta's Marketing Messages request takes no `biz_opaque_callback_data`
    // (`MarketingMessageRequestPayload` allows no other property): it is left out.
    if let Some(body) = &req.body
        && let Ok(serde_json::Value::Object(mut o)) = serde_json::from_slice(body)
        && o.remove("biz_opaque_callback_data").is_some()
    {
        req.body = Some(super::encoding::json_bytes(&o));
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_onboarded_marketing_templates_of_a_lite_tenant_go_through_mm_lite() {
        let lite = Settings::from_pairs([("marketing-messages".to_string(), "lite".to_string())]);
        let off = Settings::from_pairs([]);
        assert!(use_lite(&lite, Some("MARKETING"), Some(ONBOARDED)));
        assert!(!use_lite(&off, Some("MARKETING"), Some(ONBOARDED)));
        assert!(!use_lite(&lite, Some("UTILITY"), Some(ONBOARDED)));
        assert!(!use_lite(&lite, None, Some(ONBOARDED)));
        assert!(!use_lite(&lite, Some("MARKETING"), Some("ELIGIBLE")));
        let req = Request::get("https://graph.facebook.com/v23.0/1/messages".into());
        assert_eq!(
            to_lite(req).url,
            "https://graph.facebook.com/v23.0/1/marketing_messages"
        );
        let req = Request::post_json(
            "https://graph.facebook.com/v23.0/1/messages".into(),
            &serde_json::json!({ "to": "1", "biz_opaque_callback_data": "outbox:7" }),
        );
        let lite = to_lite(req);
        let body: serde_json::Value =
            serde_json::from_slice(lite.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({ "to": "1" }));
    }

    #[test]
    fn a_remembered_status_expires_after_an_hour() {
        let v = remember(ONBOARDED, 1000);
        assert_eq!(remembered(&v, 1000 + STATUS_TTL_SECS - 1), Some(ONBOARDED));
        assert_eq!(remembered(&v, 1000 + STATUS_TTL_SECS), None);
        assert_eq!(remembered("garbage", 0), None);
        assert_eq!(
            read_status(
                200,
                br#"{"marketing_messages_onboarding_status":"ONBOARDED","id":"1"}"#
            )
            .unwrap(),
            ONBOARDED
        );
    }
}
