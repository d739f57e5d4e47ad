//! `whatsapp:cloud-api/outbox`: the tenant's outbox in the host's database. An enqueue
//! is committed before the component gets its answer; the dispatcher
//! ([`crate::dispatch`]) is woken to send it.
//!
//! The component checked and built each item (`messages.enqueue`); this keeps them as
//! they are (JSON of the WIT `queued` record, Meta's request body inside), by sending
//! number, so that entries are claimed per number.

// The component's own error, as every `outbox` call answers it.
#![allow(clippy::result_large_err)]

use crate::bindings::whatsapp::cloud_api::outbox as wit;
use crate::bindings::whatsapp::cloud_api::types::{Error, ErrorKind};
use crate::storage::Database;
use crate::storage::outbox::{Entry, Hold, NewEntry, OutboxBackend, state};
use std::sync::Arc;

/// The outbox every instance of a host shares: the database, and the dispatcher's bell.
pub struct OutboxService {
    db: Arc<Database>,
    wake: tokio::sync::Notify,
}

impl OutboxService {
    /// An outbox in `db`.
    pub fn new(db: Arc<Database>) -> Self {
        OutboxService {
            db,
            wake: tokio::sync::Notify::new(),
        }
    }

    /// The database's outbox.
    pub fn store(&self) -> Result<&dyn OutboxBackend, Error> {
        self.db.outbox().map_err(|e| storage(e.to_string()))
    }

    /// The database it lives in.
    pub fn db(&self) -> &Arc<Database> {
        &self.db
    }

    /// Ring the dispatcher's bell: something is due.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wait for the bell, at most `timeout`.
    pub async fn woken(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    /// Commit `items` for `tenant`.
    pub fn enqueue(
        &self,
        tenant: &str,
        items: &[wit::Queued],
    ) -> Result<Vec<wit::Enqueued>, Error> {
        let now = crate::storage::now_ms();
        let entries = items
            .iter()
            .map(|item| {
                Ok(NewEntry {
                    key: item.key.clone(),
                    campaign: item.campaign.clone(),
                    number: item.phone_number_id.clone(),
                    recipient: item.to.clone(),
                    priority: priority(item.priority),
                    not_before_ms: item
                        .not_before_ms
                        .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
                    item: serde_json::to_string(item).map_err(|e| storage(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let put = self
            .store()?
            .outbox_put(tenant, &entries, now)
            .map_err(|e| storage(e.to_string()))?;
        self.wake();
        Ok(put
            .into_iter()
            .map(|(id, created)| wit::Enqueued {
                id: id.to_string(),
                created,
            })
            .collect())
    }

    /// Cancel a queued entry of `tenant`'s.
    pub fn cancel(&self, tenant: &str, id: &str) -> Result<bool, Error> {
        let Some(id) = entry_id(id) else {
            return Ok(false);
        };
        self.store()?
            .outbox_cancel(tenant, id, crate::storage::now_ms())
            .map_err(|e| storage(e.to_string()))
    }

    /// An entry of `tenant`'s.
    pub fn status(&self, tenant: &str, id: &str) -> Result<Option<wit::Entry>, Error> {
        let Some(id) = entry_id(id) else {
            return Ok(None);
        };
        let entry = self
            .store()?
            .outbox_entry(tenant, id)
            .map_err(|e| storage(e.to_string()))?;
        Ok(entry.map(|e| describe(&e)))
    }
}

impl OutboxService {
    /// Hold a campaign of `tenant`'s (none: all its entries) until resumed.
    pub fn pause(&self, tenant: &str, campaign: Option<&str>) -> Result<(), Error> {
        let hold = Hold {
            campaign: campaign.map(str::to_string),
            code: "paused".into(),
            reason: match campaign {
                Some(c) => format!("campaign {c} paused"),
                None => "the outbox is paused".into(),
            },
            at_ms: crate::storage::now_ms(),
        };
        self.store()?
            .outbox_hold(tenant, &hold)
            .map_err(|e| storage(e.to_string()))
    }

    /// Lift a hold; whether there was one.
    pub fn resume(&self, tenant: &str, campaign: Option<&str>) -> Result<bool, Error> {
        let lifted = self
            .store()?
            .outbox_release(tenant, campaign)
            .map_err(|e| storage(e.to_string()))?;
        self.wake();
        Ok(lifted)
    }

    /// Cancel a campaign's queued entries; how many.
    pub fn cancel_campaign(&self, tenant: &str, campaign: &str) -> Result<u64, Error> {
        self.store()?
            .outbox_cancel_campaign(tenant, campaign, crate::storage::now_ms())
            .map_err(|e| storage(e.to_string()))
    }

    /// A campaign's entries by state, and what holds it.
    pub fn progress(&self, tenant: &str, campaign: &str) -> Result<wit::Tally, Error> {
        let store = self.store()?;
        let t = store
            .outbox_tally(tenant, campaign)
            .map_err(|e| storage(e.to_string()))?;
        let holds = store
            .outbox_holds(tenant)
            .map_err(|e| storage(e.to_string()))?;
        let held = holds
            .iter()
            .find(|h| h.campaign.as_deref() == Some(campaign))
            .or_else(|| holds.iter().find(|h| h.campaign.is_none()))
            .map(|h| wit::Hold {
                code: h.code.clone(),
                reason: h.reason.clone(),
                since_ms: u64::try_from(h.at_ms).unwrap_or(0),
            });
        let n = |s: u8| t.by_state[usize::from(s)];
        let now = crate::storage::now_ms();
        Ok(wit::Tally {
            campaign: campaign.to_string(),
            queued: n(state::QUEUED),
            sending: n(state::SENDING),
            unknown: n(state::UNKNOWN),
            sent: n(state::SENT),
            delivered: n(state::DELIVERED),
            read: n(state::READ),
            failed: n(state::FAILED),
            cancelled: n(state::CANCELLED),
            replied: t.replied,
            held,
            next_ms: t
                .next_ms
                .filter(|at| *at > now)
                .and_then(|at| u64::try_from(at).ok()),
        })
    }
}

/// The stored form of a priority: its place in the WIT's order.
pub fn priority(p: wit::Priority) -> u8 {
    match p {
        wit::Priority::Reply => 0,
        wit::Priority::Automation => 1,
        wit::Priority::Campaign => 2,
    }
}

/// An entry id as the database keeps it (none for a string that names no entry).
pub fn entry_id(id: &str) -> Option<i64> {
    id.parse().ok().filter(|n| *n > 0)
}

/// The WIT's state of a stored one.
pub fn entry_state(s: u8) -> wit::EntryState {
    use wit::EntryState as S;
    match s {
        state::QUEUED => S::Queued,
        state::SENDING => S::Sending,
        state::UNKNOWN => S::Unknown,
        state::SENT => S::Sent,
        state::DELIVERED => S::Delivered,
        state::READ => S::Read,
        state::FAILED => S::Failed,
        _ => S::Cancelled,
    }
}

/// The stored state of a WIT one.
pub fn stored_state(s: wit::EntryState) -> u8 {
    use wit::EntryState as S;
    match s {
        S::Queued => state::QUEUED,
        S::Sending => state::SENDING,
        S::Unknown => state::UNKNOWN,
        S::Sent => state::SENT,
        S::Delivered => state::DELIVERED,
        S::Read => state::READ,
        S::Failed => state::FAILED,
        S::Cancelled => state::CANCELLED,
    }
}

/// A stored entry as the WIT describes it.
pub fn describe(e: &Entry) -> wit::Entry {
    wit::Entry {
        id: e.id.to_string(),
        state: entry_state(e.state),
        to: e.recipient.clone(),
        phone_number_id: e.number.clone(),
        priority: match e.priority {
            0 => wit::Priority::Reply,
            1 => wit::Priority::Automation,
            _ => wit::Priority::Campaign,
        },
        campaign: e.campaign.clone(),
        key: e.key.clone(),
        attempts: e.attempts,
        message_id: e.wamid.clone(),
        code: e.code.clone(),
        reason: e.reason.clone(),
        not_before_ms: u64::try_from(e.not_before_ms).unwrap_or(0),
        created_ms: u64::try_from(e.created_ms).unwrap_or(0),
        updated_ms: u64::try_from(e.updated_ms).unwrap_or(0),
    }
}

/// A state's WIT name.
pub fn state_name(s: wit::EntryState) -> &'static str {
    match s {
        wit::EntryState::Queued => "queued",
        wit::EntryState::Sending => "sending",
        wit::EntryState::Unknown => "unknown",
        wit::EntryState::Sent => "sent",
        wit::EntryState::Delivered => "delivered",
        wit::EntryState::Read => "read",
        wit::EntryState::Failed => "failed",
        wit::EntryState::Cancelled => "cancelled",
    }
}

/// An entry as one JSON object (what `wa-host outbox status` prints).
pub fn entry_json(e: &wit::Entry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id, "state": state_name(e.state), "to": e.to,
        "phone_number_id": e.phone_number_id,
        "priority": match e.priority { wit::Priority::Reply => "reply", wit::Priority::Automation => "automation", wit::Priority::Campaign => "campaign" },
        "campaign": e.campaign, "key": e.key, "attempts": e.attempts, "message_id": e.message_id,
        "code": e.code, "reason": e.reason, "not_before_ms": e.not_before_ms,
        "created_ms": e.created_ms, "updated_ms": e.updated_ms,
    })
}

/// A campaign's progress as one JSON object (`wa-host outbox progress`, the demo).
pub fn tally_json(t: &wit::Tally) -> serde_json::Value {
    serde_json::json!({
        "campaign": t.campaign, "queued": t.queued, "sending": t.sending, "unknown": t.unknown,
        "sent": t.sent, "delivered": t.delivered, "read": t.read, "failed": t.failed,
        "cancelled": t.cancelled, "replied": t.replied,
        "held": t.held.as_ref().map(|h| serde_json::json!({ "code": h.code, "reason": h.reason, "since_ms": h.since_ms })),
        "next_ms": t.next_ms,
    })
}

fn storage(message: String) -> Error {
    Error {
        kind: ErrorKind::Storage,
        message: format!("outbox: {message}"),
        field: None,
        retry_after_seconds: None,
        graph: None,
    }
}

/// A tenant instance's view of the outbox.
pub struct Outbox<'a> {
    /// The bound tenant.
    pub tenant: &'a str,
    /// The host's outbox, if it keeps one.
    pub service: Option<&'a Arc<OutboxService>>,
}

impl Outbox<'_> {
    fn service(&self) -> Result<&OutboxService, Error> {
        self.service.map(|s| &**s).ok_or_else(|| Error {
            kind: ErrorKind::NotConfigured,
            message: "this host keeps no outbox".into(),
            field: None,
            retry_after_seconds: None,
            graph: None,
        })
    }
}

/// A refusal of the host's API as the import answers it (the component reports it as its
/// own error of the same kind).
fn refused(e: Error) -> wit::OutboxError {
    match e.kind {
        ErrorKind::NotConfigured => wit::OutboxError::NotConfigured(e.message),
        _ => wit::OutboxError::Storage(e.message),
    }
}

impl wit::Host for Outbox<'_> {
    fn enqueue(
        &mut self,
        items: Vec<wit::Queued>,
    ) -> wasmtime::Result<Result<Vec<wit::Enqueued>, wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.enqueue(self.tenant, &items))
            .map_err(refused))
    }

    fn cancel(&mut self, id: String) -> wasmtime::Result<Result<bool, wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.cancel(self.tenant, &id))
            .map_err(refused))
    }

    fn status(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<Option<wit::Entry>, wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.status(self.tenant, &id))
            .map_err(refused))
    }

    fn pause(
        &mut self,
        campaign: Option<String>,
    ) -> wasmtime::Result<Result<(), wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.pause(self.tenant, campaign.as_deref()))
            .map_err(refused))
    }

    fn resume(
        &mut self,
        campaign: Option<String>,
    ) -> wasmtime::Result<Result<bool, wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.resume(self.tenant, campaign.as_deref()))
            .map_err(refused))
    }

    fn cancel_campaign(
        &mut self,
        campaign: String,
    ) -> wasmtime::Result<Result<u64, wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.cancel_campaign(self.tenant, &campaign))
            .map_err(refused))
    }

    fn progress(
        &mut self,
        campaign: String,
    ) -> wasmtime::Result<Result<wit::Tally, wit::OutboxError>> {
        Ok(self
            .service()
            .and_then(|s| s.progress(self.tenant, &campaign))
            .map_err(refused))
    }
}

struct OutboxCap;

impl wasmtime::component::HasData for OutboxCap {
    type Data<'a> = Outbox<'a>;
}

/// Link `outbox` for instances whose store data `get` views.
pub fn add_to_linker<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Outbox<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, OutboxCap>(linker, get)
}
