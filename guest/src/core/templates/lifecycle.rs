//! The rest of a template's life: two templates compared, a paused template unpaused,
//! an authentication template written in several languages at once, and another WABA's
//! templates copied into the tenant's.
//!
//! Sources: Meta, "Template comparison" (`GET /{template-id}/compare`), "Template
//! pausing" (`POST /{template-id}/unpause`), "Authentication templates: bulk management"
//! (`POST /{waba-id}/upsert_message_templates`), "Template migration"
//! (`POST /{waba-id}/migrate_message_templates`, 500 templates a page).

use super::{Category, NewTemplate, check_language, invalid};
use crate::core::error::Error;
use crate::core::graph::{Method, Request, data_items, json_text, json_u64, read_json};
use crate::core::ids::check_node_id;
use crate::core::settings::Settings;
use serde_json::Value;

/// Two templates compared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// The ids, the lower ratio of blocks to sends first.
    pub by_block_rate: Vec<String>,
    /// Sends per id.
    pub sends: Vec<(String, u64)>,
    /// The top block reason per id.
    pub top_block_reasons: Vec<(String, String)>,
}

/// `GET /{template-id}/compare?template_ids=[other]&start=…&end=…`.
pub fn compare_request(
    s: &Settings,
    id: &str,
    other: &str,
    start: u64,
    end: u64,
) -> Result<Request, Error> {
    let id = check_node_id("template-id", id)?;
    let other = check_node_id("other-id", other)?;
    if id == other {
        return Err(invalid("other-id", "is the same template"));
    }
    if end <= start {
        return Err(invalid("end", "must be after start"));
    }
    Ok(Request::get(s.url(&format!(
        "{id}/compare?template_ids=%5B{other}%5D&start={start}&end={end}"
    ))))
}

/// Read a comparison: one entry per metric (`BLOCK_RATE`, `MESSAGE_SENDS`,
/// `TOP_BLOCK_REASON`).
pub fn read_comparison(status: u16, body: &[u8]) -> Result<Comparison, Error> {
    let v: Value = read_json(status, body)?;
    let pairs = |m: &Value, key: &str| -> Vec<(String, Value)> {
        m[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| (json_text(&p["key"]), p["value"].clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut c = Comparison::default();
    for m in data_items(&v) {
        match m["metric"].as_str() {
            Some("BLOCK_RATE") => {
                c.by_block_rate = m["order_by_relative_metric"]
                    .as_array()
                    .map(|a| a.iter().map(json_text).collect())
                    .unwrap_or_default()
            }
            Some("MESSAGE_SENDS") => {
                c.sends = pairs(m, "number_values")
                    .into_iter()
                    .map(|(k, v)| (k, json_u64(&v)))
                    .collect()
            }
            Some("TOP_BLOCK_REASON") => {
                c.top_block_reasons = pairs(m, "string_values")
                    .into_iter()
                    .map(|(k, v)| (k, json_text(&v)))
                    .collect()
            }
            _ => {}
        }
    }
    Ok(c)
}

/// `POST /{template-id}/unpause`.
pub fn unpause_request(s: &Settings, id: &str) -> Result<Request, Error> {
    let id = check_node_id("template-id", id)?;
    Ok(Request::new(Method::Post, s.url(&format!("{id}/unpause"))))
}

/// Read an unpause: `success`, or Meta's reason it was not.
pub fn read_unpause(status: u16, body: &[u8]) -> Result<(), Error> {
    let v: Value = read_json(status, body)?;
    if v["success"] == true {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "not unpaused: {}",
            json_text(&v["reason"])
        )))
    }
}

/// Languages one upsert may write.
pub const UPSERT_LANGUAGES_MAX: usize = 50;

/// `POST /{waba-id}/upsert_message_templates`: the authentication template `t` in each
/// of `languages`, checked as a create is (`t.language` is not read).
pub fn upsert_request(
    s: &Settings,
    t: &NewTemplate,
    languages: &[String],
) -> Result<Request, Error> {
    if t.category != Category::Authentication {
        return Err(invalid("template.category", "must be AUTHENTICATION"));
    }
    if languages.is_empty() || languages.len() > UPSERT_LANGUAGES_MAX {
        return Err(invalid("languages", "must name 1 to 50 languages"));
    }
    for l in languages {
        check_language(l)?;
    }
    let mut checked = t.clone();
    checked.language = languages[0].clone();
    checked.validate()?;
    let mut v = checked.to_json();
    if let Some(m) = v.as_object_mut() {
        m.remove("language");
        m.insert("languages".into(), languages.into());
    }
    Ok(Request::post_json(
        s.url(&format!("{}/upsert_message_templates", s.waba_id()?)),
        &v,
    ))
}

/// Read an upsert: (id, language, status) per language.
pub fn read_upserted(status: u16, body: &[u8]) -> Result<Vec<(String, String, String)>, Error> {
    let v: Value = read_json(status, body)?;
    Ok(data_items(&v)
        .iter()
        .map(|t| {
            (
                json_text(&t["id"]),
                json_text(&t["language"]),
                json_text(&t["status"]),
            )
        })
        .collect())
}

/// What a migration copied, and what it did not with Meta's reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// The ids copied.
    pub migrated: Vec<String>,
    /// (id, reason) of those not copied.
    pub failed: Vec<(String, String)>,
}

/// `POST /{waba-id}/migrate_message_templates?source_waba_id=…&page_number=…`, into the
/// tenant's WABA.
pub fn migrate_request(s: &Settings, source: &str, page: Option<u32>) -> Result<Request, Error> {
    let source = check_node_id("source-waba-id", source)?;
    let destination = s.waba_id()?;
    if source == destination {
        return Err(invalid("source-waba-id", "is the tenant's own WABA"));
    }
    let mut path = format!("{destination}/migrate_message_templates?source_waba_id={source}");
    if let Some(p) = page {
        path.push_str(&format!("&page_number={p}"));
    }
    Ok(Request::new(Method::Post, s.url(&path)))
}

/// Read a migration. `failed_templates` is an object of id → reason in Meta's
/// reference, a list of `{id, reason}` in some answers: both are read.
pub fn read_migration(status: u16, body: &[u8]) -> Result<Migration, Error> {
    let v: Value = read_json(status, body)?;
    let migrated = v["migrated_templates"]
        .as_array()
        .map(|a| a.iter().map(json_text).collect())
        .unwrap_or_default();
    let failed = match &v["failed_templates"] {
        Value::Object(m) => m.iter().map(|(k, r)| (k.clone(), json_text(r))).collect(),
        Value::Array(a) => a
            .iter()
            .map(|f| (json_text(&f["id"]), json_text(&f["reason"])))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Migration { migrated, failed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::templates::{Body, Button, Footer};

    fn s() -> Settings {
        Settings::from_pairs([("waba-id".to_string(), "55".to_string())])
    }

    #[test]
    fn a_comparison_is_asked_for_and_read_by_metric() {
        let r = compare_request(&s(), "11", "12", 100, 200).unwrap();
        assert!(
            r.url
                .ends_with("11/compare?template_ids=%5B12%5D&start=100&end=200"),
            "{}",
            r.url
        );
        assert!(compare_request(&s(), "11", "11", 100, 200).is_err());
        assert!(compare_request(&s(), "11", "12", 200, 200).is_err());
        assert!(compare_request(&s(), "11", "1/2", 100, 200).is_err());
        let c = read_comparison(
            200,
            br#"{"data":[{"metric":"BLOCK_RATE","type":"RELATIVE","order_by_relative_metric":["12","11"]},{"metric":"MESSAGE_SENDS","type":"NUMBER_VALUES","number_values":[{"key":"11","value":2000},{"key":"12","value":1500}]},{"metric":"TOP_BLOCK_REASON","type":"STRING_VALUES","string_values":[{"key":"11","value":"SPAM"}]}]}"#,
        )
        .unwrap();
        assert_eq!(c.by_block_rate, ["12", "11"]);
        assert_eq!(
            c.sends,
            [("11".to_string(), 2000), ("12".to_string(), 1500)]
        );
        assert_eq!(
            c.top_block_reasons,
            [("11".to_string(), "SPAM".to_string())]
        );
    }

    #[test]
    fn an_unpause_says_why_it_did_not() {
        assert!(read_unpause(200, br#"{"success":true}"#).is_ok());
        let e = read_unpause(200, br#"{"success":false,"reason":"still low quality"}"#);
        assert!(matches!(e, Err(Error::Other(m)) if m.contains("still low quality")));
    }

    fn auth() -> NewTemplate {
        NewTemplate {
            name: "login_code".into(),
            language: "ignored".into(),
            category: Category::Authentication,
            named_parameters: false,
            message_send_ttl_seconds: None,
            header: None,
            limited_time_offer: None,
            body: Some(Body {
                text: None,
                add_security_recommendation: Some(true),
            }),
            footer: Some(Footer {
                text: None,
                code_expiration_minutes: Some(10),
            }),
            buttons: vec![Button::Otp {
                otp_type: "COPY_CODE".into(),
                text: Some("Copy code".into()),
                autofill_text: None,
                zero_tap_terms_accepted: None,
                supported_apps: Vec::new(),
            }],
            carousel: Vec::new(),
        }
    }

    #[test]
    fn an_authentication_template_is_upserted_in_every_language() {
        let langs = vec!["en_US".to_string(), "pt_BR".to_string()];
        let r = upsert_request(&s(), &auth(), &langs).unwrap();
        assert!(r.url.ends_with("55/upsert_message_templates"));
        let v: Value = serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["languages"], serde_json::json!(["en_US", "pt_BR"]));
        assert!(v.get("language").is_none());
        assert_eq!(v["category"], "AUTHENTICATION");
        assert!(upsert_request(&s(), &auth(), &[]).is_err());
        assert!(upsert_request(&s(), &auth(), &["english".to_string()]).is_err());
        let mut utility = auth();
        utility.category = Category::Utility;
        assert!(upsert_request(&s(), &utility, &langs).is_err());
        let got = read_upserted(
            200,
            br#"{"data":[{"id":"1","language":"en_US","status":"APPROVED"}]}"#,
        )
        .unwrap();
        assert_eq!(got, [("1".into(), "en_US".into(), "APPROVED".into())]);
    }

    #[test]
    fn a_migration_reads_both_shapes_of_failures() {
        let r = migrate_request(&s(), "77", Some(1)).unwrap();
        assert!(
            r.url
                .ends_with("55/migrate_message_templates?source_waba_id=77&page_number=1")
        );
        assert!(migrate_request(&s(), "55", None).is_err());
        let m = read_migration(
            200,
            br#"{"migrated_templates":["1","2"],"failed_templates":{"3":"Invalid language"}}"#,
        )
        .unwrap();
        assert_eq!(m.migrated, ["1", "2"]);
        assert_eq!(m.failed, [("3".into(), "Invalid language".into())]);
        let m = read_migration(
            200,
            br#"{"migrated_templates":[],"failed_templates":[{"id":"4","reason":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(m.failed, [("4".into(), "x".into())]);
    }
}
