//! Commerce settings of a number (`/{phone-number-id}/whatsapp_commerce_settings`): whether
//! its catalog is shown (the storefront icon and the catalog button) and whether the cart
//! is enabled.

use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde_json::Value;

/// A number's commerce settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commerce {
    /// Users can add products to a cart and send it as an order.
    pub cart_enabled: bool,
    /// The catalog is shown in the chat and the business profile.
    pub catalog_visible: bool,
}

/// `GET /{phone-number-id}/whatsapp_commerce_settings`.
pub fn get_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(s.url(&format!(
        "{}/whatsapp_commerce_settings",
        s.phone_number_id()?
    ))))
}

/// Read them (Meta's defaults, both on, when it lists none).
pub fn read(status: u16, body: &[u8]) -> Result<Commerce, Error> {
    let v: Value = read_json(status, body)?;
    let first = super::items(&v).first();
    let flag = |k: &str| first.and_then(|f| f[k].as_bool()).unwrap_or(true);
    Ok(Commerce {
        cart_enabled: flag("is_cart_enabled"),
        catalog_visible: flag("is_catalog_visible"),
    })
}

/// `POST /{phone-number-id}/whatsapp_commerce_settings?is_cart_enabled=…&is_catalog_visible=…`
/// (query parameters, as Meta's reference sends them).
pub fn set_request(s: &Settings, c: Commerce) -> Result<Request, Error> {
    Ok(Request::new(
        crate::core::graph::Method::Post,
        s.url(&format!(
            "{}/whatsapp_commerce_settings?is_cart_enabled={}&is_catalog_visible={}",
            s.phone_number_id()?,
            c.cart_enabled,
            c.catalog_visible
        )),
    ))
}
