//! Meta's template library: pre-written utility and authentication templates, browsed
//! with filters and created in the WABA by name with the business's own inputs (URLs,
//! a phone number, OTP apps), approved without review.
//!
//! Source: Meta, "Template Library" (`GET /message_template_library`, and
//! `POST /{waba-id}/message_templates` with `library_template_name`,
//! `library_template_button_inputs`, `library_template_body_inputs`).

use super::{Button, Category, check_language, check_name, check_url, invalid};
use crate::core::error::Error;
use crate::core::graph::{Request, check_cursor, encode_query, json_text, next_after, read_json};
use crate::core::settings::Settings;
use serde_json::{Map, Value, json};

/// Filters for browsing the library (each optional) and the page cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Words in the name, body or header.
    pub search: Option<String>,
    /// A topic.
    pub topic: Option<String>,
    /// A use case.
    pub usecase: Option<String>,
    /// An industry.
    pub industry: Option<String>,
    /// A language.
    pub language: Option<String>,
    /// The cursor of the previous page.
    pub after: Option<String>,
}

/// One library template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its library name.
    pub name: String,
    /// Its language.
    pub language: String,
    /// Its category.
    pub category: String,
    /// Its topic.
    pub topic: String,
    /// Its use case.
    pub usecase: String,
    /// Its body text.
    pub body: String,
    /// The whole entry, as Meta wrote it.
    pub json: String,
}

/// `GET /message_template_library` with the filters given.
pub fn list_request(s: &Settings, q: &Query) -> Result<Request, Error> {
    let mut path = String::from("message_template_library?limit=25");
    for (key, value) in [
        ("search", &q.search),
        ("topic", &q.topic),
        ("usecase", &q.usecase),
        ("industry", &q.industry),
        ("language", &q.language),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            path.push_str(&format!("&{key}={}", encode_query(v)));
        }
    }
    if let Some(a) = &q.after {
        check_cursor("after", a)?;
        path.push_str(&format!("&after={a}"));
    }
    Ok(Request::get(s.url(&path)))
}

/// Read a page of the library and the cursor of the next.
pub fn read_page(status: u16, body: &[u8]) -> Result<(Vec<Entry>, Option<String>), Error> {
    let v: Value = read_json(status, body)?;
    let entries = crate::core::graph::data_items(&v)
        .iter()
        .map(|e| Entry {
            name: json_text(&e["name"]),
            language: json_text(&e["language"]),
            category: json_text(&e["category"]),
            topic: json_text(&e["topic"]),
            usecase: json_text(&e["usecase"]),
            body: json_text(&e["body"]),
            json: e.to_string(),
        })
        .collect();
    Ok((entries, next_after(&v)))
}

/// What a library template's button needs from the business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonInput {
    /// A URL, and an example of it whole when it ends with `{{1}}`.
    Url(String, Option<String>),
    /// A phone number.
    PhoneNumber(String),
    /// A one-time-password button ([`Button::Otp`]).
    Otp(Button),
}

/// The body's options (authentication and utility templates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyInputs {
    /// Add the business's contact number.
    pub add_contact_number: Option<bool>,
    /// Add a "learn more" link.
    pub add_learn_more_link: Option<bool>,
    /// Add the security recommendation.
    pub add_security_recommendation: Option<bool>,
    /// Add a package-tracking link.
    pub add_track_package_link: Option<bool>,
    /// Minutes before the code expires.
    pub code_expiration_minutes: Option<u32>,
}

/// A template to create from the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromLibrary {
    /// The new template's name.
    pub name: String,
    /// Its language.
    pub language: String,
    /// Its category.
    pub category: Category,
    /// The library template's name.
    pub library_name: String,
    /// Button inputs.
    pub buttons: Vec<ButtonInput>,
    /// Body options.
    pub body: Option<BodyInputs>,
}

/// `POST /{waba-id}/message_templates` with the library template's name and inputs,
/// checked first (names, language, URLs, the number, the code's expiry).
pub fn create_request(s: &Settings, t: &FromLibrary) -> Result<Request, Error> {
    check_name("name", &t.name)?;
    check_language(&t.language)?;
    check_name("library-template-name", &t.library_name)?;
    if t.category == Category::Marketing {
        return Err(invalid(
            "category",
            "the library has no MARKETING templates",
        ));
    }
    let mut buttons = Vec::new();
    for (i, b) in t.buttons.iter().enumerate() {
        let field = format!("buttons[{i}]");
        buttons.push(match b {
            ButtonInput::Url(url, example) => {
                check_url(&field, url, example)?;
                let mut u = json!({ "base_url": url });
                if let Some(e) = example {
                    u["url_suffix_example"] = e.as_str().into();
                }
                json!({ "type": "URL", "url": u })
            }
            ButtonInput::PhoneNumber(n) => {
                if n.is_empty() || n.chars().count() > super::limits::PHONE_MAX {
                    return Err(invalid(field, "not a phone number"));
                }
                json!({ "type": "PHONE_NUMBER", "phone_number": n })
            }
            ButtonInput::Otp(otp) => super::button_json(otp),
        });
    }
    let mut v = json!({
        "name": t.name,
        "language": t.language,
        "category": t.category.as_str(),
        "library_template_name": t.library_name,
    });
    if !buttons.is_empty() {
        v["library_template_button_inputs"] = buttons.into();
    }
    if let Some(b) = &t.body {
        let (lo, hi) = super::limits::CODE_EXPIRATION_MINUTES;
        if b.code_expiration_minutes
            .is_some_and(|m| !(lo..=hi).contains(&m))
        {
            return Err(invalid("body.code-expiration-minutes", "must be 1 to 90"));
        }
        let mut m = Map::new();
        for (k, f) in [
            ("add_contact_number", b.add_contact_number),
            ("add_learn_more_link", b.add_learn_more_link),
            ("add_security_recommendation", b.add_security_recommendation),
            ("add_track_package_link", b.add_track_package_link),
        ] {
            if let Some(f) = f {
                m.insert(k.into(), f.into());
            }
        }
        if let Some(n) = b.code_expiration_minutes {
            m.insert("code_expiration_minutes".into(), n.into());
        }
        v["library_template_body_inputs"] = m.into();
    }
    Ok(Request::post_json(
        s.url(&format!("{}/message_templates", s.waba_id()?)),
        &v,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::from_pairs([("waba-id".to_string(), "55".to_string())])
    }

    #[test]
    fn the_library_is_browsed_with_its_filters_encoded() {
        let q = Query {
            search: Some("order shipped".into()),
            industry: Some("E_COMMERCE".into()),
            after: Some("QVFI".into()),
            ..Query::default()
        };
        let r = list_request(&s(), &q).unwrap();
        assert!(
            r.url.ends_with(
                "message_template_library?limit=25&search=order%20shipped&industry=E_COMMERCE&after=QVFI"
            ),
            "{}",
            r.url
        );
        let bad = Query {
            after: Some("a&b".into()),
            ..Query::default()
        };
        assert!(list_request(&s(), &bad).is_err());
        let (page, next) = read_page(
            200,
            br#"{"data":[{"name":"delivery_update_1","language":"en_US","category":"UTILITY","topic":"ORDER_MANAGEMENT","usecase":"DELIVERY_UPDATE","body":"Hi {{1}}"}],"paging":{"cursors":{"after":"X"},"next":"n"}}"#,
        )
        .unwrap();
        assert_eq!(
            (
                page[0].name.as_str(),
                page[0].usecase.as_str(),
                next.as_deref()
            ),
            ("delivery_update_1", "DELIVERY_UPDATE", Some("X"))
        );
        assert!(page[0].json.contains("ORDER_MANAGEMENT"));
    }

    #[test]
    fn a_library_template_is_created_with_its_inputs_checked() {
        let t = FromLibrary {
            name: "my_delivery".into(),
            language: "en_US".into(),
            category: Category::Utility,
            library_name: "delivery_update_1".into(),
            buttons: vec![
                ButtonInput::Url(
                    "https://shop.example/track/{{1}}".into(),
                    Some("https://shop.example/track/123".into()),
                ),
                ButtonInput::PhoneNumber("+15550101".into()),
            ],
            body: Some(BodyInputs {
                add_track_package_link: Some(true),
                ..BodyInputs::default()
            }),
        };
        let r = create_request(&s(), &t).unwrap();
        let v: Value = serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["library_template_name"], "delivery_update_1");
        assert_eq!(
            v["library_template_button_inputs"][0]["url"]["url_suffix_example"],
            "https://shop.example/track/123"
        );
        assert_eq!(
            v["library_template_button_inputs"][1]["phone_number"],
            "+15550101"
        );
        assert_eq!(
            v["library_template_body_inputs"],
            json!({ "add_track_package_link": true })
        );
        let mut no_example = t.clone();
        no_example.buttons[0] = ButtonInput::Url("https://shop.example/{{1}}".into(), None);
        assert!(create_request(&s(), &no_example).is_err());
        let mut marketing = t.clone();
        marketing.category = Category::Marketing;
        assert!(create_request(&s(), &marketing).is_err());
        let mut expiry = t;
        expiry.body = Some(BodyInputs {
            code_expiration_minutes: Some(91),
            ..BodyInputs::default()
        });
        assert!(create_request(&s(), &expiry).is_err());
    }
}
