//! Core values to WIT values and back, in one place.

use super::bindings::exports::whatsapp::cloud_api::{messages, webhooks};
use super::bindings::whatsapp::cloud_api::types::{self as wit, DeliveryStatus};
use crate::core::{self, messages as m, webhook as w};

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

pub fn err(e: core::Error) -> wit::Error {
    use core::Error as E;
    match e {
        E::InvalidInput { field, reason } => {
            wit::Error::InvalidInput(wit::InvalidInput { field, reason })
        }
        E::NotConfigured(s) => wit::Error::NotConfigured(s),
        E::Unauthorized(g) => wit::Error::Unauthorized(graph_error(g)),
        E::RateLimited {
            retry_after_seconds,
            error,
        } => wit::Error::RateLimited(wit::RateLimited {
            retry_after_seconds,
            error: graph_error(error),
        }),
        E::OutsideWindow(g) => wit::Error::OutsideWindow(g.map(graph_error)),
        E::TemplateMismatch(g) => wit::Error::TemplateMismatch(graph_error(g)),
        E::Recipient(g) => wit::Error::Recipient(graph_error(g)),
        E::PolicyBlocked(g) => wit::Error::PolicyBlocked(graph_error(g)),
        E::Meta(g) => wit::Error::Meta(graph_error(g)),
        E::BadSignature(s) => wit::Error::BadSignature(s),
        E::EgressDenied(s) => wit::Error::EgressDenied(s),
        E::Network(s) => wit::Error::Network(s),
        E::Ambiguous(s) => wit::Error::Ambiguous(s),
        E::Storage(s) => wit::Error::Storage(s),
        E::Other(s) => wit::Error::Other(s),
    }
}

pub fn outgoing(msg: messages::OutgoingMessage) -> m::Outgoing {
    m::Outgoing {
        to: msg.to,
        content: match msg.content {
            messages::Content::Text(t) => m::Content::Text(m::Text {
                body: t.body,
                preview_url: t.preview_url,
            }),
        },
        reply_to: msg.reply_to,
        biz_opaque_callback_data: msg.biz_opaque_callback_data,
    }
}

pub fn send_result(r: m::SendResult) -> wit::SendResult {
    wit::SendResult {
        message_id: r.message_id,
        wa_id: r.wa_id,
        input: r.input,
        message_status: r.message_status,
    }
}

fn status(s: w::DeliveryStatus) -> DeliveryStatus {
    match s {
        w::DeliveryStatus::Sent => DeliveryStatus::Sent,
        w::DeliveryStatus::Delivered => DeliveryStatus::Delivered,
        w::DeliveryStatus::Read => DeliveryStatus::Read,
        w::DeliveryStatus::Played => DeliveryStatus::Played,
        w::DeliveryStatus::Failed => DeliveryStatus::Failed,
        w::DeliveryStatus::Deleted => DeliveryStatus::Deleted,
    }
}

fn event(e: w::Event) -> webhooks::Event {
    let body = match e.body {
        w::EventBody::Message(msg) => webhooks::EventBody::Message(webhooks::InboundMessage {
            id: msg.id,
            from: msg.from,
            message_type: msg.message_type,
            context: msg.context.map(|c| webhooks::MessageContext {
                message_id: c.message_id,
                from: c.from,
                forwarded: c.forwarded,
                frequently_forwarded: c.frequently_forwarded,
            }),
            content: match msg.content {
                w::MessageContent::Text(t) => webhooks::MessageContent::Text(t),
                w::MessageContent::Other(raw) => webhooks::MessageContent::Other(raw),
            },
        }),
        w::EventBody::Status(s) => webhooks::EventBody::Status(webhooks::StatusUpdate {
            message_id: s.message_id,
            recipient_id: s.recipient_id,
            status: status(s.status),
            raw_status: s.raw_status,
            errors: s.errors.into_iter().map(graph_error).collect(),
            conversation: s.conversation.map(|c| webhooks::Conversation {
                id: c.id,
                origin_type: c.origin_type,
                expiration_timestamp: c.expiration_timestamp,
            }),
            pricing: s.pricing.map(|p| webhooks::Pricing {
                billable: p.billable,
                pricing_model: p.pricing_model,
                category: p.category,
                pricing_type: p.pricing_type,
            }),
            biz_opaque_callback_data: s.biz_opaque_callback_data,
        }),
        w::EventBody::Unknown(raw) => webhooks::EventBody::Unknown(raw),
    };
    webhooks::Event {
        idempotency_key: e.idempotency_key,
        field: e.field,
        routing: webhooks::Routing {
            waba_id: e.routing.waba_id,
            phone_number_id: e.routing.phone_number_id,
            display_phone_number: e.routing.display_phone_number,
        },
        contact: e.contact.map(|c| webhooks::Contact {
            wa_id: c.wa_id,
            user_id: c.user_id,
            name: c.name,
        }),
        timestamp: e.timestamp,
        body,
    }
}

pub fn wit_events(events: Vec<w::Event>) -> Vec<webhooks::Event> {
    events.into_iter().map(event).collect()
}
