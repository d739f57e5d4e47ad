//! What the WABA sent and what it cost: template analytics (turned on once per WABA),
//! pricing analytics (per message, since July 2025) and conversation analytics (before
//! it), each broken down by period, number, country, category and type.
//!
//! Sources: Meta, "Analytics" in the WhatsApp Business Management API
//! (`template_analytics` with `metric_types`; the `pricing_analytics` and
//! `conversation_analytics` fields with their `dimensions`), and "Template analytics"
//! (`is_enabled_for_insights`, at most 10 templates a request, daily only).

use super::error::Error;
use super::graph::{
    Request, check_cursor, data_items, encode_query, json_text, json_u64, next_after, read_json,
};
use super::ids::check_node_id;
use super::settings::Settings;
use serde_json::{Value, json};

/// Templates one template-analytics request may name.
pub const TEMPLATES_MAX: usize = 10;

/// `POST /{waba-id}` with `is_enabled_for_insights`.
pub fn enable_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::post_json(
        s.url(s.waba_id()?),
        &json!({ "is_enabled_for_insights": true }),
    ))
}

fn check_range(start: u64, end: u64) -> Result<(), Error> {
    if end <= start {
        return Err(Error::invalid("end", "must be after start"));
    }
    Ok(())
}

/// Clicks of one button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clicks {
    /// The button's text.
    pub button: String,
    /// `quick_reply_button` or `url_button`.
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// One template's day.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateDay {
    /// The template.
    pub template_id: String,
    /// From.
    pub start: u64,
    /// To.
    pub end: u64,
    /// Sent.
    pub sent: u64,
    /// Delivered.
    pub delivered: u64,
    /// Read.
    pub read: u64,
    /// Clicks per button.
    pub clicked: Vec<Clicks>,
    /// Cost by kind.
    pub cost: Vec<(String, f64)>,
}

/// `GET /{waba-id}/template_analytics` of `ids` by day, every metric.
pub fn template_request(
    s: &Settings,
    ids: &[String],
    start: u64,
    end: u64,
    after: Option<&str>,
) -> Result<Request, Error> {
    if ids.is_empty() || ids.len() > TEMPLATES_MAX {
        return Err(Error::invalid(
            "template-ids",
            "must name 1 to 10 templates",
        ));
    }
    for id in ids {
        check_node_id("template-ids", id)?;
    }
    check_range(start, end)?;
    let mut path = format!(
        "{}/template_analytics?start={start}&end={end}&granularity=DAILY&metric_types={}\
         &template_ids=%5B{}%5D",
        s.waba_id()?,
        encode_query(r#"["SENT","DELIVERED","READ","CLICKED","COST"]"#),
        ids.join(",")
    );
    if let Some(a) = after {
        check_cursor("after", a)?;
        path.push_str(&format!("&after={a}"));
    }
    Ok(Request::get(s.url(&path)))
}

/// Read a page of template analytics and the cursor of the next.
pub fn read_templates(
    status: u16,
    body: &[u8],
) -> Result<(Vec<TemplateDay>, Option<String>), Error> {
    let v: Value = read_json(status, body)?;
    let list = |p: &Value, key: &str| p[key].as_array().cloned().unwrap_or_default();
    let days = data_items(&v)
        .iter()
        .flat_map(|d| list(d, "data_points"))
        .map(|p| TemplateDay {
            template_id: json_text(&p["template_id"]),
            start: json_u64(&p["start"]),
            end: json_u64(&p["end"]),
            sent: json_u64(&p["sent"]),
            delivered: json_u64(&p["delivered"]),
            read: json_u64(&p["read"]),
            clicked: list(&p, "clicked")
                .iter()
                .map(|c| Clicks {
                    button: json_text(&c["button_content"]),
                    kind: json_text(&c["type"]),
                    count: json_u64(&c["count"]),
                })
                .collect(),
            cost: list(&p, "cost")
                .iter()
                .filter_map(|c| Some((json_text(&c["type"]), c["value"].as_f64()?)))
                .collect(),
        })
        .collect();
    Ok((days, next_after(&v)))
}

/// How finely usage is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Half hours.
    HalfHour,
    /// Days.
    Daily,
    /// Months.
    Monthly,
}

/// What usage to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// From.
    pub start: u64,
    /// To.
    pub end: u64,
    /// How finely.
    pub granularity: Granularity,
    /// Only these display numbers.
    pub phone_numbers: Vec<String>,
    /// Only these countries.
    pub country_codes: Vec<String>,
}

/// Which usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Per-message pricing.
    Pricing,
    /// Conversations (before per-message pricing).
    Conversations,
}

impl Usage {
    /// `pricing` or `conversation`: Meta's names of the field, its dimensions and a data
    /// point's keys all start with it.
    fn stem(self) -> &'static str {
        match self {
            Usage::Pricing => "pricing",
            Usage::Conversations => "conversation",
        }
    }

    /// The key of a data point's count.
    fn count_key(self) -> &'static str {
        match self {
            Usage::Pricing => "volume",
            Usage::Conversations => "conversation",
        }
    }
}

/// One point of usage.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// From.
    pub start: u64,
    /// To.
    pub end: u64,
    /// The display number.
    pub phone_number: String,
    /// The country.
    pub country: String,
    /// The category.
    pub category: String,
    /// The pricing or conversation type.
    pub kind: String,
    /// Messages or conversations.
    pub count: u64,
    /// Cost.
    pub cost: f64,
}

/// `GET /{waba-id}?fields=pricing_analytics.start(…).end(…)…` (or
/// `conversation_analytics`), with every dimension.
pub fn usage_request(s: &Settings, which: Usage, q: &UsageQuery) -> Result<Request, Error> {
    check_range(q.start, q.end)?;
    if q.phone_numbers
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::invalid("phone-numbers", "digits only"));
    }
    if q.country_codes
        .iter()
        .any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(Error::invalid("country-codes", "ISO codes such as US"));
    }
    let granularity = match q.granularity {
        Granularity::HalfHour => "HALF_HOUR",
        Granularity::Daily => "DAILY",
        Granularity::Monthly => "MONTHLY",
    };
    let stem = which.stem();
    let upper = stem.to_ascii_uppercase();
    let mut field = format!(
        "{stem}_analytics.start({}).end({}).granularity({granularity})",
        q.start, q.end
    );
    if !q.phone_numbers.is_empty() {
        field.push_str(&format!(".phone_numbers({})", json!(q.phone_numbers)));
    }
    if !q.country_codes.is_empty() {
        field.push_str(&format!(".country_codes({})", json!(q.country_codes)));
    }
    field.push_str(&format!(
        r#".dimensions(["{upper}_CATEGORY","{upper}_TYPE","COUNTRY","PHONE"])"#
    ));
    Ok(Request::get(s.url(&format!(
        "{}?fields={}",
        s.waba_id()?,
        encode_query(&field)
    ))))
}

/// Read usage: every point of every entry.
pub fn read_usage(which: Usage, status: u16, body: &[u8]) -> Result<Vec<Point>, Error> {
    let v: Value = read_json(status, body)?;
    let stem = which.stem();
    let (category, kind) = (format!("{stem}_category"), format!("{stem}_type"));
    Ok(data_items(&v[format!("{stem}_analytics").as_str()])
        .iter()
        .flat_map(|d| d["data_points"].as_array().cloned().unwrap_or_default())
        .map(|p| Point {
            start: json_u64(&p["start"]),
            end: json_u64(&p["end"]),
            phone_number: json_text(&p["phone_number"]),
            country: json_text(&p["country"]),
            category: json_text(&p[category.as_str()]),
            kind: json_text(&p[kind.as_str()]),
            count: json_u64(&p[which.count_key()]),
            cost: p["cost"].as_f64().unwrap_or(0.0),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::from_pairs([("waba-id".to_string(), "55".to_string())])
    }

    #[test]
    fn template_analytics_name_1_to_10_templates_and_read_every_metric() {
        let ids = vec!["11".to_string(), "12".to_string()];
        let r = template_request(&s(), &ids, 100, 200, Some("QVFI")).unwrap();
        assert!(
            r.url
                .contains("55/template_analytics?start=100&end=200&granularity=DAILY")
        );
        assert!(
            r.url.ends_with("&template_ids=%5B11,12%5D&after=QVFI"),
            "{}",
            r.url
        );
        assert!(template_request(&s(), &[], 100, 200, None).is_err());
        assert!(template_request(&s(), &vec!["1".into(); 11], 100, 200, None).is_err());
        assert!(template_request(&s(), &ids, 200, 100, None).is_err());
        let (days, next) = read_templates(
            200,
            br#"{"data":[{"granularity":"DAILY","data_points":[{"template_id":"11","start":100,"end":186500,"sent":5,"delivered":4,"read":3,"clicked":[{"type":"url_button","button_content":"Track","count":2}],"cost":[{"type":"amount_spent","value":0.25},{"type":"cost_per_url_button_click"}]}]}],"paging":{"cursors":{"after":"Y"}}}"#,
        )
        .unwrap();
        assert_eq!(next, None);
        assert_eq!((days[0].sent, days[0].delivered, days[0].read), (5, 4, 3));
        assert_eq!(days[0].clicked[0].button, "Track");
        assert_eq!(days[0].cost, [("amount_spent".to_string(), 0.25)]);
    }

    #[test]
    fn usage_asks_for_every_dimension_and_reads_points() {
        let q = UsageQuery {
            start: 1,
            end: 2,
            granularity: Granularity::Daily,
            phone_numbers: vec!["15550101".into()],
            country_codes: vec!["US".into()],
        };
        let r = usage_request(&s(), Usage::Pricing, &q).unwrap();
        let want = encode(
            r#"pricing_analytics.start(1).end(2).granularity(DAILY).phone_numbers(["15550101"]).country_codes(["US"]).dimensions(["PRICING_CATEGORY","PRICING_TYPE","COUNTRY","PHONE"])"#,
        );
        assert!(r.url.ends_with(&format!("55?fields={want}")), "{}", r.url);
        let mut bad = q.clone();
        bad.country_codes = vec!["usa".into()];
        assert!(usage_request(&s(), Usage::Pricing, &bad).is_err());
        let points = read_usage(
            Usage::Conversations,
            200,
            br#"{"conversation_analytics":{"data":[{"data_points":[{"start":1,"end":2,"phone_number":"15550101","country":"US","conversation_type":"REGULAR","conversation_category":"MARKETING","conversation":7,"cost":0.7}]}]},"id":"55"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                points[0].count,
                points[0].category.as_str(),
                points[0].kind.as_str()
            ),
            (7, "MARKETING", "REGULAR")
        );
    }

    fn encode(s: &str) -> String {
        crate::core::graph::encode_query(s)
    }
}
