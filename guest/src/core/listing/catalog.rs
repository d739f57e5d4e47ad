//! Listing a catalog's products, with the catalog's own token.

use super::{Page, read_page};
use crate::core::error::Error;
use crate::core::graph::{Credential, Request, encode_query};
use crate::core::ids::check_node_id;
use crate::core::settings::Settings;
use serde::Deserialize;

/// A catalog product as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Product {
    /// id
    pub id: String,
    /// retailer_id
    #[serde(default)]
    pub retailer_id: String,
    /// name
    #[serde(default)]
    pub name: String,
    /// price
    pub price: Option<String>,
    /// availability
    pub availability: Option<String>,
}

/// `GET /{catalog-id}/products`.
pub fn list_products_request(
    s: &Settings,
    catalog_id: &str,
    after: Option<&str>,
) -> Result<Request, Error> {
    let id = check_node_id("catalog-id", catalog_id)?;
    let mut url = s.url(&format!(
        "{id}/products?fields=id,retailer_id,name,price,availability"
    ));
    if let Some(a) = after {
        url.push_str(&format!("&after={}", encode_query(a)));
    }
    let mut r = Request::get(url);
    r.credential = Credential::Catalog;
    Ok(r)
}

/// Read a page of products.
pub fn read_products(status: u16, body: &[u8]) -> Result<Page<Product>, Error> {
    read_page(status, body)
}

#[cfg(test)]
mod tests {
    use super::super::media::{media_info_request, read_media_info};
    use super::super::tests::s;
    use super::*;

    #[test]
    fn media_and_catalog_ids_are_checked_and_catalog_uses_its_token() {
        assert!(media_info_request(&s(), "../me").is_err());
        let r = list_products_request(&s(), "123", Some("c")).unwrap();
        assert_eq!(r.credential, Credential::Catalog);
        assert!(
            r.url
                .ends_with("/123/products?fields=id,retailer_id,name,price,availability&after=c")
        );
        let m = read_media_info(200, br#"{"id":"9","url":"https://x","mime_type":"image/jpeg","sha256":"ab","file_size":"12"}"#).unwrap();
        assert_eq!(m.file_size, 12);
    }
}
