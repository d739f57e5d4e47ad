//! `debug_token`: what Meta says of a token.

use super::oauth::{REQUIRED_SCOPES, as_u64};
use crate::core::error::Error;
use crate::core::graph::{Credential, Request, encode_query, read_json};
use crate::core::settings::Settings;
use serde::Deserialize;
use serde_json::Value;

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
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use super::*;

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
