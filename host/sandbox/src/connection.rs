//! Connecting a business, as Meta does it: the OAuth dialog (approved at once, as if the
//! business clicked through) redirects back with a single-use code; the code is
//! exchanged for a token at `/oauth/access_token` with the app's id and secret;
//! `debug_token` describes any token; tokens can be revoked (`POST /sandbox/revoke-tokens`)
//! so that reconnection can be tried. The WABA's phone numbers are registered with a
//! two-step PIN, verified with a code (`123456` in the sandbox), subscribed to, and carry
//! a business profile.

use crate::net::form_decode;
use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, now_secs, query_param, random_bytes, unknown_object};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The verification code every sandbox number receives.
pub const VERIFICATION_CODE: &str = "123456";
/// A second number of the sandbox's WABA: not registered until someone registers it.
pub const SECOND_PHONE_NUMBER_ID: &str = "106540352242923";
/// How long a code from the dialog can be exchanged.
const CODE_TTL: Duration = Duration::from_secs(600);
/// A token from the dialog without a configuration (a person's) is short-lived: two
/// hours, as Meta's are.
const SHORT_TOKEN_SECS: u64 = 7_200;
/// A long-lived person's token (`grant_type=fb_exchange_token`) lives 60 days; Meta
/// answers `expires_in` with this figure.
const USER_TOKEN_SECS: u64 = 5_183_944;

/// A token the sandbox issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    scopes: Vec<String>,
    system_user: bool,
    expires_at: Option<u64>,
    revoked: bool,
}

/// A code from the dialog.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    system_user: bool,
    issued: std::time::Instant,
    used: bool,
}

/// One phone number of the WABA.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    id: String,
    display: String,
    verified_name: String,
    status: String,
    platform: String,
    code_verified: bool,
    pin: Option<String>,
    profile: Value,
    /// The business username, once claimed.
    username: Option<String>,
}

impl Number {
    fn json(&self) -> Value {
        json!({
            "id": self.id, "display_phone_number": self.display, "verified_name": self.verified_name,
            "quality_rating": "GREEN", "messaging_limit_tier": "TIER_1K",
            "throughput": { "level": "STANDARD" }, "status": self.status,
            "code_verification_status": if self.code_verified { "VERIFIED" } else { "NOT_VERIFIED" },
            "name_status": "APPROVED", "platform_type": self.platform,
        })
    }
}

/// What the sandbox keeps of connections.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    issued: HashMap<String, Issued>,
    codes: HashMap<String, Code>,
    numbers: Vec<Number>,
    /// Subscribed apps of the WABA: (app id, override callback).
    subscriptions: Vec<(String, Option<String>)>,
}

/// What every sandbox starts with: the configured number, registered, and a second one
/// that is not.
pub(crate) fn seed(display: &str) -> Connections {
    let profile = json!({ "about": "Sandbox business", "vertical": "RETAIL", "websites": [] });
    Connections {
        numbers: vec![
            Number {
                id: crate::DEFAULT_PHONE_NUMBER_ID.into(),
                display: format!("+{display}"),
                verified_name: "Sandbox Business".into(),
                status: "CONNECTED".into(),
                platform: "CLOUD_API".into(),
                code_verified: true,
                pin: None,
                profile: profile.clone(),
                username: None,
            },
            Number {
                id: SECOND_PHONE_NUMBER_ID.into(),
                display: "+15550783882".into(),
                verified_name: "Sandbox Business".into(),
                status: "PENDING".into(),
                platform: "NOT_APPLICABLE".into(),
                code_verified: false,
                pin: None,
                profile,
                username: None,
            },
        ],
        ..Default::default()
    }
}

fn lock(state: &Sandbox) -> std::sync::MutexGuard<'_, Connections> {
    state.connections.lock().unwrap_or_else(|p| p.into_inner())
}

fn oauth_error(code: i32, subcode: Option<i32>, message: &str) -> Resp {
    graph_error(StatusCode::BAD_REQUEST, code, subcode, message)
}

fn param(query: &str, name: &str) -> Option<String> {
    query_param(query, name).map(form_decode)
}

/// Whether `token` is one the sandbox accepts as a business's (issued and neither
/// revoked nor expired); none when it never issued it.
pub(crate) fn issued_ok(state: &Sandbox, token: &str) -> Option<bool> {
    let c = lock(state);
    let t = c.issued.get(token)?;
    Some(!t.revoked && t.expires_at.is_none_or(|e| e > now_secs()))
}

/// Why an issued token is refused: Meta's 190 with the subcode of a revoked (460) or
/// expired (463) session.
pub(crate) fn refusal(state: &Sandbox, token: &str) -> Option<Resp> {
    let c = lock(state);
    let t = c.issued.get(token)?;
    let (sub, msg) = if t.revoked {
        (
            460,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        )
    } else {
        (463, "Error validating access token: Session has expired.")
    };
    Some(graph_error(StatusCode::UNAUTHORIZED, 190, Some(sub), msg))
}

/// `GET /dialog/oauth`: as if the business approved at once, a redirect back with a code.
pub(crate) fn dialog(state: &Arc<Sandbox>, query: &str) -> Resp {
    let (Some(client_id), Some(redirect_uri)) =
        (param(query, "client_id"), param(query, "redirect_uri"))
    else {
        return net::text(
            StatusCode::BAD_REQUEST,
            "client_id and redirect_uri are required\n",
        );
    };
    if client_id != state.config.app_id {
        return net::text(
            StatusCode::BAD_REQUEST,
            "Invalid App ID: the app id is not the sandbox's\n",
        );
    }
    if param(query, "response_type").as_deref() != Some("code") {
        return net::text(StatusCode::BAD_REQUEST, "response_type must be code\n");
    }
    let config = param(query, "config_id");
    let scopes: Vec<String> = match &config {
        Some(_) => crate::REQUIRED_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        None => param(query, "scope")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let code = format!(
        "AQ{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<24>())
    );
    lock(state).codes.insert(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            scopes,
            system_user: config.is_some(),
            issued: std::time::Instant::now(),
            used: false,
        },
    );
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let mut location = format!("{redirect_uri}{sep}code={code}");
    if let Some(s) = query_param(query, "state") {
        location.push_str(&format!("&state={s}"));
    }
    hyper::Response::builder()
        .status(StatusCode::FOUND)
        .header(hyper::header::LOCATION, location)
        .body(http_body_util::Full::new(Bytes::new()))
        .expect("a redirect builds")
}

/// A new token for `grant`'s scopes, living `secs` (a system user's does not expire).
fn issue(c: &mut Connections, scopes: Vec<String>, system_user: bool, secs: u64) -> Resp {
    let token = format!(
        "EAAS{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<30>())
    );
    let expires_at = (!system_user).then(|| now_secs() + secs);
    c.issued.insert(
        token.clone(),
        Issued {
            scopes,
            system_user,
            expires_at,
            revoked: false,
        },
    );
    let mut body = json!({ "access_token": token, "token_type": "bearer" });
    if expires_at.is_some() {
        body["expires_in"] = secs.into();
    }
    net::json(StatusCode::OK, &body)
}

/// `GET /oauth/access_token?grant_type=fb_exchange_token`: a person's valid token (short-
/// or long-lived) for a long-lived one; the one given stays valid until it expires.
fn long_lived(state: &Arc<Sandbox>, query: &str) -> Resp {
    let Some(given) = param(query, "fb_exchange_token") else {
        return oauth_error(100, None, "Missing fb_exchange_token parameter.");
    };
    let mut c = lock(state);
    let Some(t) = c.issued.get(&given).cloned() else {
        return oauth_error(
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    };
    if t.revoked {
        return oauth_error(
            190,
            Some(460),
            "The session has been invalidated because the user changed their password.",
        );
    }
    if t.expires_at.is_some_and(|e| e <= now_secs()) {
        return oauth_error(
            190,
            Some(463),
            "Error validating access token: Session has expired.",
        );
    }
    if t.system_user {
        return oauth_error(
            100,
            None,
            "A system user's access token cannot be exchanged.",
        );
    }
    issue(&mut c, t.scopes, false, USER_TOKEN_SECS)
}

/// `POST /sandbox/token-expiry {"expires_in": N}`: every issued person's token that is
/// still valid now expires in N seconds (Meta's clock moved on, for tests of expiry).
pub(crate) fn set_expiry(state: &Sandbox, body: &[u8]) -> Resp {
    let Some(secs) = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["expires_in"].as_u64())
    else {
        return invalid("expires_in (seconds) is required");
    };
    let mut c = lock(state);
    let now = now_secs();
    let mut n = 0;
    for t in c.issued.values_mut() {
        if !t.revoked && !t.system_user && t.expires_at.is_some_and(|e| e > now) {
            t.expires_at = Some(now + secs);
            n += 1;
        }
    }
    net::json(StatusCode::OK, &json!({ "tokens": n }))
}

/// `GET /oauth/access_token`: a code for a token, or (`grant_type=fb_exchange_token`) a
/// person's token for a long-lived one. Both need the app's id and secret.
pub(crate) fn exchange(state: &Arc<Sandbox>, query: &str) -> Resp {
    let (Some(client_id), Some(secret)) =
        (param(query, "client_id"), param(query, "client_secret"))
    else {
        return oauth_error(100, None, "Missing client_id or client_secret parameter.");
    };
    if client_id != state.config.app_id {
        return oauth_error(
            101,
            None,
            "Error validating application. Invalid application ID.",
        );
    }
    if secret != state.config.app_secret {
        return oauth_error(1, None, "Error validating client secret.");
    }
    if param(query, "grant_type").as_deref() == Some("fb_exchange_token") {
        return long_lived(state, query);
    }
    let Some(code) = param(query, "code") else {
        return oauth_error(100, None, "Missing code parameter.");
    };
    let mut c = lock(state);
    let Some(grant) = c.codes.get_mut(&code) else {
        return oauth_error(100, None, "Invalid verification code format.");
    };
    if grant.used {
        return oauth_error(100, Some(36009), "This authorization code has been used.");
    }
    if grant.issued.elapsed() > CODE_TTL {
        return oauth_error(100, Some(36007), "This authorization code has expired.");
    }
    if grant.client_id != client_id
        || param(query, "redirect_uri").as_deref() != Some(grant.redirect_uri.as_str())
    {
        return oauth_error(
            100,
            Some(36008),
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        );
    }
    grant.used = true;
    let grant = grant.clone();
    issue(&mut c, grant.scopes, grant.system_user, SHORT_TOKEN_SECS)
}

/// `GET /debug_token`: what the sandbox knows of `input_token`. The caller presents the
/// app's token (`{app-id}|{app-secret}`) or a valid token.
pub(crate) fn debug_token(state: &Arc<Sandbox>, query: &str, authorization: Option<&str>) -> Resp {
    let presented = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| param(query, "access_token"));
    let app_token = format!("{}|{}", state.config.app_id, state.config.app_secret);
    let caller_ok = presented.as_deref().is_some_and(|p| {
        p == app_token || p == state.config.access_token || issued_ok(state, p) == Some(true)
    });
    if !caller_ok {
        return graph_error(
            StatusCode::BAD_REQUEST,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let Some(input) = param(query, "input_token") else {
        return invalid("The parameter input_token is required");
    };
    let waba = state.config.waba_id.clone();
    let granular = |scopes: &[String]| -> Vec<Value> {
        scopes
            .iter()
            .filter(|s| s.starts_with("whatsapp_"))
            .map(|s| json!({ "scope": s, "target_ids": [waba] }))
            .collect()
    };
    let all: Vec<String> = crate::REQUIRED_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let base = |valid: bool, kind: &str, scopes: &[String], expires: Option<u64>| {
        json!({ "app_id": state.config.app_id, "type": kind, "application": "Sandbox App",
            "data_access_expires_at": now_secs() + 90 * 86400, "expires_at": expires.unwrap_or(0),
            "is_valid": valid, "scopes": scopes, "granular_scopes": granular(scopes), "user_id": "10000000000001" })
    };
    let data = if input == state.config.access_token {
        base(true, "SYSTEM_USER", &all, None)
    } else {
        let c = lock(state);
        match c.issued.get(&input) {
            Some(t) => {
                let expired = t.expires_at.is_some_and(|e| e <= now_secs());
                let valid = !t.revoked && !expired;
                let mut d = base(
                    valid,
                    if t.system_user { "SYSTEM_USER" } else { "USER" },
                    &t.scopes,
                    t.expires_at,
                );
                if !valid {
                    d["error"] = json!({ "code": 190, "subcode": if t.revoked { 460 } else { 463 },
                        "message": if t.revoked { "The session has been invalidated because the user changed their password." } else { "Session has expired." } });
                }
                d
            }
            None => {
                json!({ "is_valid": false, "scopes": [], "error": { "code": 190, "message": "Invalid OAuth access token - Cannot parse access token" } })
            }
        }
    };
    net::json(StatusCode::OK, &json!({ "data": data }))
}

/// `POST /sandbox/revoke-tokens`: every token the dialog issued stops working, as when
/// a business removes the app or its admin changes their password.
pub(crate) fn revoke_all(state: &Sandbox) -> Resp {
    let mut c = lock(state);
    let mut n = 0;
    for t in c.issued.values_mut().filter(|t| !t.revoked) {
        t.revoked = true;
        n += 1;
    }
    net::json(StatusCode::OK, &json!({ "revoked": n }))
}

/// `GET /{waba-id}/phone_numbers`.
pub(crate) fn numbers(state: &Sandbox, waba: &str, query: &str) -> Resp {
    if waba != state.config.waba_id {
        return unknown_object("get", waba);
    }
    if let Some(f) = param(query, "fields") {
        const KNOWN: [&str; 13] = [
            "whatsapp_business_manager_messaging_limit",
            "id",
            "display_phone_number",
            "verified_name",
            "quality_rating",
            "messaging_limit_tier",
            "throughput",
            "status",
            "code_verification_status",
            "name_status",
            "platform_type",
            "is_official_business_account",
            "account_mode",
        ];
        if let Some(bad) = f.split(',').find(|x| !KNOWN.contains(x)) {
            return invalid(&format!(
                "Tried accessing nonexisting field ({bad}) on node type (WhatsAppBusinessPhoneNumber)"
            ));
        }
    }
    let tier = crate::limits::tier(state);
    let c = lock(state);
    let data: Vec<Value> = c
        .numbers
        .iter()
        .map(|n| {
            let mut j = n.json();
            j["whatsapp_business_manager_messaging_limit"] = tier.clone().into();
            j
        })
        .collect();
    net::json(
        StatusCode::OK,
        &json!({ "data": data, "paging": { "cursors": { "before": "QVFI", "after": "QVFJ" } } }),
    )
}

fn number_mut<'a>(c: &'a mut Connections, id: &str) -> Option<&'a mut Number> {
    c.numbers.iter_mut().find(|n| n.id == id)
}

fn success() -> Resp {
    net::json(StatusCode::OK, &json!({ "success": true }))
}

fn whatsapp_error(code: i32, message: &str, details: &str) -> Resp {
    // Meta adds `error_data` to WhatsApp's own errors.
    let mut v = crate::graph_error_json(code, None, message);
    v["error"]["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    net::json(StatusCode::BAD_REQUEST, &v)
}

fn body_json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok().filter(Value::is_object)
}

fn six_digits(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|p| p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// `POST /{phone-number-id}/register`: the PIN sets two-step verification on a number
/// that has none and must match on one that has.
pub(crate) fn register(state: &Sandbox, id: &str, body: &[u8]) -> Resp {
    let Some(v) = body_json(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["messaging_product"] != "whatsapp" {
        return invalid("The parameter messaging_product is required.");
    }
    let Some(pin) = six_digits(&v["pin"]) else {
        return invalid("Param pin must be 6 digits.");
    };
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("post", id);
    };
    match &n.pin {
        Some(p) if *p != pin => {
            return whatsapp_error(
                133005,
                "(#133005) Two step verification PIN Mismatch",
                "The two-step verification PIN is incorrect.",
            );
        }
        _ => n.pin = Some(pin),
    }
    n.platform = "CLOUD_API".into();
    n.status = "CONNECTED".into();
    success()
}

/// `POST /{phone-number-id}/deregister`.
pub(crate) fn deregister(state: &Sandbox, id: &str) -> Resp {
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("post", id);
    };
    if n.platform != "CLOUD_API" {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2207051),
            "(#100) The phone number is not registered on the Cloud API.",
        );
    }
    n.platform = "NOT_APPLICABLE".into();
    n.status = "DISCONNECTED".into();
    success()
}

/// `POST /{phone-number-id}` with `pin`: set the two-step PIN. None when `id` is not a
/// number (the path is shared with templates and flows).
pub(crate) fn set_pin(state: &Sandbox, id: &str, body: &[u8]) -> Option<Resp> {
    let mut c = lock(state);
    let n = number_mut(&mut c, id)?;
    let v = body_json(body);
    Some(match v.as_ref().map(|v| six_digits(&v["pin"])) {
        Some(Some(pin)) => {
            n.pin = Some(pin);
            success()
        }
        _ => invalid("Param pin must be 6 digits."),
    })
}

/// `POST /{phone-number-id}/request_code`.
pub(crate) fn request_code(state: &Sandbox, id: &str, body: &[u8]) -> Resp {
    let Some(v) = body_json(body) else {
        return invalid("The request body is not valid JSON");
    };
    if !matches!(v["code_method"].as_str(), Some("SMS" | "VOICE")) {
        return invalid("Param code_method must be one of {SMS, VOICE}.");
    }
    let lang_ok = v["language"].as_str().is_some_and(|l| {
        let b = l.as_bytes();
        b.len() == 5
            && b[..2].iter().all(u8::is_ascii_lowercase)
            && b[2] == b'_'
            && b[3..].iter().all(u8::is_ascii_uppercase)
    });
    if !lang_ok {
        return invalid("Param language must be a language code like en_US.");
    }
    if number_mut(&mut lock(state), id).is_none() {
        return unknown_object("post", id);
    }
    success()
}

/// `POST /{phone-number-id}/verify_code`: the sandbox's code is [`VERIFICATION_CODE`].
pub(crate) fn verify_code(state: &Sandbox, id: &str, body: &[u8]) -> Resp {
    let Some(v) = body_json(body) else {
        return invalid("The request body is not valid JSON");
    };
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("post", id);
    };
    if v["code"].as_str() != Some(VERIFICATION_CODE) {
        return whatsapp_error(
            136025,
            "(#136025) Verify code error",
            "The code you entered is incorrect.",
        );
    }
    n.code_verified = true;
    success()
}

/// `GET /{phone-number-id}/whatsapp_business_profile`.
pub(crate) fn profile(state: &Sandbox, id: &str) -> Resp {
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("get", id);
    };
    let mut p = n.profile.clone();
    p["messaging_product"] = "whatsapp".into();
    p["profile_picture_url"] =
        format!("{}/sandbox/profile-picture/{id}?oh=sandbox", state.origin()).into();
    net::json(StatusCode::OK, &json!({ "data": [p] }))
}

/// Usernames another business holds, which the sandbox answers as Meta does: not
/// available (147001).
pub const TAKEN_USERNAMES: [&str; 2] = ["whatsapp", "meta_support"];

/// `GET /{phone-number-id}/username`: the username and its status, or `{}` without one.
pub(crate) fn username(state: &Sandbox, id: &str) -> Resp {
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("get", id);
    };
    let v = match &n.username {
        Some(u) => json!({ "username": u, "status": "reserved" }),
        None => json!({}),
    };
    net::json(StatusCode::OK, &v)
}

/// `POST /{phone-number-id}/username`: claim or change it. A name in another business's
/// hands is refused (147001); one on another number of this portfolio moves only with
/// `transfer_action: force_transfer` (else 147005).
pub(crate) fn set_username(state: &Sandbox, id: &str, body: &[u8]) -> Resp {
    let Some(v) = body_json(body) else {
        return invalid("The request body is not valid JSON");
    };
    let Some(name) = v["username"].as_str() else {
        return invalid("The parameter username is required.");
    };
    let well_formed = (3..=35).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        && name.bytes().any(|b| b.is_ascii_alphabetic());
    if !well_formed {
        return invalid("(#100) Username format is invalid");
    }
    let force = match v["transfer_action"].as_str() {
        None | Some("none") => false,
        Some("force_transfer") => true,
        Some(other) => {
            return invalid(&format!(
                "Param transfer_action must be one of {{none, force_transfer}} - got \"{other}\"."
            ));
        }
    };
    let taken = |msg: &str, code: i32| graph_error(StatusCode::BAD_REQUEST, code, None, msg);
    if TAKEN_USERNAMES.contains(&name.to_ascii_lowercase().as_str()) {
        return taken("(#147001) Username is not available", 147001);
    }
    let mut c = lock(state);
    if number_mut(&mut c, id).is_none() {
        return unknown_object("post", id);
    }
    let holder = c.numbers.iter().position(|n| {
        n.id != id
            && n.username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(name))
    });
    if let Some(h) = holder {
        if !force {
            return taken(
                "(#147005) The username belongs to another phone number of this business portfolio: use transfer_action force_transfer",
                147005,
            );
        }
        c.numbers[h].username = None;
    }
    if let Some(n) = number_mut(&mut c, id) {
        n.username = Some(name.to_string());
    }
    net::json(StatusCode::OK, &json!({ "status": "reserved" }))
}

/// `DELETE /{phone-number-id}/username`.
pub(crate) fn delete_username(state: &Sandbox, id: &str) -> Resp {
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("delete", id);
    };
    n.username = None;
    success()
}

/// `POST /{phone-number-id}/whatsapp_business_profile`, checked against Meta's limits.
pub(crate) fn update_profile(state: &Sandbox, id: &str, body: &[u8]) -> Resp {
    let Some(v) = body_json(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["messaging_product"] != "whatsapp" {
        return invalid("The parameter messaging_product is required.");
    }
    let too_long = |k: &str, max: usize| v[k].as_str().is_some_and(|s| s.chars().count() > max);
    for (k, max) in [
        ("about", 139),
        ("address", 256),
        ("description", 512),
        ("email", 128),
    ] {
        if too_long(k, max) {
            return invalid(&format!("Param {k} must be at most {max} characters long."));
        }
    }
    if v["websites"].as_array().is_some_and(|w| w.len() > 2) {
        return invalid("Param websites must have at most 2 entries.");
    }
    let mut c = lock(state);
    let Some(n) = number_mut(&mut c, id) else {
        return unknown_object("post", id);
    };
    for k in [
        "about",
        "address",
        "description",
        "email",
        "websites",
        "vertical",
    ] {
        if !v[k].is_null() {
            n.profile[k] = v[k].clone();
        }
    }
    if v["profile_picture_handle"].is_string() {
        n.profile["profile_picture_url"] =
            format!("https://pps.whatsapp.net/v/sandbox/{id}.jpg").into();
    }
    success()
}

/// `GET /{waba-id}/subscribed_apps`.
pub(crate) fn subscriptions(state: &Sandbox, waba: &str) -> Resp {
    if waba != state.config.waba_id {
        return unknown_object("get", waba);
    }
    let c = lock(state);
    let data: Vec<Value> = c
        .subscriptions
        .iter()
        .map(|(app, over)| {
            let mut d = json!({ "whatsapp_business_api_data": { "id": app, "link": "https://www.facebook.com/games/?app_id=", "name": "Sandbox App" } });
            if let Some(o) = over {
                d["override_callback_uri"] = o.as_str().into();
            }
            d
        })
        .collect();
    net::json(StatusCode::OK, &json!({ "data": data }))
}

/// `POST /{waba-id}/subscribed_apps`: with an override callback, Meta first checks it
/// with a GET handshake, as the sandbox does here.
pub(crate) async fn subscribe(state: &Arc<Sandbox>, waba: &str, body: &[u8]) -> Resp {
    if waba != state.config.waba_id {
        return unknown_object("post", waba);
    }
    let v = if body.is_empty() {
        Some(json!({}))
    } else {
        body_json(body)
    };
    let Some(v) = v else {
        return invalid("The request body is not valid JSON");
    };
    let over = v["override_callback_uri"].as_str().map(str::to_string);
    if let Some(url) = &over {
        let Some(token) = v["verify_token"].as_str() else {
            return invalid("Param verify_token is required with override_callback_uri.");
        };
        let checked = match state.config.check_callbacks {
            true => handshake(url, token).await,
            false => Ok(()),
        };
        if let Err(why) = checked {
            return graph_error(
                StatusCode::BAD_REQUEST,
                2200,
                None,
                &format!("Callback verification failed with the following errors: {why}"),
            );
        }
    }
    let app = state.config.app_id.clone();
    let mut c = lock(state);
    c.subscriptions.retain(|(a, _)| *a != app);
    c.subscriptions.push((app, over));
    success()
}

/// `DELETE /{waba-id}/subscribed_apps`.
pub(crate) fn unsubscribe(state: &Sandbox, waba: &str) -> Resp {
    if waba != state.config.waba_id {
        return unknown_object("delete", waba);
    }
    let app = state.config.app_id.clone();
    lock(state).subscriptions.retain(|(a, _)| *a != app);
    success()
}

/// Meta's check of a callback: `hub.mode=subscribe`, the verify token and a challenge
/// that must come back as the whole body.
async fn handshake(url: &str, token: &str) -> Result<(), String> {
    let challenge = u64::from_le_bytes(random_bytes::<8>()) % 1_000_000_000;
    let sep = if url.contains('?') { '&' } else { '?' };
    let full = format!(
        "{url}{sep}hub.mode=subscribe&hub.challenge={challenge}&hub.verify_token={}",
        whatsapp_guest::core::graph::encode_query(token)
    );
    let uri: hyper::Uri = full
        .parse()
        .map_err(|_| "the callback URL is not valid".to_string())?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let res = tokio::time::timeout(Duration::from_secs(5), client.get(uri))
        .await
        .map_err(|_| "the callback did not answer in time".to_string())?
        .map_err(|e| format!("the callback could not be reached ({e})"))?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status.is_success() && body == challenge.to_string().as_bytes() {
        Ok(())
    } else {
        Err(format!("the URL answered {status} without the challenge"))
    }
}

/// `POST /{waba-id}/phone_numbers`: a number added to the WABA, pending (not yet verified
/// or registered), with Meta's checks of the request (`PhoneNumberCreateRequest`).
pub(crate) fn add_number(state: &Sandbox, waba: &str, body: &[u8]) -> Resp {
    if waba != state.config.waba_id {
        return unknown_object("post", waba);
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not JSON");
    };
    let digits = |k: &str, lo: usize, hi: usize| {
        v[k].as_str()
            .filter(|t| (lo..=hi).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    };
    let (Some(cc), Some(number)) = (digits("cc", 1, 3), digits("phone_number", 7, 15)) else {
        return invalid("Params cc and phone_number must be digits");
    };
    let Some(name) = v["verified_name"]
        .as_str()
        .filter(|n| (2..=75).contains(&n.chars().count()))
    else {
        return invalid("Param verified_name must be 2 to 75 characters");
    };
    let display = format!("+{cc}{number}");
    let mut c = lock(state);
    if c.numbers.iter().any(|n| n.display == display) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2388091),
            "This phone number is already registered to a WhatsApp Business Account",
        );
    }
    let id = format!(
        "1{:014}",
        u64::from_be_bytes(random_bytes::<8>()) % 100_000_000_000_000
    );
    let profile = c.numbers[0].profile.clone();
    c.numbers.push(Number {
        id: id.clone(),
        display,
        verified_name: name.into(),
        status: "PENDING".into(),
        platform: "NOT_APPLICABLE".into(),
        code_verified: false,
        pin: None,
        profile,
        username: None,
    });
    net::json(StatusCode::OK, &json!({ "id": id }))
}
