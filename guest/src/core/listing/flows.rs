//! Listing the WABA's flows.

use super::{Page, read_page};
use crate::core::error::Error;
use crate::core::graph::{Request, encode_query};
use crate::core::settings::Settings;
use serde::Deserialize;

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
