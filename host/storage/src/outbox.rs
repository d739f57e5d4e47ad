//! The tenants' outboxes: entries committed before `enqueue` answers, claimed by the
//! dispatching host that leases their number, settled by what the component said of
//! each send and moved on by status webhooks, always forward.
//!
//! An entry's `state` is its place in [`state`]'s order; a write never moves it to an
//! earlier place, except a claimed entry given back to wait (`queued` again).

use crate::Result;

/// The states, in the order of progress (the WIT's `outbox.entry-state`).
pub mod state {
    /// Waiting.
    pub const QUEUED: u8 = 0;
    /// Claimed by a host that is sending it.
    pub const SENDING: u8 = 1;
    /// May have been sent; a status will tell.
    pub const UNKNOWN: u8 = 2;
    /// Accepted by Meta.
    pub const SENT: u8 = 3;
    /// Delivered.
    pub const DELIVERED: u8 = 4;
    /// Read.
    pub const READ: u8 = 5;
    /// Failed for good.
    pub const FAILED: u8 = 6;
    /// Cancelled before it was sent.
    pub const CANCELLED: u8 = 7;
    /// Every state's name, by its number.
    pub const NAMES: [&str; 8] = [
        "queued",
        "sending",
        "unknown",
        "sent",
        "delivered",
        "read",
        "failed",
        "cancelled",
    ];
}

/// An entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The caller's idempotency key: one entry per tenant and key.
    pub key: Option<String>,
    /// Its campaign.
    pub campaign: Option<String>,
    /// The number it is sent from.
    pub number: String,
    /// The recipient, as given.
    pub recipient: String,
    /// 0 (reply) first.
    pub priority: u8,
    /// Not sent before (Unix milliseconds).
    pub not_before_ms: i64,
    /// The item as the host keeps it (JSON).
    pub item: String,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its id.
    pub id: i64,
    /// Its tenant.
    pub tenant: String,
    /// The caller's idempotency key.
    pub key: Option<String>,
    /// Its campaign.
    pub campaign: Option<String>,
    /// The number it is sent from.
    pub number: String,
    /// The recipient.
    pub recipient: String,
    /// Its priority.
    pub priority: u8,
    /// The item (JSON).
    pub item: String,
    /// Its state ([`state`]).
    pub state: u8,
    /// Sends tried (claims).
    pub attempts: u32,
    /// Meta's `wamid`, once sent.
    pub wamid: Option<String>,
    /// The code of its failure or wait.
    pub code: Option<String>,
    /// Why it failed or waits.
    pub reason: Option<String>,
    /// Not sent before (Unix milliseconds).
    pub not_before_ms: i64,
    /// Enqueued (Unix milliseconds).
    pub created_ms: i64,
    /// Last moved (Unix milliseconds).
    pub updated_ms: i64,
}

/// What became of a claimed entry's send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Meta accepted it.
    Sent {
        /// Its `wamid`.
        wamid: String,
    },
    /// Back to `queued`, not before `not_before_ms`.
    Wait {
        /// When it may go again.
        not_before_ms: i64,
        /// Why it waits.
        code: String,
        /// For people.
        reason: String,
    },
    /// Failed for good.
    Failed {
        /// Why.
        code: String,
        /// For people.
        reason: String,
    },
    /// May have been sent.
    Unknown {
        /// Why it is not known.
        code: String,
        /// For people.
        reason: String,
    },
}

/// A status webhook's news for an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The entry.
    pub id: i64,
    /// Its new state (`sent` or later).
    pub state: u8,
    /// The `wamid` the status is about.
    pub wamid: String,
    /// Meta's error code, when it failed.
    pub code: Option<String>,
    /// Meta's error title, when it failed.
    pub reason: Option<String>,
}

/// What a webhook says of a tenant's outbox, applied in the transaction that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// A status named an entry: it moves on.
    Status(Progress),
    /// A contact wrote, under these ids (its `wa_id`, its BSUID): the reply is the
    /// campaign's whose entry reached the contact last (each entry counts one reply).
    Reply(Vec<String>),
}

/// A hold on a tenant's outbox, or on one of its campaigns: their entries are not
/// claimed while it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The campaign; none holds the whole tenant.
    pub campaign: Option<String>,
    /// Why (Meta's code, or `paused`).
    pub code: String,
    /// For people.
    pub reason: String,
    /// Since (Unix milliseconds).
    pub at_ms: i64,
}

/// A campaign's entries counted by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Entries per state ([`state`]).
    pub by_state: [u64; 8],
    /// The earliest time a waiting entry may go (Unix milliseconds).
    pub next_ms: Option<i64>,
    /// Entries whose contact wrote back after this campaign reached it last.
    pub replied: u64,
}

/// What keeps a number's dispatch waiting: sends another host may still be making, and
/// entries whose send may have left without a status naming them since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doubts {
    /// Entries of the number `sending` under another holder's claim.
    pub others_sending: u64,
    /// Entries `unknown` without a `wamid`, not yet marked `unconfirmed`: (id, tenant,
    /// when claimed).
    pub unknown: Vec<(i64, String, i64)>,
}

/// The outbox's storage; every method is one transaction.
pub trait OutboxBackend: Send + Sync {
    /// Add `entries` for `tenant`, all or none. Per entry, its id and whether it is new
    /// (false: its key named an existing entry, whose id it is).
    fn outbox_put(
        &self,
        tenant: &str,
        entries: &[NewEntry],
        now_ms: i64,
    ) -> Result<Vec<(i64, bool)>>;
    /// One entry of `tenant`'s.
    fn outbox_entry(&self, tenant: &str, id: i64) -> Result<Option<Entry>>;
    /// Cancel a `queued` entry; whether it was.
    fn outbox_cancel(&self, tenant: &str, id: i64, now_ms: i64) -> Result<bool>;
    /// Cancel every `queued` entry of a campaign; how many.
    fn outbox_cancel_campaign(&self, tenant: &str, campaign: &str, now_ms: i64) -> Result<u64>;
    /// Numbers with entries due at `now_ms` that no hold keeps back (at most `limit`).
    fn outbox_due_numbers(&self, now_ms: i64, limit: u32) -> Result<Vec<String>>;
    /// Claim up to `limit` due entries of `number` for `holder`, in order of priority,
    /// time and id: each is `sending`, its attempts counted.
    fn outbox_claim(
        &self,
        number: &str,
        holder: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Entry>>;
    /// Record what became of entries `holder` claimed: per entry, whether it was still
    /// `holder`'s to settle.
    fn outbox_settle(
        &self,
        holder: &str,
        outcomes: &[(i64, Outcome)],
        now_ms: i64,
    ) -> Result<Vec<bool>>;
    /// Give claimed entries back to wait (their tenant or campaign was just held):
    /// `queued` again at once, the claim not counted.
    fn outbox_unclaim(&self, holder: &str, ids: &[i64], now_ms: i64) -> Result<()>;
    /// Move `tenant`'s entries on by status webhooks (never back), and count replies;
    /// how many entries changed.
    fn outbox_progress(&self, tenant: &str, news: &[News], now_ms: i64) -> Result<u64>;
    /// Entries left `sending` by holders other than `alive` become `unknown`: their send
    /// may have left. How many.
    fn outbox_recover(&self, alive: &[String], now_ms: i64) -> Result<u64>;
    /// What keeps `number`'s dispatch by `holder` waiting ([`Doubts`]).
    fn outbox_doubts(&self, number: &str, holder: &str) -> Result<Doubts>;
    /// Entries still `unknown` without a `wamid` go back to `queued` (the one move back
    /// there is): the number's message history showed Meta never accepted them. How many.
    fn outbox_requeue(&self, ids: &[i64], now_ms: i64) -> Result<u64>;
    /// Entries still `unknown` without a `wamid` that neither a status nor the number's
    /// history could settle in time stay `unknown`, marked `unconfirmed` for the platform
    /// to decide: no longer in doubt for dispatch. How many.
    fn outbox_unconfirmed(&self, ids: &[i64], now_ms: i64) -> Result<u64>;
    /// Hold `tenant`'s outbox, or one campaign of it (again: the reason is replaced).
    fn outbox_hold(&self, tenant: &str, hold: &Hold) -> Result<()>;
    /// Lift a hold; whether there was one.
    fn outbox_release(&self, tenant: &str, campaign: Option<&str>) -> Result<bool>;
    /// `tenant`'s holds.
    fn outbox_holds(&self, tenant: &str) -> Result<Vec<Hold>>;
    /// A campaign's entries counted by state.
    fn outbox_tally(&self, tenant: &str, campaign: &str) -> Result<Tally>;
    /// Call `wake` whenever another process makes outbox work due (an enqueue, a hold
    /// lifted), for as long as the backend lives; whether this backend can (PostgreSQL,
    /// by `LISTEN`/`NOTIFY`). Without it, a dispatcher polls.
    fn outbox_listen(&self, wake: std::sync::Arc<dyn Fn() + Send + Sync>) -> bool {
        let _ = wake;
        false
    }
    /// Count `member` among those `scope` reached in the moving window of `window_ms`
    /// before `now_ms` (a member reached again is counted once, from its latest reach),
    /// unless `limit` are counted already and it is not one of them: then nothing
    /// changes, and the answer is when the earliest of them leaves the window (Unix
    /// milliseconds). One at a time per scope, across every host of the database.
    fn outbox_reach(
        &self,
        scope: &str,
        member: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>>;
}
