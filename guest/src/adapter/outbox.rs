//! `messages.enqueue` and `messages.deliver`: the outbox's checks and sends. The host's
//! `outbox` import keeps the entries; `core::outbox` says what becomes of each.

use super::bindings::exports::whatsapp::cloud_api::messages::{Delivery, OutboxItem, Retry};
use super::bindings::whatsapp::cloud_api::outbox::{self as wit, OutboxError, Queued};
use super::bindings::whatsapp::cloud_api::types::{self, Error, ErrorKind, SendResult};
use super::convert::{self, err};
use super::tenant::Tenant;
use crate::core::error::{Error as E, GraphError};
use crate::core::outbox::{self as rules, Action, History};
use crate::core::outgoing::Content;

/// Check and build every item as a send would (the window and consent wait for the
/// send), then commit them all through the host.
pub fn enqueue(items: Vec<OutboxItem>) -> Result<Vec<wit::Enqueued>, Error> {
    crate::core::outgoing::fields::count("items", "items", items.len(), rules::MAX_ITEMS)
        .map_err(err)?;
    let tenant = Tenant::bind();
    let mut queued = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("items[{i}]");
        // A refused field of the message is named within the item
        // (`items[3].message.content.text.body`).
        let within = |mut e: Error| {
            e.field = e.field.map(|f| format!("{at}.message.{f}"));
            e
        };
        rules::check_item(
            &at,
            item.key.as_deref(),
            item.campaign.as_deref(),
            item.message.biz_opaque_callback_data.as_deref(),
        )
        .map_err(err)?;
        let settings = match &item.phone_number_id {
            Some(n) => tenant.settings.sending_from(n).map_err(|e| {
                let mut e = err(e);
                e.field = Some(format!("{at}.phone-number-id"));
                e
            })?,
            None => (*tenant.settings).clone(),
        };
        let msg = convert::outgoing(item.message);
        let req =
            crate::core::messages::send_request(&settings, &msg).map_err(|e| within(err(e)))?;
        super::policy::check_template(&msg).map_err(within)?;
        let template = match &msg.content {
            Content::Template(t) => Some(types::TemplateRef {
                name: t.name.clone(),
                language: t.language.clone(),
            }),
            _ => None,
        };
        queued.push(wit::Queued {
            phone_number_id: settings.phone_number_id().map_err(err)?.to_string(),
            body: String::from_utf8(req.body.unwrap_or_default()).unwrap_or_default(),
            // As Meta names the user (a leading `+` dropped), which is what a reply
            // names it by.
            to: match msg.to.strip_prefix('+') {
                Some(digits) => digits.to_string(),
                None => msg.to,
            },
            template,
            key: item.key,
            not_before_ms: item.not_before_ms,
            priority: item.priority,
            campaign: item.campaign,
        });
    }
    wit::enqueue(&queued).map_err(host_error)
}

/// The host's outbox refusal as the component's error of the same kind.
fn host_error(e: OutboxError) -> Error {
    match e {
        OutboxError::NotConfigured(m) => err(E::NotConfigured(m)),
        OutboxError::Storage(m) => err(E::Storage(m)),
    }
}

/// Send entry `id` now and say what became of it.
pub fn deliver(id: &str, entry: Queued, attempt: u32) -> Delivery {
    let e = match send(id, &entry) {
        Ok(r) => return Delivery::Sent(r),
        Err(e) => e,
    };
    match rules::action(&core_error(&e), attempt) {
        Action::Retry(after_ms) => Delivery::Retry(Retry { after_ms, error: e }),
        Action::Fail => Delivery::Failed(e),
        Action::HoldCampaign => Delivery::HoldCampaign(e),
        Action::HoldTenant => Delivery::HoldTenant(e),
        Action::Unknown => Delivery::Unknown(e),
    }
}

/// The checks of a send as they stand now, then the send.
fn send(id: &str, entry: &Queued) -> Result<SendResult, Error> {
    let tenant = Tenant::on(Some(entry.phone_number_id.clone()))?;
    let req = rules::delivery_request(&tenant.settings, &entry.body, id).map_err(err)?;
    let template = entry
        .template
        .as_ref()
        .map(|t| (t.name.as_str(), t.language.as_str()));
    let checked = super::policy::check_to(&tenant, &entry.to, template, None)?;
    super::transmit(&tenant, req, &entry.to, &checked)
}

/// Whether the number's message history since `since_ms` is clear (see the WIT).
pub fn history_clear(number: String, since_ms: u64) -> Result<bool, Error> {
    let tenant = Tenant::on(Some(number))?;
    let mut after: Option<String> = None;
    loop {
        let req = rules::history_request(&tenant.settings, after.as_deref()).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let page: serde_json::Value = crate::core::graph::read_json(status, &body).map_err(err)?;
        match rules::read_history(&page, since_ms / 1000) {
            History::Clear => return Ok(true),
            History::Pending => return Ok(false),
            History::More(next) => after = Some(next),
        }
    }
}

/// The core's error for the parts of `e` that decide an entry's fate: its kind, Meta's
/// code, the wait Meta asked for, and whether Meta called it transient (any other
/// error Meta answered reads as `meta`: its code decides).
fn core_error(e: &Error) -> E {
    let g = GraphError {
        code: e.graph.as_ref().map_or(0, |g| g.code),
        is_transient: e.graph.as_ref().is_some_and(|g| g.is_transient),
        ..GraphError::default()
    };
    match e.kind {
        ErrorKind::Unauthorized => E::Unauthorized(g),
        ErrorKind::RateLimited => E::RateLimited {
            retry_after_seconds: e.retry_after_seconds,
            error: g,
        },
        ErrorKind::Network => E::Network(String::new()),
        ErrorKind::EgressDenied => E::EgressDenied(String::new()),
        ErrorKind::Storage => E::Storage(String::new()),
        ErrorKind::Ambiguous => E::Ambiguous(String::new()),
        _ if e.graph.is_some() => E::Meta(g),
        _ => E::Other(String::new()),
    }
}

/// A status's news for the outbox entry it names, if the outbox sent its message.
pub fn progress(e: &crate::core::webhook::Event) -> Option<types::EntryUpdate> {
    let crate::core::webhook::EventBody::Status(s) = &e.body else {
        return None;
    };
    let p = rules::progress(s)?;
    Some(types::EntryUpdate {
        id: p.id.to_string(),
        state: match p.stage {
            rules::Stage::Sent => types::EntryState::Sent,
            rules::Stage::Delivered => types::EntryState::Delivered,
            rules::Stage::Read => types::EntryState::Read,
            rules::Stage::Failed => types::EntryState::Failed,
        },
        message_id: s.message_id.clone(),
        code: p.failure.map(|g| g.code.to_string()),
        reason: p.failure.map(|g| g.message.clone()),
    })
}
