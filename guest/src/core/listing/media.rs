//! Looking a media id up.

use crate::core::error::Error;
use crate::core::graph::{Request, encode_query, read_json};
use crate::core::ids::check_node_id;
use crate::core::settings::Settings;
use serde::Deserialize;

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
