//! WhatsApp Flows management (create as DRAFT, read, update metadata, upload the flow
//! JSON as an asset and read Meta's validation errors, publish, deprecate, delete a
//! DRAFT, preview) and the data-exchange request's envelope.

use super::encoding::{FilePart, form, from_base64, multipart};
use super::error::Error;
use super::graph::{Request, read_json};
use super::ids::check_node_id;
use super::settings::Settings;
use serde::Deserialize;
use serde_json::Value;

/// The categories Meta accepts.
pub const CATEGORIES: [&str; 8] = [
    "SIGN_UP",
    "SIGN_IN",
    "APPOINTMENT_BOOKING",
    "LEAD_GENERATION",
    "CONTACT_US",
    "CUSTOMER_SUPPORT",
    "SURVEY",
    "OTHER",
];

/// The fields asked for when a flow is read whole.
pub const FIELDS: &str =
    "id,name,categories,status,validation_errors,json_version,data_api_version,endpoint_uri";

fn check_categories(categories: &[String]) -> Result<(), Error> {
    if categories.is_empty() {
        return Err(Error::invalid("categories", "at least one category"));
    }
    for c in categories {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(Error::invalid(
                "categories",
                format!("{c:?} is not one of {}", CATEGORIES.join(", ")),
            ));
        }
    }
    Ok(())
}

fn check_endpoint(uri: &Option<String>) -> Result<(), Error> {
    match uri {
        Some(u) if !u.starts_with("https://") => {
            Err(Error::invalid("endpoint-uri", "must be an https:// URL"))
        }
        _ => Ok(()),
    }
}

/// `POST /{waba-id}/flows`: a new DRAFT flow.
pub fn create_request(
    s: &Settings,
    name: &str,
    categories: &[String],
    clone_flow_id: Option<&str>,
    endpoint_uri: &Option<String>,
) -> Result<Request, Error> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "must be 1 to 200 characters"));
    }
    check_categories(categories)?;
    check_endpoint(endpoint_uri)?;
    // Meta's reference sends these as form fields, `categories` as a JSON list.
    let categories = serde_json::to_string(categories).unwrap_or_default();
    let mut fields = vec![("name", name), ("categories", categories.as_str())];
    if let Some(c) = clone_flow_id {
        fields.push(("clone_flow_id", check_node_id("clone-flow-id", c)?));
    }
    if let Some(e) = endpoint_uri {
        fields.push(("endpoint_uri", e.as_str()));
    }
    let (content_type, body) = form(&fields);
    Ok(Request::post(
        s.url(&format!("{}/flows", s.waba_id()?)),
        content_type,
        body,
    ))
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// Read the new flow's id.
pub fn read_id(status: u16, body: &[u8]) -> Result<String, Error> {
    Ok(read_json::<Id>(status, body)?.id)
}

/// One of Meta's validation errors for a flow JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidationError {
    /// `INVALID_PROPERTY_VALUE`, …
    #[serde(default)]
    pub error: String,
    /// `FLOW_JSON_ERROR`, …
    #[serde(default)]
    pub error_type: String,
    /// For a human.
    #[serde(default)]
    pub message: String,
    /// Where.
    pub line_start: Option<u32>,
    /// Where.
    pub line_end: Option<u32>,
    /// Where.
    pub column_start: Option<u32>,
    /// Where.
    pub column_end: Option<u32>,
}

/// A flow as Meta keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Details {
    /// id
    pub id: String,
    /// name
    #[serde(default)]
    pub name: String,
    /// `DRAFT`, `PUBLISHED`, `DEPRECATED`, `BLOCKED`, `THROTTLED`
    #[serde(default)]
    pub status: String,
    /// categories
    #[serde(default)]
    pub categories: Vec<String>,
    /// validation_errors
    #[serde(default)]
    pub validation_errors: Vec<ValidationError>,
    /// json_version
    pub json_version: Option<String>,
    /// endpoint_uri
    pub endpoint_uri: Option<String>,
}

/// `GET /{flow-id}` with every field.
pub fn get_request(s: &Settings, id: &str) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    Ok(Request::get(s.url(&format!("{id}?fields={FIELDS}"))))
}

/// Read a flow.
pub fn read_details(status: u16, body: &[u8]) -> Result<Details, Error> {
    read_json(status, body)
}

/// `POST /{flow-id}`: a new name, categories or endpoint.
pub fn update_request(
    s: &Settings,
    id: &str,
    name: &Option<String>,
    categories: &Option<Vec<String>>,
    endpoint_uri: &Option<String>,
) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    let mut fields: Vec<(&str, String)> = Vec::new();
    if let Some(n) = name {
        if n.trim().is_empty() {
            return Err(Error::invalid("update.name", "must not be empty"));
        }
        fields.push(("name", n.clone()));
    }
    if let Some(c) = categories {
        check_categories(c)?;
        fields.push(("categories", serde_json::to_string(c).unwrap_or_default()));
    }
    check_endpoint(endpoint_uri)?;
    if let Some(e) = endpoint_uri {
        fields.push(("endpoint_uri", e.clone()));
    }
    if fields.is_empty() {
        return Err(Error::invalid("update", "nothing to change"));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (content_type, body) = form(&fields);
    Ok(Request::post(s.url(id), content_type, body))
}

/// `POST /{flow-id}/assets`: the flow JSON as `flow.json` (`FLOW_JSON`), after checking
/// that it is a JSON object with a `version` and at least one screen.
pub fn upload_json_request(s: &Settings, id: &str, flow_json: &str) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    let v: Value = serde_json::from_str(flow_json)
        .map_err(|e| Error::invalid("flow-json", format!("not JSON: {e}")))?;
    if !v["version"].is_string() {
        return Err(Error::invalid(
            "flow-json",
            "needs a \"version\" (e.g. \"7.1\")",
        ));
    }
    if v["screens"].as_array().is_none_or(|a| a.is_empty()) {
        return Err(Error::invalid("flow-json", "needs at least one screen"));
    }
    let (content_type, body) = multipart(
        &[("name", "flow.json"), ("asset_type", "FLOW_JSON")],
        &FilePart {
            field: "file",
            file_name: "flow.json",
            content_type: "application/json",
            data: flow_json.as_bytes(),
        },
    );
    Ok(Request::post(
        s.url(&format!("{id}/assets")),
        content_type,
        body,
    ))
}

#[derive(Deserialize)]
struct Asset {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    validation_errors: Vec<ValidationError>,
}

/// Read an asset upload: whether it was taken, and Meta's validation errors.
pub fn read_asset(status: u16, body: &[u8]) -> Result<(bool, Vec<ValidationError>), Error> {
    let a: Asset = read_json(status, body)?;
    Ok((a.success, a.validation_errors))
}

/// `POST /{flow-id}/publish` or `/deprecate`.
pub fn transition_request(s: &Settings, id: &str, to: &str) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    Ok(Request::new(
        super::graph::Method::Post,
        s.url(&format!("{id}/{to}")),
    ))
}

/// `DELETE /{flow-id}`, for a flow known to be a DRAFT.
pub fn delete_request(s: &Settings, current: &Details) -> Result<Request, Error> {
    if current.status != "DRAFT" {
        return Err(Error::invalid(
            "flow-id",
            format!(
                "only DRAFT flows can be deleted; this one is {} (deprecate it instead)",
                current.status
            ),
        ));
    }
    Ok(Request::delete(
        s.url(check_node_id("flow-id", &current.id)?),
    ))
}

/// `GET /{flow-id}?fields=preview.invalidate(…)`: a preview link.
pub fn preview_request(s: &Settings, id: &str, invalidate: bool) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    Ok(Request::get(s.url(&format!(
        "{id}?fields=preview.invalidate({invalidate})"
    ))))
}

#[derive(Deserialize)]
struct PreviewAnswer {
    preview: Preview,
}

/// A preview link.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Preview {
    /// The link.
    pub preview_url: String,
    /// When it stops working.
    pub expires_at: Option<String>,
}

/// Read a preview.
pub fn read_preview(status: u16, body: &[u8]) -> Result<Preview, Error> {
    Ok(read_json::<PreviewAnswer>(status, body)?.preview)
}

/// A data-exchange request's envelope, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `encrypted_aes_key`: RSA-OAEP under the business's public key.
    pub encrypted_aes_key: Vec<u8>,
    /// `initial_vector`: 16 bytes.
    pub iv: Vec<u8>,
    /// `encrypted_flow_data`: AES-128-GCM ciphertext and tag.
    pub encrypted_data: Vec<u8>,
}

/// Decode a data-exchange request's envelope.
pub fn exchange_envelope(body: &[u8]) -> Result<Envelope, Error> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid("body", format!("not JSON: {e}")))?;
    let field = |k: &str| {
        v[k].as_str()
            .and_then(from_base64)
            .ok_or_else(|| Error::invalid(format!("body.{k}"), "must be base64"))
    };
    let key = field("encrypted_aes_key")?;
    let iv = field("initial_vector")?;
    let data = field("encrypted_flow_data")?;
    if iv.len() != 16 {
        return Err(Error::invalid("body.initial_vector", "must be 16 bytes"));
    }
    if data.len() < 16 {
        return Err(Error::invalid(
            "body.encrypted_flow_data",
            "shorter than its tag",
        ));
    }
    Ok(Envelope {
        encrypted_aes_key: key,
        iv,
        encrypted_data: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::from_pairs([("waba-id".to_string(), "102290129340398".to_string())])
    }

    #[test]
    fn requests_are_checked_before_they_are_built() {
        let cats = vec!["SIGN_UP".to_string()];
        assert!(create_request(&s(), "Sign up", &cats, None, &None).is_ok());
        assert!(create_request(&s(), "Sign up", &["NOPE".into()], None, &None).is_err());
        assert!(create_request(&s(), " ", &cats, None, &None).is_err());
        assert!(create_request(&s(), "x", &cats, None, &Some("http://x".into())).is_err());
        assert!(upload_json_request(&s(), "1", "{").is_err());
        assert!(upload_json_request(&s(), "1", r#"{"version":"7.1","screens":[]}"#).is_err());
        let r =
            upload_json_request(&s(), "1", r#"{"version":"7.1","screens":[{"id":"A"}]}"#).unwrap();
        assert!(r.url.ends_with("/1/assets"));
        assert!(
            String::from_utf8_lossy(r.body.as_ref().unwrap())
                .contains("name=\"asset_type\"\r\n\r\nFLOW_JSON")
        );
        assert!(
            update_request(&s(), "1", &None, &None, &None).is_err(),
            "nothing to change"
        );
        let published = Details {
            id: "1".into(),
            name: "f".into(),
            status: "PUBLISHED".into(),
            categories: vec![],
            validation_errors: vec![],
            json_version: None,
            endpoint_uri: None,
        };
        assert!(matches!(
            delete_request(&s(), &published),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn the_exchange_envelope_is_decoded() {
        let body = br#"{"encrypted_flow_data":"AAAAAAAAAAAAAAAAAAAAAAAA","encrypted_aes_key":"AQID","initial_vector":"AAAAAAAAAAAAAAAAAAAAAA=="}"#;
        let e = exchange_envelope(body).unwrap();
        assert_eq!(
            (e.encrypted_aes_key, e.iv.len(), e.encrypted_data.len()),
            (vec![1, 2, 3], 16, 18)
        );
        assert!(exchange_envelope(br#"{"encrypted_flow_data":"!!"}"#).is_err());
    }
}
