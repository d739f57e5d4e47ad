//! Every kind of outgoing message: the content types, their validation against Meta's
//! limits (one table, [`limits`]), and the JSON each becomes in a send request.

use super::error::Error;
use serde_json::{Map, Value, json};

/// Meta's limits, each with its source (the Cloud API messages reference unless noted).
pub mod limits {
    /// `text.body` (messages reference: "Maximum 4096 characters").
    pub const TEXT_BODY_MAX: usize = 4096;
    /// Media `caption` ("Maximum 1024 characters").
    pub const CAPTION_MAX: usize = 1024;
    /// Document `filename` (not documented; longer names are cut by clients).
    pub const FILENAME_MAX: usize = 240;
    /// Interactive `body.text` for buttons, CTA URL, flows, products (interactive reference: 1024).
    pub const INTERACTIVE_BODY_MAX: usize = 1024;
    /// List message `body.text` (list messages reference: 4096).
    pub const LIST_BODY_MAX: usize = 4096;
    /// Interactive text `header` (interactive reference: 60).
    pub const HEADER_TEXT_MAX: usize = 60;
    /// Interactive `footer.text` (interactive reference: 60).
    pub const FOOTER_MAX: usize = 60;
    /// Reply buttons per message (reply buttons reference: "up to 3").
    pub const BUTTONS_MAX: usize = 3;
    /// Reply button `title` (reply buttons reference: 20).
    pub const BUTTON_TITLE_MAX: usize = 20;
    /// Reply button `id` (reply buttons reference: 256).
    pub const BUTTON_ID_MAX: usize = 256;
    /// List `action.button` (list messages reference: 20).
    pub const LIST_BUTTON_MAX: usize = 20;
    /// List sections (list messages reference: "up to 10 sections").
    pub const LIST_SECTIONS_MAX: usize = 10;
    /// List rows over all sections (list messages reference: "up to 10 rows total").
    pub const LIST_ROWS_MAX: usize = 10;
    /// List section `title` (list messages reference: 24).
    pub const SECTION_TITLE_MAX: usize = 24;
    /// List row `title` (list messages reference: 24).
    pub const ROW_TITLE_MAX: usize = 24;
    /// List row `description` (list messages reference: 72).
    pub const ROW_DESCRIPTION_MAX: usize = 72;
    /// List row `id` (list messages reference: 200).
    pub const ROW_ID_MAX: usize = 200;
    /// CTA URL `display_text` (interactive CTA URL reference: 20).
    pub const CTA_TEXT_MAX: usize = 20;
    /// Flow `flow_cta` (flows reference: "max 30 characters").
    pub const FLOW_CTA_MAX: usize = 30;
    /// Product list sections (multi-product messages reference: up to 10).
    pub const PRODUCT_SECTIONS_MAX: usize = 10;
    /// Products over all sections (multi-product messages reference: up to 30).
    pub const PRODUCTS_MAX: usize = 30;
    /// Latitude range, degrees.
    pub const LATITUDE: (f64, f64) = (-90.0, 90.0);
    /// Longitude range, degrees.
    pub const LONGITUDE: (f64, f64) = (-180.0, 180.0);
    /// URL length we accept (a browser's practical limit).
    pub const URL_MAX: usize = 2000;
}

/// Uploaded media id, or a link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MediaSource {
    /// A media id.
    Id(String),
    /// A URL.
    Link(String),
}

/// A media message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Media {
    /// Where the file is.
    pub source: MediaSource,
    /// Caption.
    pub caption: Option<String>,
    /// File name (documents).
    pub filename: Option<String>,
}

/// A location pin.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Location {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// Name.
    pub name: Option<String>,
    /// Address.
    pub address: Option<String>,
}

/// A phone of a contact card.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ContactPhone {
    /// The number.
    pub phone: String,
    /// Its type.
    pub kind: Option<String>,
    /// Its WhatsApp id.
    pub wa_id: Option<String>,
}

/// A contact card.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ContactCard {
    /// Formatted name.
    pub formatted_name: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Phones.
    pub phones: Vec<ContactPhone>,
    /// Emails.
    pub emails: Vec<String>,
    /// Company.
    pub organization: Option<String>,
    /// URLs.
    pub urls: Vec<String>,
}

/// An interactive header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Header {
    /// Text.
    Text(String),
    /// Image.
    Image(MediaSource),
    /// Video.
    Video(MediaSource),
    /// Document.
    Document(MediaSource),
}

/// A reply button.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ReplyButton {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// A list row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ListRow {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
}

/// A list section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ListSection {
    /// Title.
    pub title: Option<String>,
    /// Rows.
    pub rows: Vec<ListRow>,
}

/// A flow to open.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Flow {
    /// Header.
    pub header: Option<Header>,
    /// Body.
    pub body: String,
    /// Footer.
    pub footer: Option<String>,
    /// By id.
    pub flow_id: Option<String>,
    /// By name.
    pub flow_name: Option<String>,
    /// Button text.
    pub cta: String,
    /// Token.
    pub flow_token: Option<String>,
    /// Draft mode.
    pub draft: bool,
    /// First screen.
    pub screen: Option<String>,
    /// First screen's data (JSON object).
    pub data_json: Option<String>,
}

/// A product section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ProductSection {
    /// Title.
    pub title: String,
    /// Retailer ids.
    pub product_retailer_ids: Vec<String>,
}

/// A template parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ParameterValue {
    /// Text.
    Text(String),
    /// Money: fallback, ISO code, amount × 1000.
    Currency {
        /// Fallback text.
        fallback: String,
        /// ISO 4217 code.
        code: String,
        /// Amount × 1000.
        amount_1000: i64,
    },
    /// Date and time: the fallback text.
    DateTime(String),
}

/// A template parameter, positional (no name) or NAMED.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Parameter {
    /// The name, for NAMED templates.
    pub name: Option<String>,
    /// The value.
    pub value: ParameterValue,
}

/// A template header parameter.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum TemplateHeader {
    /// Text.
    Text(Parameter),
    /// Image.
    Image(MediaSource),
    /// Video.
    Video(MediaSource),
    /// Document, with a file name.
    Document(MediaSource, Option<String>),
    /// Location.
    Location(Location),
}

/// A template button parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum TemplateButton {
    /// Quick-reply payload.
    QuickReply(String),
    /// URL suffix.
    Url(String),
    /// Coupon code.
    CopyCode(String),
    /// One-time password.
    Otp(String),
    /// Flow token and first-screen data.
    Flow {
        /// Token.
        flow_token: Option<String>,
        /// Data (JSON object).
        action_data_json: Option<String>,
    },
}

/// A carousel card.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CarouselCard {
    /// Image or video.
    pub header: TemplateHeader,
    /// Body parameters.
    pub body: Vec<Parameter>,
    /// Button parameters by index.
    pub buttons: Vec<(u32, TemplateButton)>,
}

/// A template message.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Template {
    /// Name.
    pub name: String,
    /// Language code.
    pub language: String,
    /// Header parameter.
    pub header: Option<TemplateHeader>,
    /// Body parameters.
    pub body: Vec<Parameter>,
    /// Button parameters by index.
    pub buttons: Vec<(u32, TemplateButton)>,
    /// Carousel cards.
    pub carousel: Vec<CarouselCard>,
    /// Limited-time offer expiry (Unix ms).
    pub offer_expires_at_ms: Option<u64>,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Content {
    /// Text.
    Text {
        /// Body.
        body: String,
        /// Link preview.
        preview_url: bool,
    },
    /// Image.
    Image(Media),
    /// Video.
    Video(Media),
    /// Audio.
    Audio(Media),
    /// Document.
    Document(Media),
    /// Sticker.
    Sticker(Media),
    /// Location.
    Location(Location),
    /// Contacts.
    Contacts(Vec<ContactCard>),
    /// Reaction; empty emoji removes.
    Reaction {
        /// The message.
        message_id: String,
        /// The emoji.
        emoji: String,
    },
    /// Reply buttons.
    Buttons {
        /// Header.
        header: Option<Header>,
        /// Body.
        body: String,
        /// Footer.
        footer: Option<String>,
        /// Buttons.
        buttons: Vec<ReplyButton>,
    },
    /// A list.
    List {
        /// Text header.
        header: Option<String>,
        /// Body.
        body: String,
        /// Footer.
        footer: Option<String>,
        /// Button.
        button: String,
        /// Sections.
        sections: Vec<ListSection>,
    },
    /// CTA URL.
    CtaUrl {
        /// Header.
        header: Option<Header>,
        /// Body.
        body: String,
        /// Footer.
        footer: Option<String>,
        /// Button text.
        display_text: String,
        /// URL.
        url: String,
    },
    /// Flow.
    Flow(Flow),
    /// Location request with this body.
    LocationRequest(String),
    /// One product.
    Product {
        /// Body.
        body: Option<String>,
        /// Footer.
        footer: Option<String>,
        /// Catalog.
        catalog_id: String,
        /// Product.
        product_retailer_id: String,
    },
    /// Several products.
    ProductList {
        /// Header.
        header: String,
        /// Body.
        body: String,
        /// Footer.
        footer: Option<String>,
        /// Catalog.
        catalog_id: String,
        /// Sections.
        sections: Vec<ProductSection>,
    },
    /// The catalog.
    Catalog {
        /// Body.
        body: String,
        /// Footer.
        footer: Option<String>,
        /// Thumbnail product.
        thumbnail_product_retailer_id: Option<String>,
    },
    /// An approved template.
    Template(Template),
}

impl Content {
    /// Meta's `type` for this content.
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Image(_) => "image",
            Content::Video(_) => "video",
            Content::Audio(_) => "audio",
            Content::Document(_) => "document",
            Content::Sticker(_) => "sticker",
            Content::Location(_) => "location",
            Content::Contacts(_) => "contacts",
            Content::Reaction { .. } => "reaction",
            Content::Buttons { .. }
            | Content::List { .. }
            | Content::CtaUrl { .. }
            | Content::Flow(_) => "interactive",
            Content::LocationRequest(_)
            | Content::Product { .. }
            | Content::ProductList { .. }
            | Content::Catalog { .. } => "interactive",
            Content::Template(_) => "template",
        }
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A required text of at most `max` characters.
fn required(field: &str, s: &str, max: usize) -> Result<(), Error> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    optional(field, Some(s), max)
}

/// An optional text of at most `max` characters.
fn optional(field: &str, s: Option<&str>, max: usize) -> Result<(), Error> {
    match s {
        Some(s) if chars(s) > max => Err(Error::invalid(
            field,
            format!("is {} characters; at most {max} are allowed", chars(s)),
        )),
        _ => Ok(()),
    }
}

/// A count of 1 to `max` items.
fn count(field: &str, what: &str, n: usize, max: usize) -> Result<(), Error> {
    if n == 0 || n > max {
        return Err(Error::invalid(
            field,
            format!("must hold 1 to {max} {what} (has {n})"),
        ));
    }
    Ok(())
}

fn url(field: &str, u: &str) -> Result<(), Error> {
    if !(u.starts_with("https://") || u.starts_with("http://"))
        || u.len() > limits::URL_MAX
        || u.contains(char::is_whitespace)
    {
        return Err(Error::invalid(
            field,
            format!(
                "must be an http(s) URL of at most {} characters",
                limits::URL_MAX
            ),
        ));
    }
    Ok(())
}

fn source(field: &str, s: &MediaSource) -> Result<Value, Error> {
    match s {
        MediaSource::Id(id) => {
            super::ids::check_node_id(field, id)?;
            Ok(json!({ "id": id }))
        }
        MediaSource::Link(l) => {
            url(field, l)?;
            Ok(json!({ "link": l }))
        }
    }
}

fn media(field: &str, kind: &str, m: &Media) -> Result<Value, Error> {
    let mut v = source(&format!("{field}.source"), &m.source)?;
    match (kind, &m.caption) {
        ("audio" | "sticker", Some(_)) => {
            return Err(Error::invalid(
                format!("{field}.caption"),
                format!("{kind} messages have no caption"),
            ));
        }
        (_, Some(c)) => {
            optional(&format!("{field}.caption"), Some(c), limits::CAPTION_MAX)?;
            v["caption"] = c.as_str().into();
        }
        _ => {}
    }
    match (kind, &m.filename) {
        ("document", Some(f)) => {
            required(&format!("{field}.filename"), f, limits::FILENAME_MAX)?;
            v["filename"] = f.as_str().into();
        }
        (_, Some(_)) => {
            return Err(Error::invalid(
                format!("{field}.filename"),
                "only documents have a file name",
            ));
        }
        _ => {}
    }
    Ok(v)
}

fn header(field: &str, h: &Header) -> Result<Value, Error> {
    Ok(match h {
        Header::Text(t) => {
            required(field, t, limits::HEADER_TEXT_MAX)?;
            json!({ "type": "text", "text": t })
        }
        Header::Image(s) => json!({ "type": "image", "image": source(field, s)? }),
        Header::Video(s) => json!({ "type": "video", "video": source(field, s)? }),
        Header::Document(s) => json!({ "type": "document", "document": source(field, s)? }),
    })
}

/// `header`, `body`, `footer` of an interactive message.
fn frame(
    h: Option<&Header>,
    body: Option<&str>,
    body_max: usize,
    footer: Option<&str>,
) -> Result<Map<String, Value>, Error> {
    let mut o = Map::new();
    if let Some(h) = h {
        o.insert("header".into(), header("content.header", h)?);
    }
    if let Some(b) = body {
        required("content.body", b, body_max)?;
        o.insert("body".into(), json!({ "text": b }));
    }
    if let Some(f) = footer {
        required("content.footer", f, limits::FOOTER_MAX)?;
        o.insert("footer".into(), json!({ "text": f }));
    }
    Ok(o)
}

fn interactive(kind: &str, mut o: Map<String, Value>, action: Value) -> Value {
    o.insert("type".into(), kind.into());
    o.insert("action".into(), action);
    Value::Object(o)
}

/// Whether `s` is one emoji: one grapheme built only of emoji code points (with
/// variation selectors, skin tones, keycaps, tags and zero-width joins).
pub fn is_single_emoji(s: &str) -> bool {
    let modifier = |c: char| matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F);
    let regional = |c: char| (0x1F1E6..=0x1F1FF).contains(&(c as u32));
    let base = |c: char| {
        let u = c as u32;
        u == 0xA9
            || u == 0xAE
            || (0x2000..=0x3300).contains(&u)
            || (0x1F000..=0x1FAFF).contains(&u)
            || c == '#'
            || c == '*'
            || c.is_ascii_digit()
    };
    if s.is_empty() || s.len() > 64 {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() == 2 && chars.iter().all(|c| regional(*c)) {
        return true; // a flag
    }
    let mut parts = 0;
    for part in s.split('\u{200D}') {
        let mut it = part.chars();
        let Some(first) = it.next() else { return false };
        if !base(first) || !it.all(modifier) {
            return false;
        }
        if first.is_ascii() && !part.contains('\u{20E3}') {
            return false; // "#", "*" and digits are emoji only as keycaps
        }
        parts += 1;
    }
    parts >= 1
}

/// Template limits (template messages reference).
pub mod template_limits {
    /// Buttons per template ("up to 10").
    pub const BUTTONS_MAX: u32 = 10;
    /// Carousel cards ("up to 10").
    pub const CARDS_MAX: usize = 10;
    /// A template name: lowercase letters, digits and underscores, at most 512.
    pub const NAME_MAX: usize = 512;
    /// A text parameter (body parameters are limited by the hydrated body, 1024).
    pub const TEXT_PARAMETER_MAX: usize = 1024;
    /// A coupon code ("maximum 15 characters").
    pub const COUPON_MAX: usize = 15;
    /// An authentication code ("maximum 15 characters").
    pub const OTP_MAX: usize = 15;
}

fn parameters(field: &str, ps: &[Parameter]) -> Result<Vec<Value>, Error> {
    let named = ps.iter().filter(|p| p.name.is_some()).count();
    if named != 0 && named != ps.len() {
        return Err(Error::invalid(
            field,
            "mixes NAMED and positional parameters; a template uses one style",
        ));
    }
    let mut out = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let mut v = match &p.value {
            ParameterValue::Text(t) => {
                required(
                    &format!("{f}.value"),
                    t,
                    template_limits::TEXT_PARAMETER_MAX,
                )?;
                if t.contains('\n') && field.ends_with("header") {
                    return Err(Error::invalid(
                        format!("{f}.value"),
                        "a header parameter cannot contain a new line",
                    ));
                }
                json!({ "type": "text", "text": t })
            }
            ParameterValue::Currency {
                fallback,
                code,
                amount_1000,
            } => {
                required(&format!("{f}.fallback-value"), fallback, 256)?;
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(Error::invalid(
                        format!("{f}.code"),
                        "must be an ISO 4217 code like USD",
                    ));
                }
                json!({ "type": "currency", "currency": { "fallback_value": fallback, "code": code, "amount_1000": amount_1000 } })
            }
            ParameterValue::DateTime(fallback) => {
                required(&format!("{f}.fallback-value"), fallback, 256)?;
                json!({ "type": "date_time", "date_time": { "fallback_value": fallback } })
            }
        };
        if let Some(n) = &p.name {
            if n.is_empty()
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::invalid(
                    format!("{f}.name"),
                    "must be lowercase letters, digits and underscores",
                ));
            }
            v["parameter_name"] = n.as_str().into();
        }
        out.push(v);
    }
    Ok(out)
}

fn template_header(field: &str, h: &TemplateHeader) -> Result<Value, Error> {
    let p = match h {
        TemplateHeader::Text(p) => parameters(field, std::slice::from_ref(p))?.remove(0),
        TemplateHeader::Image(s) => json!({ "type": "image", "image": source(field, s)? }),
        TemplateHeader::Video(s) => json!({ "type": "video", "video": source(field, s)? }),
        TemplateHeader::Document(s, name) => {
            let mut d = source(field, s)?;
            if let Some(n) = name {
                required(&format!("{field}.filename"), n, limits::FILENAME_MAX)?;
                d["filename"] = n.as_str().into();
            }
            json!({ "type": "document", "document": d })
        }
        TemplateHeader::Location(l) => {
            let (_, loc) = build(&Content::Location(l.clone())).map_err(|e| match e {
                Error::InvalidInput { field: f, reason } => {
                    Error::invalid(f.replace("content.location", field), reason)
                }
                other => other,
            })?;
            json!({ "type": "location", "location": loc })
        }
    };
    Ok(json!({ "type": "header", "parameters": [p] }))
}

fn template_buttons(field: &str, bs: &[(u32, TemplateButton)]) -> Result<Vec<Value>, Error> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (i, (index, b)) in bs.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if *index >= template_limits::BUTTONS_MAX || seen.contains(index) {
            return Err(Error::invalid(
                format!("{f}.index"),
                "must be a distinct button position from 0 to 9",
            ));
        }
        seen.push(*index);
        let (sub_type, parameter) = match b {
            TemplateButton::QuickReply(p) => {
                required(&format!("{f}.payload"), p, 1000)?;
                ("quick_reply", json!({ "type": "payload", "payload": p }))
            }
            TemplateButton::Url(suffix) => {
                required(&format!("{f}.url"), suffix, limits::URL_MAX)?;
                ("url", json!({ "type": "text", "text": suffix }))
            }
            TemplateButton::CopyCode(code) => {
                required(&format!("{f}.copy-code"), code, template_limits::COUPON_MAX)?;
                (
                    "copy_code",
                    json!({ "type": "coupon_code", "coupon_code": code }),
                )
            }
            TemplateButton::Otp(code) => {
                required(&format!("{f}.otp"), code, template_limits::OTP_MAX)?;
                ("url", json!({ "type": "text", "text": code }))
            }
            TemplateButton::Flow {
                flow_token,
                action_data_json,
            } => {
                let mut action = json!({});
                if let Some(t) = flow_token {
                    action["flow_token"] = t.as_str().into();
                }
                if let Some(d) = action_data_json {
                    let data: Value = serde_json::from_str(d)
                        .ok()
                        .filter(Value::is_object)
                        .ok_or_else(|| {
                            Error::invalid(format!("{f}.action-data-json"), "must be a JSON object")
                        })?;
                    action["flow_action_data"] = data;
                }
                ("flow", json!({ "type": "action", "action": action }))
            }
        };
        out.push(json!({ "type": "button", "sub_type": sub_type, "index": index.to_string(), "parameters": [parameter] }));
    }
    Ok(out)
}

fn template(t: &Template) -> Result<Value, Error> {
    if t.name.is_empty()
        || t.name.len() > template_limits::NAME_MAX
        || !t
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::invalid(
            "content.template.name",
            "must be 1 to 512 lowercase letters, digits and underscores",
        ));
    }
    if t.language.trim().is_empty() || t.language.len() > 16 {
        return Err(Error::invalid(
            "content.template.language",
            "must be a language code such as en_US",
        ));
    }
    let mut components = Vec::new();
    if let Some(h) = &t.header {
        components.push(template_header("content.template.header", h)?);
    }
    if !t.body.is_empty() {
        components.push(
            json!({ "type": "body", "parameters": parameters("content.template.body", &t.body)? }),
        );
    }
    if let Some(ms) = t.offer_expires_at_ms {
        components.push(json!({ "type": "limited_time_offer", "parameters": [
            { "type": "limited_time_offer", "limited_time_offer": { "expiration_time_ms": ms } }] }));
    }
    components.extend(template_buttons("content.template.buttons", &t.buttons)?);
    if !t.carousel.is_empty() {
        if t.carousel.len() > template_limits::CARDS_MAX {
            return Err(Error::invalid(
                "content.template.carousel",
                format!("must hold at most {} cards", template_limits::CARDS_MAX),
            ));
        }
        let mut cards = Vec::new();
        for (i, c) in t.carousel.iter().enumerate() {
            let f = format!("content.template.carousel[{i}]");
            if !matches!(
                c.header,
                TemplateHeader::Image(_) | TemplateHeader::Video(_)
            ) {
                return Err(Error::invalid(
                    format!("{f}.header"),
                    "a carousel card's header is an image or a video",
                ));
            }
            let mut comps = vec![template_header(&format!("{f}.header"), &c.header)?];
            if !c.body.is_empty() {
                comps.push(json!({ "type": "body", "parameters": parameters(&format!("{f}.body"), &c.body)? }));
            }
            comps.extend(template_buttons(&format!("{f}.buttons"), &c.buttons)?);
            cards.push(json!({ "card_index": i, "components": comps }));
        }
        components.push(json!({ "type": "carousel", "cards": cards }));
    }
    let mut v = json!({ "name": t.name, "language": { "code": t.language } });
    if !components.is_empty() {
        v["components"] = Value::Array(components);
    }
    Ok(v)
}

/// Validate `content` and give Meta's `type` and the object under it (or, for the
/// interactive kinds, the `interactive` object).
pub fn build(content: &Content) -> Result<(&'static str, Value), Error> {
    let v = match content {
        Content::Text { body, preview_url } => {
            required("content.text.body", body, limits::TEXT_BODY_MAX)?;
            json!({ "body": body, "preview_url": preview_url })
        }
        Content::Image(m) => media("content.image", "image", m)?,
        Content::Video(m) => media("content.video", "video", m)?,
        Content::Audio(m) => media("content.audio", "audio", m)?,
        Content::Document(m) => media("content.document", "document", m)?,
        Content::Sticker(m) => media("content.sticker", "sticker", m)?,
        Content::Location(l) => {
            if !(limits::LATITUDE.0..=limits::LATITUDE.1).contains(&l.latitude) {
                return Err(Error::invalid(
                    "content.location.latitude",
                    "must be between -90 and 90",
                ));
            }
            if !(limits::LONGITUDE.0..=limits::LONGITUDE.1).contains(&l.longitude) {
                return Err(Error::invalid(
                    "content.location.longitude",
                    "must be between -180 and 180",
                ));
            }
            let mut v = json!({ "latitude": l.latitude, "longitude": l.longitude });
            if let Some(n) = &l.name {
                v["name"] = n.as_str().into();
            }
            if let Some(a) = &l.address {
                v["address"] = a.as_str().into();
            }
            v
        }
        Content::Contacts(cards) => {
            if cards.is_empty() {
                return Err(Error::invalid(
                    "content.contacts",
                    "must hold at least one card",
                ));
            }
            let mut out = Vec::new();
            for (i, c) in cards.iter().enumerate() {
                required(
                    &format!("content.contacts[{i}].formatted-name"),
                    &c.formatted_name,
                    256,
                )?;
                let mut name = json!({ "formatted_name": c.formatted_name });
                if let Some(f) = &c.first_name {
                    name["first_name"] = f.as_str().into();
                }
                if let Some(l) = &c.last_name {
                    name["last_name"] = l.as_str().into();
                }
                let mut card = json!({ "name": name });
                if !c.phones.is_empty() {
                    card["phones"] = c
                        .phones
                        .iter()
                        .map(|p| {
                            let mut o = json!({ "phone": p.phone });
                            if let Some(k) = &p.kind {
                                o["type"] = k.as_str().into();
                            }
                            if let Some(w) = &p.wa_id {
                                o["wa_id"] = w.as_str().into();
                            }
                            o
                        })
                        .collect();
                }
                if !c.emails.is_empty() {
                    card["emails"] = c.emails.iter().map(|e| json!({ "email": e })).collect();
                }
                if let Some(o) = &c.organization {
                    card["org"] = json!({ "company": o });
                }
                if !c.urls.is_empty() {
                    card["urls"] = c.urls.iter().map(|u| json!({ "url": u })).collect();
                }
                out.push(card);
            }
            Value::Array(out)
        }
        Content::Reaction { message_id, emoji } => {
            required("content.reaction.message-id", message_id, 256)?;
            if !emoji.is_empty() && !is_single_emoji(emoji) {
                return Err(Error::invalid(
                    "content.reaction.emoji",
                    "must be a single emoji, or empty to remove the reaction",
                ));
            }
            json!({ "message_id": message_id, "emoji": emoji })
        }
        Content::Buttons {
            header,
            body,
            footer,
            buttons,
        } => {
            let o = frame(
                header.as_ref(),
                Some(body),
                limits::INTERACTIVE_BODY_MAX,
                footer.as_deref(),
            )?;
            if buttons.is_empty() || buttons.len() > limits::BUTTONS_MAX {
                return Err(Error::invalid(
                    "content.buttons",
                    format!("must hold 1 to {} buttons", limits::BUTTONS_MAX),
                ));
            }
            let mut seen = Vec::new();
            for (i, b) in buttons.iter().enumerate() {
                required(
                    &format!("content.buttons[{i}].title"),
                    &b.title,
                    limits::BUTTON_TITLE_MAX,
                )?;
                required(
                    &format!("content.buttons[{i}].id"),
                    &b.id,
                    limits::BUTTON_ID_MAX,
                )?;
                if seen.contains(&b.id) {
                    return Err(Error::invalid(
                        format!("content.buttons[{i}].id"),
                        "must be unique within the message",
                    ));
                }
                if buttons.iter().filter(|x| x.title == b.title).count() > 1 {
                    return Err(Error::invalid(
                        format!("content.buttons[{i}].title"),
                        "must be unique within the message",
                    ));
                }
                seen.push(b.id.clone());
            }
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
                .collect();
            interactive("button", o, json!({ "buttons": buttons }))
        }
        Content::List {
            header,
            body,
            footer,
            button,
            sections,
        } => {
            let h = header.as_ref().map(|t| Header::Text(t.clone()));
            let o = frame(
                h.as_ref(),
                Some(body),
                limits::LIST_BODY_MAX,
                footer.as_deref(),
            )?;
            required("content.button", button, limits::LIST_BUTTON_MAX)?;
            count(
                "content.sections",
                "sections",
                sections.len(),
                limits::LIST_SECTIONS_MAX,
            )?;
            let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
            count(
                "content.sections",
                "rows in all",
                rows,
                limits::LIST_ROWS_MAX,
            )?;
            let mut ids = Vec::new();
            let mut out = Vec::new();
            for (i, s) in sections.iter().enumerate() {
                if sections.len() > 1 && s.title.is_none() {
                    return Err(Error::invalid(
                        format!("content.sections[{i}].title"),
                        "is required when there are several sections",
                    ));
                }
                optional(
                    &format!("content.sections[{i}].title"),
                    s.title.as_deref(),
                    limits::SECTION_TITLE_MAX,
                )?;
                let mut rows = Vec::new();
                for (j, r) in s.rows.iter().enumerate() {
                    let f = format!("content.sections[{i}].rows[{j}]");
                    required(&format!("{f}.id"), &r.id, limits::ROW_ID_MAX)?;
                    required(&format!("{f}.title"), &r.title, limits::ROW_TITLE_MAX)?;
                    optional(
                        &format!("{f}.description"),
                        r.description.as_deref(),
                        limits::ROW_DESCRIPTION_MAX,
                    )?;
                    if ids.contains(&r.id) {
                        return Err(Error::invalid(
                            format!("{f}.id"),
                            "must be unique within the message",
                        ));
                    }
                    ids.push(r.id.clone());
                    let mut row = json!({ "id": r.id, "title": r.title });
                    if let Some(d) = &r.description {
                        row["description"] = d.as_str().into();
                    }
                    rows.push(row);
                }
                let mut sec = json!({ "rows": rows });
                if let Some(t) = &s.title {
                    sec["title"] = t.as_str().into();
                }
                out.push(sec);
            }
            interactive("list", o, json!({ "button": button, "sections": out }))
        }
        Content::CtaUrl {
            header,
            body,
            footer,
            display_text,
            url: u,
        } => {
            let o = frame(
                header.as_ref(),
                Some(body),
                limits::INTERACTIVE_BODY_MAX,
                footer.as_deref(),
            )?;
            required("content.display-text", display_text, limits::CTA_TEXT_MAX)?;
            url("content.url", u)?;
            interactive(
                "cta_url",
                o,
                json!({ "name": "cta_url", "parameters": { "display_text": display_text, "url": u } }),
            )
        }
        Content::Flow(f) => {
            let o = frame(
                f.header.as_ref(),
                Some(&f.body),
                limits::INTERACTIVE_BODY_MAX,
                f.footer.as_deref(),
            )?;
            required("content.cta", &f.cta, limits::FLOW_CTA_MAX)?;
            let mut p = json!({ "flow_message_version": "3", "flow_cta": f.cta });
            match (&f.flow_id, &f.flow_name) {
                (Some(id), None) => p["flow_id"] = id.as_str().into(),
                (None, Some(n)) => p["flow_name"] = n.as_str().into(),
                _ => {
                    return Err(Error::invalid(
                        "content.flow-id",
                        "give exactly one of flow-id and flow-name",
                    ));
                }
            }
            if let Some(t) = &f.flow_token {
                p["flow_token"] = t.as_str().into();
            }
            if f.draft {
                p["mode"] = "draft".into();
            }
            match &f.screen {
                Some(screen) => {
                    required("content.screen", screen, 256)?;
                    p["flow_action"] = "navigate".into();
                    let mut payload = json!({ "screen": screen });
                    if let Some(d) = &f.data_json {
                        let data: Value = serde_json::from_str(d)
                            .ok()
                            .filter(Value::is_object)
                            .ok_or_else(|| {
                                Error::invalid("content.data-json", "must be a JSON object")
                            })?;
                        payload["data"] = data;
                    }
                    p["flow_action_payload"] = payload;
                }
                None => {
                    if f.data_json.is_some() {
                        return Err(Error::invalid(
                            "content.data-json",
                            "needs a screen to navigate to",
                        ));
                    }
                    p["flow_action"] = "data_exchange".into();
                }
            }
            interactive("flow", o, json!({ "name": "flow", "parameters": p }))
        }
        Content::LocationRequest(body) => {
            let o = frame(None, Some(body), limits::INTERACTIVE_BODY_MAX, None)?;
            interactive(
                "location_request_message",
                o,
                json!({ "name": "send_location" }),
            )
        }
        Content::Product {
            body,
            footer,
            catalog_id,
            product_retailer_id,
        } => {
            let o = frame(
                None,
                body.as_deref(),
                limits::INTERACTIVE_BODY_MAX,
                footer.as_deref(),
            )?;
            required("content.catalog-id", catalog_id, 64)?;
            required("content.product-retailer-id", product_retailer_id, 100)?;
            interactive(
                "product",
                o,
                json!({ "catalog_id": catalog_id, "product_retailer_id": product_retailer_id }),
            )
        }
        Content::ProductList {
            header,
            body,
            footer,
            catalog_id,
            sections,
        } => {
            let o = frame(
                Some(&Header::Text(header.clone())),
                Some(body),
                limits::INTERACTIVE_BODY_MAX,
                footer.as_deref(),
            )?;
            required("content.catalog-id", catalog_id, 64)?;
            count(
                "content.sections",
                "sections",
                sections.len(),
                limits::PRODUCT_SECTIONS_MAX,
            )?;
            let n: usize = sections.iter().map(|s| s.product_retailer_ids.len()).sum();
            count(
                "content.sections",
                "products in all",
                n,
                limits::PRODUCTS_MAX,
            )?;
            let mut out = Vec::new();
            for (i, s) in sections.iter().enumerate() {
                required(
                    &format!("content.sections[{i}].title"),
                    &s.title,
                    limits::SECTION_TITLE_MAX,
                )?;
                let items: Vec<Value> = s
                    .product_retailer_ids
                    .iter()
                    .map(|p| json!({ "product_retailer_id": p }))
                    .collect();
                out.push(json!({ "title": s.title, "product_items": items }));
            }
            interactive(
                "product_list",
                o,
                json!({ "catalog_id": catalog_id, "sections": out }),
            )
        }
        Content::Catalog {
            body,
            footer,
            thumbnail_product_retailer_id,
        } => {
            let o = frame(
                None,
                Some(body),
                limits::INTERACTIVE_BODY_MAX,
                footer.as_deref(),
            )?;
            let mut a = json!({ "name": "catalog_message" });
            if let Some(t) = thumbnail_product_retailer_id {
                a["parameters"] = json!({ "thumbnail_product_retailer_id": t });
            }
            interactive("catalog_message", o, a)
        }
        Content::Template(t) => template(t)?,
    };
    Ok((content.kind(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<(&'static str, Value), Error>) -> String {
        match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn buttons(n: usize, title_len: usize) -> Content {
        Content::Buttons {
            header: None,
            body: "b".into(),
            footer: None,
            buttons: (0..n)
                .map(|i| ReplyButton {
                    id: format!("id{i}"),
                    title: format!("{i}{}", "t".repeat(title_len - 1)),
                })
                .collect(),
        }
    }

    fn list(rows_per_section: &[usize], title_len: usize, desc_len: usize) -> Content {
        Content::List {
            header: None,
            body: "b".into(),
            footer: None,
            button: "Open".into(),
            sections: rows_per_section
                .iter()
                .enumerate()
                .map(|(i, n)| ListSection {
                    title: Some(format!("s{i}")),
                    rows: (0..*n)
                        .map(|j| ListRow {
                            id: format!("{i}-{j}"),
                            title: "r".repeat(title_len),
                            description: Some("d".repeat(desc_len)),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// One row per limit: the value at the limit passes, one past it fails on the field.
    #[test]
    fn every_limit_holds_at_its_edge() {
        use limits::*;
        let text = |n| Content::Text {
            body: "é".repeat(n),
            preview_url: false,
        };
        assert!(build(&text(TEXT_BODY_MAX)).is_ok());
        assert_eq!(
            field_of(build(&text(TEXT_BODY_MAX + 1))),
            "content.text.body"
        );
        let img = |n| {
            Content::Image(Media {
                source: MediaSource::Id("1".into()),
                caption: Some("c".repeat(n)),
                filename: None,
            })
        };
        assert!(build(&img(CAPTION_MAX)).is_ok());
        assert_eq!(
            field_of(build(&img(CAPTION_MAX + 1))),
            "content.image.caption"
        );
        assert!(build(&buttons(BUTTONS_MAX, BUTTON_TITLE_MAX)).is_ok());
        assert_eq!(
            field_of(build(&buttons(BUTTONS_MAX + 1, 5))),
            "content.buttons"
        );
        assert_eq!(
            field_of(build(&buttons(2, BUTTON_TITLE_MAX + 1))),
            "content.buttons[0].title"
        );
        assert!(build(&list(&[5, 5], ROW_TITLE_MAX, ROW_DESCRIPTION_MAX)).is_ok());
        assert_eq!(field_of(build(&list(&[6, 5], 3, 3))), "content.sections");
        assert_eq!(field_of(build(&list(&[1; 11], 3, 3))), "content.sections");
        assert_eq!(
            field_of(build(&list(&[1], ROW_TITLE_MAX + 1, 3))),
            "content.sections[0].rows[0].title"
        );
        assert_eq!(
            field_of(build(&list(&[1], 3, ROW_DESCRIPTION_MAX + 1))),
            "content.sections[0].rows[0].description"
        );
        let hdr = |n| Content::Buttons {
            header: Some(Header::Text("h".repeat(n))),
            body: "b".into(),
            footer: None,
            buttons: vec![ReplyButton {
                id: "a".into(),
                title: "A".into(),
            }],
        };
        assert!(build(&hdr(HEADER_TEXT_MAX)).is_ok());
        assert_eq!(field_of(build(&hdr(HEADER_TEXT_MAX + 1))), "content.header");
        let foot = |n| Content::LocationRequest("x".repeat(n));
        assert!(build(&foot(INTERACTIVE_BODY_MAX)).is_ok());
        assert_eq!(
            field_of(build(&foot(INTERACTIVE_BODY_MAX + 1))),
            "content.body"
        );
        let cat = |n| Content::Catalog {
            body: "b".into(),
            footer: Some("f".repeat(n)),
            thumbnail_product_retailer_id: None,
        };
        assert!(build(&cat(FOOTER_MAX)).is_ok());
        assert_eq!(field_of(build(&cat(FOOTER_MAX + 1))), "content.footer");
        let loc = |la, lo| {
            Content::Location(Location {
                latitude: la,
                longitude: lo,
                name: None,
                address: None,
            })
        };
        assert!(build(&loc(90.0, -180.0)).is_ok());
        assert_eq!(
            field_of(build(&loc(90.1, 0.0))),
            "content.location.latitude"
        );
        assert_eq!(
            field_of(build(&loc(0.0, 180.5))),
            "content.location.longitude"
        );
        assert_eq!(
            field_of(build(&loc(f64::NAN, 0.0))),
            "content.location.latitude"
        );
    }

    #[test]
    fn the_other_limits_hold_at_their_edges_too() {
        use limits::*;
        let cta = |n| Content::CtaUrl {
            header: None,
            body: "b".into(),
            footer: None,
            display_text: "d".repeat(n),
            url: "https://example.com".into(),
        };
        assert!(build(&cta(CTA_TEXT_MAX)).is_ok());
        assert_eq!(
            field_of(build(&cta(CTA_TEXT_MAX + 1))),
            "content.display-text"
        );
        let flow = |n| {
            Content::Flow(Flow {
                header: None,
                body: "b".into(),
                footer: None,
                flow_id: Some("1".into()),
                flow_name: None,
                cta: "c".repeat(n),
                flow_token: None,
                draft: true,
                screen: None,
                data_json: None,
            })
        };
        assert!(build(&flow(FLOW_CTA_MAX)).is_ok());
        assert_eq!(field_of(build(&flow(FLOW_CTA_MAX + 1))), "content.cta");
        let products = |sections: usize, per: usize| Content::ProductList {
            header: "h".into(),
            body: "b".into(),
            footer: None,
            catalog_id: "1".into(),
            sections: (0..sections)
                .map(|i| ProductSection {
                    title: format!("s{i}"),
                    product_retailer_ids: (0..per).map(|j| format!("p{i}-{j}")).collect(),
                })
                .collect(),
        };
        assert!(build(&products(PRODUCT_SECTIONS_MAX, 3)).is_ok());
        assert_eq!(
            field_of(build(&products(PRODUCT_SECTIONS_MAX + 1, 1))),
            "content.sections"
        );
        assert_eq!(
            field_of(build(&products(1, PRODUCTS_MAX + 1))),
            "content.sections"
        );
        let mut l = list(&[1, 1], 3, 3);
        if let Content::List { sections, .. } = &mut l {
            sections[1].title = Some("t".repeat(SECTION_TITLE_MAX + 1));
        }
        assert_eq!(field_of(build(&l)), "content.sections[1].title");
        let mut l = list(&[1], 3, 3);
        if let Content::List {
            sections, button, ..
        } = &mut l
        {
            sections[0].rows[0].id = "i".repeat(ROW_ID_MAX + 1);
            *button = "b".repeat(LIST_BUTTON_MAX);
        }
        assert_eq!(field_of(build(&l)), "content.sections[0].rows[0].id");
        let doc = |n| {
            Content::Document(Media {
                source: MediaSource::Id("1".into()),
                caption: None,
                filename: Some("f".repeat(n)),
            })
        };
        assert!(build(&doc(FILENAME_MAX)).is_ok());
        assert_eq!(
            field_of(build(&doc(FILENAME_MAX + 1))),
            "content.document.filename"
        );
    }

    #[test]
    fn buttons_need_unique_ids_and_titles() {
        let c = Content::Buttons {
            header: None,
            body: "b".into(),
            footer: None,
            buttons: vec![
                ReplyButton {
                    id: "a".into(),
                    title: "Yes".into(),
                },
                ReplyButton {
                    id: "a".into(),
                    title: "No".into(),
                },
            ],
        };
        assert_eq!(field_of(build(&c)), "content.buttons[1].id");
    }

    #[test]
    fn media_rules() {
        let audio = Content::Audio(Media {
            source: MediaSource::Link("https://x/a.ogg".into()),
            caption: Some("c".into()),
            filename: None,
        });
        assert_eq!(field_of(build(&audio)), "content.audio.caption");
        let bad_link = Content::Image(Media {
            source: MediaSource::Link("ftp://x".into()),
            caption: None,
            filename: None,
        });
        assert_eq!(field_of(build(&bad_link)), "content.image.source");
        let img_filename = Content::Image(Media {
            source: MediaSource::Id("1".into()),
            caption: None,
            filename: Some("a.jpg".into()),
        });
        assert_eq!(field_of(build(&img_filename)), "content.image.filename");
        let doc = Content::Document(Media {
            source: MediaSource::Id("1".into()),
            caption: Some("c".into()),
            filename: Some("a.pdf".into()),
        });
        assert_eq!(
            build(&doc).unwrap().1,
            json!({ "id": "1", "caption": "c", "filename": "a.pdf" })
        );
    }

    #[test]
    fn reactions_take_one_emoji_or_nothing() {
        for ok in ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇮🇱", "1️⃣", ""] {
            let r = build(&Content::Reaction {
                message_id: "wamid.x".into(),
                emoji: ok.into(),
            });
            assert!(r.is_ok(), "{ok:?}: {r:?}");
        }
        for bad in ["👍👍", "ok", "a👍", " 👍", "1", "🇮🇱🇮🇱"] {
            assert_eq!(
                field_of(build(&Content::Reaction {
                    message_id: "wamid.x".into(),
                    emoji: bad.into()
                })),
                "content.reaction.emoji",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn flows_need_exactly_one_of_id_and_name_and_object_data() {
        let f = |id: Option<&str>, name: Option<&str>, data: Option<&str>| {
            Content::Flow(Flow {
                header: None,
                body: "b".into(),
                footer: None,
                flow_id: id.map(Into::into),
                flow_name: name.map(Into::into),
                cta: "Book".into(),
                flow_token: Some("t".into()),
                draft: false,
                screen: Some("WELCOME".into()),
                data_json: data.map(Into::into),
            })
        };
        assert!(build(&f(Some("1"), None, Some("{\"a\":1}"))).is_ok());
        assert_eq!(
            field_of(build(&f(Some("1"), Some("n"), None))),
            "content.flow-id"
        );
        assert_eq!(field_of(build(&f(None, None, None))), "content.flow-id");
        assert_eq!(
            field_of(build(&f(Some("1"), None, Some("[1]")))),
            "content.data-json"
        );
    }
}
