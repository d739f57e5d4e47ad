//! The sandbox's per-number business settings: conversational automation, QR codes with
//! prefilled messages, commerce settings, calling and storage settings; the profile
//! picture served as Meta's picture host does (no token); the WABA's product catalogs.
//! Requests are checked as Meta's spec says (`ConversationalAutomationRequest`,
//! `CreateQrCodeRequest`, `UpdateQrCodeRequest`, `CallingSettingsRequest`,
//! `StorageConfigurationSettingsRequest`).

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, query_param, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// One number's settings.
#[derive(Debug, Clone)]
pub(crate) struct NumberState {
    automation: Value,
    qr_codes: BTreeMap<String, String>,
    cart_enabled: bool,
    catalog_visible: bool,
    settings: Value,
}

impl Default for NumberState {
    fn default() -> Self {
        NumberState {
            automation: json!({ "enable_welcome_message": false, "prompts": [], "commands": [] }),
            qr_codes: BTreeMap::new(),
            cart_enabled: true,
            catalog_visible: true,
            settings: json!({
                "calling": { "status": "disabled", "call_icon_visibility": "visible", "callback_permission_status": "disabled" },
                "payload_encryption": { "status": "disabled" },
                "storage_configuration": { "status": "default" },
            }),
        }
    }
}

/// Every number's settings, by phone number id.
pub(crate) type Numbers = HashMap<String, NumberState>;

fn with<T>(s: &Sandbox, pnid: &str, f: impl FnOnce(&mut NumberState) -> T) -> T {
    let mut all = s.business.lock().unwrap_or_else(|p| p.into_inner());
    f(all.entry(pnid.to_string()).or_default())
}

fn success() -> Resp {
    net::json(StatusCode::OK, &json!({ "success": true }))
}

fn json_body(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// `GET /{phone-number-id}?fields=conversational_automation`; none for other fields.
pub(crate) fn get_automation(s: &Sandbox, pnid: &str, query: &str) -> Option<Resp> {
    if query_param(query, "fields") != Some("conversational_automation") {
        return None;
    }
    let a = with(s, pnid, |n| n.automation.clone());
    Some(net::json(
        StatusCode::OK,
        &json!({ "conversational_automation": a, "id": pnid }),
    ))
}

/// `POST /{phone-number-id}/conversational_automation`.
pub(crate) fn set_automation(s: &Sandbox, pnid: &str, body: &[u8]) -> Resp {
    let Some(v) = json_body(body) else {
        return invalid("The request body is not JSON");
    };
    let prompts = v["prompts"].as_array().cloned().unwrap_or_default();
    let commands = v["commands"].as_array().cloned().unwrap_or_default();
    if prompts.len() > 3
        || prompts
            .iter()
            .any(|p| p.as_str().is_none_or(|p| p.chars().count() > 80))
    {
        return invalid("Param prompts must be at most 3 strings of at most 80 characters");
    }
    let command_ok = |c: &Value| {
        c["command_name"].as_str().is_some_and(|n| {
            !n.is_empty()
                && n.len() <= 30
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }) && c["command_description"]
            .as_str()
            .is_some_and(|d| d.chars().count() <= 256)
    };
    if commands.len() > 30 || !commands.iter().all(command_ok) {
        return invalid("Param commands must be at most 30 {command_name, command_description}");
    }
    let a = json!({
        "enable_welcome_message": v["enable_welcome_message"].as_bool().unwrap_or(false),
        "prompts": prompts,
        "commands": commands,
    });
    with(s, pnid, |n| n.automation = a);
    success()
}

fn qr_json(s: &Sandbox, code: &str, message: &str, format: Option<&str>) -> Value {
    let mut v = json!({ "code": code, "prefilled_message": message,
        "deep_link_url": format!("https://wa.me/message/{code}") });
    if let Some(f) = format {
        v["qr_image_url"] = format!(
            "{}/sandbox/qr/{code}.{}",
            s.origin(),
            f.to_ascii_lowercase()
        )
        .into();
    }
    v
}

/// `POST /{phone-number-id}/message_qrdls`: create (no `code`) or update (a `code`).
pub(crate) fn put_qr(s: &Sandbox, pnid: &str, body: &[u8]) -> Resp {
    let Some(v) = json_body(body) else {
        return invalid("The request body is not JSON");
    };
    let Some(message) = v["prefilled_message"]
        .as_str()
        .filter(|m| (1..=140).contains(&m.chars().count()))
    else {
        return invalid("Param prefilled_message must be 1 to 140 characters");
    };
    let format = match v["generate_qr_image"].as_str() {
        None => None,
        Some(f @ ("PNG" | "SVG")) => Some(f),
        Some(_) => return invalid("Param generate_qr_image must be PNG or SVG"),
    };
    let code = match v["code"].as_str() {
        Some(c) => {
            if !with(s, pnid, |n| n.qr_codes.contains_key(c)) {
                return graph_error(
                    StatusCode::NOT_FOUND,
                    100,
                    Some(33),
                    &format!("QR code {c} does not exist"),
                );
            }
            c.to_string()
        }
        None => {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            random_bytes::<14>()
                .iter()
                .map(|b| ALPHABET[usize::from(b % 32)] as char)
                .collect()
        }
    };
    with(s, pnid, |n| {
        n.qr_codes.insert(code.clone(), message.to_string())
    });
    net::json(StatusCode::OK, &qr_json(s, &code, message, format))
}

/// `GET /{phone-number-id}/message_qrdls` (all on one page).
pub(crate) fn list_qr(s: &Sandbox, pnid: &str, query: &str) -> Resp {
    let fields = query_param(query, "fields").unwrap_or("");
    let format = ["PNG", "SVG"]
        .into_iter()
        .find(|f| fields.contains(&format!("format({f})")));
    let codes = with(s, pnid, |n| n.qr_codes.clone());
    let data: Vec<Value> = codes
        .iter()
        .map(|(c, m)| qr_json(s, c, m, format))
        .collect();
    net::json(StatusCode::OK, &json!({ "data": data }))
}

/// `DELETE /{phone-number-id}/message_qrdls/{code}`.
pub(crate) fn delete_qr(s: &Sandbox, pnid: &str, code: &str) -> Resp {
    if with(s, pnid, |n| n.qr_codes.remove(code)).is_none() {
        return graph_error(
            StatusCode::NOT_FOUND,
            100,
            Some(33),
            &format!("QR code {code} does not exist"),
        );
    }
    success()
}

/// `GET /{phone-number-id}/whatsapp_commerce_settings`.
pub(crate) fn get_commerce(s: &Sandbox, pnid: &str) -> Resp {
    let (cart, visible) = with(s, pnid, |n| (n.cart_enabled, n.catalog_visible));
    net::json(
        StatusCode::OK,
        &json!({ "data": [{ "id": "527759822865714", "is_cart_enabled": cart, "is_catalog_visible": visible }] }),
    )
}

/// `POST /{phone-number-id}/whatsapp_commerce_settings?is_cart_enabled=…&is_catalog_visible=…`.
pub(crate) fn set_commerce(s: &Sandbox, pnid: &str, query: &str) -> Resp {
    let flag = |k: &str| match query_param(query, k) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(format!("Param {k} must be true or false")),
    };
    let (cart, visible) = match (flag("is_cart_enabled"), flag("is_catalog_visible")) {
        (Ok(c), Ok(v)) => (c, v),
        (Err(m), _) | (_, Err(m)) => return invalid(&m),
    };
    with(s, pnid, |n| {
        n.cart_enabled = cart.unwrap_or(n.cart_enabled);
        n.catalog_visible = visible.unwrap_or(n.catalog_visible);
    });
    success()
}

/// `GET /{phone-number-id}/settings`.
pub(crate) fn get_settings(s: &Sandbox, pnid: &str) -> Resp {
    net::json(StatusCode::OK, &with(s, pnid, |n| n.settings.clone()))
}

/// `POST /{phone-number-id}/settings`: `calling` or `storage_configuration`.
pub(crate) fn set_settings(s: &Sandbox, pnid: &str, body: &[u8]) -> Resp {
    let Some(v) = json_body(body) else {
        return invalid("The request body is not JSON");
    };
    if let Some(calling) = v.get("calling") {
        let status = calling["status"].as_str();
        if !matches!(status, Some("enabled" | "disabled")) {
            return invalid("Param calling.status must be enabled or disabled");
        }
        return with(s, pnid, |n| {
            let c = &mut n.settings["calling"];
            c["status"] = status.into();
            for k in ["call_icon_visibility", "callback_permission_status"] {
                if let Some(x) = calling.get(k) {
                    c[k] = x.clone();
                }
            }
            success()
        });
    }
    if let Some(storage) = v.get("storage_configuration") {
        let Some(enabled) = storage["enabled"].as_bool() else {
            return invalid("Param storage_configuration.enabled is required");
        };
        let region = storage["region"].as_str();
        if enabled && region.is_none_or(|r| r.len() != 2) {
            return invalid("Param storage_configuration.region must be a country code");
        }
        let v = if enabled {
            json!({ "status": "in_country_storage_enabled", "data_localization_region": region })
        } else {
            json!({ "status": "default" })
        };
        return with(s, pnid, |n| {
            n.settings["storage_configuration"] = v;
            success()
        });
    }
    invalid("Nothing to set: calling or storage_configuration")
}

/// A tiny JPEG: the bytes of the profile picture the sandbox serves.
pub const PICTURE: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9,
];

/// `GET /sandbox/profile-picture/{id}`: as Meta's picture host, which takes no token and
/// must never be sent one.
pub(crate) fn picture(carries_token: bool) -> Resp {
    if carries_token {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "The sandbox's picture host refuses a request carrying an access token: it must not be sent there",
        );
    }
    net::respond(StatusCode::OK, "image/jpeg", PICTURE)
}

/// `GET /{waba-id}/product_catalogs`: the catalogs products were pushed to.
pub(crate) fn catalogs(s: &Sandbox, waba: &str) -> Resp {
    if waba != s.config.waba_id {
        return crate::unknown_object("get", waba);
    }
    let mut ids: Vec<String> = s
        .catalogs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .cloned()
        .collect();
    ids.sort();
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "id": id, "name": format!("Catalog {id}") }))
        .collect();
    net::json(StatusCode::OK, &json!({ "data": data }))
}
