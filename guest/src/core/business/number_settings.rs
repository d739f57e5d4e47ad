//! A number's settings (`/{phone-number-id}/settings`): calling (on or off, the call icon,
//! callback permission requests) and where its messages are stored at rest (Meta's
//! default, or in a region: "local storage").

use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde_json::{Value, json};

/// What the settings say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberSettings {
    /// Calling is enabled.
    pub calling_enabled: bool,
    /// The call icon shows in the chat.
    pub call_icon_visible: bool,
    /// The business may ask users for permission to call them.
    pub callback_permission: bool,
    /// Messages are stored in a region (local storage) rather than Meta's default.
    pub storage_localized: bool,
    /// That region (an ISO country code, `DE`).
    pub storage_region: Option<String>,
}

/// `GET /{phone-number-id}/settings`.
pub fn get_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(
        s.url(&format!("{}/settings", s.phone_number_id()?)),
    ))
}

/// Read them.
pub fn read(status: u16, body: &[u8]) -> Result<NumberSettings, Error> {
    let v: Value = read_json(status, body)?;
    let calling = &v["calling"];
    let storage = &v["storage_configuration"];
    let status_of = |x: &Value| x["status"].as_str().unwrap_or("").to_ascii_lowercase();
    let storage_status = status_of(storage);
    Ok(NumberSettings {
        calling_enabled: status_of(calling) == "enabled",
        call_icon_visible: calling["call_icon_visibility"].as_str() != Some("hidden")
            && status_of(calling) == "enabled",
        callback_permission: calling["callback_permission_status"].as_str() == Some("enabled"),
        storage_localized: storage["enabled"].as_bool() == Some(true)
            || (!storage_status.is_empty() && storage_status != "default"),
        storage_region: storage["region"]
            .as_str()
            .or(storage["data_localization_region"].as_str())
            .map(str::to_string),
    })
}

/// `POST /{phone-number-id}/settings` with `calling`.
pub fn calling_request(
    s: &Settings,
    enabled: bool,
    icon_visible: Option<bool>,
    callback_permission: Option<bool>,
) -> Result<Request, Error> {
    let on = |b: bool| if b { "enabled" } else { "disabled" };
    let mut calling = json!({ "status": on(enabled) });
    if let Some(v) = icon_visible {
        calling["call_icon_visibility"] = (if v { "visible" } else { "hidden" }).into();
    }
    if let Some(p) = callback_permission {
        calling["callback_permission_status"] = on(p).into();
    }
    Ok(Request::post_json(
        s.url(&format!("{}/settings", s.phone_number_id()?)),
        &json!({ "calling": calling }),
    ))
}

/// `POST /{phone-number-id}/settings` with `storage_configuration`: in `region`, or
/// Meta's default when none (the shape of Meta's published spec,
/// `StorageConfigurationSettingsRequest`).
pub fn storage_request(s: &Settings, region: Option<&str>) -> Result<Request, Error> {
    let storage = match region {
        Some(r) if r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()) => {
            json!({ "enabled": true, "region": r })
        }
        Some(_) => {
            return Err(Error::invalid("region", "a country code (DE)"));
        }
        None => json!({ "enabled": false }),
    };
    Ok(Request::post_json(
        s.url(&format!("{}/settings", s.phone_number_id()?)),
        &json!({ "storage_configuration": storage }),
    ))
}
