//! Every kind of outgoing message through the component, the host and the sandbox, so
//! that the suite's recording (WA_RECORD_REQUESTS) holds each kind for the spec check.

use whatsapp_host::api::Error;
use whatsapp_host::api::outgoing::*;
use whatsapp_tests::{Harness, Options};

fn msg(content: Content) -> OutgoingMessage {
    OutgoingMessage {
        to: "+15551234567".into(),
        content,
        reply_to: None,
        biz_opaque_callback_data: None,
    }
}

fn id(s: &str) -> MediaSource {
    MediaSource::Id(s.into())
}

fn every_kind() -> Vec<(&'static str, Content)> {
    let link = |u: &str| MediaSource::Link(u.into());
    vec![
        (
            "text",
            Content::Text(Text {
                body: "Your order shipped: https://example.com/t/1".into(),
                preview_url: true,
            }),
        ),
        (
            "image by id",
            Content::Image(Media {
                source: id("1037543291543636"),
                caption: Some("Your receipt".into()),
                filename: None,
            }),
        ),
        (
            "image by link",
            Content::Image(Media {
                source: link("https://example.com/a.jpg"),
                caption: None,
                filename: None,
            }),
        ),
        (
            "video",
            Content::Video(Media {
                source: link("https://example.com/a.mp4"),
                caption: Some("How to".into()),
                filename: None,
            }),
        ),
        (
            "audio",
            Content::Audio(Media {
                source: id("1013859600285441"),
                caption: None,
                filename: None,
            }),
        ),
        (
            "document",
            Content::Document(Media {
                source: link("https://example.com/invoice.pdf"),
                caption: Some("Invoice".into()),
                filename: Some("invoice-42.pdf".into()),
            }),
        ),
        (
            "sticker",
            Content::Sticker(Media {
                source: id("798882015472548"),
                caption: None,
                filename: None,
            }),
        ),
        (
            "location",
            Content::Location(Location {
                latitude: 37.4847,
                longitude: -122.1477,
                name: Some("Philz Coffee".into()),
                address: Some("101 Forest Ave, Palo Alto".into()),
            }),
        ),
        (
            "contacts",
            Content::Contacts(vec![ContactCard {
                formatted_name: "Barbara J. Johnson".into(),
                first_name: Some("Barbara".into()),
                last_name: Some("Johnson".into()),
                phones: vec![ContactPhone {
                    phone: "+1 (940) 555-1234".into(),
                    kind: Some("WORK".into()),
                    wa_id: Some("19405551234".into()),
                }],
                emails: vec!["bjohnson@example.com".into()],
                organization: Some("Lucky Shrub".into()),
                urls: vec!["https://www.luckyshrub.com".into()],
            }]),
        ),
        (
            "reaction",
            Content::Reaction(Reaction {
                message_id: "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTdCNTg5RjY1MEMyRjlGMjRGNgA=".into(),
                emoji: "👍".into(),
            }),
        ),
        (
            "reaction removed",
            Content::Reaction(Reaction {
                message_id: "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTdCNTg5RjY1MEMyRjlGMjRGNgA=".into(),
                emoji: String::new(),
            }),
        ),
        (
            "reply buttons",
            Content::Buttons(Buttons {
                header: Some(InteractiveHeader::Image(link("https://example.com/h.png"))),
                body: "Reschedule your appointment?".into(),
                footer: Some("Lucky Shrub".into()),
                buttons: vec![
                    ReplyButton {
                        id: "change".into(),
                        title: "Change".into(),
                    },
                    ReplyButton {
                        id: "cancel".into(),
                        title: "Cancel".into(),
                    },
                ],
            }),
        ),
        (
            "list",
            Content::List(ListMessage {
                header: Some("Shipping".into()),
                body: "Choose a shipping option".into(),
                footer: Some("Prices include tax".into()),
                button: "Options".into(),
                sections: vec![
                    ListSection {
                        title: Some("Standard".into()),
                        rows: vec![ListRow {
                            id: "std".into(),
                            title: "Ground".into(),
                            description: Some("5 to 7 days".into()),
                        }],
                    },
                    ListSection {
                        title: Some("Fast".into()),
                        rows: vec![ListRow {
                            id: "exp".into(),
                            title: "Express".into(),
                            description: None,
                        }],
                    },
                ],
            }),
        ),
        (
            "cta url",
            Content::CtaUrl(CtaUrl {
                header: Some(InteractiveHeader::Text("Order #42".into())),
                body: "Track your order".into(),
                footer: None,
                display_text: "Track".into(),
                url: "https://example.com/track/42".into(),
            }),
        ),
        (
            "flow",
            Content::Flow(Flow {
                header: Some(InteractiveHeader::Text("Book".into())),
                body: "Book your next class".into(),
                footer: None,
                flow_id: Some("1234567890".into()),
                flow_name: None,
                cta: "Book now".into(),
                flow_token: Some("tok-1".into()),
                draft: false,
                screen: Some("WELCOME".into()),
                data_json: Some(r#"{"class":"yoga"}"#.into()),
            }),
        ),
        (
            "location request",
            Content::LocationRequest("Share your location for delivery".into()),
        ),
        (
            "product",
            Content::Product(Product {
                body: Some("Our best seller".into()),
                footer: None,
                catalog_id: "194836987003835".into(),
                product_retailer_id: "SKU-1".into(),
            }),
        ),
        (
            "product list",
            Content::ProductList(ProductList {
                header: "Spring picks".into(),
                body: "Three plants we love".into(),
                footer: None,
                catalog_id: "194836987003835".into(),
                sections: vec![ProductSection {
                    title: "Plants".into(),
                    product_retailer_ids: vec!["SKU-1".into(), "SKU-2".into()],
                }],
            }),
        ),
        (
            "catalog",
            Content::Catalog(CatalogMessage {
                body: "Browse our catalog".into(),
                footer: None,
                thumbnail_product_retailer_id: Some("SKU-1".into()),
            }),
        ),
    ]
}

#[tokio::test]
async fn every_kind_is_sent_with_context_and_callback_data() {
    let h = Harness::start(Options {
        webhooks: false,
        auto_reply: false,
    })
    .await;
    for (name, content) in every_kind() {
        let mut m = msg(content);
        m.biz_opaque_callback_data = Some(format!("kind:{name}"));
        let r = h.instance().await.send(&m).await.unwrap();
        let sent = r.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(sent.message_id.starts_with("wamid."), "{name}");
        // Reply context on every kind too (reactions carry their own target instead).
        if !name.starts_with("reaction") {
            m.reply_to = Some(sent.message_id.clone());
            h.instance()
                .await
                .send(&m)
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{name} with context: {e:?}"));
        }
    }
}

#[tokio::test]
async fn invalid_kinds_are_refused_locally_naming_the_field() {
    let h = Harness::start(Options {
        webhooks: false,
        auto_reply: false,
    })
    .await;
    let cases = [
        (
            Content::Buttons(Buttons {
                header: None,
                body: "b".into(),
                footer: None,
                buttons: vec![],
            }),
            "content.buttons",
        ),
        (
            Content::Sticker(Media {
                source: id("1"),
                caption: Some("no".into()),
                filename: None,
            }),
            "content.sticker.caption",
        ),
        (
            Content::Reaction(Reaction {
                message_id: "wamid.x".into(),
                emoji: "two words".into(),
            }),
            "content.reaction.emoji",
        ),
        (
            Content::Location(Location {
                latitude: 91.0,
                longitude: 0.0,
                name: None,
                address: None,
            }),
            "content.location.latitude",
        ),
        (
            Content::Image(Media {
                source: id("../x"),
                caption: None,
                filename: None,
            }),
            "content.image.source",
        ),
    ];
    for (c, field) in cases {
        let r = h.instance().await.send(&msg(c)).await.unwrap();
        assert!(
            matches!(&r, Err(Error::InvalidInput(i)) if i.field == field),
            "{field}: {r:?}"
        );
    }
}
