//! Read operations of the management APIs, one module per resource: templates
//! ([`templates`]), media ([`media`]), catalog products ([`catalog`]), flows ([`flows`]);
//! and the page they share.

pub mod catalog;
pub mod flows;
pub mod media;
pub mod templates;

pub use catalog::{Product, list_products_request, read_products};
pub use flows::{FlowSummary, list_flows_request, read_flows};
pub use media::{MediaInfo, media_info_request, read_media_info};
pub use templates::{
    TEMPLATE_PAGE_MAX, TemplateQuery, TemplateSummary, list_templates_request, read_templates,
};

use super::error::Error;
use super::graph::{Paging, read_json};
use serde::Deserialize;

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

#[cfg(test)]
mod tests {
    //! What the submodules' tests share.

    use crate::core::settings::Settings;

    /// A tenant with a WABA.
    pub(super) fn s() -> Settings {
        Settings::from_pairs([("waba-id".to_string(), "102290129340398".to_string())])
    }
}
