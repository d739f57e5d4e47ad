//! The reference host's storage: tenants (and the phone numbers routed to them), the
//! tenants' key-value namespaces, and the recorded webhook events with their cursors.
//!
//! The tenants' outboxes live beside them ([`outbox`]).
//!
//! A [`Backend`] keeps them: [`sqlite`] (one file in the data directory, the default)
//! or [`postgres`] (a server several host processes share). [`Database::open_url`]
//! picks one from a URL. [`Database`] adds what is the same for every backend: the
//! journal of staged writes and the group-commit thread ([`journal`]), and the
//! [`KvBackend`] view the component's `wasi:keyvalue` goes through. Every key is
//! namespaced by the tenant the host bound, never by anything the guest says.
//!
//! `tests/conformance.rs` runs one suite against every backend.
#![deny(missing_docs)]

pub mod journal;
pub mod outbox;
pub mod postgres;
pub mod postgres_tls;
pub mod sqlite;

use journal::{Job, Journal, MAX_BATCH, Staged};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak, mpsc};
use std::task::{Context, Poll};

/// A storage failure, described for a human (never with a value in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError(pub String);

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

/// A storage result.
pub type Result<T> = std::result::Result<T, StorageError>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An answer that may come later: at once from a local file, or when a server answers a
/// query in flight (no thread is held meanwhile).
pub enum KvFuture<'a, T> {
    /// Answered already (taken on the first poll).
    Ready(Option<Result<T>>),
    /// To be awaited.
    Later(Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>),
}

impl<'a, T> KvFuture<'a, T> {
    /// An answer already known.
    pub fn ready(r: Result<T>) -> Self {
        KvFuture::Ready(Some(r))
    }

    /// An answer `f` will give.
    pub fn later(f: impl Future<Output = Result<T>> + Send + 'a) -> Self {
        KvFuture::Later(Box::pin(f))
    }
}

impl<T: Unpin> Future for KvFuture<'_, T> {
    type Output = Result<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        match self.get_mut() {
            KvFuture::Ready(r) => Poll::Ready(
                r.take()
                    .unwrap_or_else(|| Err(StorageError("an answer was taken twice".into()))),
            ),
            KvFuture::Later(f) => f.as_mut().poll(cx),
        }
    }
}

/// The tenant-namespaced key-value operations `wasi:keyvalue` needs: each blocking (for
/// tools and tests) and as a future (for the component's calls, made on the host's async
/// workers).
pub trait KvBackend: Send + Sync {
    /// The value under `key`.
    fn get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>>;
    /// Store `value` under `key`.
    fn set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()>;
    /// Remove `key` (absent is fine).
    fn delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()>;
    /// Whether `key` is present.
    fn exists(&self, tenant: &str, bucket: &str, key: &str) -> Result<bool>;
    /// Up to `limit` keys in order, starting at position `offset`.
    fn list_keys(&self, tenant: &str, bucket: &str, offset: u64, limit: u32)
    -> Result<Vec<String>>;
    /// Add `delta` to the counter under `key` (absent counts as 0), atomically; the new value.
    fn increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64>;

    /// [`KvBackend::get`], as a future.
    fn get_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, Option<Vec<u8>>>;
    /// [`KvBackend::set`], as a future.
    fn set_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        value: &'a [u8],
    ) -> KvFuture<'a, ()>;
    /// [`KvBackend::delete`], as a future.
    fn delete_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, ()>;
    /// [`KvBackend::list_keys`], as a future.
    fn list_keys_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        offset: u64,
        limit: u32,
    ) -> KvFuture<'a, Vec<String>>;
    /// [`KvBackend::increment`], as a future.
    fn increment_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        delta: u64,
    ) -> KvFuture<'a, u64>;
}

/// The bucket whose values are secrets: replacing or deleting one also scrubs the old
/// value from the backend's files where it can ([`Backend::scrub`]).
pub const SECRETS_BUCKET: &str = "secrets";

/// A tenant as stored. Secrets are sealed by the host's vault before they get here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantRecord {
    /// The tenant id (the name given at `tenant add`).
    pub id: String,
    /// The WABA id, once known (given, or found when the business connects).
    pub waba_id: Option<String>,
    /// The default sending number's id.
    pub phone_number_id: Option<String>,
    /// Every number the tenant sends from and gets webhooks for, the default first. A
    /// number belongs to one tenant at most: webhooks are routed by it.
    pub numbers: Vec<String>,
    /// The display number.
    pub display_phone_number: Option<String>,
    /// The Graph origin, when not Meta's (the sandbox).
    pub graph_origin: Option<String>,
    /// The sealed app secret, when the tenant has its own.
    pub app_secret_sealed: Option<Vec<u8>>,
    /// The sealed webhook verify token, when the tenant has its own.
    pub verify_token_sealed: Option<Vec<u8>>,
    /// Unix seconds.
    pub created_at: i64,
    /// Further settings handed to the component (`window-policy`, keywords, …).
    pub settings: Vec<(String, String)>,
}

impl TenantRecord {
    /// `numbers` with the default first and no repeats.
    pub fn normalize_numbers(&mut self) {
        let mut out: Vec<String> = Vec::with_capacity(self.numbers.len() + 1);
        if let Some(d) = &self.phone_number_id {
            out.push(d.clone());
        }
        for n in self.numbers.drain(..) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        if self.phone_number_id.is_none() {
            self.phone_number_id = out.first().cloned();
        }
        self.numbers = out;
    }
}

/// A recorded webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Position in the log.
    pub seq: i64,
    /// The tenant, or none when unroutable.
    pub tenant: Option<String>,
    /// `message`, `status`, `unknown`, `unroutable`, `connection`, …
    pub kind: String,
    /// The event's idempotency key.
    pub idempotency_key: String,
    /// Unix milliseconds when it was recorded.
    pub received_at_ms: i64,
    /// The event as JSON.
    pub json: String,
}

/// A new event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The tenant, or none when unroutable.
    pub tenant: Option<String>,
    /// The kind.
    pub kind: String,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The JSON.
    pub json: String,
}

/// A counter's value as stored (decimal text), or none when it is not one.
pub fn parse_counter(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Where the data lives. Every method is one atomic step: what it writes is durable
/// when it returns, or nothing of it is.
pub trait Backend: Send + Sync {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;

    /// The tenants' outboxes, when this backend keeps them (both shipped ones do).
    fn outbox(&self) -> Option<&dyn outbox::OutboxBackend> {
        None
    }

    /// Insert a tenant with its numbers; its id and numbers must be new.
    fn insert_tenant(&self, t: &TenantRecord) -> Result<()>;
    /// Replace a tenant's fields and numbers (a number another tenant has is refused).
    fn update_tenant(&self, t: &TenantRecord) -> Result<()>;
    /// Remove a tenant, its numbers and its key-value namespace (its events stay, as a
    /// record of what was received). Whether it existed.
    fn delete_tenant(&self, id: &str) -> Result<bool>;
    /// The tenant with this id.
    fn tenant(&self, id: &str) -> Result<Option<TenantRecord>>;
    /// The tenant that owns this phone number id.
    fn tenant_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<TenantRecord>>;
    /// Every tenant, by id.
    fn tenants(&self) -> Result<Vec<TenantRecord>>;

    /// The value under a key.
    fn kv_get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>>;
    /// Store a value.
    fn kv_set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()>;
    /// Replace the value under a key only if it is still `expected`; whether it was.
    fn kv_replace(
        &self,
        tenant: &str,
        bucket: &str,
        key: &str,
        expected: &[u8],
        value: &[u8],
    ) -> Result<bool>;
    /// Remove a key.
    fn kv_delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()>;
    /// Keys of a bucket in order, from position `offset`.
    fn kv_list(&self, tenant: &str, bucket: &str, offset: u64, limit: u32) -> Result<Vec<String>>;
    /// Every (tenant, key, value) of a bucket across tenants (what `rotate-key` re-seals).
    fn kv_scan(&self, bucket: &str) -> Result<Vec<(String, String, Vec<u8>)>>;
    /// Add to a counter atomically (absent counts as 0); the new value.
    fn kv_increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64>;
    /// [`Backend::kv_get`] as a future: a server's backend answers without holding the
    /// caller's thread; by default the blocking call (a local file), answered at once.
    fn kv_get_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, Option<Vec<u8>>> {
        KvFuture::ready(self.kv_get(tenant, bucket, key))
    }
    /// [`Backend::kv_set`] as a future (see [`Backend::kv_get_async`]).
    fn kv_set_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        value: &'a [u8],
    ) -> KvFuture<'a, ()> {
        KvFuture::ready(self.kv_set(tenant, bucket, key, value))
    }
    /// [`Backend::kv_delete`] as a future (see [`Backend::kv_get_async`]).
    fn kv_delete_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, ()> {
        KvFuture::ready(self.kv_delete(tenant, bucket, key))
    }
    /// [`Backend::kv_list`] as a future (see [`Backend::kv_get_async`]).
    fn kv_list_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        offset: u64,
        limit: u32,
    ) -> KvFuture<'a, Vec<String>> {
        KvFuture::ready(self.kv_list(tenant, bucket, offset, limit))
    }
    /// [`Backend::kv_increment`] as a future (see [`Backend::kv_get_async`]).
    fn kv_increment_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        delta: u64,
    ) -> KvFuture<'a, u64> {
        KvFuture::ready(self.kv_increment(tenant, bucket, key, delta))
    }
    /// Delete the keys of `bucket` (in every tenant) not written since `before_ms`.
    fn sweep(&self, bucket: &str, before_ms: i64) -> Result<usize>;
    /// Make replaced and deleted values unrecoverable from the backend's files where it
    /// can (SQLite: its WAL is checkpointed and truncated; deleted content is zeroed).
    fn scrub(&self) -> Result<()>;

    /// One transaction for a batch of jobs: their staged writes, then their events. Per
    /// job and event, whether the event was new.
    fn write_batch(&self, jobs: &[journal::Batch<'_>]) -> Result<Vec<Vec<bool>>>;
    /// Events after `after_seq`, oldest first, optionally of one tenant.
    fn events(&self, tenant: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<EventRow>>;
    /// The newest event's sequence number (0 when none).
    fn last_seq(&self) -> Result<i64>;
    /// Events after `after_seq`, counted per tenant (the empty name for unroutable ones).
    fn counts_after(&self, after_seq: i64) -> Result<Vec<(String, i64)>>;
    /// A named cursor (the forwarder's position), none when never set.
    fn cursor(&self, name: &str) -> Result<Option<i64>>;
    /// Move a named cursor.
    fn set_cursor(&self, name: &str, seq: i64) -> Result<()>;

    /// Put event `seq` aside for `sink` (which refused it for good), with why; again
    /// replaces the reason.
    fn add_dead_letter(&self, sink: &str, seq: i64, reason: &str, at_ms: i64) -> Result<()>;
    /// The events put aside for `sink`, oldest first.
    fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>>;
    /// Take event `seq` off `sink`'s list (delivered after all); whether it was there.
    fn remove_dead_letter(&self, sink: &str, seq: i64) -> Result<bool>;

    /// Take or renew the lease `name` for `holder` until `now_ms + ttl_ms`: whether
    /// `holder` holds it now (it was free, expired, or already its own). Of several
    /// processes asking at once, one gets it.
    fn lease(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool>;
    /// Give up the lease `name` if `holder` holds it.
    fn release(&self, name: &str, holder: &str) -> Result<()>;
    /// Every lease, expired ones included, by name.
    fn leases(&self) -> Result<Vec<Lease>>;
}

/// Who holds a named piece of shared work (a sink's partition, a host's membership), and
/// until when: a holder that stops renewing loses it once it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What is held.
    pub name: String,
    /// Who holds it.
    pub holder: String,
    /// Unix milliseconds when it lapses unless renewed.
    pub expires_at_ms: i64,
}

/// An event a sink refused for good, kept aside to be looked at and replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event's position in the log.
    pub seq: i64,
    /// Why: the sink's last answer.
    pub reason: String,
    /// Unix milliseconds when it was put aside.
    pub at_ms: i64,
}

/// The storage the host uses: a backend, the journal of staged writes, and the group
/// commit. It dereferences to its [`Backend`].
pub struct Database {
    backend: Box<dyn Backend>,
    journal: Journal,
    /// Moves on every tenant written through this value (see [`Database::tenants_generation`]).
    tenants_generation: std::sync::atomic::AtomicU64,
}

impl std::ops::Deref for Database {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Database {
    /// A database over `backend`.
    pub fn new(backend: Box<dyn Backend>) -> Self {
        Database {
            backend,
            journal: Journal::new(),
            tenants_generation: Default::default(),
        }
    }

    /// Open (creating if needed) the SQLite file at `path`.
    pub fn open(path: &std::path::Path) -> Result<Self> {
        Ok(Self::new(Box::new(sqlite::Sqlite::open(path)?)))
    }

    /// A database that lives in memory only (for one-shot commands and tests).
    pub fn open_in_memory() -> Result<Self> {
        Ok(Self::new(Box::new(sqlite::Sqlite::open_in_memory()?)))
    }

    /// Open the database a URL names: `sqlite:PATH` (or a plain path) for a file,
    /// `postgres://user:password@host:port/db` for a shared server.
    pub fn open_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::new(Box::new(postgres::Postgres::connect(url)?)))
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Self::open(std::path::Path::new(path))
        }
    }

    /// The tenants' outboxes.
    pub fn outbox(&self) -> Result<&dyn outbox::OutboxBackend> {
        self.backend.outbox().ok_or_else(|| {
            StorageError(format!(
                "the {} backend keeps no outbox",
                self.backend.kind()
            ))
        })
    }

    /// Staged writes not yet committed, and the per-tenant ordering of the webhook path.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Record events in one transaction: all of them are durable when this returns, or
    /// none. An event already recorded (same tenant and idempotency key) is not recorded
    /// again; the result says, per event, whether it was new.
    pub fn record_events(&self, events: &[NewEvent], now_ms: i64) -> Result<Vec<bool>> {
        let batch = journal::Batch {
            staged: &[],
            events,
            progress: &[],
            now_ms,
        };
        Ok(self
            .backend
            .write_batch(&[batch])?
            .pop()
            .unwrap_or_default())
    }

    /// Make `staged` writes, `events` and the outbox news they carry (statuses, replies) durable
    /// together, in the next group commit (one transaction and one fsync for every job
    /// waiting then). Per event, whether it was new (an event already recorded under the
    /// same tenant and key is not recorded again; its progress is applied all the same,
    /// and moves nothing back).
    pub async fn commit(
        self: &Arc<Self>,
        staged: Vec<Staged>,
        events: Vec<NewEvent>,
        progress: Vec<(String, outbox::News)>,
        now_ms: i64,
    ) -> Result<Vec<bool>> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            staged,
            events,
            progress,
            now_ms,
            done,
        };
        let queue = self.journal.queue(|| {
            let (tx, rx) = mpsc::channel();
            let db = Arc::downgrade(self);
            std::thread::Builder::new()
                .name("wa-commit".into())
                .spawn(move || committer(db, rx))
                .expect("spawn the commit thread");
            tx
        });
        queue
            .send(job)
            .map_err(|_| StorageError("the commit thread is gone".into()))?;
        answer
            .await
            .map_err(|_| StorageError("the commit thread is gone".into()))?
    }

    /// A number that moves whenever a tenant is inserted, updated or deleted through this
    /// `Database` (these three methods shadow the backend's), so that what a process
    /// keeps of its tenants can tell when it is stale. Another process sharing the
    /// database does not move it.
    pub fn tenants_generation(&self) -> u64 {
        self.tenants_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn tenants_changed(&self) {
        self.tenants_generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// [`Backend::insert_tenant`], moving [`Database::tenants_generation`].
    pub fn insert_tenant(&self, t: &TenantRecord) -> Result<()> {
        let r = self.backend.insert_tenant(t);
        self.tenants_changed();
        r
    }

    /// [`Backend::update_tenant`], moving [`Database::tenants_generation`].
    pub fn update_tenant(&self, t: &TenantRecord) -> Result<()> {
        let r = self.backend.update_tenant(t);
        self.tenants_changed();
        r
    }

    /// [`Backend::delete_tenant`], moving [`Database::tenants_generation`].
    pub fn delete_tenant(&self, id: &str) -> Result<bool> {
        let r = self.backend.delete_tenant(id);
        self.tenants_changed();
        r
    }

    /// Replace a tenant's sealed secret only if it still holds `expected` (what
    /// re-sealing under a new master key does while the host serves); whether it did.
    pub fn replace_secret(
        &self,
        tenant: &str,
        key: &str,
        expected: &[u8],
        value: &[u8],
    ) -> Result<bool> {
        let done = self
            .backend
            .kv_replace(tenant, SECRETS_BUCKET, key, expected, value)?;
        if done {
            self.backend.scrub()?;
        }
        Ok(done)
    }
}

impl KvBackend for Database {
    fn get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        if let Some(staged) = self.journal.get(tenant, bucket, key) {
            return Ok(staged);
        }
        self.backend.kv_get(tenant, bucket, key)
    }

    fn set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()> {
        let replaces =
            bucket == SECRETS_BUCKET && self.backend.kv_get(tenant, bucket, key)?.is_some();
        self.backend.kv_set(tenant, bucket, key, value)?;
        if replaces {
            self.backend.scrub()?;
        }
        Ok(())
    }

    fn delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()> {
        self.backend.kv_delete(tenant, bucket, key)?;
        if bucket == SECRETS_BUCKET {
            self.backend.scrub()?;
        }
        Ok(())
    }

    fn exists(&self, tenant: &str, bucket: &str, key: &str) -> Result<bool> {
        Ok(self.get(tenant, bucket, key)?.is_some())
    }

    fn list_keys(
        &self,
        tenant: &str,
        bucket: &str,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<String>> {
        self.backend.kv_list(tenant, bucket, offset, limit)
    }

    fn increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64> {
        self.backend.kv_increment(tenant, bucket, key, delta)
    }

    fn get_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, Option<Vec<u8>>> {
        match self.journal.get(tenant, bucket, key) {
            Some(staged) => KvFuture::ready(Ok(staged)),
            None => self.backend.kv_get_async(tenant, bucket, key),
        }
    }

    fn set_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        value: &'a [u8],
    ) -> KvFuture<'a, ()> {
        if bucket != SECRETS_BUCKET {
            return self.backend.kv_set_async(tenant, bucket, key, value);
        }
        KvFuture::later(async move {
            let replaces = self
                .backend
                .kv_get_async(tenant, bucket, key)
                .await?
                .is_some();
            self.backend
                .kv_set_async(tenant, bucket, key, value)
                .await?;
            if replaces {
                self.backend.scrub()?;
            }
            Ok(())
        })
    }

    fn delete_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, ()> {
        if bucket != SECRETS_BUCKET {
            return self.backend.kv_delete_async(tenant, bucket, key);
        }
        KvFuture::later(async move {
            self.backend.kv_delete_async(tenant, bucket, key).await?;
            self.backend.scrub()
        })
    }

    fn list_keys_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        offset: u64,
        limit: u32,
    ) -> KvFuture<'a, Vec<String>> {
        self.backend.kv_list_async(tenant, bucket, offset, limit)
    }

    fn increment_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        delta: u64,
    ) -> KvFuture<'a, u64> {
        self.backend.kv_increment_async(tenant, bucket, key, delta)
    }
}

/// The commit thread: takes every job waiting, writes them in one transaction.
fn committer(db: Weak<Database>, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let Some(db) = db.upgrade() else { return };
        let (current, stale) = db.journal.current(jobs);
        for j in stale {
            let _ = j.done.send(Err(StorageError(
                "an earlier commit failed; this delivery must be processed again".into(),
            )));
        }
        if current.is_empty() {
            continue;
        }
        let batches: Vec<journal::Batch<'_>> = current.iter().map(Job::batch).collect();
        match db.backend.write_batch(&batches) {
            Ok(results) => {
                drop(batches);
                db.journal.committed(&current);
                for (j, r) in current.into_iter().zip(results) {
                    let _ = j.done.send(Ok(r));
                }
            }
            Err(e) => {
                drop(batches);
                tracing::error!("group commit of {} deliveries failed: {e}", current.len());
                db.journal.failed();
                for j in current {
                    let _ = j.done.send(Err(e.clone()));
                }
            }
        }
    }
}
