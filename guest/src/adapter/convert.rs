//! Core values to WIT values and back, in one place.

use super::bindings::exports::whatsapp::cloud_api::webhooks as wh;
use super::bindings::wasi::keyvalue::store as kv;
use super::bindings::whatsapp::cloud_api::outgoing as messages;
use super::bindings::whatsapp::cloud_api::types::{self as wit, DeliveryStatus};
use crate::core::{self, messages as m, outgoing as o, webhook as w};

/// A key-value failure as the component's `storage` error.
pub fn storage(e: kv::Error) -> wit::Error {
    err(core::Error::Storage(match e {
        kv::Error::NoSuchStore => "no such key-value store".into(),
        kv::Error::AccessDenied => "key-value access denied".into(),
        kv::Error::Other(s) => s,
    }))
}

pub fn graph_error(e: core::GraphError) -> wit::GraphError {
    wit::GraphError {
        code: e.code,
        subcode: e.subcode,
        error_type: e.error_type,
        message: e.message,
        details: e.details,
        fbtrace_id: e.fbtrace_id,
        is_transient: e.is_transient,
        http_status: e.http_status,
    }
}

/// The core's error as the WIT record: its kind, its line for people (the core's
/// `Display`), and the details its kind carries.
#[inline(never)]
pub fn err(e: core::Error) -> wit::Error {
    use core::Error as E;
    use wit::ErrorKind as K;
    let message = e.to_string();
    let (kind, field, retry_after_seconds, graph) = match e {
        E::InvalidInput { field, .. } => (K::InvalidInput, Some(field), None, None),
        E::NotConfigured(_) => (K::NotConfigured, None, None, None),
        E::Unauthorized(g) => (K::Unauthorized, None, None, Some(g)),
        E::RateLimited {
            retry_after_seconds,
            error,
        } => (K::RateLimited, None, retry_after_seconds, Some(error)),
        E::OutsideWindow(g) => (K::OutsideWindow, None, None, g),
        E::TemplateMismatch(g) => (K::TemplateMismatch, None, None, Some(g)),
        E::Recipient(g) => (K::Recipient, None, None, Some(g)),
        E::PolicyBlocked(g) => (K::PolicyBlocked, None, None, Some(g)),
        E::Meta(g) => (K::Meta, None, None, Some(g)),
        E::BadSignature(_) => (K::BadSignature, None, None, None),
        E::EgressDenied(_) => (K::EgressDenied, None, None, None),
        E::Network(_) => (K::Network, None, None, None),
        E::Ambiguous(_) => (K::Ambiguous, None, None, None),
        E::Storage(_) => (K::Storage, None, None, None),
        E::Other(_) => (K::Other, None, None, None),
    };
    wit::Error {
        kind,
        message,
        field,
        retry_after_seconds,
        graph: graph.map(graph_error),
    }
}

/// The adapter's own failures, made through the core's error so that each reads the
/// same as the core's.
impl wit::Error {
    pub fn other(m: String) -> Self {
        err(core::Error::Other(m))
    }
    pub fn not_configured(m: String) -> Self {
        err(core::Error::NotConfigured(m))
    }
    pub fn bad_signature(m: String) -> Self {
        err(core::Error::BadSignature(m))
    }
    pub fn storage(m: String) -> Self {
        err(core::Error::Storage(m))
    }
}

fn source(s: messages::MediaSource) -> o::MediaSource {
    match s {
        messages::MediaSource::Id(id) => o::MediaSource::Id(id),
        messages::MediaSource::Link(l) => o::MediaSource::Link(l),
    }
}

fn media_out(m: messages::Media) -> o::Media {
    o::Media {
        source: source(m.source),
        caption: m.caption,
        filename: m.filename,
    }
}

fn header(h: messages::InteractiveHeader) -> o::Header {
    match h {
        messages::InteractiveHeader::Text(t) => o::Header::Text(t),
        messages::InteractiveHeader::Image(s) => o::Header::Image(source(s)),
        messages::InteractiveHeader::Video(s) => o::Header::Video(source(s)),
        messages::InteractiveHeader::Document(s) => o::Header::Document(source(s)),
    }
}

fn parameter(p: messages::TemplateParameter) -> o::Parameter {
    o::Parameter {
        name: p.name,
        value: match p.value {
            messages::ParameterValue::Text(t) => o::ParameterValue::Text(t),
            messages::ParameterValue::Currency(c) => o::ParameterValue::Currency {
                fallback: c.fallback_value,
                code: c.code,
                amount_1000: c.amount_1000,
            },
            messages::ParameterValue::DateTime(d) => o::ParameterValue::DateTime(d),
        },
    }
}

fn template_header(h: messages::TemplateHeader) -> o::TemplateHeader {
    match h {
        messages::TemplateHeader::Text(p) => o::TemplateHeader::Text(parameter(p)),
        messages::TemplateHeader::Image(s) => o::TemplateHeader::Image(source(s)),
        messages::TemplateHeader::Video(s) => o::TemplateHeader::Video(source(s)),
        messages::TemplateHeader::Document(d) => {
            o::TemplateHeader::Document(source(d.source), d.filename)
        }
        messages::TemplateHeader::Location(l) => o::TemplateHeader::Location(o::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name,
            address: l.address,
        }),
    }
}

fn buttons(bs: Vec<messages::IndexedButton>) -> Vec<(u32, o::TemplateButton)> {
    bs.into_iter()
        .map(|b| {
            let button = match b.button {
                messages::TemplateButton::QuickReply(p) => o::TemplateButton::QuickReply(p),
                messages::TemplateButton::Url(u) => o::TemplateButton::Url(u),
                messages::TemplateButton::CopyCode(c) => o::TemplateButton::CopyCode(c),
                messages::TemplateButton::Otp(c) => o::TemplateButton::Otp(c),
                messages::TemplateButton::Flow(f) => o::TemplateButton::Flow {
                    flow_token: f.flow_token,
                    action_data_json: f.action_data_json,
                },
            };
            (b.index, button)
        })
        .collect()
}

fn template(t: messages::TemplateMessage) -> o::Template {
    o::Template {
        name: t.name,
        language: t.language,
        header: t.header.map(template_header),
        body: t.body.into_iter().map(parameter).collect(),
        buttons: buttons(t.buttons),
        carousel: t
            .carousel
            .into_iter()
            .map(|c| o::CarouselCard {
                header: template_header(c.header),
                body: c.body.into_iter().map(parameter).collect(),
                buttons: buttons(c.buttons),
            })
            .collect(),
        offer_expires_at_ms: t.offer_expires_at_ms,
    }
}

pub fn outgoing(msg: messages::OutgoingMessage) -> m::Outgoing {
    use messages::Content as W;
    use o::Content as C;
    let content = match msg.content {
        W::Text(t) => C::Text {
            body: t.body,
            preview_url: t.preview_url,
        },
        W::Image(x) => C::Image(media_out(x)),
        W::Video(x) => C::Video(media_out(x)),
        W::Audio(x) => C::Audio(media_out(x)),
        W::Document(x) => C::Document(media_out(x)),
        W::Sticker(x) => C::Sticker(media_out(x)),
        W::Location(l) => C::Location(o::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name,
            address: l.address,
        }),
        W::Contacts(cards) => C::Contacts(
            cards
                .into_iter()
                .map(|c| o::ContactCard {
                    formatted_name: c.formatted_name,
                    first_name: c.first_name,
                    last_name: c.last_name,
                    phones: c
                        .phones
                        .into_iter()
                        .map(|p| o::ContactPhone {
                            phone: p.phone,
                            kind: p.kind,
                            wa_id: p.wa_id,
                        })
                        .collect(),
                    emails: c.emails,
                    organization: c.organization,
                    urls: c.urls,
                })
                .collect(),
        ),
        W::Reaction(r) => C::Reaction {
            message_id: r.message_id,
            emoji: r.emoji,
        },
        W::Buttons(b) => C::Buttons {
            header: b.header.map(header),
            body: b.body,
            footer: b.footer,
            buttons: b
                .buttons
                .into_iter()
                .map(|b| o::ReplyButton {
                    id: b.id,
                    title: b.title,
                })
                .collect(),
        },
        W::List(l) => C::List {
            header: l.header,
            body: l.body,
            footer: l.footer,
            button: l.button,
            sections: l
                .sections
                .into_iter()
                .map(|s| o::ListSection {
                    title: s.title,
                    rows: s
                        .rows
                        .into_iter()
                        .map(|r| o::ListRow {
                            id: r.id,
                            title: r.title,
                            description: r.description,
                        })
                        .collect(),
                })
                .collect(),
        },
        W::CtaUrl(c) => C::CtaUrl {
            header: c.header.map(header),
            body: c.body,
            footer: c.footer,
            display_text: c.display_text,
            url: c.url,
        },
        W::Flow(f) => C::Flow(o::Flow {
            header: f.header.map(header),
            body: f.body,
            footer: f.footer,
            flow_id: f.flow_id,
            flow_name: f.flow_name,
            cta: f.cta,
            flow_token: f.flow_token,
            draft: f.draft,
            screen: f.screen,
            data_json: f.data_json,
        }),
        W::LocationRequest(body) => C::LocationRequest(body),
        W::CallPermissionRequest(body) => C::CallPermissionRequest(body),
        W::Product(p) => C::Product {
            body: p.body,
            footer: p.footer,
            catalog_id: p.catalog_id,
            product_retailer_id: p.product_retailer_id,
        },
        W::ProductList(p) => C::ProductList {
            header: p.header,
            body: p.body,
            footer: p.footer,
            catalog_id: p.catalog_id,
            sections: p
                .sections
                .into_iter()
                .map(|s| o::ProductSection {
                    title: s.title,
                    product_retailer_ids: s.product_retailer_ids,
                })
                .collect(),
        },
        W::Template(t) => C::Template(template(t)),
        W::Catalog(c) => C::Catalog {
            body: c.body,
            footer: c.footer,
            thumbnail_product_retailer_id: c.thumbnail_product_retailer_id,
        },
    };
    m::Outgoing {
        to: msg.to,
        content,
        reply_to: msg.reply_to,
        biz_opaque_callback_data: msg.biz_opaque_callback_data,
    }
}

pub fn send_result(r: m::SendResult) -> wit::SendResult {
    wit::SendResult {
        message_id: r.message_id,
        wa_id: r.wa_id,
        user_id: r.user_id,
        input: r.input,
        message_status: r.message_status,
    }
}

pub fn status(s: w::DeliveryStatus) -> DeliveryStatus {
    match s {
        w::DeliveryStatus::Sent => DeliveryStatus::Sent,
        w::DeliveryStatus::Delivered => DeliveryStatus::Delivered,
        w::DeliveryStatus::Read => DeliveryStatus::Read,
        w::DeliveryStatus::Played => DeliveryStatus::Played,
        w::DeliveryStatus::Failed => DeliveryStatus::Failed,
        w::DeliveryStatus::Deleted => DeliveryStatus::Deleted,
    }
}

fn media(m: w::Media) -> wh::Media {
    wh::Media {
        id: m.id,
        mime_type: m.mime_type,
        sha256: m.sha256,
        caption: m.caption,
        filename: m.filename,
        url: m.url,
        voice: m.voice,
        animated: m.animated,
    }
}

fn choice(c: w::ReplyChoice) -> wh::ReplyChoice {
    wh::ReplyChoice {
        id: c.id,
        title: c.title,
        description: c.description,
    }
}

fn content(c: w::MessageContent) -> wh::MessageContent {
    use w::MessageContent as C;
    use wh::MessageContent as W;
    match c {
        C::Text(t) => W::Text(t),
        C::Image(m) => W::Image(media(m)),
        C::Video(m) => W::Video(media(m)),
        C::Audio(m) => W::Audio(media(m)),
        C::Document(m) => W::Document(media(m)),
        C::Sticker(m) => W::Sticker(media(m)),
        C::Location(l) => W::Location(wh::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name,
            address: l.address,
            url: l.url,
        }),
        C::Contacts(cards) => W::Contacts(
            cards
                .into_iter()
                .map(|c| wh::ContactCard {
                    formatted_name: c.formatted_name,
                    phones: c.phones,
                    wa_ids: c.wa_ids,
                    emails: c.emails,
                    raw: c.raw,
                })
                .collect(),
        ),
        C::Reaction(r) => W::Reaction(wh::Reaction {
            message_id: r.message_id,
            emoji: r.emoji,
        }),
        C::ButtonReply(c) => W::ButtonReply(choice(c)),
        C::ListReply(c) => W::ListReply(choice(c)),
        C::FlowReply(f) => W::FlowReply(wh::FlowReply {
            name: f.name,
            body: f.body,
            response_json: f.response_json,
            flow_token: f.flow_token,
        }),
        C::CallPermissionReply(r) => W::CallPermissionReply(wh::CallPermissionReply {
            response: r.response,
            expiration_timestamp: r.expiration_timestamp,
            source: r.source,
        }),
        C::QuickReply(q) => W::QuickReply(wh::QuickReply {
            payload: q.payload,
            text: q.text,
        }),
        C::Order(o) => W::Order(wh::Order {
            catalog_id: o.catalog_id,
            text: o.text,
            items: o
                .items
                .into_iter()
                .map(|i| wh::OrderItem {
                    product_retailer_id: i.product_retailer_id,
                    quantity: i.quantity,
                    item_price: i.item_price,
                    currency: i.currency,
                })
                .collect(),
        }),
        C::System(s) => W::System(wh::SystemNotice {
            kind: s.kind,
            body: s.body,
            new_wa_id: s.new_wa_id,
        }),
        C::Edit(e) => W::Edit(wh::Edit {
            original_message_id: e.original_message_id,
            message_type: e.message_type,
            text: e.text,
            raw: e.raw,
        }),
        C::Revoke(id) => W::Revoke(id),
        C::RequestWelcome => W::RequestWelcome,
        C::Unsupported(t) => W::Unsupported(t),
        C::Other(raw) => W::Other(raw),
    }
}

fn body(b: w::EventBody) -> wh::EventBody {
    use w::EventBody as B;
    match b {
        B::Message(m) => wh::EventBody::Message(wh::InboundMessage {
            id: m.id,
            from: m.from,
            from_user_id: m.from_user_id,
            message_type: m.message_type,
            context: m.context.map(|c| wh::MessageContext {
                message_id: c.message_id,
                from: c.from,
                forwarded: c.forwarded,
                frequently_forwarded: c.frequently_forwarded,
            }),
            content: content(m.content),
            referral: m.referral.map(|r| wh::Referral {
                source_url: r.source_url,
                source_id: r.source_id,
                source_type: r.source_type,
                headline: r.headline,
                body: r.body,
                media_type: r.media_type,
                ctwa_clid: r.ctwa_clid,
            }),
            errors: m.errors.into_iter().map(graph_error).collect(),
        }),
        B::Status(s) => wh::EventBody::Status(wh::StatusUpdate {
            message_id: s.message_id,
            recipient_id: s.recipient_id,
            status: status(s.status),
            raw_status: s.raw_status,
            errors: s.errors.into_iter().map(graph_error).collect(),
            conversation: s.conversation.map(|c| wh::Conversation {
                id: c.id,
                origin_type: c.origin_type,
                expiration_timestamp: c.expiration_timestamp,
            }),
            pricing: s.pricing.map(|p| wh::Pricing {
                billable: p.billable,
                pricing_model: p.pricing_model,
                category: p.category,
                pricing_type: p.pricing_type,
            }),
            biz_opaque_callback_data: s.biz_opaque_callback_data,
        }),
        B::Echo(e) => wh::EventBody::Echo(wh::MessageEcho {
            id: e.id,
            from: e.from,
            to: e.to,
            to_user_id: e.to_user_id,
            message_type: e.message_type,
            content: content(e.content),
        }),
        B::Template(t) => wh::EventBody::Template(wh::TemplateUpdate {
            kind: match t.kind {
                w::TemplateUpdateKind::Status => wh::TemplateUpdateKind::Status,
                w::TemplateUpdateKind::Category => wh::TemplateUpdateKind::Category,
                w::TemplateUpdateKind::Quality => wh::TemplateUpdateKind::Quality,
                w::TemplateUpdateKind::Components => wh::TemplateUpdateKind::Components,
            },
            template_id: t.template_id,
            name: t.name,
            language: t.language,
            value: t.value,
            previous: t.previous,
            reason: t.reason,
            category: t.category,
            raw: t.raw,
        }),
        B::Account(a) => wh::EventBody::Account(wh::AccountUpdate {
            event: a.event,
            raw: a.raw,
        }),
        B::PhoneNumber(p) => wh::EventBody::PhoneNumber(wh::PhoneNumberUpdate {
            kind: match p.kind {
                w::PhoneNumberUpdateKind::Name => wh::PhoneNumberUpdateKind::Name,
                w::PhoneNumberUpdateKind::Quality => wh::PhoneNumberUpdateKind::Quality,
            },
            display_phone_number: p.display_phone_number,
            event: p.event,
            requested_verified_name: p.requested_verified_name,
            current_limit: p.current_limit,
            raw: p.raw,
        }),
        B::Preference(p) => wh::EventBody::Preference(wh::UserPreference {
            wa_id: p.wa_id,
            user_id: p.user_id,
            category: p.category,
            value: p.value,
            detail: p.detail,
        }),
        B::Call(c) => wh::EventBody::Call(wh::CallEvent {
            id: c.id,
            event: c.event,
            direction: c.direction,
            from: c.from,
            to: c.to,
            status: c.status,
            duration_seconds: c.duration_seconds,
            raw: c.raw,
        }),
        B::AccountAlert(a) => wh::EventBody::AccountAlert(wh::AccountAlert {
            entity_type: a.entity_type,
            entity_id: a.entity_id,
            alert_type: a.alert_type,
            severity: a.severity,
            status: a.status,
            description: a.description,
        }),
        B::AccountReview(decision) => wh::EventBody::AccountReview(decision),
        B::Capability(c) => wh::EventBody::Capability(wh::BusinessCapability {
            messaging_limit: c.messaging_limit,
            messaging_limit_tier: c.messaging_limit_tier,
            per_phone_limit: c.per_phone_limit,
            max_phone_numbers_per_business: c.max_phone_numbers_per_business,
            max_phone_numbers_per_waba: c.max_phone_numbers_per_waba,
        }),
        B::Security(n) => wh::EventBody::Security(wh::SecurityNotice {
            event: n.event,
            display_phone_number: n.display_phone_number,
            requester: n.requester,
        }),
        B::Flow(f) => wh::EventBody::Flow(wh::FlowUpdate {
            event: f.event,
            flow_id: f.flow_id,
            message: f.message,
            old_status: f.old_status,
            new_status: f.new_status,
            alert_state: f.alert_state,
            threshold: f.threshold,
            error_rate: f.error_rate,
            p50_latency_ms: f.p50_latency_ms,
            p90_latency_ms: f.p90_latency_ms,
            requests_count: f.requests_count,
            availability: f.availability,
            errors: f
                .errors
                .into_iter()
                .map(|e| wh::FlowErrorCount {
                    error_type: e.error_type,
                    error_rate: e.error_rate,
                    error_count: e.error_count,
                })
                .collect(),
        }),
        B::Group(g) => wh::EventBody::Group(wh::GroupUpdate {
            update: g.update,
            group_id: g.group_id,
            request_id: g.request_id,
            subject: g.subject,
            description: g.description,
            invite_link: g.invite_link,
            join_approval_mode: g.join_approval_mode,
            reason: g.reason,
            initiated_by: g.initiated_by,
            join_request_id: g.join_request_id,
            added: g.added.into_iter().map(participant).collect(),
            removed: g.removed.into_iter().map(participant).collect(),
            failed: g.failed,
            errors: g.errors.into_iter().map(graph_error).collect(),
            raw: g.raw,
        }),
        B::History(h) => wh::EventBody::History(wh::HistoryChunk {
            phase: h.phase,
            chunk_order: h.chunk_order,
            progress: h.progress,
            messages: h
                .messages
                .into_iter()
                .map(|m| wh::HistoryMessage {
                    thread: m.thread,
                    id: m.id,
                    from: m.from,
                    to: m.to,
                    timestamp: m.timestamp,
                    message_type: m.message_type,
                    status: m.status,
                    content: content(m.content),
                })
                .collect(),
            errors: h.errors.into_iter().map(graph_error).collect(),
        }),
        B::ContactSync(c) => wh::EventBody::ContactSync(wh::ContactSync {
            action: c.action,
            phone_number: c.phone_number,
            full_name: c.full_name,
            first_name: c.first_name,
        }),
        B::Errors(es) => wh::EventBody::Errors(es.into_iter().map(graph_error).collect()),
        B::Unknown(raw) => wh::EventBody::Unknown(raw),
    }
}

fn participant(p: w::GroupParticipant) -> wh::GroupParticipant {
    wh::GroupParticipant {
        wa_id: p.wa_id,
        user_id: p.user_id,
        input: p.input,
    }
}

pub fn event(e: w::Event) -> wh::Event {
    wh::Event {
        idempotency_key: e.idempotency_key,
        field: e.field,
        routing: wh::Routing {
            waba_id: e.routing.waba_id,
            phone_number_id: e.routing.phone_number_id,
            display_phone_number: e.routing.display_phone_number,
        },
        contact: e.contact.map(|c| wh::Contact {
            wa_id: c.wa_id,
            user_id: c.user_id,
            name: c.name,
            username: c.username,
            parent_user_id: c.parent_user_id,
        }),
        timestamp: e.timestamp,
        body: body(e.body),
    }
}

pub fn wit_events(events: Vec<w::Event>) -> Vec<wh::Event> {
    events.into_iter().map(event).collect()
}
