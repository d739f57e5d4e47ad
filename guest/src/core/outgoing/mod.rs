//! Every kind of outgoing message: the content types, their validation against Meta's
//! limits (one table, [`limits`]), and the JSON each becomes in a send request.
//!
//! `build` hands each kind to its module: `plain` (text, location, contacts, reaction),
//! `media`, `interactive` and `template`, over the shared checks of `fields`.

pub(crate) mod fields;
mod interactive;
mod media;
mod plain;
mod template;

pub use plain::is_single_emoji;

use super::error::Error;
use serde_json::Value;

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
    /// Asks the contact for permission to call them; the body text.
    CallPermissionRequest(String),
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
            | Content::CallPermissionRequest(_)
            | Content::Product { .. }
            | Content::ProductList { .. }
            | Content::Catalog { .. } => "interactive",
            Content::Template(_) => "template",
        }
    }
}

/// Validate `content` and give Meta's `type` and the object under it (or, for the
/// interactive kinds, the `interactive` object).
pub fn build(content: &Content) -> Result<(&'static str, Value), Error> {
    let v = match content {
        Content::Text { body, preview_url } => plain::text(body, *preview_url)?,
        Content::Image(m) => media::media("content.image", "image", m)?,
        Content::Video(m) => media::media("content.video", "video", m)?,
        Content::Audio(m) => media::media("content.audio", "audio", m)?,
        Content::Document(m) => media::media("content.document", "document", m)?,
        Content::Sticker(m) => media::media("content.sticker", "sticker", m)?,
        Content::Location(l) => plain::location(l)?,
        Content::Contacts(cards) => plain::contacts(cards)?,
        Content::Reaction { message_id, emoji } => plain::reaction(message_id, emoji)?,
        Content::Buttons {
            header,
            body,
            footer,
            buttons,
        } => interactive::buttons(header.as_ref(), body, footer.as_deref(), buttons)?,
        Content::List {
            header,
            body,
            footer,
            button,
            sections,
        } => interactive::list(header.as_deref(), body, footer.as_deref(), button, sections)?,
        Content::CtaUrl {
            header,
            body,
            footer,
            display_text,
            url,
        } => interactive::cta_url(header.as_ref(), body, footer.as_deref(), display_text, url)?,
        Content::Flow(f) => interactive::flow(f)?,
        Content::LocationRequest(body) => interactive::location_request(body)?,
        Content::CallPermissionRequest(body) => interactive::call_permission_request(body)?,
        Content::Product {
            body,
            footer,
            catalog_id,
            product_retailer_id,
        } => interactive::product(
            body.as_deref(),
            footer.as_deref(),
            catalog_id,
            product_retailer_id,
        )?,
        Content::ProductList {
            header,
            body,
            footer,
            catalog_id,
            sections,
        } => interactive::product_list(header, body, footer.as_deref(), catalog_id, sections)?,
        Content::Catalog {
            body,
            footer,
            thumbnail_product_retailer_id,
        } => interactive::catalog(
            body,
            footer.as_deref(),
            thumbnail_product_retailer_id.as_deref(),
        )?,
        Content::Template(t) => template::template(t)?,
    };
    Ok((content.kind(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn field_of(r: Result<(&'static str, Value), Error>) -> String {
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
}
