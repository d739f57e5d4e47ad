//! Property tests of the send builders against the sandbox, an independent reading of
//! Meta's rules: whatever a platform passes, `send_request` returns a typed
//! invalid-input error naming a field, or a request the sandbox accepts; and input
//! within Meta's limits is never refused.

use proptest::prelude::*;
use std::sync::{Arc, OnceLock};
use whatsapp_guest::core::Error;
use whatsapp_guest::core::messages::{Outgoing, send_request};
use whatsapp_guest::core::outgoing::{
    Content, Header, ListRow, ListSection, Location, Media, MediaSource, ReplyButton, limits,
};
use whatsapp_guest::core::settings::Settings;
use whatsapp_sandbox::{Sandbox, SandboxConfig};

const ORIGIN: &str = "http://127.0.0.1:9";

fn env() -> &'static (tokio::runtime::Runtime, Arc<Sandbox>, Settings) {
    static ENV: OnceLock<(tokio::runtime::Runtime, Arc<Sandbox>, Settings)> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let config = SandboxConfig {
            enforce_window: false,
            ..SandboxConfig::default()
        };
        let sandbox = rt.block_on(async { Sandbox::new(config) });
        let settings = Settings::from_pairs([
            ("tenant-id".to_string(), "props".to_string()),
            ("phone-number-id".to_string(), "106540352242922".to_string()),
            ("graph-origin".to_string(), ORIGIN.to_string()),
        ]);
        (rt, sandbox, settings)
    })
}

/// `Ok(status)` of the sandbox's answer to what the builder built, or the builder's error.
fn build_and_send(msg: &Outgoing) -> Result<u16, Error> {
    let (rt, sandbox, settings) = env();
    let req = send_request(settings, msg)?;
    let path = req.url.strip_prefix(ORIGIN).unwrap().to_string();
    let body = req.body.unwrap();
    let resp = rt.block_on(sandbox.answer(
        "POST",
        &path,
        "",
        &[("authorization", "Bearer sandbox-access-token")],
        &body,
    ));
    let status = resp.status().as_u16();
    let text = rt.block_on(async {
        use http_body_util::BodyExt;
        resp.into_body().collect().await.unwrap().to_bytes()
    });
    // The sandbox's throttled test recipients answer 130429 to a valid message.
    let throttled = serde_json::from_slice::<serde_json::Value>(&text)
        .is_ok_and(|v| v["error"]["code"] == 130429);
    Ok(if throttled { 200 } else { status })
}

/// Strings of 0 to `max + 3` characters, multibyte ones included, so that every
/// length limit is tried on both sides.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', 'Z', '7', ' ', 'é', '😀', '\n', '-']),
        0..=max + 3,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// Non-blank strings of 1 to `max` characters.
fn within(max: usize) -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!['a', 'é', '😀']),
        text(max.saturating_sub(1)),
    )
        .prop_map(move |(c, t)| {
            let mut s: String = std::iter::once(c).chain(t.chars()).collect();
            while s.chars().count() > max {
                s.pop();
            }
            s
        })
}

fn recipient() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\+?[1-9][0-9]{6,14}",
        1 => "[+0-9a-z ]{0,18}",
    ]
}

fn source() -> impl Strategy<Value = MediaSource> {
    prop_oneof![
        "[0-9]{1,20}".prop_map(MediaSource::Id),
        "(https|http|ftp)://[a-z]{1,10}\\.example/[a-z]{0,10}".prop_map(MediaSource::Link),
        text(10).prop_map(MediaSource::Link),
    ]
}

fn media() -> impl Strategy<Value = Media> {
    (
        source(),
        prop::option::of(text(limits::CAPTION_MAX)),
        prop::option::of(text(20)),
    )
        .prop_map(|(source, caption, filename)| Media {
            source,
            caption,
            filename,
        })
}

fn buttons() -> impl Strategy<Value = Vec<ReplyButton>> {
    prop::collection::vec(
        (text(limits::BUTTON_ID_MAX), text(limits::BUTTON_TITLE_MAX))
            .prop_map(|(id, title)| ReplyButton { id, title }),
        0..=limits::BUTTONS_MAX + 1,
    )
}

fn sections() -> impl Strategy<Value = Vec<ListSection>> {
    let row = (
        text(limits::ROW_ID_MAX),
        text(limits::ROW_TITLE_MAX),
        prop::option::of(text(limits::ROW_DESCRIPTION_MAX)),
    )
        .prop_map(|(id, title, description)| ListRow {
            id,
            title,
            description,
        });
    prop::collection::vec(
        (
            prop::option::of(text(limits::SECTION_TITLE_MAX)),
            prop::collection::vec(row, 0..=4),
        )
            .prop_map(|(title, rows)| ListSection { title, rows }),
        0..=4,
    )
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        (text(limits::TEXT_BODY_MAX), any::<bool>())
            .prop_map(|(body, preview_url)| Content::Text { body, preview_url }),
        media().prop_map(Content::Image),
        media().prop_map(Content::Video),
        media().prop_map(Content::Audio),
        media().prop_map(Content::Document),
        media().prop_map(Content::Sticker),
        (
            -100.0..100.0f64,
            -200.0..200.0f64,
            prop::option::of(text(20)),
            prop::option::of(text(20))
        )
            .prop_map(
                |(latitude, longitude, name, address)| Content::Location(Location {
                    latitude,
                    longitude,
                    name,
                    address
                })
            ),
        (text(70), prop::sample::select(vec!["", "👍", "😀", "ab"])).prop_map(
            |(message_id, emoji)| Content::Reaction {
                message_id,
                emoji: emoji.into()
            }
        ),
        (
            prop::option::of(prop_oneof![
                text(limits::HEADER_TEXT_MAX).prop_map(Header::Text),
                source().prop_map(Header::Image)
            ]),
            text(limits::INTERACTIVE_BODY_MAX),
            prop::option::of(text(limits::FOOTER_MAX)),
            buttons()
        )
            .prop_map(|(header, body, footer, buttons)| Content::Buttons {
                header,
                body,
                footer,
                buttons
            }),
        (
            prop::option::of(text(limits::HEADER_TEXT_MAX)),
            text(100),
            prop::option::of(text(limits::FOOTER_MAX)),
            text(limits::LIST_BUTTON_MAX),
            sections()
        )
            .prop_map(|(header, body, footer, button, sections)| Content::List {
                header,
                body,
                footer,
                button,
                sections
            }),
        (
            text(100),
            text(limits::CTA_TEXT_MAX),
            prop_oneof!["https://[a-z]{1,10}\\.example/[a-z]{0,8}", text(12)]
        )
            .prop_map(|(body, display_text, url)| Content::CtaUrl {
                header: None,
                body,
                footer: None,
                display_text,
                url
            }),
        text(100).prop_map(Content::LocationRequest),
        (text(100), prop::option::of(text(limits::FOOTER_MAX))).prop_map(|(body, footer)| {
            Content::Catalog {
                body,
                footer,
                thumbnail_product_retailer_id: None,
            }
        }),
    ]
}

fn message() -> impl Strategy<Value = Outgoing> {
    (
        recipient(),
        content(),
        prop::option::of(text(20)),
        prop::option::of(text(520)),
    )
        .prop_map(|(to, content, reply_to, data)| Outgoing {
            to,
            content,
            reply_to,
            biz_opaque_callback_data: data,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// What the builders pass, Meta's rules accept; what they refuse is a typed error.
    #[test]
    fn a_built_request_is_accepted_and_a_refusal_names_its_field(msg in message()) {
        match build_and_send(&msg) {
            Ok(status) => prop_assert_eq!(status, 200, "the sandbox refused what was built from {:?}", msg),
            Err(Error::InvalidInput { field, reason }) => {
                prop_assert!(!field.is_empty() && !reason.is_empty());
            }
            Err(e) => prop_assert!(false, "not an invalid-input error: {:?}", e),
        }
    }

    /// Text within Meta's limit is always sent; longer text is always refused.
    #[test]
    fn text_is_refused_exactly_past_the_limit(to in "[1-9][0-9]{9,13}", body in within(limits::TEXT_BODY_MAX + 40)) {
        let n = body.chars().count();
        let msg = Outgoing {
            to,
            content: Content::Text { body, preview_url: false },
            reply_to: None,
            biz_opaque_callback_data: None,
        };
        match build_and_send(&msg) {
            Ok(status) => {
                prop_assert!(n <= limits::TEXT_BODY_MAX, "{} characters were sent", n);
                prop_assert_eq!(status, 200);
            }
            Err(Error::InvalidInput { .. }) => prop_assert!(n > limits::TEXT_BODY_MAX, "{} characters were refused", n),
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }

    /// Up to three reply buttons with distinct ids and titles within their limits are
    /// always sent; a fourth is always refused.
    #[test]
    fn reply_buttons_within_the_limits_are_sent(
        body in within(limits::INTERACTIVE_BODY_MAX),
        titles in prop::collection::vec(within(limits::BUTTON_TITLE_MAX - 2), 1..=4),
    ) {
        let count = titles.len();
        let buttons = titles
            .into_iter()
            .enumerate()
            .map(|(i, t)| ReplyButton { id: format!("b{i}"), title: format!("{i}{t}").chars().take(limits::BUTTON_TITLE_MAX).collect() })
            .collect();
        let msg = Outgoing {
            to: "15551234567".into(),
            content: Content::Buttons { header: None, body, footer: None, buttons },
            reply_to: None,
            biz_opaque_callback_data: None,
        };
        match build_and_send(&msg) {
            Ok(status) => { prop_assert!(count <= 3); prop_assert_eq!(status, 200); }
            Err(Error::InvalidInput { field, .. }) => prop_assert!(count > 3, "refused {}: {:?}", field, msg),
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }
}
