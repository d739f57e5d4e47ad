//! Read operations of the management APIs: templates, media, catalog products, flows.

use super::error::Error;
use super::graph::{Credential, Paging, Request, encode_query, read_json};
use super::ids::check_node_id;
use super::settings::Settings;
use serde::Deserialize;

/// A template as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplateSummary {
    /// id
    pub id: String,
    /// name
    pub name: String,
    /// language
    #[serde(default)]
    pub language: String,
    /// status
    #[serde(default)]
    pub status: String,
    /// category
    #[serde(default)]
    pub category: String,
}

/// Filters and paging for listing templates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateQuery {
    /// name filter
    pub name: Option<String>,
    /// status filter
    pub status: Option<String>,
    /// category filter
    pub category: Option<String>,
    /// language filter
    pub language: Option<String>,
    /// page size
    pub limit: Option<u32>,
    /// cursor
    pub after: Option<String>,
}

/// A page of items and the cursor of the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The next page's cursor.
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct RawPage<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    paging: Paging,
}

pub(crate) fn read_page<T: for<'de> Deserialize<'de>>(
    status: u16,
    body: &[u8],
) -> Result<Page<T>, Error> {
    let p: RawPage<T> = read_json(status, body)?;
    Ok(Page {
        items: p.data,
        next: p.paging.next_cursor(),
    })
}

/// Largest page Graph serves for templates.
pub const TEMPLATE_PAGE_MAX: u32 = 100;

/// `GET /{waba-id}/message_templates` with filters.
pub fn list_templates_request(s: &Settings, q: &TemplateQuery) -> Result<Request, Error> {
    let limit = q.limit.unwrap_or(25);
    if !(1..=TEMPLATE_PAGE_MAX).contains(&limit) {
        return Err(Error::invalid(
            "query.limit",
            format!("must be 1 to {TEMPLATE_PAGE_MAX}"),
        ));
    }
    let mut url = s.url(&format!(
        "{}/message_templates?fields=id,name,language,status,category&limit={limit}",
        s.waba_id()?
    ));
    for (k, v) in [
        ("name", &q.name),
        ("status", &q.status),
        ("category", &q.category),
        ("language", &q.language),
        ("after", &q.after),
    ] {
        if let Some(v) = v {
            url.push_str(&format!("&{k}={}", encode_query(v)));
        }
    }
    Ok(Request::get(url))
}

/// Read a page of templates.
pub fn read_templates(status: u16, body: &[u8]) -> Result<Page<TemplateSummary>, Error> {
    read_page(status, body)
}

/// What Meta knows of a media id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    /// id
    pub id: String,
    /// url
    pub url: String,
    /// mime_type
    #[serde(default)]
    pub mime_type: String,
    /// sha256
    #[serde(default)]
    pub sha256: String,
    /// file_size
    #[serde(default, deserialize_with = "u64_lenient")]
    pub file_size: u64,
}

fn u64_lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    })
}

/// `GET /{media-id}`.
pub fn media_info_request(s: &Settings, media_id: &str) -> Result<Request, Error> {
    let id = check_node_id("media-id", media_id)?;
    let mut url = s.url(id);
    if let Some(p) = &s.phone_number_id {
        url.push_str(&format!("?phone_number_id={}", encode_query(p)));
    }
    Ok(Request::get(url))
}

/// Read a media lookup.
pub fn read_media_info(status: u16, body: &[u8]) -> Result<MediaInfo, Error> {
    read_json(status, body)
}

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

/// A flow as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FlowSummary {
    /// id
    pub id: String,
    /// name
    #[serde(default)]
    pub name: String,
    /// status
    #[serde(default)]
    pub status: String,
    /// categories
    #[serde(default)]
    pub categories: Vec<String>,
}

/// `GET /{waba-id}/flows`.
pub fn list_flows_request(s: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut url = s.url(&format!(
        "{}/flows?fields=id,name,status,categories",
        s.waba_id()?
    ));
    if let Some(a) = after {
        url.push_str(&format!("&after={}", encode_query(a)));
    }
    Ok(Request::get(url))
}

/// Read a page of flows.
pub fn read_flows(status: u16, body: &[u8]) -> Result<Page<FlowSummary>, Error> {
    read_page(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::from_pairs([("waba-id".to_string(), "102290129340398".to_string())])
    }

    #[test]
    fn template_listing_filters_and_pages() {
        let q = TemplateQuery {
            name: Some("order update".into()),
            status: Some("APPROVED".into()),
            category: Some("UTILITY".into()),
            language: None,
            limit: Some(10),
            after: Some("QVFI=".into()),
        };
        let r = list_templates_request(&s(), &q).unwrap();
        assert_eq!(
            r.url,
            "https://graph.facebook.com/v23.0/102290129340398/message_templates?fields=id,name,language,status,category&limit=10&name=order%20update&status=APPROVED&category=UTILITY&after=QVFI%3D"
        );
        assert!(
            list_templates_request(
                &s(),
                &TemplateQuery {
                    limit: Some(0),
                    ..Default::default()
                }
            )
            .is_err()
        );
        let page = read_templates(200, br#"{"data":[{"id":"1","name":"hello_world","language":"en_US","status":"APPROVED","category":"UTILITY"}],"paging":{"cursors":{"after":"X"},"next":"https://n"}}"#).unwrap();
        assert_eq!(page.items[0].name, "hello_world");
        assert_eq!(page.next.as_deref(), Some("X"));
    }

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

    #[test]
    fn flows_list_needs_a_waba() {
        assert!(matches!(
            list_flows_request(&Settings::default(), None),
            Err(Error::NotConfigured(_))
        ));
        let p = read_flows(
            200,
            br#"{"data":[{"id":"1","name":"f","status":"DRAFT","categories":["OTHER"]}]}"#,
        )
        .unwrap();
        assert_eq!((p.items.len(), p.next), (1, None));
    }
}
