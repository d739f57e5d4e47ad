//! The wasm adapter: WIT exports onto the core, I/O through the imports. Generated
//! bindings stay private to this module.

mod alloc;
mod buckets;
mod business;
mod calling;
mod catalog;
mod connection;
mod convert;
mod flows;
mod groups;
mod http;
mod ingest;
mod insights;
mod media;
mod outbox;
mod policy;
mod readiness;
mod templates;
mod tenant;

use crate::core::{self, webhook};
use bindings::exports::whatsapp::cloud_api::{messages, webhooks};
use bindings::whatsapp::cloud_api::pacing;
use bindings::whatsapp::cloud_api::types::{Error, SendResult};
use convert::{err, wit_events};
use tenant::Tenant;

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
        generate_all,
    });
}

pub(crate) struct Component;
bindings::export!(Component with_types_in bindings);

type Result<T> = std::result::Result<T, Error>;

/// Unix seconds, by the instance's wall clock (the host's, maybe moved for tests).
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Validate, check the policies, send from the tenant's sending number.
fn send(tenant: &Tenant, message: messages::OutgoingMessage) -> Result<SendResult> {
    let msg = convert::outgoing(message);
    let req = core::messages::send_request(&tenant.settings, &msg).map_err(err)?;
    let checked = policy::check(tenant, &msg)?;
    transmit(tenant, req, &msg.to, &checked)
}

/// Send a checked message request to `to` (a template of `category`, if any): through
/// the Marketing Messages API when it applies, paced by the host.
fn transmit(
    tenant: &Tenant,
    req: core::graph::Request,
    to: &str,
    checked: &policy::Checked,
) -> Result<SendResult> {
    if let Some(user) = &checked.reaches {
        policy::reach(tenant, user)?;
    }
    let req = business::route_marketing(tenant, req, checked.category.as_deref());
    let number = tenant
        .settings
        .phone_number_id
        .as_deref()
        .unwrap_or_default();
    let to = core::messages::Recipient::parse(to).map_err(err)?;
    let to = to.id();
    let ceiling = core::connection::coexistence::throughput_ceiling(&tenant.settings, number);
    // The host keeps Meta's throughput across instances: a slot before each try, and
    // another try only for a throttle (nothing was processed) while the host allows one.
    let mut attempt = 0;
    loop {
        pause(pacing::reserve(number, to, ceiling));
        let (status, body) = tenant.call(&req)?;
        match core::messages::read_send_response(status, &body) {
            Err(e) if e.is_throttle() => {
                attempt += 1;
                match pacing::retry(attempt) {
                    Some(ns) => pause(ns),
                    None => return Err(err(e)),
                }
            }
            r => return r.map(convert::send_result).map_err(err),
        }
    }
}

/// Wait `ns` nanoseconds (on the host's clock; the instance's deadline still holds).
fn pause(ns: u64) {
    if ns > 0 {
        bindings::wasi::clocks::monotonic_clock::subscribe_duration(ns).block();
    }
}

impl messages::Guest for Component {
    fn send(message: messages::OutgoingMessage) -> Result<SendResult> {
        send(&Tenant::bind(), message)
    }

    fn send_from(
        phone_number_id: String,
        message: messages::OutgoingMessage,
    ) -> Result<SendResult> {
        let tenant = Tenant::bind();
        let settings = tenant
            .settings
            .sending_from(&phone_number_id)
            .map_err(err)?;
        send(&Tenant::with(settings), message)
    }

    fn enqueue(items: Vec<messages::OutboxItem>) -> Result<Vec<messages::Enqueued>> {
        outbox::enqueue(items)
    }

    fn deliver(id: String, entry: messages::Queued, attempt: u32) -> messages::Delivery {
        outbox::deliver(&id, entry, attempt)
    }

    fn history_clear(phone_number_id: String, since_ms: u64) -> Result<bool> {
        outbox::history_clear(phone_number_id, since_ms)
    }

    fn preview(message: messages::OutgoingMessage) -> Result<messages::RequestPreview> {
        let tenant = Tenant::bind();
        let msg = convert::outgoing(message);
        let req = core::messages::send_request(&tenant.settings, &msg).map_err(err)?;
        let checked = policy::check(&tenant, &msg)?;
        let req = business::route_marketing(&tenant, req, checked.category.as_deref());
        Ok(messages::RequestPreview {
            method: req.method.as_str().to_string(),
            url: req.url,
            body: String::from_utf8_lossy(req.body.as_deref().unwrap_or_default()).into_owned(),
        })
    }

    fn status(message_id: String) -> Result<Option<messages::DeliveryState>> {
        let Some(st) = ingest::delivery_state(&message_id)? else {
            return Ok(None);
        };
        let Some(status) = st.status() else {
            return Ok(None);
        };
        Ok(Some(messages::DeliveryState {
            status: convert::status(status),
            errors: st
                .errors
                .into_iter()
                .map(|(code, message)| {
                    convert::graph_error(core::GraphError {
                        code,
                        message,
                        ..Default::default()
                    })
                })
                .collect(),
        }))
    }

    fn mark_read(message_id: String, typing_indicator: bool) -> Result<()> {
        let tenant = Tenant::bind();
        let req =
            core::messages::mark_read_request(&tenant.settings, &message_id, typing_indicator)
                .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        core::messages::read_success(status, &body).map_err(err)
    }

    fn block_users(users: Vec<String>) -> Result<Vec<messages::BlockOutcome>> {
        set_blocked(&users, true)
    }

    fn unblock_users(users: Vec<String>) -> Result<Vec<messages::BlockOutcome>> {
        set_blocked(&users, false)
    }

    fn blocked_users(after: Option<String>) -> Result<messages::BlockedPage> {
        let tenant = Tenant::bind();
        let req =
            core::block_users::blocked_request(&tenant.settings, after.as_deref()).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let page = core::block_users::read_blocked(status, &body).map_err(err)?;
        Ok(messages::BlockedPage {
            users: page.users,
            next: page.next,
        })
    }
}

/// Block (or unblock) `users` from the tenant's sending number: an outcome per user.
fn set_blocked(users: &[String], block: bool) -> Result<Vec<messages::BlockOutcome>> {
    let tenant = Tenant::bind();
    let req = core::block_users::block_request(&tenant.settings, users, block).map_err(err)?;
    let (status, body) = tenant.call(&req)?;
    let outcomes = core::block_users::read_block(status, &body).map_err(err)?;
    Ok(outcomes
        .into_iter()
        .map(|o| messages::BlockOutcome {
            input: o.input,
            wa_id: o.wa_id,
            error: o.error.map(convert::graph_error),
        })
        .collect())
}

impl webhooks::Guest for Component {
    fn verify_subscription(
        mode: String,
        verify_token: String,
        challenge: String,
    ) -> Result<String> {
        let tenant = Tenant::bind();
        let answer = webhook::verify_subscription(
            tenant.settings.verify_token.as_deref(),
            &mode,
            &verify_token,
            &challenge,
        )
        .map_err(err)?;
        // The readiness checklist's "webhook verified".
        readiness::mark_webhook_verified()?;
        Ok(answer)
    }

    fn verify_signature(body: Vec<u8>, signature_header: Option<String>) -> Result<()> {
        Tenant::bind().verify_signature(&body, signature_header.as_deref())
    }

    fn parse(body: Vec<u8>) -> Result<Vec<webhooks::Event>> {
        webhook::parse(&body).map(wit_events).map_err(err)
    }

    fn ingest(body: Vec<u8>) -> Result<webhooks::IngestResult> {
        let tenant = Tenant::bind();
        let r = ingest::ingest(&tenant, &body)?;
        let id = Some(tenant.settings.tenant_id.as_str()).filter(|t| !t.is_empty());
        Ok(webhooks::IngestResult {
            events: r
                .events
                .iter()
                .map(|e| webhooks::EventRecord {
                    idempotency_key: e.idempotency_key.clone(),
                    kind: e.body.kind().to_string(),
                    json: webhook::json::to_json(e, id),
                    outbox: outbox::progress(e),
                    reply_from: core::outbox::reply_from(e),
                })
                .collect(),
            not_mine: r.not_mine,
        })
    }

    fn receive(body: Vec<u8>, signature_header: Option<String>) -> Result<Vec<webhooks::Event>> {
        Tenant::bind().verify_signature(&body, signature_header.as_deref())?;
        webhook::parse(&body).map(wit_events).map_err(err)
    }
}
