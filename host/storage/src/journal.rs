//! Staged key-value writes and group commits: how the webhook server makes a POST's
//! state changes and its events durable together, many POSTs per fsync.
//!
//! An instance made with the host's `Instance::defer_writes` stages what the component
//! writes (a [`WriteSet`]) instead of writing through. The server hands the staged writes
//! of a POST to [`crate::Database::commit`] together with its events: the
//! committer thread puts every job waiting at that moment into one transaction,
//! one fsync makes them all durable, and each POST gets its 200 only after that. An
//! event is never taken for a duplicate unless it was recorded: a redelivery after a
//! crash or a failed commit is processed again.
//!
//! Until its batch commits, a staged write is in the pending overlay, which every read
//! consults first, so the next POST of the same tenant sees it (a status, a consent).
//! The server runs one tenant's component calls one at a time ([`Journal::lock_tenant`]),
//! so staged writes follow each other in the order the calls ran. If a batch fails, the
//! overlay is dropped and its generation moves on: every job staged on top of the lost
//! writes is refused as well, and Meta delivers all of them again.

use crate::{NewEvent, Result, StorageError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

/// The writes of one unit of work for one tenant: `(bucket, key)` to a value, or to
/// `None` for a deletion. Reads of the same unit see them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSet {
    /// The tenant the writes belong to.
    pub tenant: String,
    /// What to write.
    pub entries: BTreeMap<(String, String), Option<Vec<u8>>>,
}

impl WriteSet {
    /// An empty set for `tenant`.
    pub fn new(tenant: &str) -> Self {
        WriteSet {
            tenant: tenant.to_string(),
            entries: BTreeMap::new(),
        }
    }

    /// `Some(value or deleted)` when this set wrote the key.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Option<&[u8]>> {
        self.entries
            .get(&(bucket.to_string(), key.to_string()))
            .map(|v| v.as_deref())
    }

    /// Stage a value (`None` deletes).
    pub fn put(&mut self, bucket: &str, key: &str, value: Option<Vec<u8>>) {
        self.entries
            .insert((bucket.to_string(), key.to_string()), value);
    }

    /// Nothing staged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

type FullKey = (String, String, String);

/// Staged writes not yet committed, and the generation they belong to.
#[derive(Default)]
struct Pending {
    entries: HashMap<FullKey, (Option<Vec<u8>>, u64)>,
    generation: u64,
    next_job: u64,
}

/// Staged writes admitted into the overlay, to be committed with [`crate::Database::commit`].
#[derive(Debug)]
pub struct Staged {
    job: u64,
    generation: u64,
    writes: Vec<WriteSet>,
}

/// What the committer thread is given.
pub(crate) struct Job {
    pub(crate) staged: Vec<Staged>,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) progress: Vec<(String, crate::outbox::News)>,
    pub(crate) now_ms: i64,
    pub(crate) done: tokio::sync::oneshot::Sender<Result<Vec<bool>>>,
}

impl Job {
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch {
            staged: &self.staged,
            events: &self.events,
            progress: &self.progress,
            now_ms: self.now_ms,
        }
    }
}

/// One job of a group commit, as a backend writes it: the staged writes (stamped
/// `now_ms`), then the events, then the outbox entries their statuses move on.
pub struct Batch<'a> {
    /// Staged key-value writes.
    pub staged: &'a [Staged],
    /// Events to record.
    pub events: &'a [NewEvent],
    /// Outbox entries moved on by the events' statuses (tenant, news): forward only, so
    /// an event recorded before moves nothing back.
    pub progress: &'a [(String, crate::outbox::News)],
    /// When, in Unix milliseconds.
    pub now_ms: i64,
}

impl Batch<'_> {
    /// Every staged write, in order: (tenant, bucket, key, value or deletion).
    pub fn writes(&self) -> impl Iterator<Item = (&str, &str, &str, Option<&[u8]>)> {
        self.staged.iter().flat_map(Staged::writes).flat_map(|w| {
            w.entries
                .iter()
                .map(move |((b, k), v)| (w.tenant.as_str(), b.as_str(), k.as_str(), v.as_deref()))
        })
    }
}

/// The overlay, the tenant locks and the queue to the committer thread.
pub struct Journal {
    pending: Mutex<Pending>,
    tenants: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
}

/// Jobs per transaction at most.
pub const MAX_BATCH: usize = 512;

impl Journal {
    pub(crate) fn new() -> Self {
        Journal {
            pending: Mutex::new(Pending::default()),
            tenants: Mutex::new(HashMap::new()),
            queue: Mutex::new(None),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold this while a tenant's component call runs and its writes are staged.
    pub async fn lock_tenant(&self, tenant: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant.to_string())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// The current generation: take it before the reads a staged job will depend on.
    pub fn generation(&self) -> u64 {
        self.pending().generation
    }

    /// The staged value under a key: `Some(value or deleted)` when one is pending.
    pub fn get(&self, tenant: &str, bucket: &str, key: &str) -> Option<Option<Vec<u8>>> {
        let p = self.pending();
        if p.entries.is_empty() {
            return None;
        }
        p.entries
            .get(&(tenant.to_string(), bucket.to_string(), key.to_string()))
            .map(|(v, _)| v.clone())
    }

    /// Admit `writes` into the overlay; refused when a batch failed since `generation`
    /// was taken (the writes may rest on what was lost).
    pub fn stage(&self, generation: u64, writes: Vec<WriteSet>) -> Result<Staged> {
        let mut p = self.pending();
        if p.generation != generation {
            return Err(StorageError(
                "an earlier commit failed; this delivery must be processed again".into(),
            ));
        }
        p.next_job += 1;
        let job = p.next_job;
        for w in &writes {
            for ((bucket, key), value) in &w.entries {
                p.entries.insert(
                    (w.tenant.clone(), bucket.clone(), key.clone()),
                    (value.clone(), job),
                );
            }
        }
        Ok(Staged {
            job,
            generation,
            writes,
        })
    }

    /// Queue a job for the committer thread (started by the caller on first use).
    pub(crate) fn queue(&self, start: impl FnOnce() -> mpsc::Sender<Job>) -> mpsc::Sender<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.get_or_insert_with(start).clone()
    }

    /// Split a batch into the jobs still valid and those staged before a failure.
    pub(crate) fn current(&self, jobs: Vec<Job>) -> (Vec<Job>, Vec<Job>) {
        let generation = self.generation();
        jobs.into_iter()
            .partition(|j| j.staged.iter().all(|s| s.generation == generation))
    }

    /// After a batch committed: its writes are in the database; drop them from the overlay
    /// unless a later job staged the same key since.
    pub(crate) fn committed(&self, jobs: &[Job]) {
        let mut p = self.pending();
        for staged in jobs.iter().flat_map(|j| &j.staged) {
            for w in &staged.writes {
                for (bucket, key) in w.entries.keys() {
                    let k = (w.tenant.clone(), bucket.clone(), key.clone());
                    if p.entries.get(&k).is_some_and(|(_, job)| *job == staged.job) {
                        p.entries.remove(&k);
                    }
                }
            }
        }
    }

    /// Staged writes that will not be committed (a later part of their delivery failed).
    /// Others may already have read them, so the whole overlay goes, as after a failed
    /// batch: every delivery staged on it is refused and delivered again by Meta.
    pub fn discard(&self, staged: Vec<Staged>) {
        if staged
            .iter()
            .any(|s| s.writes.iter().any(|w| !w.is_empty()))
        {
            self.failed();
        }
    }

    /// After a batch failed: drop the overlay and move to a new generation.
    pub(crate) fn failed(&self) {
        let mut p = self.pending();
        p.entries.clear();
        p.generation += 1;
    }
}

impl Staged {
    /// The write sets, in order.
    pub fn writes(&self) -> &[WriteSet] {
        &self.writes
    }
}
