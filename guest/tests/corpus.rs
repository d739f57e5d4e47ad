//! The sans-IO core natively on every webhook body of both corpora (see
//! `tests/support/corpus.rs`): ours, always, and pywa's recorded payloads when they are
//! beside the repository. Each payload's events are checked by kind and key fields, not
//! only for parsing, and ours must cover every kind of event and content the parser knows.

#[path = "../../tests/support/corpus.rs"]
mod corpus;

use std::collections::BTreeSet;
use whatsapp_guest::core::templates::NewTemplate;
use whatsapp_guest::core::webhook::{
    DeliveryStatus, Event, EventBody as B, MessageContent as C, PhoneNumberUpdateKind,
    TemplateUpdateKind, parse,
};

fn content(e: &Event) -> &C {
    match &e.body {
        B::Message(m) => &m.content,
        B::Echo(m) => &m.content,
        other => panic!("not a message: {other:?}"),
    }
}

/// Checks one of pywa's payloads' events; panics with the reason.
fn check_pywa(file: &str, name: &str, ev: &[Event]) {
    let first = &ev[0];
    let one = || assert_eq!(ev.len(), 1, "{file}/{name}: {ev:#?}");
    match (file, name) {
        ("message.json", "text" | "reply" | "forwarded" | "forwarded_many_times" | "referral") => {
            one();
            assert!(matches!(content(first), C::Text(t) if !t.is_empty()));
        }
        ("message.json", "image" | "media_with_url") => {
            let C::Image(m) = content(first) else {
                panic!()
            };
            assert_eq!(
                (m.id.as_str(), m.mime_type.as_deref()),
                ("65463453", Some("image/jpeg"))
            );
            assert_eq!(m.url.is_some(), name == "media_with_url");
        }
        ("message.json", "video") => {
            assert!(matches!(content(first), C::Video(m) if !m.id.is_empty()))
        }
        ("message.json", "document") => {
            assert!(matches!(content(first), C::Document(m) if !m.id.is_empty()))
        }
        ("message.json", "audio") => assert!(matches!(content(first), C::Audio(m) if !m.voice)),
        ("message.json", "voice") => assert!(matches!(content(first), C::Audio(m) if m.voice)),
        ("message.json", "static_sticker") => {
            assert!(matches!(content(first), C::Sticker(m) if !m.animated))
        }
        ("message.json", "animated_sticker") => {
            assert!(matches!(content(first), C::Sticker(m) if m.animated))
        }
        ("message.json", "reaction") => {
            assert!(
                matches!(content(first), C::Reaction(r) if r.message_id == "wamid.yzxyzx=" && r.emoji.as_deref() == Some("😮"))
            )
        }
        ("message.json", "unreaction_empty" | "unreaction_no_emoji") => {
            assert!(
                matches!(content(first), C::Reaction(r) if r.emoji.is_none() && !r.message_id.is_empty())
            )
        }
        ("message.json", "current_location" | "chosen_location") => {
            let C::Location(l) = content(first) else {
                panic!()
            };
            assert!(l.latitude != 0.0 && l.longitude != 0.0);
        }
        ("message.json", "contacts") => {
            let C::Contacts(cards) = content(first) else {
                panic!()
            };
            assert_eq!(cards.len(), 3);
            assert_eq!(cards[0].formatted_name.as_deref(), Some("Chandler Bing"));
            assert_eq!(cards[0].phones, ["+1 555-555-5555"]);
        }
        ("message.json", "order") => {
            let C::Order(o) = content(first) else {
                panic!()
            };
            assert_eq!(
                (o.catalog_id.as_str(), o.items.len()),
                ("354160437058781", 3)
            );
            assert_eq!(
                (
                    o.items[0].product_retailer_id.as_str(),
                    o.items[0].quantity,
                    o.items[0].currency.as_str()
                ),
                ("HAMBURGER", 3, "ILS")
            );
        }
        ("message.json", "unsupported" | "unsupported_with_type") => {
            let B::Message(m) = &first.body else { panic!() };
            assert!(matches!(m.content, C::Unsupported(_)));
            if name == "unsupported_with_type" {
                assert_eq!(m.content, C::Unsupported(Some("pool".into())));
                assert_eq!(m.errors[0].code, 131051);
            }
        }
        ("message.json", "interactive_message_with_err") => {
            assert_eq!(ev.len(), 2);
            assert!(matches!(content(first), C::Other(_)));
            assert!(matches!(&ev[1].body, B::Errors(es) if es[0].code == 131000));
        }
        ("message_status.json", _) => {
            one();
            let B::Status(s) = &first.body else { panic!() };
            let want = match name {
                "sent" | "with_tracker" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" | "group" => DeliveryStatus::Read,
                "played" => DeliveryStatus::Played,
                "failed" => DeliveryStatus::Failed,
                other => panic!("new status fixture {other}"),
            };
            assert_eq!(s.status, want);
        }
        ("callback_button.json", "button") => {
            assert!(
                matches!(content(first), C::ButtonReply(c) if c.id == "callback_data" && c.title == "title")
            )
        }
        ("callback_button.json", _) => {
            assert!(
                matches!(content(first), C::QuickReply(q) if q.payload == "callback_data" && q.text == "title")
            )
        }
        ("callback_selection.json", _) => {
            let C::ListReply(c) = content(first) else {
                panic!()
            };
            assert_eq!(c.id, "callback_data");
            assert_eq!(c.description.is_some(), name == "description");
        }
        ("flow_completion.json", _) => {
            let C::FlowReply(f) = content(first) else {
                panic!()
            };
            assert!(f.response_json.contains("delivery_rating"));
            assert_eq!(f.flow_token.is_some(), name == "completion");
        }
        ("call_permission_update.json", _) => {
            assert!(matches!(content(first), C::CallPermissionReply(r) if r.response == name))
        }
        ("deleted_message.json", _) => assert!(
            matches!(content(first), C::Revoke(id) if id == "<ORIGINAL_WHATSAPP_MESSAGE_ID>")
        ),
        ("edited_message.json", _) => {
            let C::Edit(e) = content(first) else { panic!() };
            assert_eq!(
                (e.message_type.as_str(), e.text.as_deref()),
                ("image", Some("Updated image caption"))
            );
        }
        ("system.json", _) => {
            let C::System(s) = content(first) else {
                panic!()
            };
            assert_eq!(s.new_wa_id.is_some(), name == "phone_number_change");
        }
        ("outgoing_message.json", _) => {
            one();
            let B::Echo(e) = &first.body else {
                panic!("{first:?}")
            };
            match name {
                "text" => assert!(matches!(e.content, C::Text(ref t) if t == "Test message")),
                "delete" => assert!(matches!(e.content, C::Revoke(ref id) if id == "wamid.zzzzzz")),
                _ => assert!(
                    matches!(e.content, C::Edit(ref ed) if ed.text.as_deref() == Some("Text was edited"))
                ),
            }
        }
        ("template_status_update.json", _) => {
            let B::Template(t) = &first.body else {
                panic!()
            };
            assert_eq!(t.kind, TemplateUpdateKind::Status);
            assert_eq!(
                t.value.as_deref(),
                Some(if name == "approved" {
                    "APPROVED"
                } else {
                    "REJECTED"
                })
            );
            assert!(t.name.is_some() && t.language.is_some() && t.category.is_some());
            assert!(first.timestamp.is_some());
        }
        ("template_category_update.json", _) => {
            assert!(
                matches!(&first.body, B::Template(t) if t.kind == TemplateUpdateKind::Category && t.value.as_deref() == Some("MARKETING"))
            )
        }
        ("template_quality_update.json", _) => assert!(matches!(&first.body, B::Template(t)
            if t.kind == TemplateUpdateKind::Quality && t.value.as_deref() == Some("YELLOW") && t.previous.as_deref() == Some("GREEN"))),
        ("template_components_update.json", _) => {
            assert!(
                matches!(&first.body, B::Template(t) if t.kind == TemplateUpdateKind::Components && t.value.is_some())
            )
        }
        ("account_update.json", _) => {
            one();
            let B::Account(a) = &first.body else { panic!() };
            let want = match name {
                "ad_account_linked" => "AD_ACCOUNT_LINKED",
                "authentication_international_eligibility" => "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
                "account_disabled" => "DISABLED_UPDATE",
                "mm_api_for_wa_terms_of_service" => "MM_LITE_TERMS_SIGNED",
                "partner_led_business_verification_status" => {
                    "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE"
                }
                "partner_removed_wa_app_disconnection" => "PARTNER_REMOVED",
                "primary_business_location_set" => "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE",
                "pricing_tiering_update" => "VOLUME_BASED_PRICING_TIER_UPDATE",
                other => return assert_eq!(a.event, other.to_uppercase()),
            };
            assert_eq!(a.event, want);
        }
        ("user_marketing_preferences.json", _) => {
            let B::Preference(p) = &first.body else {
                panic!()
            };
            assert_eq!(
                (p.wa_id.as_deref(), p.category.as_str(), p.value.as_str()),
                (Some("16505551234"), "marketing_messages", name)
            );
        }
        ("call_connect.json", _) => {
            assert!(
                matches!(&first.body, B::Call(c) if c.event == "connect" && c.id == "wacid.xxxx=" && c.direction.is_some())
            )
        }
        ("call_status.json", _) => assert!(
            matches!(&first.body, B::Call(c) if c.event == "status" && c.status.as_deref() == Some("RINGING"))
        ),
        ("call_terminate.json", _) => {
            assert_eq!(ev.len(), 2);
            assert!(
                matches!(&first.body, B::Call(c) if c.event == "terminate" && c.duration_seconds == Some(120))
            );
            assert!(matches!(&ev[1].body, B::Errors(es) if es[0].code == 12455));
        }
        other => panic!("no expectation for {other:?}: {ev:#?}"),
    }
    let _ = PhoneNumberUpdateKind::Name;
}

const WABA: &str = "102290129340398";
const PNID: &str = "106540352242922";
const CUSTOMER: &str = "16505551234";
const BIZ_WAMID: &str = "wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA==";

fn message(e: &Event) -> &whatsapp_guest::core::webhook::InboundMessage {
    match &e.body {
        B::Message(m) => m,
        other => panic!("not a message: {other:?}"),
    }
}

fn status(e: &Event) -> &whatsapp_guest::core::webhook::StatusUpdate {
    match &e.body {
        B::Status(s) => s,
        other => panic!("not a status: {other:?}"),
    }
}

/// The name of a content variant, for the coverage check.
fn content_kind(c: &C) -> &'static str {
    match c {
        C::Text(_) => "text",
        C::Image(_) => "image",
        C::Video(_) => "video",
        C::Audio(_) => "audio",
        C::Document(_) => "document",
        C::Sticker(_) => "sticker",
        C::Location(_) => "location",
        C::Contacts(_) => "contacts",
        C::Reaction(_) => "reaction",
        C::ButtonReply(_) => "button-reply",
        C::ListReply(_) => "list-reply",
        C::FlowReply(_) => "flow-reply",
        C::CallPermissionReply(_) => "call-permission-reply",
        C::QuickReply(_) => "quick-reply",
        C::Order(_) => "order",
        C::System(_) => "system",
        C::Edit(_) => "edit",
        C::Revoke(_) => "revoke",
        C::RequestWelcome => "request-welcome",
        C::Unsupported(_) => "unsupported",
        C::Other(_) => "other",
    }
}

/// Checks one of our payloads' events against what its body, written from Meta's
/// documentation, says; panics with the reason.
fn check_ours(file: &str, name: &str, ev: &[Event]) {
    let first = &ev[0];
    let one = || assert_eq!(ev.len(), 1, "{file}/{name}: {ev:#?}");
    let routed = |e: &Event| {
        assert_eq!(e.routing.waba_id, WABA, "{file}/{name}");
        assert_eq!(
            e.routing.phone_number_id.as_deref(),
            Some(PNID),
            "{file}/{name}"
        );
    };
    match (file, name) {
        ("messages.json", "three_messages_two_contacts") => {
            assert_eq!(ev.len(), 3);
            let names: Vec<_> = ev
                .iter()
                .map(|e| e.contact.as_ref().and_then(|c| c.name.as_deref()))
                .collect();
            assert_eq!(
                names,
                [
                    Some("Kerry Fisher"),
                    Some("Priya Shah"),
                    Some("Kerry Fisher")
                ]
            );
            assert_eq!(message(&ev[1]).from, "447700900123");
            assert_eq!(ev[1].timestamp, Some(1733323201));
            assert!(
                matches!(content(&ev[2]), C::Image(m) if m.mime_type.as_deref() == Some("image/png"))
            );
        }
        ("messages.json", "unknown_type_with_errors") => {
            one();
            let m = message(first);
            assert!(matches!(&m.content, C::Other(raw) if raw.contains("131051")));
            assert_eq!(m.errors[0].code, 131051);
            assert_eq!(
                m.errors[0].details.as_deref(),
                Some("Message type is currently not supported.")
            );
        }
        ("messages.json", _) => {
            one();
            routed(first);
            let m = message(first);
            assert_eq!(first.idempotency_key, format!("message:{}", m.id));
            assert_eq!(first.timestamp, Some(1733323200), "{name}");
            if name == "username_only" {
                // No phone number: the BSUID is the only identity Meta gives.
                assert_eq!(m.from_user_id.as_deref(), Some("US.7359204871654321"));
                let c = first.contact.as_ref().unwrap();
                assert_eq!(c.user_id.as_deref(), Some("US.7359204871654321"));
                assert_eq!(c.name.as_deref(), Some("Sam"));
                assert_eq!(m.content, C::Text("Hello from a username".into()));
                return;
            }
            assert_eq!(m.from, CUSTOMER, "{name}");
            let c = first.contact.as_ref().unwrap();
            assert_eq!(c.wa_id.as_deref(), Some(CUSTOMER));
            assert_eq!(c.user_id.as_deref(), Some("US.1086225403950561"));
            let context = m.context.clone().unwrap_or_default();
            match name {
                "text" | "unknown_fields" => {
                    assert_eq!(c.name.as_deref(), Some("Kerry Fisher"));
                    assert!(
                        matches!(&m.content, C::Text(t) if t.starts_with("Hi! Is the blue") || t.starts_with("Fields Meta adds"))
                    );
                    assert!(m.context.is_none() && m.referral.is_none() && m.errors.is_empty());
                }
                "text_escaped" => {
                    assert_eq!(m.content, C::Text("Café ☕ at 8? 😀 \"yes\"".into()));
                    assert_eq!(c.name.as_deref(), Some("Zoë Châtelet"));
                }
                "reply" => {
                    assert_eq!(m.content, C::Text("Yes, size M please".into()));
                    assert_eq!(
                        (context.message_id.as_deref(), context.from.as_deref()),
                        (Some(BIZ_WAMID), Some("15550783881"))
                    );
                    assert!(!context.forwarded && !context.frequently_forwarded);
                }
                "forwarded" => assert!(context.forwarded && !context.frequently_forwarded),
                "request_welcome" => {
                    assert_eq!(m.content, C::RequestWelcome);
                    assert_eq!(m.message_type, "request_welcome");
                }
                "frequently_forwarded" => assert!(context.frequently_forwarded),
                "image" | "image_with_url" => {
                    let C::Image(md) = &m.content else {
                        panic!("{m:?}")
                    };
                    assert_eq!(md.mime_type.as_deref(), Some("image/jpeg"));
                    assert_eq!(
                        md.sha256.as_deref(),
                        Some("ZmFrZS1zaGEyNTYtb2YtdGhlLWltYWdl")
                    );
                    assert_eq!(md.url.is_some(), name == "image_with_url");
                    assert_eq!(md.caption.is_some(), name == "image");
                    assert!(md.id.starts_with("147953713965097"));
                }
                "video" => {
                    assert!(matches!(&m.content, C::Video(md) if md.id == "2213741645684031"))
                }
                "document" => assert!(matches!(&m.content, C::Document(md)
                    if md.filename.as_deref() == Some("invoice-0042.pdf") && md.caption.as_deref() == Some("My invoice"))),
                "audio" => assert!(
                    matches!(&m.content, C::Audio(md) if !md.voice && md.mime_type.as_deref() == Some("audio/mpeg"))
                ),
                "voice" => assert!(matches!(&m.content, C::Audio(md) if md.voice)),
                "sticker" => assert!(matches!(&m.content, C::Sticker(md) if !md.animated)),
                "animated_sticker" => assert!(matches!(&m.content, C::Sticker(md) if md.animated)),
                "location" => {
                    let C::Location(l) = &m.content else {
                        panic!("{m:?}")
                    };
                    assert_eq!((l.latitude, l.longitude), (37.48525, -122.14822));
                    assert_eq!(l.name.as_deref(), Some("Meta Headquarters"));
                    assert!(l.address.is_some() && l.url.is_some());
                }
                "contacts" => {
                    let C::Contacts(cards) = &m.content else {
                        panic!("{m:?}")
                    };
                    assert_eq!(cards.len(), 2);
                    assert_eq!(cards[0].formatted_name.as_deref(), Some("Ana Lima"));
                    assert_eq!(cards[0].wa_ids, ["5511912345678"]);
                    assert_eq!(cards[0].emails, ["ana@example.com"]);
                    assert_eq!(cards[1].phones, ["+234 803 123 4567"]);
                    assert!(cards[1].wa_ids.is_empty());
                }
                "reaction" => assert_eq!(
                    m.content,
                    C::Reaction(whatsapp_guest::core::webhook::Reaction {
                        message_id: BIZ_WAMID.into(),
                        emoji: Some("👍".into())
                    })
                ),
                "reaction_removed" => assert!(
                    matches!(&m.content, C::Reaction(r) if r.emoji.is_none() && r.message_id == BIZ_WAMID)
                ),
                "button_reply" => assert!(matches!(&m.content, C::ButtonReply(r)
                    if r.id == "confirm-order-42" && r.title == "Confirm" && r.description.is_none())),
                "list_reply" => assert!(matches!(&m.content, C::ListReply(r)
                    if r.id == "slot-tue-10" && r.description.as_deref() == Some("Studio A, 45 minutes"))),
                "flow_reply" => {
                    let C::FlowReply(f) = &m.content else {
                        panic!("{m:?}")
                    };
                    assert_eq!(f.flow_token.as_deref(), Some("signup-7f3a"));
                    assert!(f.response_json.contains("\"plan\":\"monthly\""));
                    assert_eq!(f.body.as_deref(), Some("Sent"));
                }
                "call_permission_reply" => assert!(matches!(&m.content, C::CallPermissionReply(r)
                    if r.response == "accept" && r.expiration_timestamp == Some(1733928000) && r.source.as_deref() == Some("user_action"))),
                "quick_reply" => assert!(matches!(&m.content, C::QuickReply(q)
                    if q.payload == "STOP_PROMOTIONS" && q.text == "Stop promotions")),
                "order" => {
                    let C::Order(o) = &m.content else {
                        panic!("{m:?}")
                    };
                    assert_eq!(o.catalog_id, "1183420872473619");
                    assert_eq!(o.text.as_deref(), Some("For Saturday please"));
                    let items: Vec<_> = o
                        .items
                        .iter()
                        .map(|i| {
                            (
                                i.product_retailer_id.as_str(),
                                i.quantity,
                                i.item_price,
                                i.currency.as_str(),
                            )
                        })
                        .collect();
                    // A quantity sent as a string counts as well.
                    assert_eq!(
                        items,
                        [
                            ("jacket-blue-m", 1, 89.9, "EUR"),
                            ("socks-3pack", 2, 12.5, "EUR")
                        ]
                    );
                }
                "system_number_changed" => assert!(matches!(&m.content, C::System(s)
                    if s.kind == "user_changed_number" && s.new_wa_id.as_deref() == Some("16505559876"))),
                "edit" => assert!(matches!(&m.content, C::Edit(e)
                    if e.message_type == "text" && e.text.as_deref() == Some("Is the navy jacket still in stock?")
                        && e.original_message_id.ends_with("TEXTAA="))),
                "revoke" => assert!(matches!(&m.content, C::Revoke(id) if id.ends_with("FWDAA="))),
                "unsupported" => {
                    assert_eq!(m.content, C::Unsupported(Some("poll".into())));
                    assert_eq!(m.errors[0].code, 131051);
                }
                "future_type" => {
                    assert_eq!(m.message_type, "hologram");
                    assert!(matches!(&m.content, C::Other(raw) if raw.contains("\"depth\":3")));
                }
                "ad_referral" => {
                    let r = m.referral.as_ref().unwrap();
                    assert_eq!(r.source_type.as_deref(), Some("ad"));
                    assert_eq!(r.source_id.as_deref(), Some("120211234567890123"));
                    assert_eq!(r.headline.as_deref(), Some("Winter sale: 20% off jackets"));
                    assert!(
                        r.ctwa_clid
                            .as_deref()
                            .is_some_and(|c| c.starts_with("ARAkLkA8"))
                    );
                }
                other => panic!("no expectation for messages.json/{other}: {ev:#?}"),
            }
        }
        ("statuses.json", "sent_delivered_read_batch") => {
            let got: Vec<_> = ev
                .iter()
                .map(|e| (status(e).status, status(e).recipient_id.clone()))
                .collect();
            use DeliveryStatus::*;
            let kerry = Some(CUSTOMER.to_string());
            assert_eq!(
                got,
                [
                    (Sent, kerry.clone()),
                    (Delivered, kerry.clone()),
                    (Read, kerry),
                    (Sent, Some("447700900123".into()))
                ]
            );
            // One message's three statuses are three events, each with its own key.
            let keys: BTreeSet<_> = ev.iter().map(|e| e.idempotency_key.as_str()).collect();
            assert_eq!(keys.len(), 4);
        }
        ("statuses.json", _) => {
            one();
            routed(first);
            let s = status(first);
            assert_eq!(
                first.idempotency_key,
                format!("status:{}:{}", s.message_id, s.raw_status)
            );
            use DeliveryStatus::*;
            let want = match name {
                "sent" | "with_callback_data" => Sent,
                "delivered" | "numeric_timestamp" | "delivered_to_bsuid" => Delivered,
                "read" | "group_read" => Read,
                "played" => Played,
                "failed_undeliverable" | "failed_marketing_stopped" => Failed,
                "deleted" => Deleted,
                other => panic!("no expectation for statuses.json/{other}: {ev:#?}"),
            };
            assert_eq!(s.status, want, "{name}");
            assert_eq!(
                first.timestamp,
                Some(if name == "numeric_timestamp" {
                    1733323299
                } else {
                    1733323260
                })
            );
            match name {
                "sent" => {
                    let conv = s.conversation.as_ref().unwrap();
                    assert_eq!(
                        (
                            conv.id.as_str(),
                            conv.origin_type.as_deref(),
                            conv.expiration_timestamp
                        ),
                        (
                            "6e6ff7d1a5bd5ebbcbd8fd4ae2c6cd25",
                            Some("marketing"),
                            Some(1733409660)
                        )
                    );
                    let p = s.pricing.as_ref().unwrap();
                    assert_eq!(
                        (
                            p.billable,
                            p.pricing_model.as_deref(),
                            p.category.as_deref(),
                            p.pricing_type.as_deref()
                        ),
                        (Some(true), Some("PMP"), Some("marketing"), Some("regular"))
                    );
                }
                "delivered" => assert_eq!(s.pricing.as_ref().unwrap().billable, Some(false)),
                // Sent to a BSUID: no `recipient_id`, the user named by `recipient_user_id`.
                "delivered_to_bsuid" => {
                    assert_eq!(s.recipient_id, None);
                    let c = first.contact.as_ref().unwrap();
                    assert_eq!(
                        (c.wa_id.as_deref(), c.user_id.as_deref()),
                        (None, Some("US.7359204871654321"))
                    );
                }
                "failed_undeliverable" => {
                    assert_eq!(s.errors[0].code, 131026);
                    assert_eq!(s.errors[0].message, "Message undeliverable");
                    assert!(
                        s.errors[0]
                            .details
                            .as_deref()
                            .unwrap()
                            .contains("could not be delivered")
                    );
                }
                "failed_marketing_stopped" => assert_eq!(s.errors[0].code, 131050),
                "with_callback_data" => {
                    assert_eq!(
                        s.biz_opaque_callback_data.as_deref(),
                        Some("outbox:entry-000042")
                    )
                }
                "group_read" => assert_eq!(s.recipient_id.as_deref(), Some("120363042751234567")),
                _ => assert!(s.errors.is_empty() && s.biz_opaque_callback_data.is_none()),
            }
            if !matches!(name, "group_read" | "delivered_to_bsuid") {
                assert_eq!(
                    first.contact.as_ref().and_then(|c| c.wa_id.as_deref()),
                    Some(CUSTOMER)
                );
            }
        }
        ("echoes.json", _) => {
            one();
            routed(first);
            assert_eq!(first.field, "smb_message_echoes");
            let B::Echo(e) = &first.body else {
                panic!("{first:?}")
            };
            assert_eq!((e.from.as_str(), e.to.as_str()), ("15550783881", CUSTOMER));
            assert_eq!(first.idempotency_key, format!("echo:{}", e.id));
            match name {
                "text" => assert_eq!(
                    e.content,
                    C::Text("Sent from the Business app on my phone".into())
                ),
                "image" => assert!(
                    matches!(&e.content, C::Image(m) if m.caption.as_deref() == Some("Our new store"))
                ),
                "edit" => assert!(
                    matches!(&e.content, C::Edit(ed) if ed.text.as_deref() == Some("Sent from the Business app (edited)"))
                ),
                "revoke" => {
                    assert!(matches!(&e.content, C::Revoke(id) if id.ends_with("SU1HAA==")))
                }
                other => panic!("no expectation for echoes.json/{other}"),
            }
        }
        ("templates.json", _) => {
            one();
            let B::Template(t) = &first.body else {
                panic!("{first:?}")
            };
            assert_eq!(first.timestamp, Some(1733324000));
            assert!(t.template_id.starts_with("11430985738102"), "{name}");
            let got = (t.kind, t.value.as_deref(), t.previous.as_deref());
            use TemplateUpdateKind::*;
            match name {
                "status_approved" => {
                    assert_eq!(got, (Status, Some("APPROVED"), None));
                    assert_eq!(
                        (
                            t.name.as_deref(),
                            t.language.as_deref(),
                            t.category.as_deref()
                        ),
                        (Some("winter_sale"), Some("en_US"), Some("MARKETING"))
                    );
                }
                "status_rejected" => {
                    assert_eq!(got, (Status, Some("REJECTED"), None));
                    // The detailed reason wins over the short code.
                    assert_eq!(
                        t.reason.as_deref(),
                        Some("The template's variables are not formatted correctly.")
                    );
                }
                "status_paused" => {
                    assert_eq!(got, (Status, Some("PAUSED"), None));
                    assert!(t.raw.contains("FIRST_PAUSE"));
                }
                "category_update" => {
                    assert_eq!(got, (Category, Some("MARKETING"), Some("UTILITY")))
                }
                "quality_update" => assert_eq!(got, (Quality, Some("YELLOW"), Some("GREEN"))),
                "components_update" => {
                    assert_eq!(
                        got,
                        (
                            Components,
                            Some("Welcome back, {{1}}! Your points: {{2}}."),
                            None
                        )
                    );
                    assert!(t.raw.contains("See rewards"));
                }
                other => panic!("no expectation for templates.json/{other}"),
            }
        }
        ("account.json", _) => {
            one();
            let B::Account(a) = &first.body else {
                panic!("{first:?}")
            };
            let want = match name {
                "verified_account" => "VERIFIED_ACCOUNT",
                "disabled" => "DISABLED_UPDATE",
                "violation" => "ACCOUNT_VIOLATION",
                "primary_location" => "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE",
                "partner_added" => "PARTNER_ADDED",
                other => panic!("no expectation for account.json/{other}"),
            };
            assert_eq!(a.event, want);
            assert!(a.raw.starts_with('{') && a.raw.contains(want));
            assert_eq!(first.routing.waba_id, WABA);
        }
        ("phone_number.json", _) => {
            one();
            let B::PhoneNumber(p) = &first.body else {
                panic!("{first:?}")
            };
            assert_eq!(p.display_phone_number.as_deref(), Some("15550783881"));
            use PhoneNumberUpdateKind::*;
            let got = (p.kind, p.event.as_deref(), p.current_limit.as_deref());
            match name {
                "name_approved" => {
                    assert_eq!(got, (Name, Some("APPROVED"), None));
                    assert_eq!(
                        p.requested_verified_name.as_deref(),
                        Some("Blue Jacket Outfitters")
                    );
                }
                "name_rejected" => {
                    assert_eq!(got, (Name, Some("REJECTED"), None));
                    assert!(p.raw.contains("NAME_NOT_ALLOWED"));
                }
                "quality_flagged" => assert_eq!(got, (Quality, Some("FLAGGED"), Some("TIER_10K"))),
                "quality_upgrade" => assert_eq!(got, (Quality, Some("UPGRADE"), Some("TIER_100K"))),
                other => panic!("no expectation for phone_number.json/{other}"),
            }
        }
        ("calls.json", _) => {
            let B::Call(c) = &first.body else {
                panic!("{first:?}")
            };
            assert!(c.id.starts_with("wacid."));
            assert_eq!(first.field, "calls");
            let got = (
                c.event.as_str(),
                c.status.as_deref(),
                c.direction.as_deref(),
            );
            match name {
                "connect" => {
                    one();
                    assert_eq!(got, ("connect", None, Some("USER_INITIATED")));
                    assert!(c.raw.contains("sdp_type"));
                    // A call the user placed is about its caller.
                    assert_eq!(
                        first.contact.as_ref().and_then(|k| k.wa_id.as_deref()),
                        Some(CUSTOMER)
                    );
                }
                "status_ringing" => {
                    one();
                    assert_eq!(got, ("status", Some("RINGING"), None));
                    assert_eq!(c.to.as_deref(), Some(CUSTOMER));
                }
                "terminate" => {
                    one();
                    assert_eq!(
                        got,
                        ("terminate", Some("COMPLETED"), Some("USER_INITIATED"))
                    );
                    assert_eq!(c.duration_seconds, Some(118));
                }
                "terminate_failed" => {
                    assert_eq!(ev.len(), 2);
                    assert_eq!(
                        got,
                        ("terminate", Some("FAILED"), Some("BUSINESS_INITIATED"))
                    );
                    assert!(matches!(&ev[1].body, B::Errors(es) if es[0].code == 138006));
                }
                other => panic!("no expectation for calls.json/{other}"),
            }
            assert_ne!(first.idempotency_key, "");
        }
        ("preferences.json", "stop_username_only") => {
            one();
            let B::Preference(p) = &first.body else {
                panic!("{first:?}")
            };
            // A user with a username: named by BSUID alone.
            assert_eq!(
                (p.wa_id.as_deref(), p.user_id.as_deref(), p.value.as_str()),
                (None, Some("US.7359204871654321"), "stop")
            );
            assert_eq!(
                first.contact.as_ref().and_then(|c| c.username.as_deref()),
                Some("@sam.rivers")
            );
        }
        ("preferences.json", _) => {
            one();
            let B::Preference(p) = &first.body else {
                panic!("{first:?}")
            };
            assert_eq!(
                (p.wa_id.as_deref(), p.category.as_str(), p.value.as_str()),
                (Some(CUSTOMER), "marketing_messages", name)
            );
            assert!(p.detail.as_deref().unwrap().contains(name));
            assert_eq!(first.timestamp, Some(1733323600));
        }
        ("errors.json", _) => {
            one();
            let B::Errors(es) = &first.body else {
                panic!("{first:?}")
            };
            let codes: Vec<i32> = es.iter().map(|e| e.code).collect();
            assert_eq!(
                codes,
                if name == "one" {
                    vec![131000]
                } else {
                    vec![131052, 131053]
                }
            );
            assert_eq!(first.timestamp, Some(1733324000));
            routed(first);
        }
        ("alerts.json", _) => {
            one();
            assert_eq!(first.routing.waba_id, WABA);
            assert_eq!(first.timestamp, Some(1733324000));
            match (name, &first.body) {
                ("alert_deferred", B::AccountAlert(a)) => {
                    assert_eq!(
                        (a.entity_type.as_str(), a.entity_id.as_str()),
                        ("BUSINESS", "506914307656634")
                    );
                    assert_eq!(a.alert_type, "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED");
                    assert_eq!(
                        (a.severity.as_deref(), a.status.as_deref()),
                        (Some("WARNING"), Some("ACTIVE"))
                    );
                    assert!(a.description.as_deref().unwrap().starts_with("Limits"));
                }
                ("alert_profile_picture", B::AccountAlert(a)) => {
                    assert_eq!(
                        (a.entity_type.as_str(), a.entity_id.as_str()),
                        ("PHONE_NUMBER", PNID)
                    );
                    assert_eq!(a.alert_type, "PROFILE_PICTURE_LOST");
                    assert_eq!(a.description, None);
                }
                ("review_approved", B::AccountReview(d)) => assert_eq!(d, "APPROVED"),
                ("capability_number", B::Capability(c)) => {
                    assert_eq!(
                        (c.messaging_limit, c.messaging_limit_tier.as_deref()),
                        (Some(2000), None)
                    );
                    assert_eq!(c.max_phone_numbers_per_waba, Some(25));
                    assert_eq!(c.per_phone_limit, None);
                }
                ("capability_tier", B::Capability(c)) => {
                    assert_eq!(
                        (c.messaging_limit, c.messaging_limit_tier.as_deref()),
                        (Some(10_000), Some("TIER_10K"))
                    );
                    assert_eq!(c.per_phone_limit, Some(250));
                    assert_eq!(c.max_phone_numbers_per_business, Some(2));
                }
                ("capability_unlimited", B::Capability(c)) => {
                    assert_eq!(c.messaging_limit, Some(-1))
                }
                ("security_pin_reset", B::Security(n)) => {
                    assert_eq!(n.event, "PIN_RESET_REQUEST");
                    assert_eq!(n.display_phone_number.as_deref(), Some("15550783881"));
                    assert_eq!(n.requester.as_deref(), Some("61555822107539"));
                }
                other => panic!("no expectation for alerts.json/{other:?}"),
            }
        }
        ("flows.json", _) => {
            one();
            let B::Flow(f) = &first.body else {
                panic!("{first:?}")
            };
            assert!(f.message.is_some(), "{name}");
            match name {
                "status_published" => {
                    assert_eq!(f.event, "FLOW_STATUS_CHANGE");
                    assert_eq!(f.flow_id, "6627390910605886");
                    assert_eq!(
                        (f.old_status.as_deref(), f.new_status.as_deref()),
                        (Some("DRAFT"), Some("PUBLISHED"))
                    );
                }
                "created" => {
                    assert_eq!(
                        (f.old_status.as_deref(), f.new_status.as_deref()),
                        (None, Some("DRAFT"))
                    )
                }
                "client_error_rate" => {
                    assert_eq!((f.error_rate, f.threshold), (Some(14.28), Some(10.0)));
                    assert_eq!(f.alert_state.as_deref(), Some("ACTIVATED"));
                    assert_eq!(f.errors.len(), 2);
                    assert_eq!(f.errors[0].error_type, "INVALID_SCREEN_TRANSITION");
                    assert_eq!(
                        (f.errors[0].error_rate, f.errors[0].error_count),
                        (Some(66.66), Some(2))
                    );
                }
                "endpoint_latency" => {
                    assert_eq!(
                        (f.p50_latency_ms, f.p90_latency_ms),
                        (Some(500), Some(8000))
                    );
                    assert_eq!((f.requests_count, f.threshold), (Some(34), Some(7000.0)));
                }
                "endpoint_availability" => {
                    assert_eq!((f.availability, f.threshold), (Some(98.5), Some(90.0)));
                    assert_eq!(f.alert_state.as_deref(), Some("DEACTIVATED"));
                }
                other => panic!("no expectation for flows.json/{other}"),
            }
        }
        ("groups.json", _) => {
            routed(first);
            let group = |e: &Event| match &e.body {
                B::Group(g) => g.clone(),
                other => panic!("not a group update: {other:?}"),
            };
            let g = group(first);
            assert_eq!(
                first.idempotency_key,
                format!("group:{}", &first.idempotency_key[6..])
            );
            match name {
                "created" => {
                    one();
                    assert_eq!(
                        (g.update.as_str(), g.group_id.as_str()),
                        ("group_create", "120363025937154931@g.us")
                    );
                    assert_eq!(g.request_id.as_deref(), Some("req-7f3a"));
                    assert_eq!(g.subject.as_deref(), Some("Spring launch VIPs"));
                    assert_eq!(
                        g.invite_link.as_deref(),
                        Some("https://chat.whatsapp.com/Fq2XkW9pLx")
                    );
                    assert_eq!(g.join_approval_mode.as_deref(), Some("approval_required"));
                    assert_eq!(first.timestamp, Some(1739321024));
                    assert!(g.errors.is_empty());
                }
                "create_failed" => {
                    one();
                    assert_eq!(g.errors.len(), 1);
                    assert_eq!(g.errors[0].code, 131059);
                    assert_eq!(
                        g.errors[0].details.as_deref(),
                        Some("Too many groups for this number")
                    );
                }
                "participants_added" => {
                    one();
                    assert_eq!(g.update, "group_participants_add");
                    assert_eq!(
                        (g.reason.as_deref(), g.initiated_by.as_deref()),
                        (Some("invite_link"), Some("participant"))
                    );
                    assert_eq!(g.added.len(), 2);
                    assert_eq!(g.added[0].wa_id.as_deref(), Some(CUSTOMER));
                    assert_eq!(g.added[1].wa_id, None);
                    assert_eq!(
                        g.added[1].user_id.as_deref(),
                        Some("US.20011208655302741999")
                    );
                }
                "participants_removed_two_groups" => {
                    assert_eq!(ev.len(), 2, "one event per group");
                    assert_eq!(g.removed.len(), 1);
                    assert_eq!(g.failed, ["16505550000"]);
                    let second = group(&ev[1]);
                    assert_eq!(
                        (second.update.as_str(), second.group_id.as_str()),
                        ("group_suspend_cleared", "120363025937154933@g.us")
                    );
                    assert_ne!(ev[0].idempotency_key, ev[1].idempotency_key);
                }
                "join_request" => {
                    one();
                    assert_eq!(g.join_request_id.as_deref(), Some("MTIzNDU2Nzg5"));
                    assert_eq!(g.added.len(), 1);
                    assert_eq!(g.added[0].wa_id.as_deref(), Some("447700900123"));
                }
                "settings" => {
                    one();
                    assert_eq!(g.subject.as_deref(), Some("Spring launch VIPs 2027"));
                    assert_eq!(g.description.as_deref(), Some("Early access, renewed"));
                }
                "suspended" => {
                    one();
                    assert_eq!(g.update, "group_suspend");
                    assert!(g.raw.contains("group_suspend"));
                }
                other => panic!("no expectation for groups.json/{other}"),
            }
        }
        ("coexistence.json", _) => {
            routed(first);
            match name {
                "history_chunk" => {
                    one();
                    let B::History(h) = &first.body else {
                        panic!("{first:?}")
                    };
                    assert_eq!(
                        (h.phase, h.chunk_order, h.progress),
                        (Some(0), Some(1), Some(55))
                    );
                    let threads: Vec<_> = h.messages.iter().map(|m| m.thread.as_str()).collect();
                    assert_eq!(threads, [CUSTOMER, CUSTOMER, "447700900123"]);
                    assert_eq!(
                        h.messages[0].content,
                        C::Text("Do you ship to Lisbon?".into())
                    );
                    assert_eq!(h.messages[0].status.as_deref(), Some("READ"));
                    assert_eq!(h.messages[1].to.as_deref(), Some(CUSTOMER));
                    assert_eq!(h.messages[1].timestamp, Some(1739231000));
                    assert_eq!(h.messages[2].message_type, "media_placeholder");
                    assert!(first.idempotency_key.starts_with("history:"));
                }
                "history_declined" => {
                    one();
                    let B::History(h) = &first.body else {
                        panic!("{first:?}")
                    };
                    assert!(h.messages.is_empty());
                    assert_eq!(h.errors[0].code, 2593109);
                }
                "history_media" => {
                    // The media of an earlier placeholder: history, never an inbound message.
                    one();
                    let B::History(h) = &first.body else {
                        panic!("{first:?}")
                    };
                    assert_eq!(h.phase, None);
                    assert_eq!(h.messages[0].thread, "447700900123");
                    assert!(
                        matches!(&h.messages[0].content, C::Image(m) if m.id == "1479537139650973")
                    );
                }
                "contacts_synced" => {
                    assert_eq!(ev.len(), 2);
                    let sync = |e: &Event| match &e.body {
                        B::ContactSync(c) => c.clone(),
                        other => panic!("{other:?}"),
                    };
                    let (added, removed) = (sync(&ev[0]), sync(&ev[1]));
                    assert_eq!(
                        (added.action.as_str(), added.phone_number.as_str()),
                        ("add", CUSTOMER)
                    );
                    assert_eq!(added.full_name.as_deref(), Some("Pablo Morales"));
                    assert_eq!(added.first_name.as_deref(), Some("Pablo"));
                    assert_eq!(
                        (removed.action.as_str(), removed.full_name.as_deref()),
                        ("remove", None)
                    );
                    assert_eq!(ev[1].timestamp, Some(1739321025));
                }
                other => panic!("no expectation for coexistence.json/{other}"),
            }
        }
        ("unknown.json", _) => {
            one();
            let B::Unknown(raw) = &first.body else {
                panic!("{name}: {first:?}")
            };
            // Kept whole, so a later version can read what this one could not.
            let needle = match name {
                "future_field" => "BEAMED",
                "message_without_id" => "no id",
                "status_of_unknown_value" => "teleported",
                "template_update_without_id" => "no_id_here",
                other => panic!("no expectation for unknown.json/{other}"),
            };
            assert!(raw.contains(needle), "{name}: {raw}");
        }
        ("batches.json", "two_entries_four_changes") => {
            let kinds: Vec<_> = ev.iter().map(|e| e.body.kind()).collect();
            assert_eq!(
                kinds,
                [
                    "message", "message", "status", "status", "template", "account"
                ]
            );
            assert_eq!(ev[4].routing.waba_id, "109876543210987");
            assert_eq!(ev[4].timestamp, Some(1733324000));
            assert!(ev[..4].iter().all(|e| e.routing.waba_id == WABA));
        }
        other => panic!("no expectation for {other:?}: {ev:#?}"),
    }
}

#[test]
fn every_payload_of_ours_gives_its_typed_events_and_together_they_cover_every_kind() {
    let payloads = corpus::webhooks();
    let mut kinds = BTreeSet::new();
    let mut contents = BTreeSet::new();
    for p in &payloads {
        let ev = parse(&p.body).unwrap_or_else(|e| panic!("{}: {e}", p.label()));
        if p.name == "empty_entry_list" {
            assert!(ev.is_empty());
            continue;
        }
        assert!(!ev.is_empty(), "{}", p.label());
        for e in &ev {
            assert!(!e.idempotency_key.is_empty(), "{}", p.label());
            assert_eq!(
                matches!(e.body, B::Unknown(_)),
                p.file == "unknown.json",
                "{}: {e:#?}",
                p.label()
            );
            kinds.insert(e.body.kind());
            if let B::Message(m) = &e.body {
                contents.insert(content_kind(&m.content));
            }
            if let B::Echo(m) = &e.body {
                contents.insert(content_kind(&m.content));
            }
        }
        check_ours(&p.file, &p.name, &ev);
    }
    let all_kinds = [
        "message",
        "status",
        "echo",
        "template",
        "account",
        "phone-number",
        "preference",
        "call",
        "account-alert",
        "account-review",
        "capability",
        "security",
        "flow",
        "group",
        "history",
        "contact-sync",
        "errors",
        "unknown",
    ];
    assert_eq!(
        kinds,
        all_kinds.into_iter().collect(),
        "event kinds the corpus lacks"
    );
    let all_contents = [
        "text",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "button-reply",
        "list-reply",
        "flow-reply",
        "call-permission-reply",
        "quick-reply",
        "order",
        "system",
        "edit",
        "revoke",
        "request-welcome",
        "unsupported",
        "other",
    ];
    assert_eq!(
        contents,
        all_contents.into_iter().collect(),
        "message contents the corpus lacks"
    );
}

#[test]
fn an_escaped_body_is_parsed_from_its_exact_bytes() {
    let body = corpus::webhook("messages.json", "text_escaped");
    let text = std::str::from_utf8(&body).unwrap();
    assert!(
        text.contains(r"Caf\u00e9") && text.contains(r"\ud83d\ude00"),
        "{text}"
    );
    let ev = parse(&body).unwrap();
    assert_eq!(
        message(&ev[0]).content,
        C::Text("Café ☕ at 8? 😀 \"yes\"".into())
    );
}

#[test]
fn every_pywa_payload_gives_its_typed_events() {
    let Some(payloads) = corpus::pywa_webhooks() else {
        return;
    };
    for p in &payloads {
        let ev = parse(&p.body).unwrap_or_else(|e| panic!("{}: {e}", p.label()));
        assert!(!ev.is_empty(), "{}", p.label());
        assert!(
            ev.iter().all(|e| !matches!(e.body, B::Unknown(_))),
            "{} has an unknown event: {ev:#?}",
            p.label()
        );
        check_pywa(&p.file, &p.name, &ev);
    }
    assert_eq!(payloads.len(), 74);
}

#[test]
fn every_template_of_both_corpora_is_buildable_and_valid_and_written_back_as_it_was() {
    let templates = corpus::templates();
    assert!(templates.len() >= 16, "{} templates", templates.len());
    for (label, v) in templates {
        let t = NewTemplate::from_json(&v).unwrap_or_else(|e| panic!("{label}: {e:?}"));
        t.validate().unwrap_or_else(|e| panic!("{label}: {e:?}"));
        assert_eq!(t.to_json(), v, "{label}");
    }
}

#[test]
fn phone_number_updates_which_no_fixture_has() {
    let body = br#"{"entry":[{"id":"W","time":1700000000,"changes":[
        {"field":"phone_number_name_update","value":{"display_phone_number":"15550783881","decision":"APPROVED","requested_verified_name":"Acme"}},
        {"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_1K"}}]}]}"#;
    let ev = parse(body).unwrap();
    assert!(
        matches!(&ev[0].body, B::PhoneNumber(p) if p.kind == PhoneNumberUpdateKind::Name && p.event.as_deref() == Some("APPROVED") && p.requested_verified_name.as_deref() == Some("Acme"))
    );
    assert!(
        matches!(&ev[1].body, B::PhoneNumber(p) if p.kind == PhoneNumberUpdateKind::Quality && p.current_limit.as_deref() == Some("TIER_1K"))
    );
    assert_eq!(ev[0].timestamp, Some(1700000000));
    assert_ne!(ev[0].idempotency_key, ev[1].idempotency_key);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

    #[test]
    fn any_bytes_in_no_panic_out(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = parse(&body);
    }

    #[test]
    fn any_json_value_in_a_change_no_panic_out(v in json_value()) {
        let body = serde_json::json!({"entry": [{"id": "W", "changes": [{"field": "messages", "value": {"messages": [v.clone()], "statuses": [v.clone()], "contacts": [v]}}]}]});
        let ev = parse(&serde_json::to_vec(&body).unwrap()).unwrap();
        proptest::prop_assert_eq!(ev.len(), 2);
    }
}

fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z_]{0,8}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("text")),
        Just(serde_json::Value::from("interactive")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("type".to_string()),
                    Just("text".to_string()),
                    Just("status".to_string()),
                    Just("interactive".to_string()),
                    "[a-z_]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn a_messaging_limit_tier_is_read_as_its_number_and_anything_else_as_none() {
    for (limit, want) in [
        (r#""TIER_250""#, Some(250)),
        (r#""TIER_2K""#, Some(2_000)),
        (r#""TIER_100K""#, Some(100_000)),
        (r#""TIER_UNLIMITED""#, Some(-1)),
        ("2000", Some(2_000)),
        ("-1", Some(-1)),
        (r#""TIER_99999999999999999K""#, None),
        (r#""2K""#, None),
    ] {
        let body = format!(
            r#"{{"entry":[{{"id":"W","changes":[{{"field":"business_capability_update","value":{{"max_daily_conversations_per_business":{limit}}}}}]}}]}}"#
        );
        let ev = parse(body.as_bytes()).unwrap();
        let B::Capability(c) = &ev[0].body else {
            panic!("{limit}: {ev:?}")
        };
        assert_eq!(c.messaging_limit, want, "{limit}");
        assert_eq!(
            c.messaging_limit_tier.is_some(),
            limit.starts_with('"'),
            "{limit}"
        );
    }
}
