//! Meta's OAuth dialog: its URL, the single-use `state` and its pending record, and the
//! exchange of the code for a token.

use crate::core::encoding::{from_base64url, to_base64url};
use crate::core::error::Error;
use crate::core::graph::{Credential, Request, encode_query};
use crate::core::ids::check_node_id;
use crate::core::secret::Secret;
use crate::core::settings::{DEFAULT_ORIGIN, Settings};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The permissions the component needs.
pub const REQUIRED_SCOPES: [&str; 2] = [
    "whatsapp_business_management",
    "whatsapp_business_messaging",
];
/// Meta's OAuth dialog, when the Graph origin is Meta's.
pub const DIALOG_ORIGIN: &str = "https://www.facebook.com";
/// How long an authorization's `state` is accepted.
pub const STATE_TTL_SECS: u64 = 600;
/// Random bytes in a `state`.
pub const STATE_RANDOM_BYTES: usize = 18;

/// What to ask the business for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Where Meta sends the browser back.
    pub redirect_uri: String,
    /// An Embedded Signup configuration id.
    pub config_id: Option<String>,
    /// Permissions besides [`REQUIRED_SCOPES`].
    pub extra_scopes: Vec<String>,
}

/// A redirect URI must be https, or http on loopback (for a CLI's local callback), with
/// no fragment: Meta compares it exactly at the exchange.
pub fn check_redirect_uri(uri: &str) -> Result<(), Error> {
    let field = "redirect-uri";
    if uri.len() > 2048 || uri.contains('#') || uri.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            field,
            "must be at most 2048 characters, without a fragment or spaces",
        ));
    }
    let rest = if let Some(r) = uri.strip_prefix("https://") {
        r
    } else if let Some(r) = uri.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or("");
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        if !["127.0.0.1", "localhost", "[::1]"].contains(&host) {
            return Err(Error::invalid(
                field,
                "must be https (http only on loopback)",
            ));
        }
        r
    } else {
        return Err(Error::invalid(field, "must be an https:// URL"));
    };
    if rest.split(['/', '?']).next().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, "has no host"));
    }
    Ok(())
}

fn check_scope(field: &str, s: &str) -> Result<(), Error> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(Error::invalid(
            field,
            "a permission is lowercase letters and '_'",
        ));
    }
    Ok(())
}

/// Where Meta's OAuth dialog is: the `oauth-dialog-origin` setting, else Meta's when
/// the Graph origin is Meta's, else the Graph origin (a sandbox serves both).
pub fn dialog_origin(s: &Settings) -> &str {
    match &s.oauth_dialog_origin {
        Some(o) => o,
        None if s.graph_origin == DEFAULT_ORIGIN => DIALOG_ORIGIN,
        None => &s.graph_origin,
    }
}

/// A fresh `state`: the tenant id, a dot, and the random bytes in base64url. The tenant
/// id in it lets one callback endpoint serve every tenant.
pub fn new_state(tenant_id: &str, random: &[u8]) -> String {
    format!("{tenant_id}.{}", to_base64url(random))
}

/// The tenant a `state` names (what a shared OAuth callback routes by).
pub fn state_tenant(state: &str) -> Option<&str> {
    let (tenant, nonce) = state.split_once('.')?;
    let ok = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && from_base64url(nonce).is_some_and(|n| n.len() == STATE_RANDOM_BYTES);
    ok.then_some(tenant)
}

/// Meta's OAuth dialog URL for `req`, carrying `state`. Needs the `app-id` setting.
pub fn authorize_url(s: &Settings, req: &AuthorizeRequest, state: &str) -> Result<String, Error> {
    let app_id = s.app_id()?;
    check_redirect_uri(&req.redirect_uri)?;
    let mut url = format!(
        "{}/{}/dialog/oauth?client_id={}&redirect_uri={}&state={}&response_type=code",
        dialog_origin(s),
        s.api_version,
        encode_query(app_id),
        encode_query(&req.redirect_uri),
        encode_query(state),
    );
    match &req.config_id {
        Some(c) => {
            check_node_id("config-id", c)?;
            // Embedded Signup: the configuration holds the permissions.
            url.push_str(&format!(
                "&config_id={}&override_default_response_type=true&extras={}",
                encode_query(c),
                encode_query(r#"{"setup":{},"sessionInfoVersion":"3"}"#)
            ));
        }
        None => {
            let mut scopes: Vec<&str> = REQUIRED_SCOPES.to_vec();
            for (i, x) in req.extra_scopes.iter().enumerate() {
                check_scope(&format!("extra-scopes[{i}]"), x)?;
                if !scopes.contains(&x.as_str()) {
                    scopes.push(x);
                }
            }
            url.push_str(&format!("&scope={}", encode_query(&scopes.join(","))));
        }
    }
    Ok(url)
}

/// An authorization waiting for its code, as stored in
/// [`OAUTH_STATE_KEY`](super::OAUTH_STATE_KEY). Only the state's digest is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingState {
    /// SHA-256 of the state, hex.
    pub digest: String,
    /// The redirect URI the authorization used.
    pub redirect_uri: String,
    /// Unix seconds.
    pub expires_at: u64,
}

fn digest(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl PendingState {
    /// The record of a new authorization.
    pub fn new(state: &str, redirect_uri: &str, now: u64) -> Self {
        PendingState {
            digest: digest(state),
            redirect_uri: redirect_uri.to_string(),
            expires_at: now + STATE_TTL_SECS,
        }
    }
}

/// Whether a code that came back with `state` for `redirect_uri` answers the pending
/// authorization: the same state (compared by digest), not expired, the same redirect.
pub fn check_state(
    pending: Option<&PendingState>,
    state: &str,
    redirect_uri: &str,
    now: u64,
) -> Result<(), Error> {
    let Some(p) = pending else {
        return Err(Error::invalid(
            "state",
            "no authorization is pending for this tenant (or it was used already)",
        ));
    };
    // Both sides are digests, so a mismatch says nothing of where the two differ.
    if digest(state) != p.digest {
        return Err(Error::invalid(
            "state",
            "does not match the pending authorization",
        ));
    }
    if now > p.expires_at {
        return Err(Error::invalid(
            "state",
            "the authorization expired; start again",
        ));
    }
    if redirect_uri != p.redirect_uri {
        return Err(Error::invalid(
            "redirect-uri",
            "must be the one the authorization used",
        ));
    }
    Ok(())
}

/// `GET /oauth/access_token`: the code for a token, with the app's id and secret.
pub fn exchange_request(s: &Settings, code: &str, redirect_uri: &str) -> Result<Request, Error> {
    let app_id = s.app_id()?;
    let secret = s.app_secret.as_deref().ok_or_else(|| {
        Error::NotConfigured("the tenant has no app-secret to exchange a code with".into())
    })?;
    if code.is_empty() || code.len() > 4096 || !code.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "code",
            "must be 1 to 4096 printable characters",
        ));
    }
    check_redirect_uri(redirect_uri)?;
    let mut req = Request::get(s.url(&format!(
        "oauth/access_token?client_id={}&redirect_uri={}&client_secret={}&code={}",
        encode_query(app_id),
        encode_query(redirect_uri),
        encode_query(secret),
        encode_query(code)
    )));
    req.credential = Credential::None;
    Ok(req)
}

/// A token Meta granted.
#[derive(Debug)]
pub struct TokenGrant {
    /// The token (wiped when dropped).
    pub access_token: Secret,
    /// Seconds it lives, when it expires.
    pub expires_in: Option<u64>,
}

/// Read the exchange's answer. Its body holds the token, so no error quotes it.
pub fn read_exchange(status: u16, body: &[u8]) -> Result<TokenGrant, Error> {
    #[derive(Deserialize)]
    struct Grant {
        access_token: Option<String>,
        expires_in: Option<Value>,
    }
    if !(200..300).contains(&status) {
        return Err(crate::core::error::from_response(status, body));
    }
    let g: Grant = serde_json::from_slice(body)
        .map_err(|_| Error::Other("Meta's token response is not the expected JSON".into()))?;
    let token = g
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Other("Meta's token response has no access_token".into()))?;
    Ok(TokenGrant {
        access_token: Secret::new(token),
        expires_in: g.expires_in.as_ref().and_then(as_u64).filter(|&n| n > 0),
    })
}

/// A JSON number, or a string of digits, as a `u64` (Meta writes both).
pub(super) fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use super::*;

    fn query(url: &str) -> Vec<(String, String)> {
        url.split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), crate::core::webhook::form_decode(v)))
            .collect()
    }

    #[test]
    fn the_dialog_url_carries_app_redirect_state_and_scopes() {
        let s = settings();
        let req = AuthorizeRequest {
            redirect_uri: "https://platform.example/wa/callback?x=1".into(),
            config_id: None,
            extra_scopes: vec![
                "business_management".into(),
                "whatsapp_business_messaging".into(),
            ],
        };
        let url = authorize_url(&s, &req, "acme.abc").unwrap();
        assert!(
            url.starts_with("https://www.facebook.com/v23.0/dialog/oauth?"),
            "{url}"
        );
        let q = query(&url);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("1234"));
        assert_eq!(
            get("redirect_uri"),
            Some("https://platform.example/wa/callback?x=1")
        );
        assert_eq!(get("state"), Some("acme.abc"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(
            get("scope"),
            Some("whatsapp_business_management,whatsapp_business_messaging,business_management")
        );
        let es = authorize_url(
            &s,
            &AuthorizeRequest {
                config_id: Some("98765".into()),
                ..req.clone()
            },
            "acme.abc",
        )
        .unwrap();
        let q = query(&es);
        assert!(q.iter().any(|(k, v)| k == "config_id" && v == "98765"));
        assert!(
            q.iter()
                .any(|(k, v)| k == "override_default_response_type" && v == "true")
        );
        assert!(!q.iter().any(|(k, _)| k == "scope"));
    }

    #[test]
    fn the_dialog_is_the_sandbox_when_the_graph_is() {
        let mut s = settings();
        s.graph_origin = "http://127.0.0.1:9".into();
        assert_eq!(dialog_origin(&s), "http://127.0.0.1:9");
        s.oauth_dialog_origin = Some("https://www.facebook.com".into());
        assert_eq!(dialog_origin(&s), "https://www.facebook.com");
    }

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        for ok in [
            "https://a.example/cb",
            "http://127.0.0.1:8765/cb",
            "http://localhost/cb",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "ftp://x/",
            "https://",
            "https://a/cb#frag",
            "javascript:alert(1)",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        let s = settings();
        let req = AuthorizeRequest {
            redirect_uri: "https://a/cb".into(),
            extra_scopes: vec!["x&y".into()],
            config_id: None,
        };
        assert!(
            matches!(authorize_url(&s, &req, "a.b"), Err(Error::InvalidInput { field, .. }) if field == "extra-scopes[0]")
        );
        let mut no_app = settings();
        no_app.app_id = None;
        assert!(matches!(
            authorize_url(&no_app, &req, "a.b"),
            Err(Error::NotConfigured(_))
        ));
    }

    #[test]
    fn states_are_single_use_bound_to_redirect_and_time() {
        let state = new_state("acme", &[7u8; STATE_RANDOM_BYTES]);
        assert_eq!(state_tenant(&state), Some("acme"));
        assert_eq!(state_tenant("acme.short"), None);
        assert_eq!(state_tenant("Bad Tenant.AAAA"), None);
        let p = PendingState::new(&state, "https://a/cb", 1000);
        assert!(!p.digest.contains("acme"), "only the digest is stored");
        assert!(check_state(Some(&p), &state, "https://a/cb", 1000 + STATE_TTL_SECS).is_ok());
        assert!(check_state(Some(&p), &state, "https://a/cb", 1001 + STATE_TTL_SECS).is_err());
        assert!(
            check_state(
                Some(&p),
                &new_state("acme", &[8u8; STATE_RANDOM_BYTES]),
                "https://a/cb",
                1000
            )
            .is_err()
        );
        assert!(
            matches!(check_state(Some(&p), &state, "https://b/cb", 1000), Err(Error::InvalidInput { field, .. }) if field == "redirect-uri")
        );
        assert!(check_state(None, &state, "https://a/cb", 1000).is_err());
    }

    #[test]
    fn the_exchange_sends_app_credentials_and_never_quotes_the_token() {
        let s = settings();
        let r = exchange_request(&s, "AQD-code", "https://a/cb").unwrap();
        assert_eq!(r.credential, Credential::None);
        assert!(
            r.url
                .starts_with("https://graph.facebook.com/v23.0/oauth/access_token?")
        );
        let q = query(&r.url);
        assert!(q.contains(&("client_secret".into(), "s3cr3t".into())));
        assert!(q.contains(&("code".into(), "AQD-code".into())));
        let g = read_exchange(
            200,
            br#"{"access_token":"EAAG-new","token_type":"bearer","expires_in":5183944}"#,
        )
        .unwrap();
        assert_eq!(g.access_token.expose(), "EAAG-new");
        assert_eq!(g.expires_in, Some(5183944));
        let e = read_exchange(200, br#"{"access_token_x":"EAAG-leak"}"#).unwrap_err();
        assert!(!e.to_string().contains("EAAG-leak"));
        let e = read_exchange(200, br#"{"access_token":"EAAG-leak","expires_in":"#).unwrap_err();
        assert!(!e.to_string().contains("EAAG-leak"));
        let e = read_exchange(400, br#"{"error":{"message":"This authorization code has been used.","type":"OAuthException","code":100,"error_subcode":36009}}"#).unwrap_err();
        assert!(matches!(e, Error::Meta(g) if g.subcode == Some(36009)));
    }
}
