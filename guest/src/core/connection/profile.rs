//! A number's business profile: reading it and updating it, each field checked first.

use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::ids::check_node_id;
use crate::core::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

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
