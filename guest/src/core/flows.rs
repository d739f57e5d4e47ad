//! WhatsApp Flows management (create as DRAFT, read, update metadata, upload the flow
//! JSON as an asset and read Meta's validation errors, download it back, publish,
//! deprecate, delete a DRAFT, preview, endpoint metrics, migrate between WABAs), the
//! data-exchange public key Meta holds per number, and the data-exchange request's
//! envelope.

use super::encoding::{FilePart, form, from_base64, multipart};
use super::error::Error;
use super::graph::{Request, json_text as text, read_json};
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
                "only DRAFT flows can be deleted (deprecate a {} one)",
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

/// `POST /{phone-number-id}/whatsapp_business_encryption`: register the number's
/// data-exchange public key (an RSA public key as PEM, `-----BEGIN PUBLIC KEY-----`).
pub fn set_public_key_request(s: &Settings, pem: &str) -> Result<Request, Error> {
    let pem = pem.trim();
    let body = pem
        .strip_prefix("-----BEGIN PUBLIC KEY-----")
        .and_then(|b| b.strip_suffix("-----END PUBLIC KEY-----"));
    let base64_only = |b: &str| {
        b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=\r\n ".contains(&c))
    };
    if !body.is_some_and(|b| !b.trim().is_empty() && base64_only(b)) {
        return Err(Error::invalid("pem", "PEM (BEGIN PUBLIC KEY)"));
    }
    let (content_type, body) = form(&[("business_public_key", pem)]);
    Ok(Request::post(
        s.url(&format!(
            "{}/whatsapp_business_encryption",
            s.phone_number_id()?
        )),
        content_type,
        body,
    ))
}

/// `GET /{phone-number-id}/whatsapp_business_encryption`.
pub fn get_public_key_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(s.url(&format!(
        "{}/whatsapp_business_encryption",
        s.phone_number_id()?
    ))))
}

/// The public key Meta holds for a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The PEM text.
    pub pem: String,
    /// `VALID` or `MISMATCH`.
    pub signature_status: String,
}

/// The `data` list of an answer (read through `Value`: a derived reader per answer
/// costs the component more bytes than these few fields are worth).
fn data(status: u16, body: &[u8]) -> Result<Vec<Value>, Error> {
    let mut v: Value = read_json(status, body)?;
    Ok(match v["data"].take() {
        Value::Array(items) => items,
        _ => Vec::new(),
    })
}

/// Read the key Meta holds; none when it holds none (no entry, or a blank key).
pub fn read_public_key(status: u16, body: &[u8]) -> Result<Option<PublicKey>, Error> {
    Ok(data(status, body)?
        .iter()
        .map(|k| PublicKey {
            pem: text(&k["business_public_key"]),
            signature_status: text(&k["business_public_key_signature_status"]),
        })
        .find(|k| !k.pem.trim().is_empty()))
}

/// `GET /{flow-id}/assets`: the flow's assets, each with a download URL.
pub fn assets_request(s: &Settings, id: &str) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    Ok(Request::get(s.url(&format!("{id}/assets"))))
}

/// Read the assets: the `FLOW_JSON` one's download request, without the token
/// ([`super::graph::signed_download`]).
pub fn read_flow_json_asset(s: &Settings, status: u16, body: &[u8]) -> Result<Request, Error> {
    let url = data(status, body)?
        .iter()
        .find(|a| a["asset_type"] == "FLOW_JSON")
        .map(|a| text(&a["download_url"]))
        .ok_or_else(|| Error::Other("no flow JSON yet".into()))?;
    super::graph::signed_download(s, &url, None)
}

/// Read a downloaded flow JSON: it must be JSON text.
pub fn read_flow_json(status: u16, body: Vec<u8>) -> Result<String, Error> {
    super::graph::check_download(status)?;
    let text = String::from_utf8(body).map_err(|_| Error::Other("flow JSON: not UTF-8".into()))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text)
        .map_err(|e| Error::Other(format!("flow JSON: {e}")))?;
    Ok(text)
}

/// The endpoint metrics Meta keeps for a flow.
pub const METRICS: [&str; 5] = [
    "ENDPOINT_REQUEST_COUNT",
    "ENDPOINT_REQUEST_ERROR",
    "ENDPOINT_REQUEST_ERROR_RATE",
    "ENDPOINT_REQUEST_LATENCY_SECONDS_CEIL",
    "ENDPOINT_AVAILABILITY",
];

/// Their granularities.
pub const GRANULARITIES: [&str; 3] = ["DAY", "HOUR", "LIFETIME"];

fn check_date(field: &str, d: &str) -> Result<(), Error> {
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
    {
        Ok(())
    } else {
        Err(Error::invalid(field, "YYYY-MM-DD"))
    }
}

/// `GET /{flow-id}?fields=metric.name(…).granularity(…).since(…).until(…)`: one endpoint
/// metric of a flow (Meta's "Flows endpoint metrics").
pub fn metric_request(
    s: &Settings,
    id: &str,
    metric: &str,
    granularity: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Request, Error> {
    let id = check_node_id("flow-id", id)?;
    if !METRICS.contains(&metric) {
        return Err(Error::invalid(
            "query.metric",
            format!("one of {}", METRICS.join(", ")),
        ));
    }
    if !GRANULARITIES.contains(&granularity) {
        return Err(Error::invalid(
            "query.granularity",
            format!("one of {}", GRANULARITIES.join(", ")),
        ));
    }
    let mut field = format!("metric.name({metric}).granularity({granularity})");
    for (name, v) in [("since", since), ("until", until)] {
        if let Some(d) = v {
            check_date(&format!("query.{name}"), d)?;
            field.push_str(&format!(".{name}({d})"));
        }
    }
    Ok(Request::get(s.url(&format!("{id}?fields={field}"))))
}

/// One point of a metric: when, and its values by key (`value`, or `succeeded` and
/// `failed`, or `p50`, `p90`, … by metric).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// `2024-01-28T08:00:00+0000`.
    pub timestamp: String,
    /// The values: (key, value).
    pub values: Vec<(String, f64)>,
}

/// Read a metric's points (none when Meta has none for the period).
pub fn read_metric(status: u16, body: &[u8]) -> Result<Vec<MetricPoint>, Error> {
    let v: Value = read_json(status, body)?;
    let points = v["metric"]["data_points"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    Ok(points
        .iter()
        .map(|p| MetricPoint {
            timestamp: text(&p["timestamp"]),
            values: p["data"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|d| (text(&d["key"]), d["value"].as_f64().unwrap_or(0.0)))
                .collect(),
        })
        .collect())
}

/// `POST /{waba-id}/migrate_flows`: copy flows of `source_waba_id` into the tenant's WABA
/// under the same names; all of them when no names are given.
pub fn migrate_request(
    s: &Settings,
    source_waba_id: &str,
    names: Option<&[String]>,
) -> Result<Request, Error> {
    let source = check_node_id("source-waba-id", source_waba_id)?;
    let destination = s.waba_id()?;
    if source == destination {
        return Err(Error::invalid("source-waba-id", "is the tenant's own WABA"));
    }
    let names_json;
    let mut fields = vec![("source_waba_id", source)];
    if let Some(names) = names {
        if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
            return Err(Error::invalid("flow-names", "empty"));
        }
        names_json = serde_json::to_string(names).unwrap_or_default();
        fields.push(("source_flow_names", names_json.as_str()));
    }
    let (content_type, body) = form(&fields);
    Ok(Request::post(
        s.url(&format!("{destination}/migrate_flows")),
        content_type,
        body,
    ))
}

/// A flow copied: its name, its id in the source, the copy's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Its name.
    pub source_name: String,
    /// Its id in the source WABA.
    pub source_id: String,
    /// The copy's id.
    pub migrated_id: String,
}

/// A flow not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotMigrated {
    /// Its name.
    pub source_name: String,
    /// Meta's code (`4233041`: no such name in the source), as text.
    pub error_code: String,
    /// Meta's message.
    pub error_message: String,
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Copied.
    pub migrated: Vec<Migrated>,
    /// Not copied, each with why.
    pub failed: Vec<NotMigrated>,
}

/// Read a migration's outcome.
pub fn read_migration(status: u16, body: &[u8]) -> Result<Migration, Error> {
    let v: Value = read_json(status, body)?;
    let list = |k: &str| v[k].as_array().map_or(&[][..], Vec::as_slice);
    Ok(Migration {
        migrated: list("migrated_flows")
            .iter()
            .map(|f| Migrated {
                source_name: text(&f["source_name"]),
                source_id: text(&f["source_id"]),
                migrated_id: text(&f["migrated_id"]),
            })
            .collect(),
        failed: list("failed_flows")
            .iter()
            .map(|f| NotMigrated {
                source_name: text(&f["source_name"]),
                error_code: text(&f["error_code"]),
                error_message: text(&f["error_message"]),
            })
            .collect(),
    })
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
    fn keys_metrics_and_migrations_are_checked_before_they_are_built() {
        let s = Settings::from_pairs([
            ("waba-id".to_string(), "102290129340398".to_string()),
            ("phone-number-id".to_string(), "106540352242922".to_string()),
        ]);
        let pem = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----\n";
        let r = set_public_key_request(&s, pem).unwrap();
        assert!(
            r.url
                .ends_with("/106540352242922/whatsapp_business_encryption")
        );
        assert!(
            String::from_utf8_lossy(r.body.as_ref().unwrap()).contains("-----END PUBLIC KEY-----")
        );
        for bad in [
            "",
            "MIIB",
            "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\n<x>\n-----END PUBLIC KEY-----",
        ] {
            assert!(set_public_key_request(&s, bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            read_public_key(200, br#"{"data":[{"business_public_key":" ","business_public_key_signature_status":"MISMATCH"}]}"#).unwrap(),
            None
        );
        assert_eq!(
            read_public_key(200, br#"{"data":[{"business_public_key":"-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----","business_public_key_signature_status":"VALID"}]}"#)
                .unwrap()
                .map(|k| k.signature_status),
            Some("VALID".to_string())
        );

        let m = metric_request(
            &s,
            "9",
            "ENDPOINT_REQUEST_COUNT",
            "DAY",
            Some("2024-01-28"),
            Some("2024-01-30"),
        )
        .unwrap();
        assert!(m.url.ends_with("/9?fields=metric.name(ENDPOINT_REQUEST_COUNT).granularity(DAY).since(2024-01-28).until(2024-01-30)"), "{}", m.url);
        assert!(metric_request(&s, "9", "NOPE", "DAY", None, None).is_err());
        assert!(metric_request(&s, "9", "ENDPOINT_AVAILABILITY", "WEEK", None, None).is_err());
        assert!(
            metric_request(
                &s,
                "9",
                "ENDPOINT_AVAILABILITY",
                "DAY",
                Some("28/01/2024"),
                None
            )
            .is_err()
        );
        let points = read_metric(200, br#"{"id":"9","metric":{"name":"ENDPOINT_AVAILABILITY","granularity":"DAY","data_points":[{"timestamp":"2024-01-28T08:00:00+0000","data":[{"key":"succeeded","value":713},{"key":"failed","value":335}]}]}}"#).unwrap();
        assert_eq!(
            (
                points.len(),
                points[0].values[1].0.as_str(),
                points[0].values[1].1
            ),
            (1, "failed", 335.0)
        );
        assert_eq!(read_metric(200, br#"{"id":"9"}"#).unwrap(), vec![]);

        assert!(
            migrate_request(&s, "102290129340398", None).is_err(),
            "its own WABA"
        );
        assert!(migrate_request(&s, "5", Some(&[])).is_err());
        let r = migrate_request(&s, "5", Some(&["appointment".to_string()])).unwrap();
        assert!(r.url.ends_with("/102290129340398/migrate_flows"));
        assert!(String::from_utf8_lossy(r.body.as_ref().unwrap()).contains(r#"["appointment"]"#));
        let m = read_migration(200, br#"{"migrated_flows":[{"source_name":"appointment","source_id":"1","migrated_id":"2"}],"failed_flows":[{"source_name":"leadgen","error_code":4233041,"error_message":"not found"}]}"#).unwrap();
        assert_eq!(
            (
                m.migrated[0].migrated_id.as_str(),
                m.failed[0].error_code.as_str()
            ),
            ("2", "4233041")
        );
    }

    #[test]
    fn a_flow_json_is_fetched_only_from_metas_cdn_without_the_token() {
        let s = s();
        let assets = |url: &str| {
            format!(
                r#"{{"data":[{{"name":"flow.json","asset_type":"FLOW_JSON","download_url":"{url}"}}]}}"#
            )
        };
        let r = read_flow_json_asset(
            &s,
            200,
            assets("https://scontent.xx.fbcdn.net/m1/v/t0/An_H?x=1").as_bytes(),
        )
        .unwrap();
        assert_eq!(r.credential, crate::core::graph::Credential::None);
        for bad in [
            "http://scontent.xx.fbcdn.net/a",
            "https://fbcdn.net.evil.example/a",
            "https://evil.example/x.fbcdn.net",
            "https://a@b.fbcdn.net/x",
        ] {
            assert!(
                read_flow_json_asset(&s, 200, assets(bad).as_bytes()).is_err(),
                "{bad}"
            );
        }
        assert!(read_flow_json_asset(&s, 200, br#"{"data":[]}"#).is_err());
        assert!(read_flow_json(200, b"{\"version\":\"7.1\"}".to_vec()).is_ok());
        assert!(read_flow_json(200, b"<html>".to_vec()).is_err());
        assert!(read_flow_json(403, b"{}".to_vec()).is_err());
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
