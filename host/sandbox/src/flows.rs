//! The sandbox's WhatsApp Flows and their states: created DRAFT, JSON uploaded as an
//! asset (checked: JSON, a `version`, at least one screen with an `id`; errors come back
//! as Meta's `validation_errors`), published only without errors, deprecated only when
//! published, deleted only as a DRAFT, metadata updated unless deprecated, previews.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};

/// One flow as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    id: String,
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
pub(crate) fn list(s: &Sandbox) -> Resp {
    let data: Vec<Value> = store(s)
        .iter()
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
pub(crate) fn create(s: &Sandbox, content_type: Option<&str>, body: &[u8]) -> Resp {
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
