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
    /// The WABA it belongs to.
    waba: String,
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

impl Stored {
    /// A new template of `waba` under a fresh id.
    fn new(
        waba: &str,
        (name, language): (&str, &str),
        status: &str,
        category: &str,
        components: Value,
    ) -> Stored {
        Stored {
            id: new_id(),
            waba: waba.into(),
            name: name.into(),
            language: language.into(),
            status: status.into(),
            category: category.into(),
            parameter_format: None,
            components,
            rejected_reason: None,
        }
    }
}

fn stored(waba: &str, id: &str, name: &str, status: &str, category: &str, body: &str) -> Stored {
    let components = json!([{ "type": "BODY", "text": body }]);
    Stored {
        id: id.into(),
        ..Stored::new(waba, (name, "en_US"), status, category, components)
    }
}

/// What every sandbox starts with, in its WABA.
pub(crate) fn seed(waba: &str) -> Vec<Stored> {
    vec![
        stored(
            waba,
            "1407680676729941",
            "hello_world",
            "APPROVED",
            "UTILITY",
            "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta.",
        ),
        stored(
            waba,
            "1192339204654487",
            "order_update",
            "APPROVED",
            "UTILITY",
            "Hi {{1}}, your order {{2}} has shipped.",
        ),
        stored(
            waba,
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
pub(crate) fn list(s: &Sandbox, waba: &str, query: &str) -> Resp {
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
            t.waba == waba
                && name.as_deref().is_none_or(|n| t.name == n)
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

/// `POST /{waba-id}/message_templates`; from Meta's library when it names a library
/// template.
pub(crate) fn create(s: &Arc<Sandbox>, waba: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["library_template_name"].is_string() {
        return from_library(s, waba, &v);
    }
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
    if let Some(taken) = exists(&templates, waba, name, language) {
        return taken;
    }
    let t = Stored {
        parameter_format: v["parameter_format"].as_str().map(str::to_string),
        ..Stored::new(
            waba,
            (name, language),
            "PENDING",
            category,
            v["components"].clone(),
        )
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
pub(crate) fn delete(s: &Sandbox, waba: &str, query: &str) -> Resp {
    let Some(name) = query_param(query, "name") else {
        return invalid("Param name is required");
    };
    let id = query_param(query, "hsm_id");
    let mut templates = store(s);
    let before = templates.len();
    templates.retain(|t| !(t.waba == waba && t.name == name && id.is_none_or(|i| t.id == i)));
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

/// Meta's refusal of a second template with the same name and language in a WABA.
fn exists(templates: &[Stored], waba: &str, name: &str, language: &str) -> Option<Resp> {
    templates
        .iter()
        .any(|t| t.waba == waba && t.name == name && t.language == language)
        .then(|| {
            graph_error(
                StatusCode::BAD_REQUEST,
                100,
                Some(2388024),
                &format!("Message template \"{name}\" already exists in {language}"),
            )
        })
}

/// The sandbox's template library: a few of Meta's utility and authentication entries.
fn library_entries() -> Vec<Value> {
    vec![
        json!({ "id": "7138371069573209", "name": "delivery_update_1", "language": "en_US",
            "category": "UTILITY", "topic": "ORDER_MANAGEMENT", "usecase": "DELIVERY_UPDATE",
            "industry": ["E_COMMERCE"],
            "body": "Good news {{1}}! Your order #{{2}} is on its way. Track it below.",
            "body_params": ["Jim", "12345"],
            "buttons": [{ "type": "URL", "text": "Track order", "url": "https://www.example.com/{{1}}" }] }),
        json!({ "id": "7097681983644016", "name": "payment_reminder_1", "language": "en_US",
            "category": "UTILITY", "topic": "PAYMENTS", "usecase": "PAYMENT_REMINDER",
            "industry": ["E_COMMERCE", "FINANCIAL_SERVICES"],
            "body": "Hi {{1}}, a reminder that {{2}} is due on {{3}}.",
            "body_params": ["John", "$25.00", "Jan 1"],
            "buttons": [{ "type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550100" }] }),
        json!({ "id": "6947294255381409", "name": "verification_code_1", "language": "en_US",
            "category": "AUTHENTICATION", "topic": "ACCOUNT_UPDATES", "usecase": "VERIFICATION_CODE",
            "industry": ["E_COMMERCE", "FINANCIAL_SERVICES"],
            "body": "{{1}} is your verification code.",
            "buttons": [{ "type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code" }] }),
    ]
}

/// `GET /message_template_library`: `search` (in the name or body), `topic`, `usecase`,
/// `industry`, `language`; `limit` and an `after` cursor.
pub(crate) fn library(query: &str) -> Resp {
    let filter = |k: &str| query_param(query, k).map(net::form_decode);
    let search = filter("search").map(|s| s.to_lowercase());
    let all: Vec<Value> = library_entries()
        .into_iter()
        .filter(|e| {
            let is = |k: &str| filter(k).is_none_or(|v| e[k] == v.as_str());
            is("topic")
                && is("usecase")
                && is("language")
                && filter("industry").is_none_or(|i| {
                    e["industry"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|x| x == i.as_str()))
                })
                && search.as_deref().is_none_or(|w| {
                    e["name"].as_str().unwrap_or("").contains(w)
                        || e["body"].as_str().unwrap_or("").to_lowercase().contains(w)
                })
        })
        .collect();
    let limit = query_param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let start = query_param(query, "after")
        .and_then(|a| a.strip_prefix("TElC"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let end = start.saturating_add(limit).min(all.len());
    let mut paging = json!({ "cursors": { "after": format!("TElC{end}") } });
    if end < all.len() {
        paging["next"] = "https://graph.facebook.com/v23.0/message_template_library".into();
    }
    net::json(
        StatusCode::OK,
        &json!({ "data": all.get(start..end).unwrap_or(&[]), "paging": paging }),
    )
}

/// A template created from the library: the entry's text and buttons with the inputs
/// filled in; approved at once (no review), as Meta does.
fn from_library(s: &Sandbox, waba: &str, v: &Value) -> Resp {
    let (Some(name), Some(language), Some(category), Some(library_name)) = (
        v["name"].as_str(),
        v["language"].as_str(),
        v["category"].as_str(),
        v["library_template_name"].as_str(),
    ) else {
        return invalid("name, language, category and library_template_name are required");
    };
    let Some(entry) = library_entries()
        .into_iter()
        .find(|e| e["name"] == library_name && e["language"] == language)
    else {
        return invalid(&format!(
            "Library template {library_name} does not exist in {language}"
        ));
    };
    if entry["category"] != category {
        return invalid("Param category must be the library template's category");
    }
    let inputs = v["library_template_button_inputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut buttons = Vec::new();
    for b in entry["buttons"].as_array().cloned().unwrap_or_default() {
        let kind = b["type"].as_str().unwrap_or("");
        let Some(input) = inputs.iter().find(|i| i["type"] == kind) else {
            return invalid(&format!(
                "library_template_button_inputs needs the {kind} button's input"
            ));
        };
        let mut filled = b.clone();
        match kind {
            "URL" => match input["url"]["base_url"].as_str() {
                Some(u) => filled["url"] = u.into(),
                None => return invalid("A URL button input needs url.base_url"),
            },
            "PHONE_NUMBER" => match input["phone_number"].as_str() {
                Some(n) => filled["phone_number"] = n.into(),
                None => return invalid("A PHONE_NUMBER button input needs phone_number"),
            },
            _ => filled = input.clone(),
        }
        buttons.push(filled);
    }
    let mut templates = store(s);
    if let Some(taken) = exists(&templates, waba, name, language) {
        return taken;
    }
    let components = json!([{ "type": "BODY", "text": entry["body"] },
        { "type": "BUTTONS", "buttons": buttons }]);
    let t = Stored::new(waba, (name, language), "APPROVED", category, components);
    let answer = json!({ "id": t.id, "status": t.status, "category": t.category });
    templates.push(t);
    net::json(StatusCode::OK, &answer)
}

/// The template's WABA, name, language and category, by id.
pub(crate) fn identity(s: &Sandbox, id: &str) -> Option<(String, String, String, String)> {
    store(s).iter().find(|t| t.id == id).map(|t| {
        (
            t.waba.clone(),
            t.name.clone(),
            t.language.clone(),
            t.category.clone(),
        )
    })
}

/// The id and category of a WABA's template, by name and language.
pub(crate) fn find(
    s: &Sandbox,
    waba: &str,
    name: &str,
    language: &str,
) -> Option<(String, String)> {
    store(s)
        .iter()
        .find(|t| t.waba == waba && t.name == name && t.language == language)
        .map(|t| (t.id.clone(), t.category.clone()))
}

/// The status of a WABA's template, by name and language.
pub(crate) fn status_of(s: &Sandbox, waba: &str, name: &str, language: &str) -> Option<String> {
    store(s)
        .iter()
        .find(|t| t.waba == waba && t.name == name && t.language == language)
        .map(|t| t.status.clone())
}

/// Meta pauses every language of the sandbox WABA's template `name` (its limits said
/// so: `pause_template_after`), with the webhook.
pub(crate) async fn pause_named(s: &Arc<Sandbox>, name: &str) {
    let ids: Vec<String> = store(s)
        .iter()
        .filter(|t| t.waba == s.config.waba_id && t.name == name)
        .map(|t| t.id.clone())
        .collect();
    for id in ids {
        pause_id(s, Some(id)).await;
    }
}

/// `POST /sandbox/template-pause {"id"}`: Meta pauses a template for its quality, and
/// says so with a `message_template_status_update` webhook.
pub(crate) async fn pause(s: &Arc<Sandbox>, body: &[u8]) -> Resp {
    let id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string));
    pause_id(s, id).await
}

async fn pause_id(s: &Arc<Sandbox>, id: Option<String>) -> Resp {
    let update = {
        let mut templates = store(s);
        let Some(t) = templates.iter_mut().find(|t| Some(&t.id) == id.as_ref()) else {
            return invalid("No such template");
        };
        t.status = "PAUSED".into();
        json!({ "event": "PAUSED", "message_template_id": t.id.parse::<u64>().unwrap_or(0),
            "message_template_name": t.name, "message_template_language": t.language,
            "reason": "NONE" })
    };
    if let Some(url) = s.config.webhook_url.clone() {
        let payload = json!({ "object": "whatsapp_business_account", "entry": [{
            "id": s.config.waba_id, "time": now_secs(),
            "changes": [{ "value": update, "field": "message_template_status_update" }] }] });
        post_webhook(s, &url, &payload).await;
    }
    net::json(StatusCode::OK, &json!({ "success": true }))
}

/// `POST /{template-id}/unpause`: a PAUSED template is APPROVED again.
pub(crate) fn unpause(s: &Sandbox, id: &str) -> Option<Resp> {
    let mut templates = store(s);
    let t = templates.iter_mut().find(|t| t.id == id)?;
    if t.status != "PAUSED" {
        return Some(net::json(
            StatusCode::OK,
            &json!({ "success": false, "reason": format!("The template is {}, not PAUSED", t.status) }),
        ));
    }
    t.status = "APPROVED".into();
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

/// `POST /{waba-id}/upsert_message_templates`: an authentication template in each of
/// `languages`, created or its components replaced; each one back under review.
pub(crate) fn upsert(s: &Arc<Sandbox>, waba: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    let (Some(name), Some(languages), Some(components)) = (
        v["name"].as_str(),
        v["languages"].as_array().filter(|l| !l.is_empty()),
        v["components"].as_array(),
    ) else {
        return invalid("name, languages and components are required");
    };
    if v["category"] != "AUTHENTICATION" {
        return invalid("Param category must be AUTHENTICATION");
    }
    let mut out = Vec::new();
    let mut templates = store(s);
    for language in languages {
        let Some(language) = language.as_str() else {
            return invalid("Param languages must be a list of language codes");
        };
        let id = match templates
            .iter_mut()
            .find(|t| t.waba == waba && t.name == name && t.language == language)
        {
            Some(t) => {
                t.components = components.clone().into();
                t.status = "PENDING".into();
                t.id.clone()
            }
            None => {
                let comps = components.clone().into();
                let t = Stored::new(waba, (name, language), "PENDING", "AUTHENTICATION", comps);
                let id = t.id.clone();
                templates.push(t);
                id
            }
        };
        review_later(s, id.clone());
        out.push(json!({ "id": id, "language": language, "status": "PENDING" }));
    }
    net::json(StatusCode::OK, &json!({ "data": out }))
}

/// Templates one migration page copies.
const MIGRATION_PAGE: usize = 500;

/// `POST /{waba-id}/migrate_message_templates?source_waba_id=…&page_number=…`: the
/// source's templates copied, 500 a page; only APPROVED ones, and none whose name and
/// language the destination already has.
pub(crate) fn migrate(s: &Sandbox, waba: &str, query: &str) -> Resp {
    let Some(source) = query_param(query, "source_waba_id") else {
        return invalid("Param source_waba_id is required");
    };
    if source == waba {
        return invalid("Param source_waba_id must differ from the destination WABA");
    }
    let page = query_param(query, "page_number")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0);
    let mut templates = store(s);
    let in_source: Vec<Stored> = templates
        .iter()
        .filter(|t| t.waba == source)
        .skip(page.saturating_mul(MIGRATION_PAGE))
        .take(MIGRATION_PAGE)
        .cloned()
        .collect();
    let (mut migrated, mut failed) = (Vec::new(), serde_json::Map::new());
    for t in in_source {
        if t.status != "APPROVED" {
            failed.insert(
                t.id.clone(),
                format!("Template is {}, not APPROVED", t.status).into(),
            );
        } else if exists(&templates, waba, &t.name, &t.language).is_some() {
            failed.insert(
                t.id.clone(),
                "A template with this name and language exists".into(),
            );
        } else {
            let copy = Stored {
                id: new_id(),
                waba: waba.into(),
                ..t
            };
            migrated.push(copy.id.clone());
            templates.push(copy);
        }
    }
    net::json(
        StatusCode::OK,
        &json!({ "migrated_templates": migrated, "failed_templates": failed }),
    )
}
