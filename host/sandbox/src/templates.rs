//! The sandbox's message templates: created `PENDING`, reviewed after
//! `SandboxConfig::template_review` (a name containing `reject` is `REJECTED`, any other
//! `APPROVED`), with the `message_template_status_update` webhook Meta sends; listed
//! with filters and cursors, read by id, edited under Meta's status rules (an edit puts
//! the template back under review), deleted by name or by id.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, now_secs, post_webhook, query_param, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// One template as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    id: String,
    name: String,
    language: String,
    status: String,
    category: String,
    parameter_format: Option<String>,
    components: Value,
    rejected_reason: Option<String>,
}

impl Stored {
    fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "name": self.name, "language": self.language, "status": self.status,
            "category": self.category, "components": self.components,
            "parameter_format": self.parameter_format.as_deref().unwrap_or("POSITIONAL"),
        });
        if let Some(r) = &self.rejected_reason {
            v["rejected_reason"] = r.as_str().into();
        }
        v
    }
}

fn stored(id: &str, name: &str, status: &str, category: &str, body: &str) -> Stored {
    Stored {
        id: id.into(),
        name: name.into(),
        language: "en_US".into(),
        status: status.into(),
        category: category.into(),
        parameter_format: None,
        components: json!([{ "type": "BODY", "text": body }]),
        rejected_reason: None,
    }
}

/// What every sandbox starts with.
pub(crate) fn seed() -> Vec<Stored> {
    vec![
        stored(
            "1407680676729941",
            "hello_world",
            "APPROVED",
            "UTILITY",
            "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta.",
        ),
        stored(
            "1192339204654487",
            "order_update",
            "APPROVED",
            "UTILITY",
            "Hi {{1}}, your order {{2}} has shipped.",
        ),
        stored(
            "956473842910234",
            "spring_sale",
            "PENDING",
            "MARKETING",
            "Our spring sale starts {{1}}!",
        ),
    ]
}

fn new_id() -> String {
    let b = random_bytes::<6>();
    let n = b.iter().fold(1u64, |n, &x| n * 256 + u64::from(x));
    format!("{}", 1_000_000_000_000_000 + n % 8_999_999_999_999_999)
}

fn store(s: &Sandbox) -> std::sync::MutexGuard<'_, Vec<Stored>> {
    s.templates.lock().unwrap_or_else(|p| p.into_inner())
}

/// `GET /{waba-id}/message_templates`: filters `name`, `status`, `category`,
/// `language`; `limit` (default 25) and an `after` cursor.
pub(crate) fn list(s: &Sandbox, query: &str) -> Resp {
    let filter = |k: &str| query_param(query, k).map(|v| v.replace("%20", " ").replace('+', " "));
    let (name, status, category, language) = (
        filter("name"),
        filter("status"),
        filter("category"),
        filter("language"),
    );
    let limit = query_param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let start = query_param(query, "after")
        .and_then(|a| a.strip_prefix("QVFI"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let all: Vec<Value> = store(s)
        .iter()
        .filter(|t| {
            name.as_deref().is_none_or(|n| t.name == n)
                && status
                    .as_deref()
                    .is_none_or(|x| t.status.eq_ignore_ascii_case(x))
                && category
                    .as_deref()
                    .is_none_or(|x| t.category.eq_ignore_ascii_case(x))
                && language.as_deref().is_none_or(|x| t.language == x)
        })
        .map(Stored::json)
        .collect();
    let end = start.saturating_add(limit).min(all.len());
    let page = all.get(start..end).unwrap_or(&[]).to_vec();
    let mut paging =
        json!({ "cursors": { "before": format!("QVFI{start}"), "after": format!("QVFI{end}") } });
    if end < all.len() {
        paging["next"] =
            format!("https://graph.facebook.com/v23.0/message_templates?after=QVFI{end}").into();
    }
    net::json(StatusCode::OK, &json!({ "data": page, "paging": paging }))
}

/// `GET /{template-id}`, when it is a template's.
pub(crate) fn get(s: &Sandbox, id: &str) -> Option<Resp> {
    let t = store(s).iter().find(|t| t.id == id).cloned()?;
    Some(net::json(StatusCode::OK, &t.json()))
}

/// `POST /{waba-id}/message_templates`.
pub(crate) fn create(s: &Arc<Sandbox>, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    let (Some(name), Some(language), Some(category), Some(components)) = (
        v["name"].as_str(),
        v["language"].as_str(),
        v["category"].as_str(),
        v["components"].as_array(),
    ) else {
        return invalid("name, language, category and components are required");
    };
    if !["MARKETING", "UTILITY", "AUTHENTICATION"].contains(&category) {
        return invalid("Param category must be one of {MARKETING, UTILITY, AUTHENTICATION}");
    }
    if !components.iter().any(|c| c["type"] == "BODY") {
        return invalid("Param components must contain a BODY component");
    }
    let mut templates = store(s);
    if templates
        .iter()
        .any(|t| t.name == name && t.language == language)
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2388024),
            &format!("Message template \"{name}\" already exists in {language}"),
        );
    }
    let t = Stored {
        id: new_id(),
        name: name.into(),
        language: language.into(),
        status: "PENDING".into(),
        category: category.into(),
        parameter_format: v["parameter_format"].as_str().map(str::to_string),
        components: v["components"].clone(),
        rejected_reason: None,
    };
    let answer = json!({ "id": t.id, "status": t.status, "category": t.category });
    review_later(s, t.id.clone());
    templates.push(t);
    net::json(StatusCode::OK, &answer)
}

/// `POST /{template-id}`: a new category and/or components; back under review.
pub(crate) fn edit(s: &Arc<Sandbox>, id: &str, body: &[u8]) -> Option<Resp> {
    let mut templates = store(s);
    let t = templates.iter_mut().find(|t| t.id == id)?;
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Some(invalid("The request body is not valid JSON"));
    };
    if !["APPROVED", "REJECTED", "PAUSED"].contains(&t.status.as_str()) {
        return Some(graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2388103),
            &format!("A template in status {} cannot be edited", t.status),
        ));
    }
    if let Some(c) = v["category"].as_str() {
        if t.status == "APPROVED" && c != t.category {
            return Some(invalid(
                "The category of an approved template cannot be changed",
            ));
        }
        t.category = c.into();
    }
    if v["components"].is_array() {
        t.components = v["components"].clone();
    }
    t.status = "PENDING".into();
    t.rejected_reason = None;
    review_later(s, id.to_string());
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

/// `DELETE /{waba-id}/message_templates?name=…[&hsm_id=…]`.
pub(crate) fn delete(s: &Sandbox, query: &str) -> Resp {
    let Some(name) = query_param(query, "name") else {
        return invalid("Param name is required");
    };
    let id = query_param(query, "hsm_id");
    let mut templates = store(s);
    let before = templates.len();
    templates.retain(|t| !(t.name == name && id.is_none_or(|i| t.id == i)));
    if templates.len() == before {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2593002),
            &format!("Message template \"{name}\" was not found"),
        );
    }
    net::json(StatusCode::OK, &json!({ "success": true }))
}

/// After the review delay: the verdict, and its webhook.
fn review_later(s: &Arc<Sandbox>, id: String) {
    let s = s.clone();
    tokio::spawn(async move {
        tokio::time::sleep(s.config.template_review).await;
        let verdict = {
            let mut templates = store(&s);
            let Some(t) = templates
                .iter_mut()
                .find(|t| t.id == id && t.status == "PENDING")
            else {
                return;
            };
            let rejected = t.name.contains("reject");
            t.status = if rejected { "REJECTED" } else { "APPROVED" }.into();
            t.rejected_reason = rejected.then(|| "INVALID_FORMAT".to_string());
            json!({
                "event": t.status,
                "message_template_id": t.id.parse::<u64>().unwrap_or(0),
                "message_template_name": t.name,
                "message_template_language": t.language,
                "reason": t.rejected_reason.as_deref().unwrap_or("NONE"),
            })
        };
        if let Some(url) = s.config.webhook_url.clone() {
            let payload = json!({ "object": "whatsapp_business_account", "entry": [{
                "id": s.config.waba_id, "time": now_secs(),
                "changes": [{ "value": verdict, "field": "message_template_status_update" }] }] });
            post_webhook(&s, &url, &payload).await;
        }
    });
}
