//! The outbox's dispatcher: it claims due entries and has the component send each
//! (`messages.deliver`), then records what the component said became of it. Which
//! failures wait, hold a campaign or the tenant, or end the entry is the component's
//! call (`core::outbox`); this only schedules, claims and records.
//!
//! **Several hosts.** Every dispatching host holds a membership lease
//! (`outbox-host:{id}`) and, for each number it sends for, the number's lease
//! (`outbox-number:{number}`), so that one host at a time paces a number and Meta's
//! throughput for it is kept exactly. A host that stops renewing loses both within
//! [`Options::lease`]: another takes the number over, and the entries it left `sending`
//! become `unknown` ([`OutboxBackend::outbox_recover`]): their send may have left, so
//! they wait for the status webhook that names them, or, before the number sends again,
//! for its message history to show that Meta never accepted them (then they go again).
//! On PostgreSQL the claims themselves skip each other's rows (`SKIP LOCKED`), and an
//! enqueue or a hold lifted in any process wakes every dispatcher (`LISTEN`/`NOTIFY`).
//!
//! **Order.** A number's entries go by priority (replies, then automations, then
//! campaigns), then time, then the order they were enqueued; up to
//! [`Options::concurrency`] sends of one number are in flight at once, each taking its
//! slot from the host's pacing in that order.

use crate::capabilities::outbox::{OutboxService, entry_id, stored_state};
use crate::events::kind_name;
use crate::runtime::api::{self, outbox::Delivery, outbox::Queued};
use crate::state::ServerState;
use crate::storage::Database;
use crate::storage::outbox::{Entry, Hold, OutboxBackend, Outcome, Progress};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The membership lease's prefix.
const HOST_LEASE: &str = "outbox-host:";
/// A number's lease's prefix.
const NUMBER_LEASE: &str = "outbox-number:";
/// How long a stopping dispatcher waits for the sends in flight.
pub const DRAIN: Duration = Duration::from_secs(30);
/// How often a number whose sends are in doubt looks again.
const DOUBT_POLL: Duration = Duration::from_millis(250);
/// How long a number waits for the status webhooks that settle its entries in doubt.
pub const DOUBT_WAIT: Duration = Duration::from_secs(600);
/// How often an idle dispatcher looks for due entries when the database wakes it for
/// other hosts' enqueues (`LISTEN`/`NOTIFY`): only waits that end are left to find.
const LISTENING_POLL: Duration = Duration::from_secs(1);
/// How long an entry waits when no instance could be made for it.
const NO_INSTANCE_WAIT_MS: i64 = 5_000;

/// How the dispatcher works.
#[derive(Debug, Clone)]
pub struct Options {
    /// Entries claimed at once per number.
    pub batch: u32,
    /// Sends of one number in flight at once.
    pub concurrency: usize,
    /// How long a lease lasts unless renewed (a stopped host's numbers are taken over
    /// after it).
    pub lease: Duration,
    /// How often an idle dispatcher looks for due entries (an enqueue in this process
    /// wakes it at once; on PostgreSQL one in any process does, and it then looks only
    /// once a second).
    pub poll: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 256,
            concurrency: 32,
            lease: Duration::from_secs(10),
            poll: Duration::from_millis(200),
        }
    }
}

/// One host's dispatcher.
pub struct Dispatcher {
    state: Arc<ServerState>,
    outbox: Arc<OutboxService>,
    holder: String,
    options: Options,
    /// Numbers this host is sending for now.
    running: Mutex<HashSet<String>>,
    /// Set when asked to stop: no more claims; what is in flight finishes.
    stopping: std::sync::atomic::AtomicBool,
    /// Sends in flight across every number: at most half the instance pool, so that
    /// the webhook server always finds instances.
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl Dispatcher {
    /// A dispatcher for the server's tenants, when its runtime keeps an outbox.
    pub fn new(state: Arc<ServerState>, options: Options) -> Option<Arc<Self>> {
        let outbox = state.runtime.services().outbox.clone()?;
        let in_flight = (state.runtime.max_instances() as usize / 2).max(1);
        let mut nonce = [0u8; 6];
        let _ = getrandom::fill(&mut nonce);
        Some(Arc::new(Dispatcher {
            state,
            outbox,
            holder: format!("{}-{}", std::process::id(), hex::encode(nonce)),
            options,
            running: Mutex::new(HashSet::new()),
            stopping: Default::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(in_flight)),
        }))
    }

    /// This host's name in leases and claims.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Dispatch until `stop` completes; then let the sends in flight finish (at most
    /// [`DRAIN`]) and give up this host's leases.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::select! {
            _ = stop => {}
            _ = self.clone().work() => {}
        }
        self.stopping
            .store(true, std::sync::atomic::Ordering::Release);
        let drained = std::time::Instant::now();
        while !lock(&self.running).is_empty() && drained.elapsed() < DRAIN {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let leases = self.state.db.leases().unwrap_or_default();
        for l in leases.iter().filter(|l| l.holder == self.holder) {
            let _ = self.state.db.release(&l.name, &self.holder);
        }
    }

    fn db(&self) -> &Database {
        &self.state.db
    }

    fn store(&self) -> Option<&dyn OutboxBackend> {
        match self.db().outbox() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("outbox: {e}");
                None
            }
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.options.lease.as_millis()).unwrap_or(i64::MAX)
    }

    async fn work(self: Arc<Self>) {
        let outbox = self.outbox.clone();
        let listening = self
            .store()
            .is_some_and(|s| s.outbox_listen(Arc::new(move || outbox.wake())));
        let poll = if listening {
            self.options.poll.max(LISTENING_POLL)
        } else {
            self.options.poll
        };
        let mut beat: Option<std::time::Instant> = None;
        loop {
            let now = now_ms();
            if beat.is_none_or(|b| b.elapsed() >= self.options.lease / 3) {
                beat = Some(std::time::Instant::now());
                self.keep_membership(now);
            }
            let due = self
                .store()
                .map(|s| s.outbox_due_numbers(now, 1000))
                .transpose()
                .unwrap_or_else(|e| {
                    tracing::error!("outbox: finding due entries: {e}");
                    None
                })
                .unwrap_or_default();
            for number in due {
                if lock(&self.running).contains(&number) {
                    continue;
                }
                let lease = format!("{NUMBER_LEASE}{number}");
                match self.db().lease(&lease, &self.holder, self.lease_ms(), now) {
                    Ok(true) => {
                        lock(&self.running).insert(number.clone());
                        tokio::spawn(self.clone().number(number));
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!("outbox: leasing number {number}: {e}"),
                }
            }
            self.outbox.woken(poll).await;
        }
    }

    /// Renew this host's membership, and settle what stopped hosts left `sending`.
    fn keep_membership(&self, now: i64) {
        let name = format!("{HOST_LEASE}{}", self.holder);
        if let Err(e) = self.db().lease(&name, &self.holder, self.lease_ms(), now) {
            tracing::error!("outbox: renewing this host's lease: {e}");
            return;
        }
        let alive: Vec<String> = match self.db().leases() {
            Ok(ls) => ls
                .into_iter()
                .filter(|l| l.name.starts_with(HOST_LEASE) && l.expires_at_ms > now)
                .map(|l| l.holder)
                .collect(),
            Err(e) => {
                tracing::error!("outbox: reading leases: {e}");
                return;
            }
        };
        match self.store().map(|s| s.outbox_recover(&alive, now)) {
            Some(Ok(n)) if n > 0 => tracing::warn!(
                "outbox: {n} entries a stopped host was sending are unknown until their status arrives"
            ),
            Some(Err(e)) => tracing::error!("outbox: recovering entries: {e}"),
            _ => {}
        }
    }

    /// Send a number's due entries, batch by batch, while this host holds its lease
    /// (renewed every third of its life; a batch is at most what the number's pacing
    /// sends in that time, so the lease never lapses under it).
    async fn number(self: Arc<Self>, number: String) {
        let lease = format!("{NUMBER_LEASE}{number}");
        let renew_every = self.options.lease / 3;
        let paced = u64::from(self.state.runtime.services().throughput.mps())
            .saturating_mul(renew_every.as_secs().max(1));
        let batch = u32::try_from(paced)
            .unwrap_or(u32::MAX)
            .clamp(1, self.options.batch.max(1));
        // Taken by `work` just before this task started.
        let mut renewed = std::time::Instant::now();
        // The previous batch's outcomes, being recorded while the next batch goes.
        let mut recording: Option<tokio::task::JoinHandle<()>> = None;
        while !self.stopping.load(std::sync::atomic::Ordering::Acquire) {
            let now = now_ms();
            if renewed.elapsed() >= renew_every {
                match self.db().lease(&lease, &self.holder, self.lease_ms(), now) {
                    Ok(true) => renewed = std::time::Instant::now(),
                    Ok(false) => break,
                    Err(e) => {
                        tracing::error!("outbox: renewing number {number}'s lease: {e}");
                        break;
                    }
                }
            }
            let Some(store) = self.store() else { break };
            if !self.doubts_settled(store, &number).await {
                tokio::time::sleep(DOUBT_POLL).await;
                continue;
            }
            // The database's calls block (a file's fsync, a server's answer): off the
            // workers that run the sends.
            let me = self.clone();
            let n = number.clone();
            let claimed = tokio::task::spawn_blocking(move || {
                me.db()
                    .outbox()
                    .and_then(|s| s.outbox_claim(&n, &me.holder, now, batch))
            })
            .await;
            let claimed = match claimed {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    tracing::error!("outbox: claiming number {number}'s entries: {e}");
                    break;
                }
                Err(e) => {
                    tracing::error!("outbox: claiming number {number}'s entries: {e}");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            let outcomes = self.clone().deliver_all(claimed).await;
            if let Some(r) = recording.take() {
                let _ = r.await;
            }
            let me = self.clone();
            recording = Some(tokio::task::spawn_blocking(move || me.record(outcomes)));
        }
        if let Some(r) = recording.take() {
            let _ = r.await;
        }
        let _ = self.db().release(&lease, &self.holder);
        lock(&self.running).remove(&number);
    }

    /// Whether `number` may send: no send of it may still be in flight under another
    /// host's claim (those become `unknown` once that host's lease lapses), and every
    /// entry whose send may have left (`unknown`, no status named it) has a verdict. The
    /// component reads the number's message history back to their claims: once every
    /// status webhook since then was delivered, those no status named were never
    /// accepted and go back to the queue. While webhooks are still on their way (or the
    /// history cannot be read), the number waits, for at most [`DOUBT_WAIT`]; then the
    /// entries stay `unknown`, marked `unconfirmed` for the platform to decide, and the
    /// rest go.
    async fn doubts_settled(&self, store: &dyn OutboxBackend, number: &str) -> bool {
        let doubts = match store.outbox_doubts(number, &self.holder) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("outbox: number {number}'s doubts: {e}");
                return false;
            }
        };
        if doubts.others_sending > 0 {
            return false;
        }
        let Some(since) = doubts.unknown.iter().map(|u| u.2).min() else {
            return true;
        };
        let tenant = doubts.unknown[0].1.clone();
        let s = &self.state;
        let owners = s.directory.owners(
            &s.db,
            &s.runtime.services().vault,
            &s.defaults,
            "",
            Some(number),
        );
        let verdict = match owners.iter().find(|k| k.record.id == tenant) {
            Some(known) => match known.instance(&s.runtime).await {
                Ok(mut i) => match i.history_clear(number, since.max(0) as u64).await {
                    Ok(Ok(clear)) => {
                        known.keep(i, s.runtime.max_instances() as usize / 4);
                        Ok(clear)
                    }
                    Ok(Err(e)) => Err(e.message),
                    Err(trap) => Err(trap.to_string()),
                },
                Err(e) => Err(e),
            },
            None => Err(format!(
                "number {number} no longer belongs to tenant {tenant}"
            )),
        };
        let waited = now_ms() - since >= i64::try_from(DOUBT_WAIT.as_millis()).unwrap_or(i64::MAX);
        let ids: Vec<i64> = doubts.unknown.iter().map(|u| u.0).collect();
        let give_up = || {
            if let Err(e) = store.outbox_unconfirmed(&ids, now_ms()) {
                tracing::error!("outbox: number {number}'s unconfirmed entries: {e}");
            }
            tracing::warn!(
                "outbox: number {number}: {} entries stay unknown: no status named them and its history could not settle them",
                ids.len()
            );
            true
        };
        match verdict {
            Ok(true) => {
                match store.outbox_requeue(&ids, now_ms()) {
                    Ok(n) if n > 0 => tracing::warn!(
                        "outbox: number {number}: {n} entries a stopped send left were never accepted; queued again"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!("outbox: requeuing number {number}'s entries: {e}");
                        return false;
                    }
                }
                true
            }
            Ok(false) if waited => give_up(),
            Ok(false) => false,
            Err(e) => {
                tracing::warn!("outbox: number {number}'s message history: {e}");
                waited && give_up()
            }
        }
    }

    /// Deliver `claimed` with at most `concurrency` in flight, starting them in order.
    async fn deliver_all(self: Arc<Self>, claimed: Vec<Entry>) -> Vec<Settled> {
        let gate = Arc::new(tokio::sync::Semaphore::new(self.options.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let mut out = Vec::with_capacity(claimed.len());
        for entry in claimed {
            let (Ok(permit), Ok(global)) = (
                gate.clone().acquire_owned().await,
                self.in_flight.clone().acquire_owned().await,
            ) else {
                break;
            };
            let me = self.clone();
            tasks.spawn(async move {
                let settled = me.deliver(entry).await;
                drop((permit, global));
                settled
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(s) => out.push(s),
                // A panicked task's entry stays `sending`: recovered as unknown later.
                Err(e) => tracing::error!("outbox: a send task failed: {e}"),
            }
        }
        out
    }

    /// Have the component send one entry; what to record.
    async fn deliver(&self, entry: Entry) -> Settled {
        let now = now_ms();
        let settled = |outcome| Settled {
            id: entry.id,
            tenant: entry.tenant.clone(),
            hold: None,
            outcome,
        };
        let item: Queued = match serde_json::from_str(&entry.item) {
            Ok(i) => i,
            Err(e) => {
                return settled(Outcome::Failed {
                    code: "unreadable".into(),
                    reason: format!("the stored item could not be read: {e}"),
                });
            }
        };
        let s = &self.state;
        let owners = s.directory.owners(
            &s.db,
            &s.runtime.services().vault,
            &s.defaults,
            "",
            Some(&entry.number),
        );
        let Some(known) = owners.iter().find(|k| k.record.id == entry.tenant) else {
            return settled(Outcome::Failed {
                code: "not-configured".into(),
                reason: format!(
                    "number {} no longer belongs to tenant {}",
                    entry.number, entry.tenant
                ),
            });
        };
        let mut instance = match known.instance(&s.runtime).await {
            Ok(i) => i,
            Err(e) => {
                return settled(Outcome::Wait {
                    not_before_ms: now + NO_INSTANCE_WAIT_MS,
                    code: "no-instance".into(),
                    reason: e,
                });
            }
        };
        let delivery = instance
            .deliver(&entry.id.to_string(), &item, entry.attempts)
            .await;
        let delivery = match delivery {
            Ok(d) => {
                known.keep(instance, s.runtime.max_instances() as usize / 4);
                d
            }
            // It stopped part way: the request may have left.
            Err(trap) => {
                tracing::error!("tenant {}: outbox entry {}: {trap}", entry.tenant, entry.id);
                return settled(Outcome::Unknown {
                    code: "trap".into(),
                    reason: "the component stopped while sending it".into(),
                });
            }
        };
        let now = now_ms();
        match delivery {
            Delivery::Sent(r) => settled(Outcome::Sent {
                wamid: r.message_id,
            }),
            Delivery::Retry(r) => {
                let (code, reason) = code_reason(&r.error);
                settled(Outcome::Wait {
                    not_before_ms: now
                        .saturating_add(i64::try_from(r.after_ms).unwrap_or(i64::MAX)),
                    code,
                    reason,
                })
            }
            Delivery::Failed(e) => {
                let (code, reason) = code_reason(&e);
                settled(Outcome::Failed { code, reason })
            }
            Delivery::Unknown(e) => {
                let (code, reason) = code_reason(&e);
                settled(Outcome::Unknown { code, reason })
            }
            // An entry without a campaign that would hold one fails instead.
            Delivery::HoldCampaign(e) if entry.campaign.is_none() => {
                let (code, reason) = code_reason(&e);
                settled(Outcome::Failed { code, reason })
            }
            Delivery::HoldCampaign(e) => self.held(&entry, entry.campaign.clone(), &e, now),
            Delivery::HoldTenant(e) => self.held(&entry, None, &e, now),
        }
    }

    /// The entry waits behind a new hold of `campaign` (none: of its whole tenant).
    fn held(&self, entry: &Entry, campaign: Option<String>, e: &api::Error, now: i64) -> Settled {
        let (code, reason) = code_reason(e);
        Settled {
            id: entry.id,
            tenant: entry.tenant.clone(),
            hold: Some(Hold {
                campaign,
                code: code.clone(),
                reason: reason.clone(),
                at_ms: now,
            }),
            outcome: Outcome::Wait {
                not_before_ms: now,
                code,
                reason,
            },
        }
    }

    /// Record holds first (so that no further claim takes what they hold back), then
    /// every outcome in one transaction.
    fn record(&self, settled: Vec<Settled>) {
        let Some(store) = self.store() else { return };
        for s in &settled {
            if let Some(h) = &s.hold
                && let Err(e) = store.outbox_hold(&s.tenant, h)
            {
                tracing::error!("outbox: holding tenant {}: {e}", s.tenant);
            }
        }
        let outcomes: Vec<(i64, Outcome)> =
            settled.into_iter().map(|s| (s.id, s.outcome)).collect();
        match store.outbox_settle(&self.holder, &outcomes, now_ms()) {
            Ok(done) => {
                let lost = done.iter().filter(|d| !**d).count();
                if lost > 0 {
                    tracing::warn!(
                        "outbox: {lost} entries were no longer this host's to settle (taken over as unknown)"
                    );
                }
            }
            // Left `sending`: recovered as unknown once this host's lease lapses.
            Err(e) => tracing::error!("outbox: recording {} sends: {e}", outcomes.len()),
        }
    }
}

/// What the dispatcher records of one entry.
struct Settled {
    id: i64,
    tenant: String,
    hold: Option<Hold>,
    outcome: Outcome,
}

/// An error's code as an entry keeps it: Meta's, or the kind's name when Meta said
/// nothing.
fn code_of(e: &api::Error) -> String {
    match &e.graph {
        Some(g) if g.code != 0 => g.code.to_string(),
        _ => kind_name(e.kind).to_string(),
    }
}

fn code_reason(e: &api::Error) -> (String, String) {
    (code_of(e), e.message.clone())
}

/// The stored form of a status's news, if it names an entry.
pub fn progress(p: api::outbox::EntryUpdate) -> Option<Progress> {
    Some(Progress {
        id: entry_id(&p.id)?,
        state: stored_state(p.state),
        wamid: p.message_id,
        code: p.code,
        reason: p.reason,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    crate::storage::now_ms()
}
