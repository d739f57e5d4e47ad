//! The product catalogs connected to the WABA (`/{waba-id}/product_catalogs`).

use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde_json::Value;

/// One catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// Its id (what `catalog` operations and product messages take).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// `GET /{waba-id}/product_catalogs`.
pub fn list_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(s.url(&format!(
        "{}/product_catalogs?fields=id,name",
        s.waba_id()?
    ))))
}

/// Read them.
pub fn read(status: u16, body: &[u8]) -> Result<Vec<Catalog>, Error> {
    let v: Value = read_json(status, body)?;
    Ok(super::items(&v)
        .iter()
        .map(|c| Catalog {
            id: super::text(&c["id"]),
            name: super::text(&c["name"]),
        })
        .collect())
}
