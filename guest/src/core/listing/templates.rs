//! Listing the WABA's message templates, with filters.

use super::{Page, read_page};
use crate::core::error::Error;
use crate::core::graph::{Request, encode_query};
use crate::core::settings::Settings;
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

#[cfg(test)]
mod tests {
    use super::super::tests::s;
    use super::*;

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
}
