//! The tenants a webhook names, kept in memory with their secrets opened, so that a POST
//! costs neither a query nor a decryption.
//!
//! Each tenant found also keeps one warm instance: the webhook path runs a tenant's calls
//! one at a time, so the instance that answered one POST answers the next, without
//! being made, faulted in and freed again each time. It goes with its entry, so it
//! never outlives its binding nor lives much past a second (whatever a guest might
//! leak cannot pile up); it is dropped on a trap; and the server holds at most a
//! quarter of the instance pool warm.
//!
//! An entry is dropped as soon as a tenant is written through the same [`Database`]
//! ([`Database::tenants_generation`]), and in any case after [`TTL`]: a change made by
//! another process sharing the database (the CLI, another `wa-host serve` on PostgreSQL)
//! is seen within that second. Only found tenants are kept, so a tenant added elsewhere
//! is routed to from its first POST.

use crate::capabilities::crypto::Vault;
use crate::runtime::Instance;
use crate::storage::{Database, TenantRecord};
use crate::tenants::{Defaults, TenantExt};
use crate::{Runtime, TenantBinding};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long an entry is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(1);

/// At most this many routes are kept; past it the oldest half is forgotten.
const MAX_ENTRIES: usize = 4096;

/// A tenant as the webhook path needs it.
pub struct Known {
    /// Its record.
    pub record: TenantRecord,
    /// Its app secret (or the host's), opened; the error says why it could not be.
    pub app_secret: Result<Option<Zeroizing<String>>, String>,
    /// Its instances' binding; the error says why it could not be made.
    pub binding: Result<TenantBinding, String>,
    warm: Mutex<Option<Instance>>,
    held: Arc<AtomicUsize>,
}

impl Known {
    /// The warm instance if there is one (and nobody else has it), else a new one.
    pub async fn instance(&self, runtime: &Runtime) -> Result<Instance, String> {
        if let Some(i) = lock(&self.warm).take() {
            self.held.fetch_sub(1, Ordering::AcqRel);
            return Ok(i);
        }
        let binding = self.binding.as_ref().map_err(Clone::clone)?;
        runtime
            .instantiate(binding)
            .await
            .map_err(|e| format!("no instance: {e}"))
    }

    /// Keep `instance` warm for the next call, if the pool can spare it (`limit` held
    /// across every entry) and no other is kept already. Only an instance whose last
    /// call returned (no trap) may be given back.
    pub fn keep(&self, instance: Instance, limit: usize) {
        let mut warm = lock(&self.warm);
        if warm.is_some() {
            return;
        }
        let claimed = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        if claimed {
            *warm = Some(instance);
        }
    }
}

impl Drop for Known {
    fn drop(&mut self) {
        if lock(&self.warm).take().is_some() {
            self.held.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Entry {
    at: Instant,
    generation: u64,
    tenants: Arc<[Arc<Known>]>,
}

/// Route (`(waba_id, phone_number_id)`) to the tenants that own it.
#[derive(Default)]
pub struct Directory {
    entries: Mutex<HashMap<(String, Option<String>), Entry>>,
    /// Warm instances held by every entry.
    held: Arc<AtomicUsize>,
}

impl Directory {
    /// The tenants a change of `waba` (and `pnid`, when it has one) belongs to: the owner
    /// of its phone number id; for a change without one (template and account updates),
    /// every tenant of its WABA. The component applies the same rule to each event
    /// (`Settings::owns`). A database error counts as no owner (and is logged).
    pub fn owners(
        &self,
        db: &Database,
        vault: &Vault,
        defaults: &Defaults,
        waba: &str,
        pnid: Option<&str>,
    ) -> Arc<[Arc<Known>]> {
        let key = (waba.to_string(), pnid.map(str::to_string));
        let generation = db.tenants_generation();
        if let Some(e) = lock(&self.entries).get(&key)
            && e.generation == generation
            && e.at.elapsed() < TTL
        {
            return e.tenants.clone();
        }
        let found = match pnid {
            Some(p) => db
                .tenant_by_phone_number_id(p)
                .map(|t| t.into_iter().collect::<Vec<_>>()),
            None => db.tenants().map(|ts| {
                ts.into_iter()
                    .filter(|t| t.waba_id.as_deref() == Some(waba))
                    .collect()
            }),
        };
        let records = found.unwrap_or_else(|e| {
            tracing::error!("routing a webhook: {e}");
            Vec::new()
        });
        let tenants: Arc<[Arc<Known>]> = records
            .into_iter()
            .map(|record| {
                Arc::new(Known {
                    app_secret: record
                        .app_secret(vault, defaults)
                        .map_err(|e| e.to_string()),
                    binding: record.binding(vault, defaults).map_err(|e| e.to_string()),
                    record,
                    warm: Mutex::new(None),
                    held: self.held.clone(),
                })
            })
            .collect();
        if !tenants.is_empty() {
            let mut entries = lock(&self.entries);
            // Expired entries go (with their warm instances) as new ones come.
            entries.retain(|_, e| e.at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                let mut ages: Vec<Instant> = entries.values().map(|e| e.at).collect();
                ages.sort();
                let cut = ages[ages.len() / 2];
                entries.retain(|_, e| e.at > cut);
            }
            entries.insert(
                key,
                Entry {
                    at: Instant::now(),
                    generation,
                    tenants: tenants.clone(),
                },
            );
        }
        tenants
    }

    /// Warm instances held now, across every entry.
    pub fn warm(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}
