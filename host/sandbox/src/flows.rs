//! The sandbox's WhatsApp Flows and their states: created DRAFT, JSON uploaded as an
//! asset (checked: JSON, a `version`, at least one screen with an `id`; errors come back
//! as Meta's `validation_errors`), published only without errors, deprecated only when
//! published, deleted only as a DRAFT, metadata updated unless deprecated, previews;
//! the JSON downloaded back from a signed URL that takes no token (as Meta's CDN), endpoint
//! metrics, migration between WABAs, and each number's data-exchange public key.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};

/// One flow as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    id: String,
    /// The WABA it belongs to.
    waba: String,
    /// What the JSON's download URL is signed with (new at each upload).
    asset_sig: String,
    name: String,
    categories: Vec<String>,
    status: String,
    json: Option<Value>,
    validation_errors: Vec<Value>,
    endpoint_uri: Option<String>,
}

const CATEGORIES: [&str; 8] = [
    "SIGN_UP",
    "SIGN_IN",
    "APPOINTMENT_BOOKING",
    "LEAD_GENERATION",
    "CONTACT_US",
    "CUSTOMER_SUPPORT",
    "SURVEY",
    "OTHER",
];

fn new_id() -> String {
    let b = random_bytes::<6>();
    let n = b.iter().fold(7u64, |n, &x| n * 256 + u64::from(x));
    format!("{}", 2_000_000_000_000_000 + n % 999_999_999_999_999)
}

fn store(s: &Sandbox) -> std::sync::MutexGuard<'_, Vec<Stored>> {
    s.flows.lock().unwrap_or_else(|p| p.into_inner())
}

fn state_error(message: &str) -> Resp {
    graph_error(StatusCode::BAD_REQUEST, 100, Some(4016012), message)
}

fn categories(v: &Value) -> Option<Vec<String>> {
    let c: Vec<String> = v
        .as_array()?
        .iter()
        .map(|c| c.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    (!c.is_empty() && c.iter().all(|x| CATEGORIES.contains(&x.as_str()))).then_some(c)
}

/// `GET /{waba-id}/flows`.
pub(crate) fn list(s: &Sandbox, waba: &str) -> Resp {
    let data: Vec<Value> = store(s)
        .iter()
        .filter(|f| f.waba == waba)
        .map(|f| json!({ "id": f.id, "name": f.name, "status": f.status, "categories": f.categories, "validation_errors": f.validation_errors }))
        .collect();
    net::json(StatusCode::OK, &json!({ "data": data }))
}

/// The fields of a request as JSON: a JSON body, or form fields (`categories` being a
/// JSON list in a string, as Meta's reference sends it).
fn fields(content_type: Option<&str>, body: &[u8]) -> Option<Value> {
    match content_type {
        Some(c) if c.starts_with("multipart/form-data") => {
            let mut m = serde_json::Map::new();
            for p in net::multipart(c, body)? {
                let text = String::from_utf8_lossy(p.data).into_owned();
                let v = if p.name == "categories" {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                } else {
                    Value::String(text)
                };
                m.insert(p.name, v);
            }
            Some(Value::Object(m))
        }
        _ => serde_json::from_slice(body).ok(),
    }
}

/// `POST /{waba-id}/flows`.
pub(crate) fn create(s: &Sandbox, waba: &str, content_type: Option<&str>, body: &[u8]) -> Resp {
    let Some(v) = fields(content_type, body) else {
        return invalid("The request body is not valid form data or JSON");
    };
    let Some(name) = v["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return invalid("Param name is required");
    };
    let Some(cats) = categories(&v["categories"]) else {
        return invalid(&format!(
            "Param categories must be a non-empty list of {}",
            CATEGORIES.join(", ")
        ));
    };
    let mut flows = store(s);
    let json = match v["clone_flow_id"].as_str() {
        Some(c) => match flows.iter().find(|f| f.id == c) {
            Some(f) => f.json.clone(),
            None => return invalid("Param clone_flow_id does not name a flow"),
        },
        None => None,
    };
    let f = Stored {
        id: new_id(),
        waba: waba.into(),
        asset_sig: hex::encode(random_bytes::<8>()),
        name: name.into(),
        categories: cats,
        status: "DRAFT".into(),
        json,
        validation_errors: Vec::new(),
        endpoint_uri: v["endpoint_uri"].as_str().map(str::to_string),
    };
    let answer = json!({ "id": f.id });
    flows.push(f);
    net::json(StatusCode::OK, &answer)
}

/// `GET /{flow-id}` (with `fields=preview.invalidate(…)` for a preview).
pub(crate) fn get(s: &Sandbox, id: &str, query: &str) -> Option<Resp> {
    let f = store(s).iter().find(|f| f.id == id).cloned()?;
    if let Some(field) = query_field(query).filter(|q| q.starts_with("metric.")) {
        return Some(metric(&f, field));
    }
    if query.contains("preview") {
        let token = hex::encode(random_bytes::<8>());
        return Some(net::json(
            StatusCode::OK,
            &json!({ "id": id, "preview": {
                "preview_url": format!("https://business.facebook.com/wa/manage/flows/{id}/preview/?token={token}"),
                "expires_at": "2099-01-01T00:00:00+0000" } }),
        ));
    }
    Some(net::json(
        StatusCode::OK,
        &json!({ "id": f.id, "name": f.name, "status": f.status, "categories": f.categories,
            "validation_errors": f.validation_errors,
            "json_version": f.json.as_ref().and_then(|j| j["version"].as_str()),
            "data_api_version": "3.0", "endpoint_uri": f.endpoint_uri }),
    ))
}

/// `POST /{flow-id}`: metadata.
pub(crate) fn update(
    s: &Sandbox,
    id: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<Resp> {
    let mut flows = store(s);
    let f = flows.iter_mut().find(|f| f.id == id)?;
    let Some(v) = fields(content_type, body) else {
        return Some(invalid("The request body is not valid form data or JSON"));
    };
    if f.status == "DEPRECATED" {
        return Some(state_error("A deprecated flow cannot be changed"));
    }
    if let Some(n) = v["name"].as_str() {
        f.name = n.into();
    }
    if !v["categories"].is_null() {
        match categories(&v["categories"]) {
            Some(c) => f.categories = c,
            None => return Some(invalid("Param categories is not valid")),
        }
    }
    if let Some(e) = v["endpoint_uri"].as_str() {
        f.endpoint_uri = Some(e.into());
    }
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

fn validate(text: &[u8]) -> (Option<Value>, Vec<Value>) {
    let error = |code: &str, message: &str| {
        json!({ "error": code, "error_type": "FLOW_JSON_ERROR", "message": message,
            "line_start": 1, "line_end": 1, "column_start": 1, "column_end": 1 })
    };
    let Ok(v) = serde_json::from_slice::<Value>(text) else {
        return (
            None,
            vec![error("INVALID_JSON", "The flow JSON is not valid JSON.")],
        );
    };
    let mut errors = Vec::new();
    if !v["version"].is_string() {
        errors.push(error(
            "MISSING_REQUIRED_PROPERTY",
            "Missing required property 'version'.",
        ));
    }
    match v["screens"].as_array() {
        Some(screens) if !screens.is_empty() => {
            for (i, sc) in screens.iter().enumerate() {
                if !sc["id"].is_string() {
                    errors.push(error(
                        "MISSING_REQUIRED_PROPERTY",
                        &format!("Missing required property 'id' in screens[{i}]."),
                    ));
                }
            }
        }
        _ => errors.push(error(
            "MISSING_REQUIRED_PROPERTY",
            "At least one screen is required.",
        )),
    }
    (Some(v), errors)
}

/// `POST /{flow-id}/assets` (multipart: `file`, `name`, `asset_type` FLOW_JSON).
pub(crate) fn asset(
    s: &Sandbox,
    id: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<Resp> {
    let mut flows = store(s);
    let f = flows.iter_mut().find(|f| f.id == id)?;
    let parts = content_type.and_then(|c| net::multipart(c, body));
    let Some(parts) = parts else {
        return Some(invalid("The request must be multipart/form-data"));
    };
    let field = |n: &str| parts.iter().find(|p| p.name == n);
    if field("asset_type").map(|p| p.data) != Some(b"FLOW_JSON".as_slice()) {
        return Some(invalid("Param asset_type must be FLOW_JSON"));
    }
    let Some(file) = field("file") else {
        return Some(invalid("Param file is required"));
    };
    if f.status != "DRAFT" {
        return Some(state_error("Only a DRAFT flow's JSON can be changed"));
    }
    let (json, errors) = validate(file.data);
    f.json = json;
    f.asset_sig = hex::encode(random_bytes::<8>());
    f.validation_errors = errors.clone();
    Some(net::json(
        StatusCode::OK,
        &json!({ "success": true, "validation_errors": errors }),
    ))
}

/// `POST /{flow-id}/publish` or `/deprecate`.
pub(crate) fn transition(s: &Sandbox, id: &str, to: &str) -> Option<Resp> {
    let mut flows = store(s);
    let f = flows.iter_mut().find(|f| f.id == id)?;
    let r = match (to, f.status.as_str()) {
        ("publish", "DRAFT") if f.json.is_none() => Err("The flow has no JSON to publish"),
        ("publish", "DRAFT") if !f.validation_errors.is_empty() => {
            Err("The flow has validation errors; fix them before publishing")
        }
        ("publish", "DRAFT") => Ok("PUBLISHED"),
        ("publish", _) => Err("Only a DRAFT flow can be published"),
        ("deprecate", "PUBLISHED") => Ok("DEPRECATED"),
        _ => Err("Only a PUBLISHED flow can be deprecated"),
    };
    Some(match r {
        Ok(status) => {
            f.status = status.into();
            net::json(StatusCode::OK, &json!({ "success": true }))
        }
        Err(m) => state_error(m),
    })
}

/// `DELETE /{flow-id}`: only a DRAFT.
pub(crate) fn delete(s: &Sandbox, id: &str) -> Option<Resp> {
    let mut flows = store(s);
    let i = flows.iter().position(|f| f.id == id)?;
    if flows[i].status != "DRAFT" {
        return Some(state_error("Only a DRAFT flow can be deleted"));
    }
    flows.remove(i);
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

/// The `fields` query parameter (the component writes it unescaped, as Meta's examples do).
fn query_field(query: &str) -> Option<&str> {
    crate::query_param(query, "fields")
}

/// `GET /{flow-id}/assets`: the FLOW_JSON asset with a signed download URL (none before
/// a JSON was uploaded).
pub(crate) fn assets(s: &Sandbox, id: &str) -> Option<Resp> {
    let flows = store(s);
    let f = flows.iter().find(|f| f.id == id)?;
    let data: Vec<Value> = f
        .json
        .iter()
        .map(|_| {
            json!({ "name": "flow.json", "asset_type": "FLOW_JSON",
                "download_url": format!("{}/sandbox/flow-assets/{}?sig={}", s.origin(), f.id, f.asset_sig) })
        })
        .collect();
    Some(net::json(
        StatusCode::OK,
        &json!({ "data": data, "paging": { "cursors": { "before": "QVFIU", "after": "QVFIU" } } }),
    ))
}

/// `GET /sandbox/flow-assets/{flow-id}?sig=…`: the JSON, as Meta's CDN serves it: the
/// signature is the credential, and a request carrying a token is refused (a token must
/// never leave for a CDN).
pub(crate) fn download(s: &Sandbox, id: &str, query: &str, carries_token: bool) -> Resp {
    if carries_token {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "The sandbox's CDN refuses a request carrying an access token: it must not be sent there",
        );
    }
    let flows = store(s);
    let found = flows
        .iter()
        .find(|f| f.id == id && crate::query_param(query, "sig") == Some(f.asset_sig.as_str()));
    match found.and_then(|f| f.json.as_ref()) {
        Some(j) => net::json(StatusCode::OK, j),
        None => net::json(
            StatusCode::FORBIDDEN,
            &json!({ "error": "URL signature expired" }),
        ),
    }
}

/// `fields=metric.name(X).granularity(G).since(D).until(D)`: a day's or an hour's
/// points, made up but steady (the same query gives the same numbers).
fn metric(f: &Stored, field: &str) -> Resp {
    let arg = |name: &str| {
        field
            .split(&format!("{name}("))
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .map(str::to_string)
    };
    const METRICS: [&str; 5] = [
        "ENDPOINT_REQUEST_COUNT",
        "ENDPOINT_REQUEST_ERROR",
        "ENDPOINT_REQUEST_ERROR_RATE",
        "ENDPOINT_REQUEST_LATENCY_SECONDS_CEIL",
        "ENDPOINT_AVAILABILITY",
    ];
    let (Some(name), Some(granularity)) = (arg("name"), arg("granularity")) else {
        return invalid("metric needs name() and granularity()");
    };
    if !METRICS.contains(&name.as_str())
        || !["DAY", "HOUR", "LIFETIME"].contains(&granularity.as_str())
    {
        return invalid("Param metric has an unknown name or granularity");
    }
    if f.endpoint_uri.is_none() {
        return state_error("Metrics are kept only for flows with a data-exchange endpoint");
    }
    let days = match (arg("since"), arg("until")) {
        (Some(a), Some(b)) => day_number(&b)
            .zip(day_number(&a))
            .map_or(1, |(b, a)| (b - a + 1).clamp(1, 90)),
        _ => 1,
    };
    let points = if granularity == "LIFETIME" { 1 } else { days };
    let start = arg("since").unwrap_or_else(|| "2024-01-28".into());
    let data_points: Vec<Value> = (0..points)
        .map(|i| {
            let n = (f.id.len() as i64 * 37 + i * 11) % 400 + 1;
            let data = match name.as_str() {
                "ENDPOINT_AVAILABILITY" => json!([{ "key": "succeeded", "value": n }, { "key": "failed", "value": n % 7 }]),
                "ENDPOINT_REQUEST_ERROR" => json!([{ "key": "timeout_error", "value": n % 5 }, { "key": "unexpected_http_status_code", "value": n % 3 }]),
                "ENDPOINT_REQUEST_ERROR_RATE" => json!([{ "key": "value", "value": (n % 10) as f64 / 100.0 }]),
                "ENDPOINT_REQUEST_LATENCY_SECONDS_CEIL" => json!([{ "key": "p50", "value": 1 }, { "key": "p90", "value": 2 }, { "key": "p99", "value": 3 }]),
                _ => json!([{ "key": "value", "value": n }]),
            };
            json!({ "timestamp": format!("{}T08:00:00+0000", add_days(&start, i)), "data": data })
        })
        .collect();
    net::json(
        StatusCode::OK,
        &json!({ "id": f.id, "metric": { "name": name, "granularity": granularity, "data_points": data_points } }),
    )
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn day_number(d: &str) -> Option<i64> {
    let mut it = d.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (it.next()??, it.next()??, it.next()??);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn add_days(d: &str, n: i64) -> String {
    let Some(z) = day_number(d).map(|z| z + n + 719_468) else {
        return d.to_string();
    };
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `POST /{waba-id}/migrate_flows`: copy the named flows (or all) of `source_waba_id`
/// into `waba` as DRAFTs with the same JSON.
pub(crate) fn migrate(s: &Sandbox, waba: &str, content_type: Option<&str>, body: &[u8]) -> Resp {
    let Some(v) = fields(content_type, body) else {
        return invalid("The request body is not valid form data or JSON");
    };
    let Some(source) = v["source_waba_id"].as_str() else {
        return invalid("Param source_waba_id is required");
    };
    if source == waba {
        return invalid("Param source_waba_id must differ from the destination WABA");
    }
    let names: Option<Vec<String>> = match &v["source_flow_names"] {
        Value::Null => None,
        Value::String(t) => match serde_json::from_str(t) {
            Ok(n) => Some(n),
            Err(_) => return invalid("Param source_flow_names must be a JSON list of names"),
        },
        _ => return invalid("Param source_flow_names must be a JSON list of names"),
    };
    let mut flows = store(s);
    let in_source: Vec<Stored> = flows.iter().filter(|f| f.waba == source).cloned().collect();
    let wanted: Vec<String> =
        names.unwrap_or_else(|| in_source.iter().map(|f| f.name.clone()).collect());
    let (mut migrated, mut failed) = (Vec::new(), Vec::new());
    for name in wanted {
        match in_source.iter().find(|f| f.name == name) {
            Some(f) => {
                let copy = Stored {
                    id: new_id(),
                    waba: waba.into(),
                    asset_sig: hex::encode(random_bytes::<8>()),
                    status: "DRAFT".into(),
                    ..f.clone()
                };
                migrated.push(
                    json!({ "source_name": name, "source_id": f.id, "migrated_id": copy.id }),
                );
                flows.push(copy);
            }
            None => failed.push(json!({ "source_name": name, "error_code": "4233041",
                "error_message": "Flows Migration Error: Flow name not found in source WABA." })),
        }
    }
    net::json(
        StatusCode::OK,
        &json!({ "migrated_flows": migrated, "failed_flows": failed }),
    )
}

/// `POST /{phone-number-id}/whatsapp_business_encryption`: a number's public key (PEM).
pub(crate) fn set_key(s: &Sandbox, pnid: &str, content_type: Option<&str>, body: &[u8]) -> Resp {
    let Some(v) = fields(content_type, body) else {
        return invalid("The request body is not valid form data or JSON");
    };
    let Some(pem) = v["business_public_key"].as_str() else {
        return invalid("Param business_public_key is required");
    };
    let pem = pem.trim();
    if !pem.starts_with("-----BEGIN PUBLIC KEY-----") || !pem.ends_with("-----END PUBLIC KEY-----")
    {
        return invalid("Param business_public_key must be a PEM public key");
    }
    s.encryption_keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(pnid.to_string(), pem.to_string());
    net::json(StatusCode::OK, &json!({ "success": true }))
}

/// `GET /{phone-number-id}/whatsapp_business_encryption`.
pub(crate) fn get_key(s: &Sandbox, pnid: &str) -> Resp {
    let keys = s.encryption_keys.lock().unwrap_or_else(|p| p.into_inner());
    let data: Vec<Value> = keys
        .get(pnid)
        .map(|k| json!({ "business_public_key": k, "business_public_key_signature_status": "VALID" }))
        .into_iter()
        .collect();
    net::json(StatusCode::OK, &json!({ "data": data }))
}
