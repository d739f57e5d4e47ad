//! Connecting a business and keeping it connected, as values: Meta's OAuth dialog URL
//! and its single-use `state`, the code exchange, `debug_token`, the WABA's phone
//! numbers and their registration, the app's webhook subscription, the business
//! profile, the credential's state, and the readiness checklist computed from facts the
//! adapter gathers.

use super::encoding::{from_base64url, to_base64url};
use super::error::{Error, GraphError};
use super::graph::{Credential, Paging, Request, encode_query, read_json};
use super::ids::check_node_id;
use super::secret::Secret;
use super::settings::{DEFAULT_ORIGIN, Settings};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The bucket of the connection's state: the credential's state and generation, the
/// pending OAuth state, when the webhook was verified and the templates synced.
pub const CONNECTION_BUCKET: &str = "connection";
/// The credential's state ([`CredentialRecord`], JSON).
pub const CREDENTIAL_KEY: &str = "credential";
/// How many tokens were stored so far (a counter).
pub const GENERATION_KEY: &str = "token-generation";
/// The pending authorization ([`PendingState`], JSON).
pub const OAUTH_STATE_KEY: &str = "oauth-state";
/// When a webhook handshake last succeeded for the tenant (Unix seconds).
pub const WEBHOOK_VERIFIED_KEY: &str = "webhook-verified-at";
/// When the templates were last synced (Unix seconds).
pub const TEMPLATES_SYNCED_KEY: &str = "templates-synced-at";

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

/// Where a tenant's credential stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// No token stored.
    NotConnected,
    /// A token stored, not refused since.
    Connected,
    /// Meta refused the token: connect again.
    ReauthRequired,
}

/// The credential's state as stored in [`CREDENTIAL_KEY`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// `connected` or `reauth-required`.
    pub state: String,
    /// Why (Meta's message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Meta's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}

impl CredentialRecord {
    /// A freshly stored token.
    pub fn connected(now: u64) -> Self {
        CredentialRecord {
            state: "connected".into(),
            reason: None,
            code: None,
            since: Some(now),
        }
    }

    /// A token Meta refused with `e`.
    pub fn reauth_required(e: &GraphError, now: u64) -> Self {
        CredentialRecord {
            state: "reauth-required".into(),
            reason: Some(e.message.clone()),
            code: Some(e.code),
            since: Some(now),
        }
    }

    /// The state, given whether a token is stored at all.
    pub fn state(&self, has_token: bool) -> CredentialState {
        match (has_token, self.state.as_str()) {
            (false, _) => CredentialState::NotConnected,
            (true, "reauth-required") => CredentialState::ReauthRequired,
            (true, _) => CredentialState::Connected,
        }
    }
}

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

/// An authorization waiting for its code, as stored in [`OAUTH_STATE_KEY`]. Only the
/// state's digest is kept.
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
        return Err(super::error::from_response(status, body));
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

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
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

/// The fields asked for when listing numbers.
pub const NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput,status,code_verification_status,name_status,platform_type";

/// One phone number of the WABA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Its id.
    pub id: String,
    /// As displayed.
    pub display_phone_number: String,
    /// The verified business name.
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `UNKNOWN`.
    pub quality_rating: Option<String>,
    /// `TIER_250` … `TIER_UNLIMITED`.
    pub messaging_limit_tier: Option<String>,
    /// `STANDARD`, `HIGH`, …
    pub throughput: Option<String>,
    /// `CONNECTED`, `PENDING`, …
    pub status: Option<String>,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    pub code_verification_status: Option<String>,
    /// `APPROVED`, `PENDING_REVIEW`, `DECLINED`, …
    pub name_status: Option<String>,
    /// `CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE`.
    pub platform_type: Option<String>,
}

/// `GET /{waba-id}/phone_numbers`, from `after` when given.
pub fn numbers_request(s: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut path = format!(
        "{}/phone_numbers?fields={}&limit=100",
        s.waba_id()?,
        NUMBER_FIELDS
    );
    if let Some(a) = after {
        path.push_str(&format!("&after={}", encode_query(a)));
    }
    Ok(Request::get(s.url(&path)))
}

/// One page of numbers, and the cursor of the next.
pub fn read_numbers(status: u16, body: &[u8]) -> Result<(Vec<PhoneNumber>, Option<String>), Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
        #[serde(default)]
        paging: Paging,
    }
    let page: Page = read_json(status, body)?;
    let text = |v: &Value, k: &str| -> Option<String> {
        match &v[k] {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let mut numbers = Vec::with_capacity(page.data.len());
    for v in &page.data {
        let Some(id) = text(v, "id") else { continue };
        numbers.push(PhoneNumber {
            id,
            display_phone_number: text(v, "display_phone_number").unwrap_or_default(),
            verified_name: text(v, "verified_name"),
            quality_rating: text(v, "quality_rating"),
            messaging_limit_tier: text(v, "messaging_limit_tier"),
            // `throughput` is an object: `{"level": "STANDARD"}`.
            throughput: v["throughput"]["level"]
                .as_str()
                .map(str::to_string)
                .or_else(|| text(v, "throughput")),
            status: text(v, "status"),
            code_verification_status: text(v, "code_verification_status"),
            name_status: text(v, "name_status"),
            platform_type: text(v, "platform_type"),
        });
    }
    Ok((numbers, page.paging.next_cursor()))
}

/// A two-step verification PIN: six digits.
pub fn check_pin(pin: &str) -> Result<(), Error> {
    if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("pin", "must be six digits"));
    }
    Ok(())
}

/// `POST /{phone-number-id}/register`.
pub fn register_request(s: &Settings, phone_number_id: &str, pin: &str) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    check_pin(pin)?;
    Ok(Request::post_json(
        s.url(&format!("{id}/register")),
        &json!({ "messaging_product": "whatsapp", "pin": pin }),
    ))
}

/// `POST /{phone-number-id}/deregister`.
pub fn deregister_request(s: &Settings, phone_number_id: &str) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    Ok(Request::post_json(
        s.url(&format!("{id}/deregister")),
        &json!({}),
    ))
}

/// `POST /{phone-number-id}` with a new two-step verification PIN.
pub fn set_pin_request(s: &Settings, phone_number_id: &str, pin: &str) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    check_pin(pin)?;
    Ok(Request::post_json(s.url(id), &json!({ "pin": pin })))
}

/// How a verification code is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMethod {
    /// A text message.
    Sms,
    /// A call.
    Voice,
}

/// Meta's spec: `^[a-z]{2}_[A-Z]{2}$`.
fn check_language(language: &str) -> Result<(), Error> {
    let b = language.as_bytes();
    let ok = b.len() == 5
        && b[..2].iter().all(u8::is_ascii_lowercase)
        && b[2] == b'_'
        && b[3..].iter().all(u8::is_ascii_uppercase);
    if !ok {
        return Err(Error::invalid("language", "a language code like en_US"));
    }
    Ok(())
}

/// `POST /{phone-number-id}/request_code`.
pub fn request_code_request(
    s: &Settings,
    phone_number_id: &str,
    method: CodeMethod,
    language: &str,
) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    check_language(language)?;
    let method = match method {
        CodeMethod::Sms => "SMS",
        CodeMethod::Voice => "VOICE",
    };
    Ok(Request::post_json(
        s.url(&format!("{id}/request_code")),
        &json!({ "code_method": method, "language": language }),
    ))
}

/// `POST /{phone-number-id}/verify_code`.
pub fn verify_code_request(
    s: &Settings,
    phone_number_id: &str,
    code: &str,
) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("code", "must be the six digits Meta sent"));
    }
    Ok(Request::post_json(
        s.url(&format!("{id}/verify_code")),
        &json!({ "code": code }),
    ))
}

/// Where Meta sends the WABA's webhooks instead of the app's callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackOverride {
    /// The callback (https, or http on loopback for a sandbox).
    pub url: String,
    /// The handshake's verify token.
    pub verify_token: String,
}

/// `POST /{waba-id}/subscribed_apps`, with the override when given.
pub fn subscribe_request(s: &Settings, over: Option<&CallbackOverride>) -> Result<Request, Error> {
    let waba = s.waba_id()?;
    let body = match over {
        Some(o) => {
            if check_redirect_uri(&o.url).is_err() {
                return Err(Error::invalid(
                    "override.url",
                    "must be an https:// URL (http only on loopback), without a fragment",
                ));
            }
            if o.verify_token.is_empty() || o.verify_token.len() > 256 {
                return Err(Error::invalid(
                    "override.verify-token",
                    "must be 1 to 256 characters",
                ));
            }
            json!({ "override_callback_uri": o.url, "verify_token": o.verify_token })
        }
        None => json!({}),
    };
    Ok(Request::post_json(
        s.url(&format!("{waba}/subscribed_apps")),
        &body,
    ))
}

/// `GET /{waba-id}/subscribed_apps`.
pub fn subscriptions_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(
        s.url(&format!("{}/subscribed_apps", s.waba_id()?)),
    ))
}

/// `DELETE /{waba-id}/subscribed_apps`.
pub fn unsubscribe_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::delete(
        s.url(&format!("{}/subscribed_apps", s.waba_id()?)),
    ))
}

/// An app subscribed to a WABA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The app's id.
    pub app_id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its override callback.
    pub override_callback_uri: Option<String>,
}

/// Read `GET /{waba-id}/subscribed_apps`: `data[].whatsapp_business_api_data`.
pub fn read_subscriptions(status: u16, body: &[u8]) -> Result<Vec<Subscription>, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
    }
    let page: Page = read_json(status, body)?;
    let s = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Ok(page
        .data
        .iter()
        .map(|d| {
            let api = &d["whatsapp_business_api_data"];
            Subscription {
                app_id: s(&api["id"]),
                name: s(&api["name"]),
                override_callback_uri: s(&d["override_callback_uri"]),
            }
        })
        .collect())
}

/// The business profile fields read.
pub const PROFILE_FIELDS: &str =
    "about,address,description,email,profile_picture_url,websites,vertical";

/// The industries Meta accepts as `vertical`.
pub const VERTICALS: [&str; 21] = [
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "ALCOHOL",
    "ONLINE_GAMBLING",
    "PHYSICAL_GAMBLING",
    "OTC_DRUGS",
    "OTHER",
];

/// A number's business profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessProfile {
    /// About text.
    pub about: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Websites.
    pub websites: Vec<String>,
    /// Industry.
    pub vertical: Option<String>,
    /// Picture URL.
    pub profile_picture_url: Option<String>,
}

/// What to change in a business profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// About text (up to 139 characters).
    pub about: Option<String>,
    /// Address (up to 256).
    pub address: Option<String>,
    /// Description (up to 256).
    pub description: Option<String>,
    /// Email (up to 128).
    pub email: Option<String>,
    /// Websites (up to two, each up to 256).
    pub websites: Option<Vec<String>>,
    /// Industry.
    pub vertical: Option<String>,
    /// A resumable-upload handle.
    pub profile_picture_handle: Option<String>,
}

/// The number a profile operation is about: the one given, else the default.
pub fn profile_number<'a>(s: &'a Settings, given: Option<&'a str>) -> Result<&'a str, Error> {
    match given {
        Some(id) => check_node_id("phone-number-id", id),
        None => s.phone_number_id(),
    }
}

/// `GET /{phone-number-id}/whatsapp_business_profile`.
pub fn profile_request(s: &Settings, phone_number_id: Option<&str>) -> Result<Request, Error> {
    let id = profile_number(s, phone_number_id)?;
    Ok(Request::get(s.url(&format!(
        "{id}/whatsapp_business_profile?fields={PROFILE_FIELDS}"
    ))))
}

/// Read a business profile (`data[0]`).
pub fn read_profile(status: u16, body: &[u8]) -> Result<BusinessProfile, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
    }
    let page: Page = read_json(status, body)?;
    let Some(p) = page.data.first() else {
        return Ok(BusinessProfile::default());
    };
    let s = |k: &str| p[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    Ok(BusinessProfile {
        about: s("about"),
        address: s("address"),
        description: s("description"),
        email: s("email"),
        websites: p["websites"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        vertical: s("vertical"),
        profile_picture_url: s("profile_picture_url"),
    })
}

/// `POST /{phone-number-id}/whatsapp_business_profile`, each field checked first.
pub fn update_profile_request(
    s: &Settings,
    phone_number_id: Option<&str>,
    u: &ProfileUpdate,
) -> Result<Request, Error> {
    let id = profile_number(s, phone_number_id)?;
    let mut body = json!({ "messaging_product": "whatsapp" });
    let mut text = |field: &str, key: &str, v: &Option<String>, max: usize| -> Result<(), Error> {
        if let Some(v) = v {
            if v.chars().count() > max {
                return Err(Error::invalid(field, format!("at most {max} characters")));
            }
            body[key] = v.as_str().into();
        }
        Ok(())
    };
    text("update.about", "about", &u.about, 139)?;
    text("update.address", "address", &u.address, 256)?;
    // Meta's documentation allows 512; its published spec 256, which is what is kept.
    text("update.description", "description", &u.description, 256)?;
    text("update.email", "email", &u.email, 128)?;
    if let Some(a) = &u.about
        && a.trim().is_empty()
    {
        return Err(Error::invalid("update.about", "cannot be blank"));
    }
    if let Some(e) = &u.email {
        let ok = e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        }) && !e.chars().any(char::is_whitespace);
        if !ok {
            return Err(Error::invalid("update.email", "not an email address"));
        }
    }
    if let Some(v) = &u.vertical {
        if !VERTICALS.contains(&v.as_str()) {
            return Err(Error::invalid(
                "update.vertical",
                format!("{v:?} is not one of {}", VERTICALS.join(", ")),
            ));
        }
        body["vertical"] = v.as_str().into();
    }
    if let Some(ws) = &u.websites {
        if ws.len() > 2 {
            return Err(Error::invalid("update.websites", "at most two"));
        }
        for (i, w) in ws.iter().enumerate() {
            if !(w.starts_with("https://") || w.starts_with("http://"))
                || w.chars().count() > 256
                || w.chars().any(char::is_whitespace)
            {
                return Err(Error::invalid(
                    format!("update.websites[{i}]"),
                    "an http(s) URL of at most 256 characters",
                ));
            }
        }
        body["websites"] = json!(ws);
    }
    if let Some(h) = &u.profile_picture_handle {
        if h.is_empty() || h.len() > 1024 {
            return Err(Error::invalid(
                "update.profile-picture-handle",
                "1 to 1024 characters",
            ));
        }
        body["profile_picture_handle"] = h.as_str().into();
    }
    Ok(Request::post_json(
        s.url(&format!("{id}/whatsapp_business_profile")),
        &body,
    ))
}

/// An item of the readiness checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Token stored, valid, unexpired, with the permissions.
    CredentialValid,
    /// WABA known; the number is the WABA's.
    IdentityKnown,
    /// Registered on the Cloud API and connected.
    NumberRegistered,
    /// The app subscribed to the WABA.
    AppSubscribed,
    /// A webhook handshake succeeded.
    WebhookVerified,
    /// Templates synced.
    TemplatesSynced,
    /// The number can send.
    SenderReady,
}

/// An item and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Which.
    pub check: Check,
    /// Holds.
    pub ok: bool,
    /// Why, for a human.
    pub reason: String,
}

fn item(check: Check, ok: bool, reason: impl Into<String>) -> Item {
    Item {
        check,
        ok,
        reason: reason.into(),
    }
}

/// One number's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberReadiness {
    /// Its id.
    pub phone_number_id: String,
    /// As displayed, when known.
    pub display_phone_number: Option<String>,
    /// Its items.
    pub items: Vec<Item>,
    /// All hold.
    pub ready: bool,
}

/// The tenant's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Tenant-wide items.
    pub items: Vec<Item>,
    /// Per number.
    pub numbers: Vec<NumberReadiness>,
    /// Everything holds.
    pub ready: bool,
}

/// What the adapter found out; a lookup that failed carries its error's text.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Unix seconds now.
    pub now: u64,
    /// A token is stored.
    pub has_token: bool,
    /// The stored credential state.
    pub credential: CredentialRecord,
    /// `debug_token`'s verdict, when asked.
    pub health: Option<Result<TokenHealth, String>>,
    /// The tenant's WABA id.
    pub waba_id: Option<String>,
    /// The tenant's sending numbers (the host's selection).
    pub selected: Vec<String>,
    /// The WABA's numbers, when asked.
    pub numbers: Option<Result<Vec<PhoneNumber>, String>>,
    /// The WABA's subscribed apps, when asked.
    pub subscriptions: Option<Result<Vec<Subscription>, String>>,
    /// The tenant's app id.
    pub app_id: Option<String>,
    /// When a webhook handshake succeeded.
    pub webhook_verified_at: Option<u64>,
    /// When templates were synced.
    pub templates_synced_at: Option<u64>,
}

/// Number states Meta sends nothing from.
const BLOCKED_STATUSES: [&str; 5] = ["BANNED", "RESTRICTED", "FLAGGED", "DISCONNECTED", "DELETED"];

/// The checklist from what is known. Pure: the same facts give the same verdicts.
pub fn readiness(f: &Facts) -> Readiness {
    let credential = match (&f.health, f.credential.state(f.has_token)) {
        (_, CredentialState::NotConnected) => item(
            Check::CredentialValid,
            false,
            "no access token is stored: connect the business",
        ),
        (_, CredentialState::ReauthRequired) => item(
            Check::CredentialValid,
            false,
            format!(
                "Meta refused the token ({}): connect again",
                f.credential.reason.as_deref().unwrap_or("token invalid")
            ),
        ),
        (Some(Ok(h)), _) if !h.valid => item(
            Check::CredentialValid,
            false,
            format!(
                "Meta says the token is invalid: {}",
                h.reason.as_deref().unwrap_or("no reason given")
            ),
        ),
        (Some(Ok(h)), _) if h.expires_at.is_some_and(|e| e <= f.now) => {
            item(Check::CredentialValid, false, "the token has expired")
        }
        (Some(Ok(h)), _) if !h.missing_scopes.is_empty() => item(
            Check::CredentialValid,
            false,
            format!("the token lacks {}", h.missing_scopes.join(", ")),
        ),
        (Some(Ok(h)), _) => item(
            Check::CredentialValid,
            true,
            match h.expires_at {
                Some(e) => format!("valid until {e} (Unix seconds)"),
                None => "valid, does not expire".to_string(),
            },
        ),
        (Some(Err(e)), _) => item(
            Check::CredentialValid,
            false,
            format!("could not ask Meta about the token: {e}"),
        ),
        (None, _) => item(Check::CredentialValid, false, "not checked"),
    };
    let identity = match (&f.waba_id, &f.health) {
        (None, _) => item(Check::IdentityKnown, false, "the tenant has no WABA id"),
        (Some(w), Some(Ok(h))) if !h.waba_ids.is_empty() && !h.waba_ids.contains(w) => item(
            Check::IdentityKnown,
            false,
            format!(
                "the token may not manage WABA {w} (it may manage {})",
                h.waba_ids.join(", ")
            ),
        ),
        (Some(w), _) if f.selected.is_empty() => item(
            Check::IdentityKnown,
            false,
            format!("WABA {w}, but no sending number is selected"),
        ),
        (Some(w), _) => item(Check::IdentityKnown, true, format!("WABA {w}")),
    };
    let subscribed = match &f.subscriptions {
        None => item(Check::AppSubscribed, false, "not checked"),
        Some(Err(e)) => item(
            Check::AppSubscribed,
            false,
            format!("could not read the subscriptions: {e}"),
        ),
        Some(Ok(subs)) => {
            let mine = subs.iter().find(|s| match &f.app_id {
                Some(a) => s.app_id.as_deref() == Some(a),
                None => true,
            });
            match mine {
                Some(s) => item(
                    Check::AppSubscribed,
                    true,
                    match &s.override_callback_uri {
                        Some(u) => format!("subscribed, webhooks to {u}"),
                        None => "subscribed".to_string(),
                    },
                ),
                None if subs.is_empty() => item(
                    Check::AppSubscribed,
                    false,
                    "no app is subscribed to the WABA's webhooks",
                ),
                None => item(
                    Check::AppSubscribed,
                    false,
                    "other apps are subscribed to the WABA, not this one",
                ),
            }
        }
    };
    let webhook = match f.webhook_verified_at {
        Some(t) => item(
            Check::WebhookVerified,
            true,
            format!("handshake succeeded at {t} (Unix seconds)"),
        ),
        None => item(
            Check::WebhookVerified,
            false,
            "no webhook subscription handshake has succeeded yet",
        ),
    };
    let templates = match f.templates_synced_at {
        Some(t) => item(
            Check::TemplatesSynced,
            true,
            format!("synced at {t} (Unix seconds)"),
        ),
        None => item(Check::TemplatesSynced, false, "templates were never synced"),
    };
    let tenant_ok = [&credential, &identity, &subscribed, &webhook, &templates]
        .iter()
        .all(|i| i.ok);

    let mut numbers = Vec::new();
    for id in &f.selected {
        let known = match &f.numbers {
            Some(Ok(list)) => Ok(list.iter().find(|n| &n.id == id)),
            Some(Err(e)) => Err(format!("could not list the WABA's numbers: {e}")),
            None => Err("not checked".to_string()),
        };
        let (ident, registered, limit_reason) = match &known {
            Err(e) => (
                item(Check::IdentityKnown, false, e.clone()),
                item(Check::NumberRegistered, false, e.clone()),
                None,
            ),
            Ok(None) => {
                let why = format!(
                    "{id} is not one of WABA {}'s numbers",
                    f.waba_id.as_deref().unwrap_or("?")
                );
                (
                    item(Check::IdentityKnown, false, why.clone()),
                    item(Check::NumberRegistered, false, why),
                    None,
                )
            }
            Ok(Some(n)) => {
                let ident = item(
                    Check::IdentityKnown,
                    true,
                    format!(
                        "{} ({})",
                        n.display_phone_number,
                        n.verified_name.as_deref().unwrap_or("no verified name")
                    ),
                );
                let platform = n.platform_type.as_deref().unwrap_or("unknown");
                let status = n.status.as_deref().unwrap_or("unknown");
                let registered = if platform != "CLOUD_API" {
                    item(
                        Check::NumberRegistered,
                        false,
                        format!(
                            "not registered on the Cloud API (platform {platform}): register it with its PIN"
                        ),
                    )
                } else if status != "CONNECTED" {
                    item(
                        Check::NumberRegistered,
                        false,
                        format!("registered, but its status is {status}"),
                    )
                } else {
                    item(
                        Check::NumberRegistered,
                        true,
                        "registered on the Cloud API, connected",
                    )
                };
                let blocked = BLOCKED_STATUSES.contains(&status);
                let limit = if blocked {
                    Some(format!("Meta reports the number {status}"))
                } else if n.quality_rating.as_deref() == Some("RED") {
                    Some("its quality rating is RED: Meta may limit it".to_string())
                } else {
                    None
                };
                (ident, registered, limit)
            }
        };
        let display = known
            .as_ref()
            .ok()
            .and_then(|n| n.map(|n| n.display_phone_number.clone()));
        let sender = if !tenant_ok {
            let failing: Vec<&str> = [&credential, &identity, &subscribed, &webhook, &templates]
                .iter()
                .filter(|i| !i.ok)
                .map(|i| check_name(i.check))
                .collect();
            item(
                Check::SenderReady,
                false,
                format!("waiting for: {}", failing.join(", ")),
            )
        } else if !ident.ok || !registered.ok {
            item(Check::SenderReady, false, registered.reason.clone())
        } else if let Some(why) = limit_reason {
            item(Check::SenderReady, false, why)
        } else {
            item(Check::SenderReady, true, "ready to send")
        };
        let items = vec![ident, registered, sender];
        let ready = items.iter().all(|i| i.ok);
        numbers.push(NumberReadiness {
            phone_number_id: id.clone(),
            display_phone_number: display,
            items,
            ready,
        });
    }
    let items = vec![credential, identity, subscribed, webhook, templates];
    let ready = tenant_ok && !numbers.is_empty() && numbers.iter().all(|n| n.ready);
    Readiness {
        items,
        numbers,
        ready,
    }
}

/// An item's name, as the WIT spells it.
pub fn check_name(c: Check) -> &'static str {
    match c {
        Check::CredentialValid => "credential-valid",
        Check::IdentityKnown => "identity-known",
        Check::NumberRegistered => "number-registered",
        Check::AppSubscribed => "app-subscribed",
        Check::WebhookVerified => "webhook-verified",
        Check::TemplatesSynced => "templates-synced",
        Check::SenderReady => "sender-ready",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_pairs([
            ("tenant-id".to_string(), "acme".to_string()),
            ("app-id".to_string(), "1234".to_string()),
            ("app-secret".to_string(), "s3cr3t".to_string()),
            ("waba-id".to_string(), "555".to_string()),
            ("phone-number-id".to_string(), "777".to_string()),
        ])
    }

    fn query(url: &str) -> Vec<(String, String)> {
        url.split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), super::super::webhook::form_decode(v)))
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

    #[test]
    fn numbers_are_read_with_paging() {
        let body = br#"{"data":[{"verified_name":"Acme","code_verification_status":"VERIFIED","display_phone_number":"+1 555-078-3881","quality_rating":"GREEN","platform_type":"CLOUD_API","throughput":{"level":"STANDARD"},"messaging_limit_tier":"TIER_1K","status":"CONNECTED","id":"777"},{"display_phone_number":"x"}],"paging":{"cursors":{"before":"b","after":"a"},"next":"https://n"}}"#;
        let (n, next) = read_numbers(200, body).unwrap();
        assert_eq!(n.len(), 1, "an entry without an id is skipped");
        assert_eq!(n[0].throughput.as_deref(), Some("STANDARD"));
        assert_eq!(n[0].platform_type.as_deref(), Some("CLOUD_API"));
        assert_eq!(next.as_deref(), Some("a"));
        let r = numbers_request(&settings(), Some("a b")).unwrap();
        assert!(r.url.ends_with("&after=a%20b"), "{}", r.url);
    }

    #[test]
    fn registration_requests_check_their_inputs() {
        let s = settings();
        let r = register_request(&s, "777", "123456").unwrap();
        assert!(r.url.ends_with("/777/register"));
        assert_eq!(
            serde_json::from_slice::<Value>(r.body.as_deref().unwrap()).unwrap(),
            json!({"messaging_product":"whatsapp","pin":"123456"})
        );
        for bad in ["12345", "1234567", "12a456", ""] {
            assert!(register_request(&s, "777", bad).is_err(), "{bad}");
        }
        assert!(register_request(&s, "7/7", "123456").is_err());
        assert!(request_code_request(&s, "777", CodeMethod::Voice, "en_US").is_ok());
        assert!(request_code_request(&s, "777", CodeMethod::Sms, "en US").is_err());
        assert!(request_code_request(&s, "777", CodeMethod::Sms, "en").is_err());
        assert!(verify_code_request(&s, "777", "123456").is_ok());
        assert!(verify_code_request(&s, "777", "12").is_err());
        assert!(
            set_pin_request(&s, "777", "654321")
                .unwrap()
                .url
                .ends_with("/v23.0/777")
        );
    }

    #[test]
    fn subscriptions_and_profiles() {
        let s = settings();
        let over = CallbackOverride {
            url: "https://hooks.example/wa".into(),
            verify_token: "vt".into(),
        };
        let r = subscribe_request(&s, Some(&over)).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(r.body.as_deref().unwrap()).unwrap()["override_callback_uri"],
            "https://hooks.example/wa"
        );
        assert!(
            subscribe_request(
                &s,
                Some(&CallbackOverride {
                    url: "http://evil/".into(),
                    verify_token: "v".into()
                })
            )
            .is_err()
        );
        let subs = read_subscriptions(200, br#"{"data":[{"whatsapp_business_api_data":{"id":"1234","link":"https://x","name":"Acme"},"override_callback_uri":"https://hooks.example/wa"}]}"#).unwrap();
        assert_eq!(subs[0].app_id.as_deref(), Some("1234"));
        assert_eq!(
            subs[0].override_callback_uri.as_deref(),
            Some("https://hooks.example/wa")
        );
        let p = read_profile(200, br#"{"data":[{"about":"Hi","websites":["https://a"],"vertical":"RETAIL","messaging_product":"whatsapp"}]}"#).unwrap();
        assert_eq!(p.about.as_deref(), Some("Hi"));
        assert_eq!(p.websites, vec!["https://a"]);
        let ok = ProfileUpdate {
            about: Some("We sell".into()),
            vertical: Some("RETAIL".into()),
            websites: Some(vec!["https://a.example".into()]),
            ..Default::default()
        };
        let r = update_profile_request(&s, None, &ok).unwrap();
        assert!(r.url.ends_with("/777/whatsapp_business_profile"));
        for (bad, field) in [
            (
                ProfileUpdate {
                    about: Some("x".repeat(140)),
                    ..Default::default()
                },
                "update.about",
            ),
            (
                ProfileUpdate {
                    vertical: Some("SHOES".into()),
                    ..Default::default()
                },
                "update.vertical",
            ),
            (
                ProfileUpdate {
                    email: Some("nope".into()),
                    ..Default::default()
                },
                "update.email",
            ),
            (
                ProfileUpdate {
                    websites: Some(vec![
                        "https://a".into(),
                        "https://b".into(),
                        "https://c".into(),
                    ]),
                    ..Default::default()
                },
                "update.websites",
            ),
            (
                ProfileUpdate {
                    websites: Some(vec!["ftp://a".into()]),
                    ..Default::default()
                },
                "update.websites[0]",
            ),
        ] {
            assert!(
                matches!(update_profile_request(&s, None, &bad), Err(Error::InvalidInput { field: f, .. }) if f == field),
                "{field}"
            );
        }
    }

    fn ready_facts() -> Facts {
        Facts {
            now: 1000,
            has_token: true,
            credential: CredentialRecord::connected(1),
            health: Some(Ok(TokenHealth {
                valid: true,
                scopes: REQUIRED_SCOPES.iter().map(|s| s.to_string()).collect(),
                waba_ids: vec!["555".into()],
                ..Default::default()
            })),
            waba_id: Some("555".into()),
            selected: vec!["777".into()],
            numbers: Some(Ok(vec![PhoneNumber {
                id: "777".into(),
                display_phone_number: "+1 555".into(),
                status: Some("CONNECTED".into()),
                platform_type: Some("CLOUD_API".into()),
                quality_rating: Some("GREEN".into()),
                ..Default::default()
            }])),
            subscriptions: Some(Ok(vec![Subscription {
                app_id: Some("1234".into()),
                ..Default::default()
            }])),
            app_id: Some("1234".into()),
            webhook_verified_at: Some(5),
            templates_synced_at: Some(6),
        }
    }

    #[test]
    fn readiness_holds_only_when_every_item_does() {
        let r = readiness(&ready_facts());
        assert!(r.ready, "{r:#?}");
        assert_eq!(r.items.len(), 5);
        assert_eq!(r.numbers[0].items.len(), 3);

        let mut f = ready_facts();
        f.credential = CredentialRecord::reauth_required(
            &GraphError {
                code: 190,
                message: "Session has expired".into(),
                ..Default::default()
            },
            9,
        );
        let r = readiness(&f);
        assert!(!r.ready);
        assert!(r.items[0].reason.contains("Session has expired"));
        let sender = &r.numbers[0].items[2];
        assert!(
            !sender.ok && sender.reason.contains("credential-valid"),
            "{sender:?}"
        );

        let mut f = ready_facts();
        if let Some(Ok(n)) = &mut f.numbers {
            n[0].platform_type = Some("NOT_APPLICABLE".into());
        }
        let r = readiness(&f);
        assert!(!r.ready && r.items.iter().all(|i| i.ok));
        assert!(!r.numbers[0].items[1].ok && r.numbers[0].items[1].reason.contains("PIN"));

        let mut f = ready_facts();
        f.selected = vec!["888".into()];
        let r = readiness(&f);
        assert!(!r.numbers[0].items[0].ok && r.numbers[0].items[0].reason.contains("888"));

        let mut f = ready_facts();
        f.subscriptions = Some(Ok(vec![Subscription {
            app_id: Some("other".into()),
            ..Default::default()
        }]));
        f.webhook_verified_at = None;
        f.templates_synced_at = None;
        f.health = Some(Err("network error".into()));
        let r = readiness(&f);
        let failing: Vec<&str> = r
            .items
            .iter()
            .filter(|i| !i.ok)
            .map(|i| check_name(i.check))
            .collect();
        assert_eq!(
            failing,
            vec![
                "credential-valid",
                "app-subscribed",
                "webhook-verified",
                "templates-synced"
            ]
        );

        let mut f = ready_facts();
        f.has_token = false;
        assert!(readiness(&f).items[0].reason.contains("no access token"));
        let mut f = ready_facts();
        f.selected.clear();
        let r = readiness(&f);
        assert!(!r.ready && r.numbers.is_empty());
    }
}
