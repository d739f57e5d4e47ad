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

pub(crate) use crate::core::graph::{data_items as items, json_text as text};
