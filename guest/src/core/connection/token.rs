//! `debug_token`: what Meta says of a token; and keeping a person's token alive.
//!
//! A token from Meta's OAuth dialog is a person's (`USER`) and short-lived (about two
//! hours); exchanged with `grant_type=fb_exchange_token` it lives 60 days, and a valid
//! long-lived token can be exchanged again for a fresh one. A system user's token (what
//! Embedded Signup's business integration gives) does not expire: `debug_token` says
//! `expires_at: 0`. Source: Meta, "Access Token Guide" and "Long-Lived Access Tokens";
//! WhatsApp Cloud API, "Access tokens" (system user tokens do not expire).

use super::oauth::{REQUIRED_SCOPES, as_u64};
use crate::core::error::Error;
use crate::core::graph::{Credential, Request, encode_query, read_json};
use crate::core::settings::Settings;
use serde::Deserialize;
use serde_json::Value;

/// How long a long-lived user token lives: 60 days.
pub const LONG_LIVED_SECS: u64 = 60 * 86_400;
/// How many days before a token expires the checklist warns and the host refreshes it,
/// unless the `token-warning-days` setting says otherwise.
pub const DEFAULT_WARNING_DAYS: u64 = 7;
/// Meta's name for a system user's token.
pub const SYSTEM_USER: &str = "SYSTEM_USER";

/// `GET /oauth/access_token?grant_type=fb_exchange_token`: a long-lived token for a
/// person's `token` (short-lived, or long-lived and still valid). Needs the app's id and
/// secret; the token travels in the query, so the request carries no bearer.
pub fn long_lived_request(s: &Settings, token: &str) -> Result<Request, Error> {
    let app_id = s.app_id()?;
    let secret = s.app_secret.as_deref().ok_or_else(|| {
        Error::NotConfigured("the tenant has no app-secret to exchange a token with".into())
    })?;
    let mut req = Request::get(s.url(&format!(
        "oauth/access_token?grant_type=fb_exchange_token&client_id={}&client_secret={}&fb_exchange_token={}",
        encode_query(app_id),
        encode_query(secret),
        encode_query(token)
    )));
    req.credential = Credential::None;
    Ok(req)
}

/// The warning to give about a token expiring at `expires_at` (none when it does not
/// expire, or not within `warning_days` of `now`).
pub fn expiry_warning(expires_at: Option<u64>, now: u64, warning_days: u64) -> Option<String> {
    let at = expires_at?;
    if at <= now {
        return Some(format!(
            "the token expired at {at} (Unix seconds): connect the business again"
        ));
    }
    let left = at - now;
    (left <= warning_days.saturating_mul(86_400)).then(|| {
        format!(
            "the token expires at {at} (Unix seconds), in {} days and {} hours: the host refreshes a person's token before then, or connect the business again",
            left / 86_400,
            left % 86_400 / 3600
        )
    })
}

/// Whether a token should be exchanged for a fresh one now: `Ok` when it is a person's
/// token, still valid, and expires within `warning_days`; otherwise why not.
pub fn refresh_due(
    expires_at: Option<u64>,
    token_type: Option<&str>,
    now: u64,
    warning_days: u64,
) -> Result<(), String> {
    match (expires_at, token_type) {
        (_, Some(SYSTEM_USER)) | (None, _) => {
            Err("the token does not expire (a system user's, or Meta gives no expiry)".into())
        }
        (Some(at), _) if at <= now => Err(format!(
            "the token expired at {at} (Unix seconds): connect the business again"
        )),
        (Some(at), _) if at - now > warning_days.saturating_mul(86_400) => Err(format!(
            "the token expires at {at} (Unix seconds); it is refreshed within {warning_days} days of that"
        )),
        _ => Ok(()),
    }
}

/// `GET /debug_token` of `token`: with the app's token (`{app-id}|{app-secret}`) when
/// both are known, else with the token itself (a token may inspect itself).
pub fn debug_token_request(s: &Settings, token: &str) -> Request {
    let mut req = Request::get(s.url(&format!("debug_token?input_token={}", encode_query(token))));
    req.credential = match (&s.app_id, &s.app_secret) {
        (Some(_), Some(_)) => Credential::App,
        _ => Credential::Access,
    };
    req
}

/// What Meta says of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenHealth {
    /// Meta considers it valid.
    pub valid: bool,
    /// Unix seconds; none when it does not expire.
    pub expires_at: Option<u64>,
    /// Unix seconds.
    pub data_access_expires_at: Option<u64>,
    /// `USER`, `SYSTEM_USER`, …
    pub token_type: Option<String>,
    /// The app it belongs to.
    pub app_id: Option<String>,
    /// Permissions granted.
    pub scopes: Vec<String>,
    /// Of [`REQUIRED_SCOPES`], those missing.
    pub missing_scopes: Vec<String>,
    /// WABAs it may manage.
    pub waba_ids: Vec<String>,
    /// Meta's reason when invalid.
    pub reason: Option<String>,
    /// That it expires soon ([`expiry_warning`]); set by the caller, which knows the
    /// time and the tenant's warning period.
    pub warning: Option<String>,
}

impl TokenHealth {
    /// Valid, unexpired at `now`, with every required permission.
    pub fn usable(&self, now: u64) -> bool {
        self.valid && self.missing_scopes.is_empty() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// Read `debug_token`'s answer. `expires_at` 0 means "never", as Meta writes it.
pub fn read_debug_token(status: u16, body: &[u8]) -> Result<TokenHealth, Error> {
    #[derive(Deserialize)]
    struct Envelope {
        data: Data,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Data {
        app_id: Option<Value>,
        #[serde(rename = "type")]
        token_type: Option<String>,
        is_valid: bool,
        expires_at: Option<Value>,
        data_access_expires_at: Option<Value>,
        scopes: Vec<String>,
        granular_scopes: Vec<Granular>,
        error: Option<DebugError>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Granular {
        scope: String,
        target_ids: Vec<Value>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct DebugError {
        message: Option<String>,
    }
    let Envelope { data } = read_json(status, body)?;
    let when = |v: &Option<Value>| v.as_ref().and_then(as_u64).filter(|&t| t > 0);
    let mut waba_ids: Vec<String> = Vec::new();
    for g in data
        .granular_scopes
        .iter()
        .filter(|g| g.scope == "whatsapp_business_management")
    {
        for t in &g.target_ids {
            let id = match t {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !waba_ids.contains(&id) {
                waba_ids.push(id);
            }
        }
    }
    let missing_scopes = REQUIRED_SCOPES
        .iter()
        .filter(|r| !data.scopes.iter().any(|s| s == *r))
        .map(|s| s.to_string())
        .collect();
    Ok(TokenHealth {
        valid: data.is_valid,
        expires_at: when(&data.expires_at),
        data_access_expires_at: when(&data.data_access_expires_at),
        token_type: data.token_type,
        app_id: data.app_id.map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        }),
        scopes: data.scopes,
        missing_scopes,
        waba_ids,
        reason: data.error.and_then(|e| e.message),
        warning: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use super::*;

    #[test]
    fn a_persons_token_is_warned_of_and_refreshed_within_the_period_a_system_users_never() {
        let now = 1_000_000_000;
        let day = 86_400;
        assert_eq!(expiry_warning(None, now, 7), None);
        assert_eq!(expiry_warning(Some(now + 8 * day), now, 7), None);
        let w = expiry_warning(Some(now + 6 * day + 3600), now, 7).unwrap();
        assert!(w.contains("in 6 days and 1 hours"), "{w}");
        assert!(
            expiry_warning(Some(now - 1), now, 7)
                .unwrap()
                .contains("expired")
        );
        assert!(refresh_due(Some(now + 6 * day), Some("USER"), now, 7).is_ok());
        assert!(refresh_due(Some(now + 30 * day), Some("USER"), now, 7).is_err());
        assert!(refresh_due(Some(now + 30 * day), Some("USER"), now, 31).is_ok());
        assert!(refresh_due(Some(now - 1), Some("USER"), now, 7).is_err());
        assert!(refresh_due(None, Some("USER"), now, 7).is_err());
        assert!(refresh_due(Some(now + day), Some(SYSTEM_USER), now, 7).is_err());
        let r = long_lived_request(&settings(), "EAAshort").unwrap();
        assert_eq!(r.credential, Credential::None);
        assert!(
            r.url.contains("/oauth/access_token?grant_type=fb_exchange_token&client_id=1234&client_secret=s3cr3t&fb_exchange_token=EAAshort"),
            "{}",
            r.url
        );
    }

    #[test]
    fn debug_token_reads_validity_scopes_and_wabas() {
        let body = br#"{"data":{"app_id":"1234","type":"SYSTEM_USER","application":"Acme","data_access_expires_at":0,"expires_at":0,"is_valid":true,"scopes":["whatsapp_business_management","whatsapp_business_messaging"],"granular_scopes":[{"scope":"whatsapp_business_management","target_ids":["555","556"]},{"scope":"whatsapp_business_messaging","target_ids":["555"]}],"user_id":"42"}}"#;
        let h = read_debug_token(200, body).unwrap();
        assert!(h.valid && h.usable(10));
        assert_eq!(h.expires_at, None);
        assert_eq!(h.waba_ids, vec!["555", "556"]);
        assert_eq!(h.token_type.as_deref(), Some("SYSTEM_USER"));
        let bad = br#"{"data":{"is_valid":false,"expires_at":100,"scopes":["whatsapp_business_messaging"],"error":{"code":190,"message":"Session has expired"}}}"#;
        let h = read_debug_token(200, bad).unwrap();
        assert!(!h.valid && !h.usable(10));
        assert_eq!(h.missing_scopes, vec!["whatsapp_business_management"]);
        assert_eq!(h.reason.as_deref(), Some("Session has expired"));
        let s = settings();
        assert_eq!(debug_token_request(&s, "EAAG").credential, Credential::App);
        let mut no_secret = settings();
        no_secret.app_secret = None;
        assert_eq!(
            debug_token_request(&no_secret, "EAAG").credential,
            Credential::Access
        );
    }
}
