//! The sandbox's analytics and Marketing Messages API. Every accepted send is counted
//! (its template, category, number, the recipient's country, and whether it came through
//! `/marketing_messages`); template, pricing and conversation analytics answer from those
//! counts, as Meta's answer from its own. A WABA is onboarded to MM Lite when the business
//! signs its terms (`POST /sandbox/mm-lite-terms`, with the `account_update` webhook Meta
//! sends); `GET /sandbox/sends` lists what was sent and through which endpoint.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, now_secs, post_webhook, query_param};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One accepted send.
#[derive(Debug, Clone)]
struct Sent {
    at: u64,
    to: String,
    template_id: Option<String>,
    template: Option<String>,
    category: String,
    lite: bool,
}

/// Sends the sandbox remembers: the oldest are let go past this many, so that a sandbox
/// serving a long load keeps a bounded memory.
const SENDS_KEPT: usize = 100_000;

/// What the sandbox counts.
#[derive(Debug, Default)]
pub(crate) struct Insights {
    sent: std::collections::VecDeque<Sent>,
    /// WABAs with template analytics on.
    enabled: HashSet<String>,
    /// WABAs onboarded to MM Lite.
    onboarded: HashSet<String>,
}

fn insights(s: &Sandbox) -> std::sync::MutexGuard<'_, Insights> {
    s.insights.lock().unwrap_or_else(|p| p.into_inner())
}

/// Illustrative per-message prices (USD), by category.
fn price(category: &str) -> f64 {
    match category {
        "MARKETING" => 0.025,
        "UTILITY" => 0.004,
        "AUTHENTICATION" => 0.0135,
        _ => 0.0,
    }
}

/// The ISO country of a number, by its calling code (the few the sandbox knows).
fn country(wa_id: &str) -> &'static str {
    [
        ("1", "US"),
        ("44", "GB"),
        ("55", "BR"),
        ("91", "IN"),
        ("49", "DE"),
    ]
    .iter()
    .find(|(code, _)| wa_id.starts_with(code))
    .map_or("ZZ", |(_, c)| c)
}

/// Count an accepted send of `v` to `to`.
pub(crate) fn record(s: &Sandbox, v: &Value, to: &str, lite: bool) {
    let (template_id, category) = match (
        v["template"]["name"].as_str(),
        v["template"]["language"]["code"].as_str(),
    ) {
        (Some(name), Some(language)) => {
            match crate::templates::find(s, &s.config.waba_id, name, language) {
                Some((id, category)) => (Some(id), category),
                None => (None, "UTILITY".into()),
            }
        }
        _ => (None, "SERVICE".into()),
    };
    let mut kept = insights(s);
    if kept.sent.len() >= SENDS_KEPT {
        kept.sent.pop_front();
    }
    kept.sent.push_back(Sent {
        at: now_secs(),
        to: to.into(),
        template_id,
        template: v["template"]["name"].as_str().map(str::to_string),
        category,
        lite,
    });
}

/// Sends of template `id` from `start` to `end`, both included.
fn template_sends(s: &Sandbox, id: &str, start: u64, end: u64) -> u64 {
    insights(s)
        .sent
        .iter()
        .filter(|x| x.template_id.as_deref() == Some(id) && (start..=end).contains(&x.at))
        .count() as u64
}

/// `POST /{waba-id}` with `is_enabled_for_insights`; none for other updates.
pub(crate) fn enable(s: &Sandbox, waba: &str, body: &[u8]) -> Option<Resp> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v["is_enabled_for_insights"] != true {
        return None;
    }
    insights(s).enabled.insert(waba.to_string());
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

/// A list parameter (`[1,2]`, `["1","2"]` or `1,2`) as its items.
fn list_param(query: &str, key: &str) -> Vec<String> {
    query_param(query, key)
        .map(|v| net::form_decode(v).replace(['[', ']', '"'], ""))
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// `GET /{waba-id}/template_analytics`: per template and day, from the sandbox's sends
/// (each delivered; read and clicks as the sandbox has none); only once analytics are on.
pub(crate) fn template_analytics(s: &Sandbox, waba: &str, query: &str) -> Resp {
    if !insights(s).enabled.contains(waba) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2593034),
            "(#100) Template analytics are not enabled for this WhatsApp Business Account",
        );
    }
    let ids = list_param(query, "template_ids");
    if ids.is_empty() || ids.len() > 10 {
        return invalid("Param template_ids must name 1 to 10 templates");
    }
    let (Some(start), Some(end)) = (
        query_param(query, "start").and_then(|v| v.parse::<u64>().ok()),
        query_param(query, "end").and_then(|v| v.parse::<u64>().ok()),
    ) else {
        return invalid("Params start and end are required");
    };
    if query_param(query, "granularity") != Some("DAILY") {
        return invalid("Param granularity must be DAILY");
    }
    let mut days: BTreeMap<(String, u64), (u64, f64)> = BTreeMap::new();
    for x in insights(s)
        .sent
        .iter()
        .filter(|x| (start..=end).contains(&x.at))
    {
        if let Some(id) = x.template_id.as_ref().filter(|id| ids.contains(id)) {
            let e = days.entry((id.clone(), x.at - x.at % 86_400)).or_default();
            e.0 += 1;
            e.1 += price(&x.category);
        }
    }
    let points: Vec<Value> = days
        .into_iter()
        .map(|((id, day), (n, cost))| {
            json!({ "template_id": id, "start": day, "end": day + 86_400, "sent": n,
                "delivered": n, "read": 0, "clicked": [],
                "cost": [{ "type": "amount_spent", "value": cost },
                    { "type": "cost_per_delivered", "value": cost / n as f64 }] })
        })
        .collect();
    net::json(
        StatusCode::OK,
        &json!({ "data": [{ "granularity": "DAILY", "product_type": "cloud_api",
            "data_points": points }], "paging": { "cursors": { "before": "MAZDZD", "after": "MjQZD" } } }),
    )
}

/// The argument of `.name(…)` in a field expansion.
fn arg<'a>(field: &'a str, name: &str) -> Option<&'a str> {
    let from = field.find(&format!(".{name}("))? + name.len() + 2;
    let len = field[from..].find(')')?;
    Some(&field[from..from + len])
}

/// `GET /{waba-id}?fields=…`: `pricing_analytics…`, `conversation_analytics…` or
/// `marketing_messages_onboarding_status`; none for other fields.
pub(crate) fn fields(s: &Sandbox, waba: &str, query: &str) -> Option<Resp> {
    let field = net::form_decode(query_param(query, "fields")?);
    if field == "marketing_messages_onboarding_status" {
        let status = if insights(s).onboarded.contains(waba) {
            "ONBOARDED"
        } else {
            "ELIGIBLE"
        };
        return Some(net::json(
            StatusCode::OK,
            &json!({ "marketing_messages_onboarding_status": status, "id": waba }),
        ));
    }
    let pricing = field.starts_with("pricing_analytics.");
    if !pricing && !field.starts_with("conversation_analytics.") {
        return None;
    }
    let num = |k: &str| arg(&field, k).and_then(|v| v.parse::<u64>().ok());
    let (Some(start), Some(end), Some(granularity)) =
        (num("start"), num("end"), arg(&field, "granularity"))
    else {
        return Some(invalid("start, end and granularity are required"));
    };
    let step = match granularity {
        "HALF_HOUR" => 1800,
        "DAILY" => 86_400,
        "MONTHLY" => 30 * 86_400,
        _ => {
            return Some(invalid(
                "Param granularity must be HALF_HOUR, DAILY or MONTHLY",
            ));
        }
    };
    let listed = |k: &str| -> Vec<String> {
        arg(&field, k)
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default()
    };
    let (numbers, countries) = (listed("phone_numbers"), listed("country_codes"));
    let display = s.config.display_phone_number.clone();
    if !numbers.is_empty() && !numbers.contains(&display) {
        return Some(net::json(StatusCode::OK, &json!({ "id": waba })));
    }
    let mut points: BTreeMap<(u64, &str, String, &str), (u64, f64)> = BTreeMap::new();
    for x in insights(s)
        .sent
        .iter()
        .filter(|x| (start..=end).contains(&x.at))
    {
        let c = country(&x.to);
        if !countries.is_empty() && !countries.iter().any(|k| k == c) {
            continue;
        }
        let template = x.template_id.is_some() || x.template.is_some();
        let kind = match (pricing, template) {
            (_, true) => "REGULAR",
            (true, false) => "FREE_CUSTOMER_SERVICE",
            (false, false) => "FREE_TIER",
        };
        let e = points
            .entry((x.at - x.at % step, c, x.category.clone(), kind))
            .or_default();
        e.0 += 1;
        e.1 += if template { price(&x.category) } else { 0.0 };
    }
    let (count, category, kind, key) = if pricing {
        (
            "volume",
            "pricing_category",
            "pricing_type",
            "pricing_analytics",
        )
    } else {
        (
            "conversation",
            "conversation_category",
            "conversation_type",
            "conversation_analytics",
        )
    };
    let data: Vec<Value> = points
        .into_iter()
        .map(|((at, c, cat, k), (n, cost))| {
            json!({ "start": at, "end": at + step, "phone_number": display, "country": c,
                category: cat, kind: k, count: n, "cost": cost })
        })
        .collect();
    Some(net::json(
        StatusCode::OK,
        &json!({ key: { "data": [{ "data_points": data }] }, "id": waba }),
    ))
}

/// `GET /{template-id}/compare?template_ids=[other]&start=…&end=…`: sends counted by
/// the sandbox over the range (7, 30, 60 or 90 days, as Meta takes), no blocks.
pub(crate) fn compare(s: &Sandbox, id: &str, query: &str) -> Option<Resp> {
    crate::templates::identity(s, id)?;
    let other = list_param(query, "template_ids").join(",");
    if crate::templates::identity(s, &other).is_none() {
        return Some(invalid("Param template_ids must name one other template"));
    }
    let (start, end) = (
        query_param(query, "start").and_then(|v| v.parse::<u64>().ok()),
        query_param(query, "end").and_then(|v| v.parse::<u64>().ok()),
    );
    let (Some(start), Some(end)) = (start, end) else {
        return Some(invalid("Params start and end are required"));
    };
    if ![7, 30, 60, 90].contains(&(end.saturating_sub(start) / 86_400)) {
        return Some(invalid("The range must be 7, 30, 60 or 90 days"));
    }
    let sends = |t: &str| template_sends(s, t, start, end);
    let (a, b) = (sends(id), sends(&other));
    Some(net::json(
        StatusCode::OK,
        &json!({ "data": [
            { "metric": "BLOCK_RATE", "type": "RELATIVE", "order_by_relative_metric": [id, other] },
            { "metric": "MESSAGE_SENDS", "type": "NUMBER_VALUES",
              "number_values": [{ "key": id, "value": a }, { "key": other, "value": b }] },
            { "metric": "TOP_BLOCK_REASON", "type": "STRING_VALUES",
              "string_values": [{ "key": id, "value": "NO_REASON" }, { "key": other, "value": "NO_REASON" }] },
        ] }),
    ))
}

/// `POST /{phone-number-id}/marketing_messages`: a MARKETING template, from a WABA
/// onboarded to MM Lite; then as `/messages`.
pub(crate) fn marketing_messages(s: &Arc<Sandbox>, pnid: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    if !insights(s).onboarded.contains(&s.config.waba_id) {
        return invalid(
            "The WhatsApp Business Account is not onboarded to the Marketing Messages API",
        );
    }
    let category = match (
        v["template"]["name"].as_str(),
        v["template"]["language"]["code"].as_str(),
    ) {
        (Some(name), Some(language)) => {
            crate::templates::find(s, &s.config.waba_id, name, language).map(|(_, c)| c)
        }
        _ => None,
    };
    if v["type"] != "template" || category.as_deref() != Some("MARKETING") {
        return invalid("Only MARKETING templates are sent through marketing_messages");
    }
    crate::send(s, pnid, &v, true)
}

/// `POST /sandbox/mm-lite-terms {"waba_id"}`: the business signs the MM Lite terms; Meta
/// says so with an `account_update` webhook (`MM_LITE_TERMS_SIGNED`).
pub(crate) async fn sign_terms(s: &Arc<Sandbox>, body: &[u8]) -> Resp {
    let Some(waba) = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["waba_id"].as_str().map(str::to_string))
    else {
        return invalid("waba_id is required");
    };
    insights(s).onboarded.insert(waba.clone());
    if let Some(url) = s.config.webhook_url.clone() {
        let payload = json!({ "object": "whatsapp_business_account", "entry": [{
            "id": waba, "time": now_secs(), "changes": [{ "field": "account_update",
                "value": { "event": "MM_LITE_TERMS_SIGNED", "waba_info": { "waba_id": waba } } }] }] });
        post_webhook(s, &url, &payload).await;
    }
    net::json(StatusCode::OK, &json!({ "success": true }))
}

/// `GET /sandbox/sends`: the accepted sends kept, oldest first: to whom, which template,
/// and the endpoint (`messages` or `marketing_messages`).
pub(crate) fn sends(s: &Sandbox) -> Resp {
    let list: Vec<Value> = insights(s)
        .sent
        .iter()
        .map(|x| {
            json!({ "to": x.to, "template": x.template, "category": x.category,
                "endpoint": if x.lite { "marketing_messages" } else { "messages" } })
        })
        .collect();
    net::json(StatusCode::OK, &json!({ "data": list }))
}
