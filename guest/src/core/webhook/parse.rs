//! A webhook POST body into events. Every message, status, echo, call and preference of
//! every change of every entry becomes one event, in order; a change with none of those
//! becomes one event of its own kind; whatever does not fit a known shape is kept as
//! `Unknown` raw JSON. Nothing is dropped and nothing here panics on any input.

use super::tree::{J, NULL};
use super::types::*;
use crate::core::error::{Error, GraphError};
use crate::core::ids::concat;
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    entry: Vec<Entry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow, default)]
    id: J<'a>,
    #[serde(borrow, default)]
    time: J<'a>,
    /// Read straight into trees: one pass over the body. (Kept as raw text first, each
    /// change was scanned twice; the raw text a few events carry is written back from
    /// the tree, as `to_json_string` writes it.)
    #[serde(borrow, default)]
    changes: Vec<J<'a>>,
}

fn s(v: &J, k: &str) -> Option<String> {
    match v.get(k)? {
        J::Str(s) => Some(s.to_string()),
        n => n.number_string(),
    }
}

/// A non-empty string field.
fn ne(v: &J, k: &str) -> Option<String> {
    s(v, k).filter(|x| !x.is_empty())
}

/// Meta sends numbers as strings or numbers; junk is none.
fn u64_of(v: &J, k: &str) -> Option<u64> {
    match v.get(k)? {
        J::Str(s) => s.parse().ok(),
        n => n.as_u64(),
    }
}

fn b(v: &J, k: &str) -> bool {
    v.get(k).and_then(J::as_bool).unwrap_or(false)
}

fn arr<'v, 'a>(v: &'v J<'a>, k: &str) -> &'v [J<'a>] {
    v.get(k).and_then(J::as_array).unwrap_or(&[])
}

fn digest_key(prefix: &str, raw: &str) -> String {
    let d = Sha256::digest(raw.as_bytes());
    format!("{prefix}:{}", hex::encode(&d[..16]))
}

/// Graph error objects as webhooks carry them (`title` where the API has `message`).
pub(crate) fn errors_of(v: &J) -> Vec<GraphError> {
    arr(v, "errors")
        .iter()
        .map(|e| GraphError {
            code: e
                .get("code")
                .and_then(J::as_i64)
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0),
            message: ne(e, "message")
                .or_else(|| ne(e, "title"))
                .unwrap_or_default(),
            details: e.get("error_data").and_then(|d| ne(d, "details")),
            ..GraphError::default()
        })
        .collect()
}

fn media(v: &J) -> Media {
    Media {
        id: s(v, "id").unwrap_or_default(),
        mime_type: ne(v, "mime_type"),
        sha256: ne(v, "sha256"),
        caption: ne(v, "caption"),
        filename: ne(v, "filename"),
        url: ne(v, "url"),
        voice: b(v, "voice"),
        animated: b(v, "animated"),
    }
}

fn choice(v: &J) -> ReplyChoice {
    ReplyChoice {
        id: s(v, "id").unwrap_or_default(),
        title: s(v, "title").unwrap_or_default(),
        description: ne(v, "description"),
    }
}

/// The content of a message object (inbound, echoed, or the new version of an edit).
fn content(m: &J, kind: &str) -> MessageContent {
    let part = m.get(kind).unwrap_or(&NULL);
    let other = || MessageContent::Other(m.to_json_string());
    match kind {
        "text" => match s(part, "body") {
            Some(body) => MessageContent::Text(body),
            None => other(),
        },
        "image" | "video" | "audio" | "document" | "sticker" if part.is_object() => {
            let md = media(part);
            match kind {
                "image" => MessageContent::Image(md),
                "video" => MessageContent::Video(md),
                "audio" => MessageContent::Audio(md),
                "document" => MessageContent::Document(md),
                _ => MessageContent::Sticker(md),
            }
        }
        "location" => match (
            part.get("latitude").and_then(J::as_f64),
            part.get("longitude").and_then(J::as_f64),
        ) {
            (Some(latitude), Some(longitude)) => MessageContent::Location(Location {
                latitude,
                longitude,
                name: ne(part, "name"),
                address: ne(part, "address"),
                url: ne(part, "url"),
            }),
            _ => other(),
        },
        "contacts" if m.get("contacts").is_some_and(J::is_array) => MessageContent::Contacts(
            arr(m, "contacts")
                .iter()
                .map(|c| ContactCard {
                    formatted_name: c.get("name").and_then(|n| ne(n, "formatted_name")),
                    phones: arr(c, "phones")
                        .iter()
                        .filter_map(|p| ne(p, "phone"))
                        .collect(),
                    wa_ids: arr(c, "phones")
                        .iter()
                        .filter_map(|p| ne(p, "wa_id"))
                        .collect(),
                    emails: arr(c, "emails")
                        .iter()
                        .filter_map(|e| ne(e, "email"))
                        .collect(),
                    raw: c.to_json_string(),
                })
                .collect(),
        ),
        "reaction" => match s(part, "message_id") {
            Some(message_id) => MessageContent::Reaction(Reaction {
                message_id,
                emoji: ne(part, "emoji"),
            }),
            None => other(),
        },
        "interactive" => {
            let t = part.get("type").and_then(J::as_str).unwrap_or("");
            let inner = part.get(t).unwrap_or(&NULL);
            match t {
                "button_reply" if inner.is_object() => MessageContent::ButtonReply(choice(inner)),
                "list_reply" if inner.is_object() => MessageContent::ListReply(choice(inner)),
                "nfm_reply" if inner.is_object() => {
                    let response_json = s(inner, "response_json").unwrap_or_default();
                    let flow_token = serde_json::from_str::<J>(&response_json)
                        .ok()
                        .and_then(|r| ne(&r, "flow_token"));
                    MessageContent::FlowReply(FlowReply {
                        name: ne(inner, "name"),
                        body: ne(inner, "body"),
                        response_json,
                        flow_token,
                    })
                }
                "call_permission_reply" if inner.is_object() => {
                    MessageContent::CallPermissionReply(CallPermissionReply {
                        response: s(inner, "response").unwrap_or_default(),
                        expiration_timestamp: u64_of(inner, "expiration_timestamp"),
                        source: ne(inner, "response_source"),
                    })
                }
                _ => other(),
            }
        }
        "button" => match (s(part, "payload"), s(part, "text")) {
            (payload, Some(text)) => MessageContent::QuickReply(QuickReply {
                payload: payload.unwrap_or_default(),
                text,
            }),
            _ => other(),
        },
        "order" if part.is_object() => MessageContent::Order(Order {
            catalog_id: s(part, "catalog_id").unwrap_or_default(),
            text: ne(part, "text"),
            items: arr(part, "product_items")
                .iter()
                .map(|i| OrderItem {
                    product_retailer_id: s(i, "product_retailer_id").unwrap_or_default(),
                    quantity: u64_of(i, "quantity")
                        .and_then(|q| u32::try_from(q).ok())
                        .unwrap_or(0),
                    item_price: i.get("item_price").and_then(J::as_f64).unwrap_or(0.0),
                    currency: s(i, "currency").unwrap_or_default(),
                })
                .collect(),
        }),
        "system" if part.is_object() => MessageContent::System(SystemNotice {
            kind: s(part, "type").unwrap_or_default(),
            body: s(part, "body").unwrap_or_default(),
            new_wa_id: ne(part, "wa_id"),
        }),
        "edit" => match (s(part, "original_message_id"), part.get("message")) {
            (Some(original_message_id), Some(new)) => {
                let message_type = s(new, "type").unwrap_or_default();
                let text = match content(new, &message_type) {
                    MessageContent::Text(t) => Some(t),
                    MessageContent::Image(m)
                    | MessageContent::Video(m)
                    | MessageContent::Document(m) => m.caption,
                    _ => None,
                };
                MessageContent::Edit(Edit {
                    original_message_id,
                    message_type,
                    text,
                    raw: new.to_json_string(),
                })
            }
            _ => other(),
        },
        "revoke" => match s(part, "original_message_id") {
            Some(id) => MessageContent::Revoke(id),
            None => other(),
        },
        "unsupported" => MessageContent::Unsupported(ne(part, "type")),
        "request_welcome" => MessageContent::RequestWelcome,
        _ => other(),
    }
}

fn referral(v: &J) -> Option<Referral> {
    let r = v.get("referral")?;
    r.is_object().then(|| Referral {
        source_url: ne(r, "source_url"),
        source_id: ne(r, "source_id"),
        source_type: ne(r, "source_type"),
        headline: ne(r, "headline"),
        body: ne(r, "body"),
        media_type: ne(r, "media_type"),
        ctwa_clid: ne(r, "ctwa_clid"),
    })
}

fn contact_for(contacts: &[J], wa_id: Option<&str>) -> Option<Contact> {
    contact_of(contacts, wa_id, None)
}

/// The entry of `contacts` for the party named by `wa_id` or, for a user who shows a
/// username instead of a number, by the BSUID `user_id`; the only entry when there is
/// one.
fn contact_of(contacts: &[J], wa_id: Option<&str>, user_id: Option<&str>) -> Option<Contact> {
    let wa_id = wa_id.filter(|w| !w.is_empty());
    let user_id = user_id.filter(|u| !u.is_empty());
    let is = |c: &J, k: &str, v: Option<&str>| v.is_some() && c.get(k).and_then(J::as_str) == v;
    let found = contacts
        .iter()
        .find(|c| is(c, "wa_id", wa_id) || is(c, "user_id", user_id))
        .or_else(|| {
            if contacts.len() == 1 {
                contacts.first()
            } else {
                None
            }
        });
    match (found, wa_id, user_id) {
        (Some(c), _, _) => Some(Contact {
            wa_id: ne(c, "wa_id").or_else(|| wa_id.map(str::to_string)),
            user_id: ne(c, "user_id").or_else(|| user_id.map(str::to_string)),
            name: c.get("profile").and_then(|p| ne(p, "name")),
            username: c.get("profile").and_then(|p| ne(p, "username")),
            parent_user_id: ne(c, "parent_user_id"),
        }),
        (None, None, None) => None,
        (None, w, u) => Some(Contact {
            wa_id: w.map(str::to_string),
            user_id: u.map(str::to_string),
            ..Contact::default()
        }),
    }
}

struct Item {
    key: String,
    timestamp: Option<u64>,
    contact: Option<Contact>,
    body: EventBody,
}

fn unknown_item(prefix: &str, raw: &str) -> Item {
    Item {
        key: digest_key(prefix, raw),
        timestamp: None,
        contact: None,
        body: EventBody::Unknown(raw.to_string()),
    }
}

fn message_item(m: &J, contacts: &[J]) -> Item {
    let (Some(id), Some(kind)) = (ne(m, "id"), s(m, "type")) else {
        return unknown_item("message", &m.to_json_string());
    };
    let from = s(m, "from").unwrap_or_default();
    let context = m
        .get("context")
        .filter(|c| c.is_object())
        .map(|c| MessageContext {
            message_id: ne(c, "id"),
            from: ne(c, "from"),
            forwarded: b(c, "forwarded"),
            frequently_forwarded: b(c, "frequently_forwarded"),
        });
    let contact = contact_of(contacts, Some(&from), ne(m, "from_user_id").as_deref());
    Item {
        key: concat(&["message:", &id]),
        timestamp: u64_of(m, "timestamp"),
        contact,
        body: EventBody::Message(InboundMessage {
            content: content(m, &kind),
            id,
            from_user_id: ne(m, "from_user_id"),
            from,
            message_type: kind,
            context,
            referral: referral(m),
            errors: errors_of(m),
        }),
    }
}

fn echo_item(m: &J, contacts: &[J]) -> Item {
    let (Some(id), Some(kind)) = (ne(m, "id"), s(m, "type")) else {
        return unknown_item("echo", &m.to_json_string());
    };
    let to = s(m, "to").unwrap_or_default();
    Item {
        key: concat(&["echo:", &id]),
        timestamp: u64_of(m, "timestamp"),
        contact: contact_for(contacts, Some(&to)),
        body: EventBody::Echo(MessageEcho {
            content: content(m, &kind),
            id,
            from: s(m, "from").unwrap_or_default(),
            to_user_id: ne(m, "to_user_id"),
            to,
            message_type: kind,
        }),
    }
}

fn status_item(st: &J, contacts: &[J]) -> Item {
    let raw_status = s(st, "status").unwrap_or_default();
    let (Some(id), Some(status)) = (ne(st, "id"), DeliveryStatus::parse(&raw_status)) else {
        return unknown_item("status", &st.to_json_string());
    };
    let recipient_id = ne(st, "recipient_id");
    Item {
        key: concat(&["status:", &id, ":", &raw_status]),
        timestamp: u64_of(st, "timestamp"),
        // A message sent to a BSUID comes back with `recipient_user_id` and, when the
        // number may not be shared, no `recipient_id`.
        contact: contact_of(
            contacts,
            recipient_id.as_deref(),
            ne(st, "recipient_user_id").as_deref(),
        ),
        body: EventBody::Status(StatusUpdate {
            message_id: id,
            recipient_id,
            status,
            raw_status,
            errors: errors_of(st),
            conversation: st
                .get("conversation")
                .filter(|c| c.is_object())
                .map(|c| Conversation {
                    id: s(c, "id").unwrap_or_default(),
                    origin_type: c.get("origin").and_then(|o| ne(o, "type")),
                    expiration_timestamp: u64_of(c, "expiration_timestamp"),
                }),
            pricing: st
                .get("pricing")
                .filter(|p| p.is_object())
                .map(|p| Pricing {
                    billable: p.get("billable").and_then(J::as_bool),
                    pricing_model: ne(p, "pricing_model"),
                    category: ne(p, "category"),
                    pricing_type: ne(p, "type"),
                }),
            biz_opaque_callback_data: ne(st, "biz_opaque_callback_data"),
        }),
    }
}

fn call_item(c: &J, event: Option<&str>, contacts: &[J]) -> Item {
    let Some(id) = ne(c, "id") else {
        return unknown_item("call", &c.to_json_string());
    };
    let event = event
        .map(str::to_string)
        .or_else(|| s(c, "event"))
        .unwrap_or_default();
    let status = ne(c, "status");
    let from = ne(c, "from");
    let to = ne(c, "to").or_else(|| ne(c, "recipient_id"));
    let party = if c.get("direction").and_then(J::as_str) == Some("USER_INITIATED") {
        from.clone()
    } else {
        to.clone()
    };
    Item {
        key: format!("call:{id}:{event}:{}", status.as_deref().unwrap_or("")),
        timestamp: u64_of(c, "timestamp"),
        contact: contact_for(contacts, party.as_deref()),
        body: EventBody::Call(CallEvent {
            id,
            event,
            direction: ne(c, "direction"),
            from,
            to,
            status,
            duration_seconds: u64_of(c, "duration"),
            raw: c.to_json_string(),
        }),
    }
}

fn preference_item(p: &J, contacts: &[J]) -> Item {
    // A user with a username is named by BSUID (`user_id`) alone.
    let (wa_id, user_id) = (ne(p, "wa_id"), ne(p, "user_id"));
    let (Some(who), Some(value)) = (wa_id.as_ref().or(user_id.as_ref()), ne(p, "value")) else {
        return unknown_item("preference", &p.to_json_string());
    };
    let timestamp = u64_of(p, "timestamp");
    let category = s(p, "category").unwrap_or_default();
    Item {
        key: format!(
            "preference:{who}:{category}:{value}:{}",
            timestamp.unwrap_or(0)
        ),
        timestamp,
        contact: contact_of(contacts, wa_id.as_deref(), user_id.as_deref()),
        body: EventBody::Preference(UserPreference {
            wa_id,
            user_id,
            category,
            value,
            detail: ne(p, "detail"),
        }),
    }
}

/// Events of a change whose value is one object (templates, account, phone number).
fn single(field: &str, v: &J, raw_value: &str) -> Option<EventBody> {
    let template = |kind, value: Option<String>, previous: Option<String>| {
        Some(EventBody::Template(TemplateUpdate {
            kind,
            template_id: s(v, "message_template_id")?,
            name: ne(v, "message_template_name"),
            language: ne(v, "message_template_language"),
            value,
            previous,
            reason: v
                .get("rejection_info")
                .and_then(|r| ne(r, "reason"))
                .or_else(|| ne(v, "reason")),
            category: ne(v, "message_template_category"),
            raw: raw_value.to_string(),
        }))
    };
    let phone = |kind, event| {
        Some(EventBody::PhoneNumber(PhoneNumberUpdate {
            kind,
            display_phone_number: ne(v, "display_phone_number"),
            event,
            requested_verified_name: ne(v, "requested_verified_name"),
            current_limit: ne(v, "current_limit"),
            raw: raw_value.to_string(),
        }))
    };
    match field {
        "message_template_status_update" => {
            template(TemplateUpdateKind::Status, ne(v, "event"), None)
        }
        "template_category_update" => template(
            TemplateUpdateKind::Category,
            ne(v, "new_category"),
            ne(v, "previous_category"),
        ),
        "message_template_quality_update" => template(
            TemplateUpdateKind::Quality,
            ne(v, "new_quality_score"),
            ne(v, "previous_quality_score"),
        ),
        "message_template_components_update" => template(
            TemplateUpdateKind::Components,
            ne(v, "message_template_element"),
            None,
        ),
        "account_update" => Some(EventBody::Account(AccountUpdate {
            event: ne(v, "event")?,
            raw: raw_value.to_string(),
        })),
        "account_alerts" => {
            let info = v.get("alert_info").unwrap_or(&NULL);
            Some(EventBody::AccountAlert(AccountAlert {
                entity_type: ne(v, "entity_type").unwrap_or_default(),
                entity_id: s(v, "entity_id").unwrap_or_default(),
                alert_type: ne(info, "alert_type")?,
                severity: ne(info, "alert_severity"),
                status: ne(info, "alert_status"),
                description: ne(info, "alert_description"),
            }))
        }
        "account_review_update" => Some(EventBody::AccountReview(ne(v, "decision")?)),
        "business_capability_update" => {
            let limit = v.get("max_daily_conversations_per_business");
            let tier = limit.and_then(J::as_str).map(str::to_string);
            let c = BusinessCapability {
                messaging_limit: limit.and_then(|l| match l {
                    J::Str(t) => crate::core::policy::tier_limit(t),
                    n => n.as_i64(),
                }),
                messaging_limit_tier: tier,
                per_phone_limit: v
                    .get("max_daily_conversation_per_phone")
                    .and_then(J::as_i64),
                max_phone_numbers_per_business: u64_of(v, "max_phone_numbers_per_business"),
                max_phone_numbers_per_waba: u64_of(v, "max_phone_numbers_per_waba"),
            };
            (c != BusinessCapability::default()).then_some(EventBody::Capability(c))
        }
        "security" => Some(EventBody::Security(SecurityNotice {
            event: ne(v, "event")?,
            display_phone_number: ne(v, "display_phone_number"),
            requester: ne(v, "requester"),
        })),
        "flows" => Some(EventBody::Flow(FlowUpdate {
            event: ne(v, "event")?,
            flow_id: s(v, "flow_id").unwrap_or_default(),
            message: ne(v, "message"),
            old_status: ne(v, "old_status"),
            new_status: ne(v, "new_status"),
            alert_state: ne(v, "alert_state"),
            threshold: v.get("threshold").and_then(J::as_f64),
            error_rate: v.get("error_rate").and_then(J::as_f64),
            p50_latency_ms: u64_of(v, "p50_latency"),
            p90_latency_ms: u64_of(v, "p90_latency"),
            requests_count: u64_of(v, "requests_count"),
            availability: v.get("availability").and_then(J::as_f64),
            errors: arr(v, "errors")
                .iter()
                .map(|e| FlowErrorCount {
                    error_type: ne(e, "error_type").unwrap_or_default(),
                    error_rate: e.get("error_rate").and_then(J::as_f64),
                    error_count: u64_of(e, "error_count"),
                })
                .collect(),
        })),
        "phone_number_name_update" => phone(PhoneNumberUpdateKind::Name, ne(v, "decision")),
        "phone_number_quality_update" => phone(PhoneNumberUpdateKind::Quality, ne(v, "event")),
        _ => None,
    }
}

/// One item of a `history` change: a chunk of threads.
fn history_item(h: &J, business: Option<&str>) -> Item {
    let mut messages = Vec::new();
    for t in arr(h, "threads") {
        let thread = s(t, "id").unwrap_or_default();
        messages.extend(
            arr(t, "messages")
                .iter()
                .map(|m| history_message(m, Some(&thread), business)),
        );
    }
    let key = digest_key("history", &h.to_json_string());
    history_chunk(
        key,
        h.get("metadata").unwrap_or(&NULL),
        messages,
        errors_of(h),
    )
}

/// The media of earlier placeholders: a `history` change's loose `messages`.
fn history_media(messages: &[J], business: Option<&str>) -> Item {
    let raw: Vec<String> = messages.iter().map(J::to_json_string).collect();
    let messages = messages
        .iter()
        .map(|m| history_message(m, None, business))
        .collect();
    history_chunk(
        digest_key("history", &raw.concat()),
        &NULL,
        messages,
        Vec::new(),
    )
}

fn history_chunk(
    key: String,
    metadata: &J,
    messages: Vec<HistoryMessage>,
    errors: Vec<GraphError>,
) -> Item {
    Item {
        key,
        timestamp: None,
        contact: None,
        body: EventBody::History(HistoryChunk {
            phase: u64_of(metadata, "phase"),
            chunk_order: u64_of(metadata, "chunk_order"),
            progress: u64_of(metadata, "progress"),
            messages,
            errors,
        }),
    }
}

/// A past message; its thread is the contact's number: the thread's `id`, or else
/// whichever of `from` and `to` is not the business.
fn history_message(m: &J, thread: Option<&str>, business: Option<&str>) -> HistoryMessage {
    let from = s(m, "from").unwrap_or_default();
    let to = ne(m, "to");
    let kind = s(m, "type").unwrap_or_default();
    let thread = match thread {
        Some(t) => t.to_string(),
        None if business == Some(from.as_str()) => to.clone().unwrap_or_default(),
        None => from.clone(),
    };
    HistoryMessage {
        thread,
        id: s(m, "id").unwrap_or_default(),
        to,
        timestamp: u64_of(m, "timestamp"),
        status: m.get("history_context").and_then(|c| ne(c, "status")),
        content: content(m, &kind),
        message_type: kind,
        from,
    }
}

/// One item of an `smb_app_state_sync` change's `state_sync`.
fn contact_sync_item(c: &J) -> Item {
    let raw = c.to_json_string();
    let contact = c.get("contact").unwrap_or(&NULL);
    let (Some(action), Some(phone_number)) = (ne(c, "action"), s(contact, "phone_number")) else {
        return unknown_item("contact-sync", &raw);
    };
    Item {
        key: digest_key("contact-sync", &raw),
        timestamp: c.get("metadata").and_then(|m| u64_of(m, "timestamp")),
        contact: None,
        body: EventBody::ContactSync(ContactSync {
            action,
            phone_number,
            full_name: ne(contact, "full_name"),
            first_name: ne(contact, "first_name"),
        }),
    }
}

/// One item of a group change's `groups`.
fn group_item(g: &J) -> Item {
    let raw = g.to_json_string();
    let (Some(update), Some(group_id)) = (ne(g, "type"), ne(g, "group_id")) else {
        return unknown_item("group", &raw);
    };
    let participants = |k| -> Vec<GroupParticipant> {
        arr(g, k)
            .iter()
            .map(|p| GroupParticipant {
                wa_id: ne(p, "wa_id"),
                user_id: ne(p, "user_id"),
                input: ne(p, "input"),
            })
            .collect()
    };
    let mut added = participants("added_participants");
    // A join request names the one who asked.
    if added.is_empty() && (ne(g, "wa_id").is_some() || ne(g, "user_id").is_some()) {
        added.push(GroupParticipant {
            wa_id: ne(g, "wa_id"),
            user_id: ne(g, "user_id"),
            input: None,
        });
    }
    let text_of = |k, nested: &str| ne(g, k).or_else(|| g.get(nested).and_then(|n| ne(n, "text")));
    Item {
        key: digest_key("group", &raw),
        timestamp: u64_of(g, "timestamp"),
        contact: None,
        body: EventBody::Group(GroupUpdate {
            update,
            group_id,
            request_id: ne(g, "request_id"),
            subject: text_of("subject", "group_subject"),
            description: text_of("description", "group_description"),
            invite_link: ne(g, "invite_link"),
            join_approval_mode: ne(g, "join_approval_mode"),
            reason: ne(g, "reason"),
            initiated_by: ne(g, "initiated_by"),
            join_request_id: ne(g, "join_request_id"),
            added,
            removed: participants("removed_participants"),
            failed: arr(g, "failed_participants")
                .iter()
                .filter_map(|p| ne(p, "input").or_else(|| ne(p, "wa_id")))
                .collect(),
            errors: errors_of(g),
            raw,
        }),
    }
}

/// Parse a webhook POST body into events (see the module docs).
pub fn parse(body: &[u8]) -> Result<Vec<Event>, Error> {
    // UTF-8 checked once for the whole body: read from bytes, serde_json would check each
    // string on its own, at several times the cost.
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::invalid("body", format!("not UTF-8 text: {e}")))?;
    let payload: Payload<'_> = serde_json::from_str(text)
        .map_err(|e| Error::invalid("body", format!("not a WhatsApp webhook payload: {e}")))?;
    let mut events = Vec::new();
    for entry in payload.entry {
        let waba_id = match &entry.id {
            J::Str(s) => s.to_string(),
            n => n.number_string().unwrap_or_default(),
        };
        let time = match &entry.time {
            J::Str(s) => s.parse().ok(),
            n => n.as_u64(),
        };
        for change in &entry.changes {
            parse_change(&waba_id, time, change, &mut events);
        }
    }
    Ok(events)
}

fn parse_change(waba_id: &str, entry_time: Option<u64>, change: &J, out: &mut Vec<Event>) {
    let field = s(change, "field").unwrap_or_default();
    let value = change.get("value").unwrap_or(&NULL);
    let metadata = value.get("metadata");
    let routing = Routing {
        waba_id: waba_id.to_string(),
        phone_number_id: metadata.and_then(|m| ne(m, "phone_number_id")),
        display_phone_number: metadata.and_then(|m| ne(m, "display_phone_number")),
    };
    let contacts = arr(value, "contacts");
    let mut items: Vec<Item> = Vec::new();
    if field == "history" {
        // The past, not messages arriving now: never an inbound message (it would open
        // a customer-service window). Media of a history message come later, under
        // `messages`, as a chunk of their own.
        items.extend(
            arr(value, "history")
                .iter()
                .map(|h| history_item(h, routing.display_phone_number.as_deref())),
        );
        let later = arr(value, "messages");
        if !later.is_empty() {
            items.push(history_media(
                later,
                routing.display_phone_number.as_deref(),
            ));
        }
    } else {
        items.extend(
            arr(value, "messages")
                .iter()
                .map(|m| message_item(m, contacts)),
        );
    }
    items.extend(arr(value, "state_sync").iter().map(contact_sync_item));
    items.extend(
        arr(value, "message_echoes")
            .iter()
            .map(|m| echo_item(m, contacts)),
    );
    if field == "calls" {
        items.extend(
            arr(value, "calls")
                .iter()
                .map(|c| call_item(c, None, contacts)),
        );
        items.extend(
            arr(value, "statuses")
                .iter()
                .map(|c| call_item(c, Some("status"), contacts)),
        );
    } else {
        items.extend(
            arr(value, "statuses")
                .iter()
                .map(|st| status_item(st, contacts)),
        );
    }
    items.extend(
        arr(value, "user_preferences")
            .iter()
            .map(|p| preference_item(p, contacts)),
    );
    if field.starts_with("group_") {
        items.extend(arr(value, "groups").iter().map(group_item));
    }
    // A `flows` alert's `errors` count the flow's errors by kind: not Graph errors.
    let value_errors = match field.as_str() {
        "flows" => Vec::new(),
        _ => errors_of(value),
    };
    if !value_errors.is_empty() {
        items.push(Item {
            key: digest_key("errors", &change.to_json_string()),
            timestamp: entry_time,
            contact: None,
            body: EventBody::Errors(value_errors),
        });
    }
    if items.is_empty() {
        let raw_value = value.to_json_string();
        let raw_change = change.to_json_string();
        let body = single(&field, value, &raw_value)
            .unwrap_or_else(|| EventBody::Unknown(raw_change.clone()));
        items.push(Item {
            key: digest_key(body.kind(), &raw_change),
            timestamp: entry_time,
            contact: None,
            body,
        });
    }
    out.extend(items.into_iter().map(|i| Event {
        idempotency_key: i.key,
        field: field.clone(),
        routing: routing.clone(),
        contact: i.contact,
        timestamp: i.timestamp,
        body: i.body,
    }));
}
