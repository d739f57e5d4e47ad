//! A number's and the business's own settings beyond connecting it: conversational
//! automation, QR codes with prefilled messages, commerce settings, the number's calling
//! and storage settings, the business profile picture, the WABA's product catalogs. Each
//! request is for the number the tenant sends from (its default, or another of its own).

pub mod automation;
pub mod catalogs;
pub mod commerce;
pub mod number_settings;
pub mod picture;
pub mod qr_codes;

use serde_json::Value;

/// A JSON value as text (`null` as empty): Meta sends some ids and codes as numbers.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The items of an answer's `data` list.
pub(crate) fn items(v: &Value) -> &[Value] {
    v["data"].as_array().map_or(&[][..], Vec::as_slice)
}
