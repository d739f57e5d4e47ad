//! Template management: a template's definition (every component kind Meta accepts),
//! read from and written to Meta's JSON, checked against Meta's structural rules before
//! it is submitted; the create, get, edit, delete and list-all requests; and the edit
//! rules (which statuses may be edited, the approved-category lock, and the approved
//! edit budget: once per 24 hours, 10 times per 30 days). Meta's library in [`library`];
//! comparing, unpausing, bulk authentication upserts and migration in [`lifecycle`].

use super::error::{Error, GraphError};
use super::graph::{Request, encode_query, read_json};
use super::ids::check_node_id;
use super::preflight::placeholders;
use super::settings::Settings;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub mod library;
pub mod lifecycle;

/// Meta's limits for template definitions (templates guide, "Components" and
/// "Template limits"), each in one place.
pub mod limits {
    /// `name`: characters.
    pub const NAME_MAX: usize = 512;
    /// A text header: characters.
    pub const HEADER_TEXT_MAX: usize = 60;
    /// The body: characters.
    pub const BODY_MAX: usize = 1024;
    /// A carousel card's body: characters.
    pub const CARD_BODY_MAX: usize = 160;
    /// The footer: characters.
    pub const FOOTER_MAX: usize = 60;
    /// Buttons per template.
    pub const BUTTONS_MAX: usize = 10;
    /// A button's text: characters.
    pub const BUTTON_TEXT_MAX: usize = 25;
    /// URL buttons per template.
    pub const URL_BUTTONS_MAX: usize = 2;
    /// A button URL: characters.
    pub const URL_MAX: usize = 2000;
    /// A phone-number button's number: characters.
    pub const PHONE_MAX: usize = 20;
    /// A copy-code button's example code: characters.
    pub const COPY_CODE_MAX: usize = 15;
    /// Cards in a carousel.
    pub const CARDS: (usize, usize) = (2, 10);
    /// Buttons per carousel card.
    pub const CARD_BUTTONS_MAX: usize = 2;
    /// A limited-time offer's text: characters.
    pub const OFFER_TEXT_MAX: usize = 16;
    /// Authentication `code_expiration_minutes`.
    pub const CODE_EXPIRATION_MINUTES: (u32, u32) = (1, 90);
    /// Approved edits: at most one per this many seconds…
    pub const EDIT_INTERVAL_SECS: u64 = 24 * 3600;
    /// …and at most this many per [`EDIT_WINDOW_SECS`].
    pub const EDITS_PER_WINDOW: usize = 10;
    /// The window of [`EDITS_PER_WINDOW`].
    pub const EDIT_WINDOW_SECS: u64 = 30 * 24 * 3600;
}

/// A template's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `MARKETING`
    Marketing,
    /// `UTILITY`
    Utility,
    /// `AUTHENTICATION`
    Authentication,
}

impl Category {
    /// Meta's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Marketing => "MARKETING",
            Category::Utility => "UTILITY",
            Category::Authentication => "AUTHENTICATION",
        }
    }

    /// From Meta's spelling (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "MARKETING" => Some(Category::Marketing),
            "UTILITY" => Some(Category::Utility),
            "AUTHENTICATION" => Some(Category::Authentication),
            _ => None,
        }
    }
}

/// A text with `{{…}}` placeholders and an example value for each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextWithExamples {
    /// The text.
    pub text: String,
    /// Positional examples (`{{1}}`, `{{2}}`, …), in order.
    pub examples: Vec<String>,
    /// Named examples (`{{first_name}}`): (name, example).
    pub named_examples: Vec<(String, String)>,
}

/// The header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// Text, at most one placeholder.
    Text(TextWithExamples),
    /// An image; the example is a resumable-upload handle (`4::…`).
    Image(String),
    /// A video, with an upload handle.
    Video(String),
    /// A document, with an upload handle.
    Document(String),
    /// A location given when sending.
    Location,
    /// A product (single-product templates).
    Product,
}

/// The body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    /// The text with its examples (none for authentication templates).
    pub text: Option<TextWithExamples>,
    /// Authentication: add Meta's security recommendation.
    pub add_security_recommendation: Option<bool>,
}

/// The footer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Footer {
    /// Its text (none for authentication templates).
    pub text: Option<String>,
    /// Authentication: the code expires after this many minutes.
    pub code_expiration_minutes: Option<u32>,
}

/// An app that may autofill a one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedApp {
    /// The Android package name.
    pub package_name: String,
    /// The app's signing-key hash.
    pub signature_hash: String,
}

/// A button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// A quick reply.
    QuickReply(String),
    /// A URL, optionally with one placeholder at its end and an example.
    Url {
        /// The button's text.
        text: String,
        /// The URL.
        url: String,
        /// The example (the suffix, or the whole URL).
        example: Option<String>,
    },
    /// Calls a number.
    PhoneNumber {
        /// The button's text.
        text: String,
        /// The number.
        phone_number: String,
    },
    /// Copies a code (an offer code); the example code.
    CopyCode(String),
    /// A one-time password (authentication templates).
    Otp {
        /// `COPY_CODE`, `ONE_TAP` or `ZERO_TAP`.
        otp_type: String,
        /// The button's text.
        text: Option<String>,
        /// One-tap: the autofill button's text.
        autofill_text: Option<String>,
        /// Zero-tap: the terms were accepted.
        zero_tap_terms_accepted: Option<bool>,
        /// One-tap and zero-tap: the apps.
        supported_apps: Vec<SupportedApp>,
    },
    /// Opens a flow: exactly one of `flow_id`, `flow_name`, `flow_json`.
    Flow {
        /// The button's text.
        text: String,
        /// A published flow's id.
        flow_id: Option<String>,
        /// A flow's name.
        flow_name: Option<String>,
        /// A flow's JSON, inline.
        flow_json: Option<String>,
        /// `navigate` or `data_exchange`.
        flow_action: Option<String>,
        /// The first screen (navigate).
        navigate_screen: Option<String>,
    },
    /// Opens the catalog.
    Catalog(String),
    /// Multi-product message.
    Mpm(String),
    /// Single-product message.
    Spm(String),
}

/// A carousel card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// An image, video or product header (the same kind on every card).
    pub header: Header,
    /// The card's body.
    pub body: Option<TextWithExamples>,
    /// One or two buttons (the same kinds in the same order on every card).
    pub buttons: Vec<Button>,
}

/// A limited-time offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitedTimeOffer {
    /// The offer's text (at most 16 characters).
    pub text: String,
    /// The offer has an expiry (given when sending).
    pub has_expiration: bool,
}

/// A template to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    /// Lowercase letters, digits and underscores.
    pub name: String,
    /// `en_US`, `pt_BR`, …
    pub language: String,
    /// The category.
    pub category: Category,
    /// Placeholders are `NAMED` (`{{first_name}}`) rather than `POSITIONAL`.
    pub named_parameters: bool,
    /// Authentication: how long Meta tries to deliver it.
    pub message_send_ttl_seconds: Option<u32>,
    /// The header.
    pub header: Option<Header>,
    /// A limited-time offer.
    pub limited_time_offer: Option<LimitedTimeOffer>,
    /// The body.
    pub body: Option<Body>,
    /// The footer.
    pub footer: Option<Footer>,
    /// The buttons.
    pub buttons: Vec<Button>,
    /// A carousel's cards.
    pub carousel: Vec<Card>,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::invalid(field, reason)
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

// ---------------------------------------------------------------------------------
// Meta's JSON → a definition.

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn text_with_examples(c: &Value, positional: &str, named: &str) -> Option<TextWithExamples> {
    let text = str_at(c, "text")?.to_string();
    let example = &c["example"];
    let examples = match &example[positional] {
        // `body_text` is a list of one list; `header_text` a flat list.
        Value::Array(a) => match a.first() {
            Some(Value::Array(inner)) => inner
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        },
        _ => Vec::new(),
    };
    let named_examples = example[named]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        str_at(p, "param_name")?.to_string(),
                        str_at(p, "example")?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TextWithExamples {
        text,
        examples,
        named_examples,
    })
}

fn header_from(c: &Value, field: &str) -> Result<Header, Error> {
    let handle = || {
        c["example"]["header_handle"]
            .get(0)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let format = str_at(c, "format").unwrap_or("TEXT").to_ascii_uppercase();
    Ok(match format.as_str() {
        "TEXT" => Header::Text(
            text_with_examples(c, "header_text", "header_text_named_params")
                .ok_or_else(|| invalid(format!("{field}.text"), "a TEXT header needs its text"))?,
        ),
        "IMAGE" => Header::Image(handle()),
        "VIDEO" => Header::Video(handle()),
        "DOCUMENT" => Header::Document(handle()),
        "LOCATION" => Header::Location,
        "PRODUCT" => Header::Product,
        other => {
            return Err(invalid(
                format!("{field}.format"),
                format!("must be TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION or PRODUCT, not {other}"),
            ));
        }
    })
}

fn button_from(b: &Value, field: &str) -> Result<Button, Error> {
    let text = || str_at(b, "text").unwrap_or("").to_string();
    let opt = |k: &str| str_at(b, k).map(str::to_string);
    let kind = str_at(b, "type").unwrap_or("").to_ascii_uppercase();
    Ok(match kind.as_str() {
        "QUICK_REPLY" => Button::QuickReply(text()),
        "URL" => Button::Url {
            text: text(),
            url: opt("url").unwrap_or_default(),
            example: b["example"]
                .get(0)
                .or(Some(&b["example"]))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        "PHONE_NUMBER" => Button::PhoneNumber {
            text: text(),
            phone_number: opt("phone_number").unwrap_or_default(),
        },
        "COPY_CODE" => Button::CopyCode(
            b["example"]
                .as_str()
                .or_else(|| b["example"].get(0).and_then(Value::as_str))
                .unwrap_or("")
                .to_string(),
        ),
        "OTP" => Button::Otp {
            otp_type: opt("otp_type").unwrap_or_default(),
            text: opt("text"),
            autofill_text: opt("autofill_text"),
            zero_tap_terms_accepted: b["zero_tap_terms_accepted"].as_bool(),
            supported_apps: b["supported_apps"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|app| SupportedApp {
                            package_name: str_at(app, "package_name").unwrap_or("").into(),
                            signature_hash: str_at(app, "signature_hash").unwrap_or("").into(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        "FLOW" => Button::Flow {
            text: text(),
            flow_id: opt("flow_id"),
            flow_name: opt("flow_name"),
            flow_json: opt("flow_json"),
            flow_action: opt("flow_action"),
            navigate_screen: opt("navigate_screen"),
        },
        "CATALOG" => Button::Catalog(text()),
        "MPM" => Button::Mpm(text()),
        "SPM" => Button::Spm(text()),
        other => {
            return Err(invalid(
                format!("{field}.type"),
                format!(
                    "must be QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, CATALOG, MPM or SPM, not {other:?}"
                ),
            ));
        }
    })
}

fn buttons_from(c: &Value, field: &str) -> Result<Vec<Button>, Error> {
    c["buttons"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, b)| button_from(b, &format!("{field}.buttons[{i}]")))
        .collect()
}

impl NewTemplate {
    /// Read a template in Meta's JSON (`name`, `language`, `category`, `components`, …),
    /// as the templates guide writes them. Unknown component types are refused.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let category = str_at(v, "category")
            .and_then(Category::parse)
            .ok_or_else(|| invalid("category", "must be MARKETING, UTILITY or AUTHENTICATION"))?;
        let mut t = NewTemplate {
            name: str_at(v, "name").unwrap_or("").to_string(),
            language: str_at(v, "language").unwrap_or("").to_string(),
            category,
            named_parameters: str_at(v, "parameter_format")
                .is_some_and(|f| f.eq_ignore_ascii_case("NAMED")),
            message_send_ttl_seconds: v["message_send_ttl_seconds"]
                .as_u64()
                .map(|n| n.min(u32::MAX as u64) as u32),
            header: None,
            limited_time_offer: None,
            body: None,
            footer: None,
            buttons: Vec::new(),
            carousel: Vec::new(),
        };
        let components = v["components"]
            .as_array()
            .ok_or_else(|| invalid("components", "must be a list"))?;
        for (i, c) in components.iter().enumerate() {
            let field = format!("components[{i}]");
            match str_at(c, "type")
                .unwrap_or("")
                .to_ascii_uppercase()
                .as_str()
            {
                "HEADER" => t.header = Some(header_from(c, &field)?),
                "BODY" => {
                    t.body = Some(Body {
                        text: text_with_examples(c, "body_text", "body_text_named_params"),
                        add_security_recommendation: c["add_security_recommendation"].as_bool(),
                    })
                }
                "FOOTER" => {
                    t.footer = Some(Footer {
                        text: str_at(c, "text").map(str::to_string),
                        code_expiration_minutes: c["code_expiration_minutes"]
                            .as_u64()
                            .map(|n| n.min(u32::MAX as u64) as u32),
                    })
                }
                "BUTTONS" => t.buttons = buttons_from(c, &field)?,
                "LIMITED_TIME_OFFER" => {
                    let o = &c["limited_time_offer"];
                    t.limited_time_offer = Some(LimitedTimeOffer {
                        text: str_at(o, "text").unwrap_or("").to_string(),
                        has_expiration: o["has_expiration"].as_bool().unwrap_or(false),
                    })
                }
                "CAROUSEL" => {
                    let cards = c["cards"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                    for (j, card) in cards.iter().enumerate() {
                        let cf = format!("{field}.cards[{j}]");
                        let mut header = None;
                        let mut body = None;
                        let mut buttons = Vec::new();
                        for (k, cc) in card["components"]
                            .as_array()
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                            .iter()
                            .enumerate()
                        {
                            let f = format!("{cf}.components[{k}]");
                            match str_at(cc, "type")
                                .unwrap_or("")
                                .to_ascii_uppercase()
                                .as_str()
                            {
                                "HEADER" => header = Some(header_from(cc, &f)?),
                                "BODY" => {
                                    body = text_with_examples(
                                        cc,
                                        "body_text",
                                        "body_text_named_params",
                                    )
                                }
                                "BUTTONS" => buttons = buttons_from(cc, &f)?,
                                other => {
                                    return Err(invalid(
                                        format!("{f}.type"),
                                        format!(
                                            "a card has HEADER, BODY and BUTTONS, not {other:?}"
                                        ),
                                    ));
                                }
                            }
                        }
                        t.carousel.push(Card {
                            header: header.ok_or_else(|| {
                                invalid(
                                    format!("{cf}.components"),
                                    "a card needs an IMAGE or VIDEO header",
                                )
                            })?,
                            body,
                            buttons,
                        });
                    }
                }
                other => {
                    return Err(invalid(
                        format!("{field}.type"),
                        format!(
                            "must be HEADER, BODY, FOOTER, BUTTONS, LIMITED_TIME_OFFER or CAROUSEL, not {other:?}"
                        ),
                    ));
                }
            }
        }
        Ok(t)
    }
}

// ---------------------------------------------------------------------------------
// A definition → Meta's JSON.

fn text_json(
    kind: &str,
    t: &TextWithExamples,
    positional: &str,
    named: &str,
    nested: bool,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), kind.into());
    if kind == "HEADER" {
        m.insert("format".into(), "TEXT".into());
    }
    m.insert("text".into(), t.text.clone().into());
    if !t.examples.is_empty() {
        let list: Value = t.examples.clone().into();
        m.insert(
            "example".into(),
            json!({ positional: if nested { json!([list]) } else { list } }),
        );
    } else if !t.named_examples.is_empty() {
        let params: Vec<Value> = t
            .named_examples
            .iter()
            .map(|(n, e)| json!({ "param_name": n, "example": e }))
            .collect();
        m.insert("example".into(), json!({ named: params }));
    }
    m
}

fn header_json(h: &Header) -> Value {
    let media = |format: &str, handle: &str| {
        let mut m = json!({ "type": "HEADER", "format": format });
        if !handle.is_empty() {
            m["example"] = json!({ "header_handle": [handle] });
        }
        m
    };
    match h {
        Header::Text(t) => Value::Object(text_json(
            "HEADER",
            t,
            "header_text",
            "header_text_named_params",
            false,
        )),
        Header::Image(h) => media("IMAGE", h),
        Header::Video(h) => media("VIDEO", h),
        Header::Document(h) => media("DOCUMENT", h),
        Header::Location => json!({ "type": "HEADER", "format": "LOCATION" }),
        Header::Product => json!({ "type": "HEADER", "format": "PRODUCT" }),
    }
}

fn button_json(b: &Button) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    let s = |v: &str| Some(Value::from(v));
    let o = |v: &Option<String>| v.as_deref().map(Value::from);
    match b {
        Button::QuickReply(t) => {
            put("type", s("QUICK_REPLY"));
            put("text", s(t));
        }
        Button::Url { text, url, example } => {
            put("type", s("URL"));
            put("text", s(text));
            put("url", s(url));
            put("example", example.as_ref().map(|e| json!([e])));
        }
        Button::PhoneNumber { text, phone_number } => {
            put("type", s("PHONE_NUMBER"));
            put("text", s(text));
            put("phone_number", s(phone_number));
        }
        Button::CopyCode(e) => {
            put("type", s("COPY_CODE"));
            put("example", s(e));
        }
        Button::Otp {
            otp_type,
            text,
            autofill_text,
            zero_tap_terms_accepted,
            supported_apps,
        } => {
            put("type", s("OTP"));
            put("otp_type", s(otp_type));
            put("text", o(text));
            put("autofill_text", o(autofill_text));
            put(
                "zero_tap_terms_accepted",
                zero_tap_terms_accepted.map(Value::from),
            );
            if !supported_apps.is_empty() {
                let apps = supported_apps
                    .iter()
                    .map(|a| json!({ "package_name": a.package_name, "signature_hash": a.signature_hash }))
                    .collect::<Vec<_>>();
                put("supported_apps", Some(apps.into()));
            }
        }
        Button::Flow {
            text,
            flow_id,
            flow_name,
            flow_json,
            flow_action,
            navigate_screen,
        } => {
            put("type", s("FLOW"));
            put("text", s(text));
            put("flow_id", o(flow_id));
            put("flow_name", o(flow_name));
            put("flow_json", o(flow_json));
            put("flow_action", o(flow_action));
            put("navigate_screen", o(navigate_screen));
        }
        Button::Catalog(t) => {
            put("type", s("CATALOG"));
            put("text", s(t));
        }
        Button::Mpm(t) => {
            put("type", s("MPM"));
            put("text", s(t));
        }
        Button::Spm(t) => {
            put("type", s("SPM"));
            put("text", s(t));
        }
    }
    Value::Object(m)
}

impl NewTemplate {
    /// The `components` list, in Meta's JSON.
    pub fn components_json(&self) -> Value {
        let mut out = Vec::new();
        if let Some(h) = &self.header {
            out.push(header_json(h));
        }
        if let Some(o) = &self.limited_time_offer {
            out.push(json!({ "type": "LIMITED_TIME_OFFER",
                "limited_time_offer": { "text": o.text, "has_expiration": o.has_expiration } }));
        }
        if let Some(b) = &self.body {
            let mut m = match &b.text {
                Some(t) => text_json("BODY", t, "body_text", "body_text_named_params", true),
                None => {
                    let mut m = Map::new();
                    m.insert("type".into(), "BODY".into());
                    m
                }
            };
            if let Some(r) = b.add_security_recommendation {
                m.insert("add_security_recommendation".into(), r.into());
            }
            out.push(Value::Object(m));
        }
        if !self.carousel.is_empty() {
            let cards: Vec<Value> = self
                .carousel
                .iter()
                .map(|c| {
                    let mut comps = vec![header_json(&c.header)];
                    if let Some(b) = &c.body {
                        comps.push(Value::Object(text_json("BODY", b, "body_text", "body_text_named_params", true)));
                    }
                    if !c.buttons.is_empty() {
                        comps.push(json!({ "type": "BUTTONS", "buttons": c.buttons.iter().map(button_json).collect::<Vec<_>>() }));
                    }
                    json!({ "components": comps })
                })
                .collect();
            out.push(json!({ "type": "CAROUSEL", "cards": cards }));
        }
        if let Some(f) = &self.footer {
            let mut m = json!({ "type": "FOOTER" });
            if let Some(t) = &f.text {
                m["text"] = t.clone().into();
            }
            if let Some(n) = f.code_expiration_minutes {
                m["code_expiration_minutes"] = n.into();
            }
            out.push(m);
        }
        if !self.buttons.is_empty() {
            out.push(json!({ "type": "BUTTONS", "buttons": self.buttons.iter().map(button_json).collect::<Vec<_>>() }));
        }
        out.into()
    }

    /// The whole template in Meta's JSON: the body of `POST /{waba-id}/message_templates`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "language": self.language,
            "category": self.category.as_str(),
            "components": self.components_json(),
        });
        if self.named_parameters {
            v["parameter_format"] = "NAMED".into();
        }
        if let Some(ttl) = self.message_send_ttl_seconds {
            v["message_send_ttl_seconds"] = ttl.into();
        }
        v
    }
}

// ---------------------------------------------------------------------------------
// Meta's structural rules.

/// Check a name: lowercase letters, digits and underscores, 1 to 512 characters.
pub fn check_name(field: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() || chars(name) > limits::NAME_MAX {
        return Err(invalid(
            field,
            format!("must be 1 to {} characters", limits::NAME_MAX),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid(
            field,
            "may hold only lowercase letters, digits and underscores",
        ));
    }
    Ok(())
}

fn check_language(language: &str) -> Result<(), Error> {
    let (lang, region) = language.split_once('_').unwrap_or((language, ""));
    let ok = (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && (region.is_empty()
            || ((2..=4).contains(&region.len())
                && region.bytes().all(|b| b.is_ascii_alphanumeric())));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "language",
            "must be a language code such as en, en_US or pt_BR",
        ))
    }
}

/// Check a text's placeholders and examples: positional ones are `{{1}}` … `{{n}}` in
/// order, named ones are lowercase with underscores; each has one example; the text
/// neither starts nor ends with one.
fn check_text(
    field: &str,
    t: &TextWithExamples,
    named: bool,
    max: usize,
    max_params: Option<usize>,
) -> Result<(), Error> {
    if t.text.trim().is_empty() {
        return Err(invalid(format!("{field}.text"), "must not be empty"));
    }
    if chars(&t.text) > max {
        return Err(invalid(
            format!("{field}.text"),
            format!("must be at most {max} characters"),
        ));
    }
    let params = placeholders(&t.text);
    if let Some(m) = max_params
        && params.len() > m
    {
        return Err(invalid(
            format!("{field}.text"),
            format!("may hold at most {m} placeholder"),
        ));
    }
    if params.is_empty() {
        return Ok(());
    }
    let trimmed = t.text.trim();
    if trimmed.starts_with("{{") || trimmed.ends_with("}}") {
        return Err(invalid(
            format!("{field}.text"),
            "must not start or end with a placeholder",
        ));
    }
    if named {
        let mut seen: Vec<&str> = Vec::new();
        for p in &params {
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(invalid(
                    format!("{field}.text"),
                    format!(
                        "named placeholder {{{{{p}}}}} must be lowercase letters, digits and underscores"
                    ),
                ));
            }
            if !seen.contains(&p.as_str()) {
                seen.push(p);
            }
        }
        for p in &seen {
            if !t
                .named_examples
                .iter()
                .any(|(n, e)| n == p && !e.is_empty())
            {
                return Err(invalid(
                    format!("{field}.named-examples"),
                    format!("needs an example for {{{{{p}}}}}"),
                ));
            }
        }
        if t.named_examples.len() != seen.len() {
            return Err(invalid(
                format!("{field}.named-examples"),
                "must give one example per placeholder, no more",
            ));
        }
    } else {
        for (i, p) in params.iter().enumerate() {
            if p.parse::<usize>() != Ok(i + 1) {
                return Err(invalid(
                    format!("{field}.text"),
                    format!(
                        "positional placeholders must be {{{{1}}}}, {{{{2}}}}, … in order; found {{{{{p}}}}} at position {}",
                        i + 1
                    ),
                ));
            }
        }
        if t.examples.len() != params.len() || t.examples.iter().any(|e| e.is_empty()) {
            return Err(invalid(
                format!("{field}.examples"),
                format!(
                    "must give {} non-empty example(s), one per placeholder",
                    params.len()
                ),
            ));
        }
    }
    Ok(())
}

fn check_url(field: &str, url: &str, example: &Option<String>) -> Result<(), Error> {
    if !(url.starts_with("https://") || url.starts_with("http://")) || chars(url) > limits::URL_MAX
    {
        return Err(invalid(
            field,
            format!(
                "must be an http(s) URL of at most {} characters",
                limits::URL_MAX
            ),
        ));
    }
    let params = placeholders(url);
    match params.len() {
        0 => Ok(()),
        1 if url.ends_with("}}") && params[0] == "1" => match example {
            Some(e) if !e.is_empty() => Ok(()),
            _ => Err(invalid(field, "a URL with a placeholder needs an example")),
        },
        _ => Err(invalid(
            field,
            "may hold one placeholder, {{1}}, at its end",
        )),
    }
}

fn check_button_text(field: &str, text: &str) -> Result<(), Error> {
    if text.trim().is_empty() || chars(text) > limits::BUTTON_TEXT_MAX {
        return Err(invalid(
            field,
            format!("must be 1 to {} characters", limits::BUTTON_TEXT_MAX),
        ));
    }
    Ok(())
}

fn check_buttons(field: &str, buttons: &[Button], category: Category) -> Result<(), Error> {
    if buttons.len() > limits::BUTTONS_MAX {
        return Err(invalid(
            field,
            format!("at most {} buttons", limits::BUTTONS_MAX),
        ));
    }
    let count = |f: fn(&Button) -> bool| buttons.iter().filter(|b| f(b)).count();
    if count(|b| matches!(b, Button::Url { .. })) > limits::URL_BUTTONS_MAX {
        return Err(invalid(
            field,
            format!("at most {} URL buttons", limits::URL_BUTTONS_MAX),
        ));
    }
    for (kind, f) in [
        (
            "PHONE_NUMBER",
            (|b: &Button| matches!(b, Button::PhoneNumber { .. })) as fn(&Button) -> bool,
        ),
        ("COPY_CODE", |b| matches!(b, Button::CopyCode(_))),
        ("FLOW", |b| matches!(b, Button::Flow { .. })),
        ("OTP", |b| matches!(b, Button::Otp { .. })),
        ("CATALOG", |b| matches!(b, Button::Catalog(_))),
        ("MPM", |b| matches!(b, Button::Mpm(_))),
        ("SPM", |b| matches!(b, Button::Spm(_))),
    ] {
        if count(f) > 1 {
            return Err(invalid(field, format!("at most one {kind} button")));
        }
    }
    // Quick replies are grouped: no other button between two of them.
    let qr: Vec<usize> = buttons
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, Button::QuickReply(_)))
        .map(|(i, _)| i)
        .collect();
    if let (Some(first), Some(last)) = (qr.first(), qr.last())
        && last - first + 1 != qr.len()
    {
        return Err(invalid(
            field,
            "quick-reply buttons must be grouped together",
        ));
    }
    let otp = count(|b| matches!(b, Button::Otp { .. }));
    if category == Category::Authentication && (otp != 1 || buttons.len() != 1) {
        return Err(invalid(
            field,
            "an AUTHENTICATION template has exactly one OTP button",
        ));
    }
    if category != Category::Authentication && otp > 0 {
        return Err(invalid(
            field,
            "OTP buttons are for AUTHENTICATION templates only",
        ));
    }
    for (i, b) in buttons.iter().enumerate() {
        let f = format!("{field}[{i}]");
        match b {
            Button::QuickReply(t) | Button::Catalog(t) | Button::Mpm(t) | Button::Spm(t) => {
                check_button_text(&format!("{f}.text"), t)?
            }
            Button::Url { text, url, example } => {
                check_button_text(&format!("{f}.text"), text)?;
                check_url(&format!("{f}.url"), url, example)?;
            }
            Button::PhoneNumber { text, phone_number } => {
                check_button_text(&format!("{f}.text"), text)?;
                let digits = phone_number.strip_prefix('+').unwrap_or(phone_number);
                if digits.is_empty()
                    || chars(phone_number) > limits::PHONE_MAX
                    || !digits.bytes().all(|c| c.is_ascii_digit())
                {
                    return Err(invalid(
                        format!("{f}.phone-number"),
                        format!(
                            "must be a number of at most {} characters",
                            limits::PHONE_MAX
                        ),
                    ));
                }
            }
            Button::CopyCode(e) => {
                if e.is_empty() || chars(e) > limits::COPY_CODE_MAX {
                    return Err(invalid(
                        format!("{f}.example"),
                        format!("must be 1 to {} characters", limits::COPY_CODE_MAX),
                    ));
                }
            }
            Button::Otp {
                otp_type,
                supported_apps,
                zero_tap_terms_accepted,
                ..
            } => match otp_type.as_str() {
                "COPY_CODE" => {}
                "ONE_TAP" | "ZERO_TAP" => {
                    if supported_apps.is_empty()
                        || supported_apps
                            .iter()
                            .any(|a| a.package_name.is_empty() || a.signature_hash.is_empty())
                    {
                        return Err(invalid(
                            format!("{f}.supported-apps"),
                            format!("{otp_type} needs each app's package name and signature hash"),
                        ));
                    }
                    if otp_type == "ZERO_TAP" && *zero_tap_terms_accepted != Some(true) {
                        return Err(invalid(
                            format!("{f}.zero-tap-terms-accepted"),
                            "ZERO_TAP needs the terms accepted",
                        ));
                    }
                }
                other => {
                    return Err(invalid(
                        format!("{f}.otp-type"),
                        format!("must be COPY_CODE, ONE_TAP or ZERO_TAP, not {other:?}"),
                    ));
                }
            },
            Button::Flow {
                text,
                flow_id,
                flow_name,
                flow_json,
                flow_action,
                ..
            } => {
                check_button_text(&format!("{f}.text"), text)?;
                let given = [flow_id, flow_name, flow_json]
                    .iter()
                    .filter(|x| x.is_some())
                    .count();
                if given != 1 {
                    return Err(invalid(
                        f.clone(),
                        "needs exactly one of flow-id, flow-name and flow-json",
                    ));
                }
                if let Some(a) = flow_action
                    && a != "navigate"
                    && a != "data_exchange"
                {
                    return Err(invalid(
                        format!("{f}.flow-action"),
                        "must be navigate or data_exchange",
                    ));
                }
            }
        }
    }
    Ok(())
}

impl NewTemplate {
    /// Check the template against Meta's structural rules, so that a template Meta would
    /// refuse on its shape is refused here, with the field, before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        check_name("name", &self.name)?;
        check_language(&self.language)?;
        let named = self.named_parameters;
        let auth = self.category == Category::Authentication;
        match &self.header {
            Some(Header::Text(t)) => {
                check_text("header", t, named, limits::HEADER_TEXT_MAX, Some(1))?
            }
            Some(Header::Image(h) | Header::Video(h) | Header::Document(h)) if h.is_empty() => {
                return Err(invalid(
                    "header",
                    "a media header needs an example: a resumable-upload handle (media.upload-session)",
                ));
            }
            _ => {}
        }
        if auth && self.header.is_some() {
            return Err(invalid("header", "AUTHENTICATION templates have no header"));
        }
        match &self.body {
            None => return Err(invalid("body", "a template needs a body")),
            Some(b) => match (&b.text, auth) {
                (Some(_), true) => {
                    return Err(invalid(
                        "body.text",
                        "AUTHENTICATION templates have Meta's fixed text; set add-security-recommendation instead",
                    ));
                }
                (None, false) => return Err(invalid("body.text", "must not be empty")),
                (Some(t), false) => check_text("body", t, named, limits::BODY_MAX, None)?,
                (None, true) => {}
            },
        }
        if let Some(f) = &self.footer {
            match (&f.text, auth) {
                (Some(t), _) if t.trim().is_empty() || chars(t) > limits::FOOTER_MAX => {
                    return Err(invalid(
                        "footer.text",
                        format!("must be 1 to {} characters", limits::FOOTER_MAX),
                    ));
                }
                (Some(t), _) if !placeholders(t).is_empty() => {
                    return Err(invalid("footer.text", "may hold no placeholder"));
                }
                (Some(_), true) => {
                    return Err(invalid(
                        "footer.text",
                        "AUTHENTICATION footers carry code-expiration-minutes only",
                    ));
                }
                _ => {}
            }
            if let Some(m) = f.code_expiration_minutes {
                let (lo, hi) = limits::CODE_EXPIRATION_MINUTES;
                if !auth || !(lo..=hi).contains(&m) {
                    return Err(invalid(
                        "footer.code-expiration-minutes",
                        format!("{lo} to {hi}, AUTHENTICATION templates only"),
                    ));
                }
            }
        }
        check_buttons("buttons", &self.buttons, self.category)?;
        if let Some(o) = &self.limited_time_offer {
            if self.category != Category::Marketing {
                return Err(invalid("limited-time-offer", "MARKETING templates only"));
            }
            if o.text.trim().is_empty() || chars(&o.text) > limits::OFFER_TEXT_MAX {
                return Err(invalid(
                    "limited-time-offer.text",
                    format!("must be 1 to {} characters", limits::OFFER_TEXT_MAX),
                ));
            }
            if self.footer.is_some() {
                return Err(invalid("footer", "a limited-time offer has no footer"));
            }
        }
        if !self.carousel.is_empty() {
            let (lo, hi) = limits::CARDS;
            if self.category != Category::Marketing {
                return Err(invalid("carousel", "MARKETING templates only"));
            }
            if !(lo..=hi).contains(&self.carousel.len()) {
                return Err(invalid("carousel", format!("{lo} to {hi} cards")));
            }
            if self.header.is_some() || !self.buttons.is_empty() {
                return Err(invalid(
                    "carousel",
                    "a carousel template has no header or buttons of its own, only its cards'",
                ));
            }
            let kind = |c: &Card| std::mem::discriminant(&c.header);
            let button_kinds = |c: &Card| {
                c.buttons
                    .iter()
                    .map(std::mem::discriminant)
                    .collect::<Vec<_>>()
            };
            for (i, c) in self.carousel.iter().enumerate() {
                let f = format!("carousel[{i}]");
                if !matches!(
                    c.header,
                    Header::Image(_) | Header::Video(_) | Header::Product
                ) {
                    return Err(invalid(
                        format!("{f}.header"),
                        "a card's header is an IMAGE, a VIDEO or a PRODUCT",
                    ));
                }
                if matches!(&c.header, Header::Image(h) | Header::Video(h) if h.is_empty()) {
                    return Err(invalid(
                        format!("{f}.header"),
                        "needs an example: a resumable-upload handle",
                    ));
                }
                if kind(c) != kind(&self.carousel[0]) {
                    return Err(invalid(
                        format!("{f}.header"),
                        "every card has the same kind of header",
                    ));
                }
                if let Some(b) = &c.body {
                    check_text(&format!("{f}.body"), b, named, limits::CARD_BODY_MAX, None)?;
                }
                if c.buttons.is_empty() || c.buttons.len() > limits::CARD_BUTTONS_MAX {
                    return Err(invalid(
                        format!("{f}.buttons"),
                        format!("1 to {} buttons", limits::CARD_BUTTONS_MAX),
                    ));
                }
                if button_kinds(c) != button_kinds(&self.carousel[0]) {
                    return Err(invalid(
                        format!("{f}.buttons"),
                        "every card has the same kinds of buttons in the same order",
                    ));
                }
                check_buttons(&format!("{f}.buttons"), &c.buttons, self.category)?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Requests.

/// The fields asked for when a template is read whole.
pub const FIELDS: &str =
    "id,name,language,status,category,parameter_format,components,rejected_reason,quality_score";

/// `POST /{waba-id}/message_templates`, after [`NewTemplate::validate`].
pub fn create_request(s: &Settings, t: &NewTemplate) -> Result<Request, Error> {
    t.validate()?;
    Ok(Request::post_json(
        s.url(&format!("{}/message_templates", s.waba_id()?)),
        &t.to_json(),
    ))
}

/// Meta's answer to a create.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Created {
    /// The new template's id.
    pub id: String,
    /// `PENDING` (under review), `APPROVED` or `REJECTED`.
    #[serde(default)]
    pub status: String,
    /// The category Meta gave it.
    #[serde(default)]
    pub category: String,
}

/// Read a create's answer.
pub fn read_created(status: u16, body: &[u8]) -> Result<Created, Error> {
    read_json(status, body)
}

/// `GET /{template-id}` with every field.
pub fn get_request(s: &Settings, id: &str) -> Result<Request, Error> {
    let id = check_node_id("template-id", id)?;
    Ok(Request::get(s.url(&format!("{id}?fields={FIELDS}"))))
}

/// A template as Meta returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Details {
    /// id
    pub id: String,
    /// name
    #[serde(default)]
    pub name: String,
    /// language
    #[serde(default)]
    pub language: String,
    /// status
    #[serde(default)]
    pub status: String,
    /// category
    #[serde(default)]
    pub category: String,
    /// `POSITIONAL` or `NAMED`
    #[serde(default)]
    pub parameter_format: Option<String>,
    /// The components, Meta's JSON.
    #[serde(default)]
    pub components: Value,
    /// Why it was rejected.
    #[serde(default)]
    pub rejected_reason: Option<String>,
    /// `quality_score.score`
    #[serde(default)]
    pub quality_score: Option<Value>,
}

impl Details {
    /// The whole template as Meta's JSON (what [`crate::core::preflight::definition`] reads).
    pub fn json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "language": self.language, "status": self.status,
            "category": self.category, "parameter_format": self.parameter_format,
            "components": self.components,
        })
    }
}

/// Read a template.
pub fn read_details(status: u16, body: &[u8]) -> Result<Details, Error> {
    read_json(status, body)
}

/// `GET /{waba-id}/message_templates` with every field: one page of a sync.
pub fn sync_page_request(s: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut url = s.url(&format!(
        "{}/message_templates?fields={FIELDS}&limit=100",
        s.waba_id()?
    ));
    if let Some(a) = after {
        url.push_str(&format!("&after={}", encode_query(a)));
    }
    Ok(Request::get(url))
}

/// Read a page of a sync.
pub fn read_sync_page(status: u16, body: &[u8]) -> Result<super::listing::Page<Details>, Error> {
    super::listing::read_page(status, body)
}

/// The statuses a template may be edited in.
pub const EDITABLE: [&str; 3] = ["APPROVED", "REJECTED", "PAUSED"];

/// Whether an edit of `current` to `category` (and components) may be submitted now,
/// given the times (Unix seconds) of the approved template's earlier edits.
pub fn check_edit(
    current: &Details,
    category: Option<Category>,
    history: &[u64],
    now: u64,
) -> Result<(), Error> {
    let status = current.status.to_ascii_uppercase();
    if !EDITABLE.contains(&status.as_str()) {
        return Err(invalid(
            "template-id",
            format!(
                "only APPROVED, REJECTED or PAUSED templates can be edited; this one is {status}"
            ),
        ));
    }
    if status == "APPROVED" {
        if let Some(c) = category
            && !c.as_str().eq_ignore_ascii_case(&current.category)
        {
            return Err(invalid(
                "template.category",
                format!(
                    "an approved template's category is fixed ({})",
                    current.category
                ),
            ));
        }
        let limit = |retry: u64, why: &str| Error::RateLimited {
            retry_after_seconds: Some(retry.min(u32::MAX as u64) as u32),
            error: GraphError {
                code: 100,
                message: format!("an approved template may be edited {why}"),
                ..GraphError::default()
            },
        };
        if let Some(last) = history.iter().copied().filter(|t| *t <= now).max()
            && now - last < limits::EDIT_INTERVAL_SECS
        {
            return Err(limit(
                last + limits::EDIT_INTERVAL_SECS - now,
                "once per 24 hours",
            ));
        }
        let mut recent: Vec<u64> = history
            .iter()
            .copied()
            .filter(|t| *t <= now && now - t < limits::EDIT_WINDOW_SECS)
            .collect();
        if recent.len() >= limits::EDITS_PER_WINDOW {
            recent.sort_unstable();
            let oldest = recent[recent.len() - limits::EDITS_PER_WINDOW];
            return Err(limit(
                oldest + limits::EDIT_WINDOW_SECS - now,
                "10 times per 30 days",
            ));
        }
    }
    Ok(())
}

/// `POST /{template-id}` with the new category and components.
pub fn edit_request(
    s: &Settings,
    id: &str,
    current: &Details,
    t: &NewTemplate,
) -> Result<Request, Error> {
    let id = check_node_id("template-id", id)?;
    if t.name != current.name || !t.language.eq_ignore_ascii_case(&current.language) {
        return Err(invalid(
            "template.name",
            format!(
                "must be the template's own ({} in {})",
                current.name, current.language
            ),
        ));
    }
    t.validate()?;
    let mut body = json!({ "components": t.components_json() });
    if !t.category.as_str().eq_ignore_ascii_case(&current.category) {
        body["category"] = t.category.as_str().into();
    }
    if let Some(ttl) = t.message_send_ttl_seconds {
        body["message_send_ttl_seconds"] = ttl.into();
    }
    Ok(Request::post_json(s.url(id), &body))
}

/// `DELETE /{waba-id}/message_templates?name=…` (every language), or one template with
/// `hsm_id`.
pub fn delete_request(s: &Settings, name: &str, id: Option<&str>) -> Result<Request, Error> {
    check_name("name", name)?;
    let mut url = s.url(&format!(
        "{}/message_templates?name={}",
        s.waba_id()?,
        encode_query(name)
    ));
    if let Some(id) = id {
        url.push_str(&format!("&hsm_id={}", check_node_id("template-id", id)?));
    }
    Ok(Request::delete(url))
}

/// Read a `{"success": true}` answer.
pub fn read_success(status: u16, body: &[u8]) -> Result<(), Error> {
    super::messages::read_success(status, body)
}

/// The key of a template's edit history in the templates bucket.
pub fn edits_key(id: &str) -> String {
    format!("edits:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str, examples: &[&str]) -> Body {
        Body {
            text: Some(TextWithExamples {
                text: text.into(),
                examples: examples.iter().map(|s| s.to_string()).collect(),
                named_examples: vec![],
            }),
            add_security_recommendation: None,
        }
    }

    fn simple() -> NewTemplate {
        NewTemplate {
            name: "order_ready".into(),
            language: "en_US".into(),
            category: Category::Utility,
            named_parameters: false,
            message_send_ttl_seconds: None,
            header: None,
            limited_time_offer: None,
            body: Some(body("Hi {{1}}, order {{2}} is ready.", &["Ana", "42"])),
            footer: None,
            buttons: vec![],
            carousel: vec![],
        }
    }

    fn refused(t: &NewTemplate) -> String {
        match t.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn structural_rules_are_enforced_with_the_field() {
        assert!(simple().validate().is_ok());
        let mut t = simple();
        t.name = "Order Ready".into();
        assert_eq!(refused(&t), "name");
        let mut t = simple();
        t.body = Some(body("Hi {{1}}, order {{3}} is ready.", &["Ana", "42"]));
        assert_eq!(refused(&t), "body.text");
        let mut t = simple();
        t.body = Some(body("Hi {{1}}, order {{2}} is ready.", &["Ana"]));
        assert_eq!(refused(&t), "body.examples");
        let mut t = simple();
        t.body = Some(body("{{1}}, your order is ready.", &["Ana"]));
        assert_eq!(refused(&t), "body.text");
        let mut t = simple();
        t.buttons = (0..11)
            .map(|i| Button::QuickReply(format!("b{i}")))
            .collect();
        assert_eq!(refused(&t), "buttons");
        let mut t = simple();
        t.buttons = vec![
            Button::QuickReply("a".into()),
            Button::PhoneNumber {
                text: "Call".into(),
                phone_number: "15550051310".into(),
            },
            Button::QuickReply("b".into()),
        ];
        assert_eq!(refused(&t), "buttons");
        let mut t = simple();
        t.buttons = vec![Button::Url {
            text: "Go".into(),
            url: "https://x.example/{{1}}".into(),
            example: None,
        }];
        assert_eq!(refused(&t), "buttons[0].url");
        let mut t = simple();
        t.buttons = vec![Button::Otp {
            otp_type: "COPY_CODE".into(),
            text: Some("Copy".into()),
            autofill_text: None,
            zero_tap_terms_accepted: None,
            supported_apps: vec![],
        }];
        assert_eq!(refused(&t), "buttons");
        let mut t = simple();
        t.header = Some(Header::Image(String::new()));
        assert_eq!(refused(&t), "header");
        let mut t = simple();
        t.named_parameters = true;
        t.body = Some(Body {
            text: Some(TextWithExamples {
                text: "Hi {{first_name}}, ready.".into(),
                examples: vec![],
                named_examples: vec![("first_name".into(), "Ana".into())],
            }),
            add_security_recommendation: None,
        });
        assert!(t.validate().is_ok());
        t.body
            .as_mut()
            .unwrap()
            .text
            .as_mut()
            .unwrap()
            .named_examples
            .clear();
        assert_eq!(refused(&t), "body.named-examples");
    }

    fn details(status: &str) -> Details {
        Details {
            id: "1".into(),
            name: "order_ready".into(),
            language: "en_US".into(),
            status: status.into(),
            category: "UTILITY".into(),
            parameter_format: None,
            components: Value::Null,
            rejected_reason: None,
            quality_score: None,
        }
    }

    #[test]
    fn edits_follow_meta_rules() {
        let day = 24 * 3600;
        let now = 100 * day;
        assert!(matches!(
            check_edit(&details("PENDING"), None, &[], now),
            Err(Error::InvalidInput { .. })
        ));
        assert!(
            check_edit(
                &details("REJECTED"),
                Some(Category::Marketing),
                &[now - 10],
                now
            )
            .is_ok()
        );
        assert!(matches!(
            check_edit(&details("APPROVED"), Some(Category::Marketing), &[], now),
            Err(Error::InvalidInput { field, .. }) if field == "template.category"
        ));
        match check_edit(&details("APPROVED"), None, &[now - 3600], now) {
            Err(Error::RateLimited {
                retry_after_seconds,
                ..
            }) => assert_eq!(retry_after_seconds, Some(23 * 3600)),
            other => panic!("{other:?}"),
        }
        let ten: Vec<u64> = (1..=10).map(|i| now - i * 2 * day).collect();
        match check_edit(&details("APPROVED"), None, &ten, now) {
            Err(Error::RateLimited {
                retry_after_seconds,
                ..
            }) => assert_eq!(retry_after_seconds, Some((30 - 20) as u32 * day as u32)),
            other => panic!("{other:?}"),
        }
        let nine = &ten[..9];
        assert!(check_edit(&details("APPROVED"), None, nine, now).is_ok());
    }
}
