//! The embedded database: one SQLite file in the data directory holding tenants, the
//! tenants' key-value namespaces and the recorded webhook events.
//!
//! Key-value access goes through [`KvBackend`] so that a shared network store can take
//! the embedded one's place; every key is namespaced by the tenant the host bound, never
//! by anything the guest says.

use crate::journal::{Job, Journal, MAX_BATCH, Staged};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Weak, mpsc};

/// A storage failure, described for a human (never with a value in it).
#[derive(Debug)]
pub struct StorageError(pub String);

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError(e.to_string())
    }
}

pub(crate) type Result<T> = std::result::Result<T, StorageError>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The tenant-namespaced key-value operations `wasi:keyvalue` needs.
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
}

/// A tenant as stored. Secrets are sealed by the [`crate::capabilities::crypto::Vault`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// The tenant id (the name given at `tenant add`).
    pub id: String,
    /// The sending number's id: webhooks are routed by it.
    pub phone_number_id: String,
    /// The WABA id.
    pub waba_id: String,
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

/// A recorded webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Position in the log.
    pub seq: i64,
    /// The tenant, or none when unroutable.
    pub tenant: Option<String>,
    /// `message`, `status`, `unknown`, `unroutable`.
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

/// Store a key's value (and when it was written).
const UPSERT_KV: &str = "INSERT INTO kv (tenant, bucket, key, value, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (tenant, bucket, key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms";

/// A counter's value as stored (decimal text), or none when it is not one.
pub fn parse_counter(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The SQLite database.
pub struct Database {
    /// Every write goes through this connection.
    conn: Mutex<Connection>,
    /// Reads of a file database use their own connection: under WAL they see the last
    /// commit without waiting for a writer (the commit thread's fsync).
    reader: Option<Mutex<Connection>>,
    journal: Journal,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    phone_number_id TEXT NOT NULL UNIQUE,
    waba_id TEXT NOT NULL,
    display_phone_number TEXT,
    graph_origin TEXT,
    app_secret BLOB,
    verify_token BLOB,
    created_at INTEGER NOT NULL,
    settings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS kv (
    tenant TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    updated_at_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant, seq);
CREATE UNIQUE INDEX IF NOT EXISTS events_once ON events (COALESCE(tenant, ''), idempotency_key);
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
";

impl Database {
    /// Open (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        // WAL for concurrent readers; FULL so that a commit survives power loss too.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut db = Self::init(conn)?;
        let reader = Connection::open(path)?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        // A write sent to the reader by mistake fails loudly instead of bypassing the writer.
        reader.pragma_update(None, "query_only", true)?;
        db.reader = Some(Mutex::new(reader));
        Ok(db)
    }

    /// A database that lives in memory only (for one-shot commands and tests).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.execute_batch(SCHEMA)?;
        // Databases created before a column existed get it added.
        for (table, column, decl) in [
            ("tenants", "settings", "TEXT NOT NULL DEFAULT '[]'"),
            ("kv", "updated_at_ms", "INTEGER NOT NULL DEFAULT 0"),
        ] {
            let has: bool = conn
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
                ))?
                .exists([column])?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
            }
        }
        Ok(Database {
            conn: Mutex::new(conn),
            reader: None,
            journal: Journal::new(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (statements are atomic).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection for reads (the writer's, for a database in memory).
    fn read(&self) -> MutexGuard<'_, Connection> {
        self.reader
            .as_ref()
            .unwrap_or(&self.conn)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Insert a tenant; its id and phone number id must be new.
    pub fn insert_tenant(&self, t: &TenantRecord) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO tenants (id, phone_number_id, waba_id, display_phone_number, graph_origin, app_secret, verify_token, created_at, settings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![t.id, t.phone_number_id, t.waba_id, t.display_phone_number, t.graph_origin, t.app_secret_sealed, t.verify_token_sealed, t.created_at, serde_json::to_string(&t.settings).expect("pairs serialize")],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StorageError(format!("a tenant with id {} or phone number id {} already exists", t.id, t.phone_number_id))
                }
                e => e.into(),
            })?;
        Ok(())
    }

    fn tenant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TenantRecord> {
        Ok(TenantRecord {
            id: r.get(0)?,
            phone_number_id: r.get(1)?,
            waba_id: r.get(2)?,
            display_phone_number: r.get(3)?,
            graph_origin: r.get(4)?,
            app_secret_sealed: r.get(5)?,
            verify_token_sealed: r.get(6)?,
            created_at: r.get(7)?,
            settings: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
        })
    }

    const TENANT_COLUMNS: &'static str = "id, phone_number_id, waba_id, display_phone_number, graph_origin, app_secret, verify_token, created_at, settings";

    /// The tenant with this id.
    pub fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        let sql = format!("SELECT {} FROM tenants WHERE id = ?1", Self::TENANT_COLUMNS);
        Ok(self
            .read()
            .query_row(&sql, [id], Self::tenant_from_row)
            .optional()?)
    }

    /// The tenant that owns this phone number id.
    pub fn tenant_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<TenantRecord>> {
        let sql = format!(
            "SELECT {} FROM tenants WHERE phone_number_id = ?1",
            Self::TENANT_COLUMNS
        );
        Ok(self
            .read()
            .query_row(&sql, [phone_number_id], Self::tenant_from_row)
            .optional()?)
    }

    /// Every tenant, by id.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>> {
        let sql = format!("SELECT {} FROM tenants ORDER BY id", Self::TENANT_COLUMNS);
        let conn = self.read();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::tenant_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Record events in one transaction: all of them are durable when this returns, or
    /// none. An event already recorded (same tenant and idempotency key) is not recorded
    /// again; the result says, per event, whether it was new.
    pub fn record_events(&self, events: &[NewEvent], now_ms: i64) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut inserted = Vec::with_capacity(events.len());
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (tenant, kind, idempotency_key, received_at_ms, json) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in events {
                inserted.push(
                    stmt.execute(params![e.tenant, e.kind, e.idempotency_key, now_ms, e.json])?
                        == 1,
                );
            }
        }
        tx.commit()?;
        Ok(inserted)
    }

    /// The newest event's sequence number (0 when none).
    pub fn last_seq(&self) -> Result<i64> {
        Ok(self
            .read()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    /// Events after `after_seq`, counted per tenant (the empty name for unroutable ones).
    pub fn counts_after(&self, after_seq: i64) -> Result<Vec<(String, i64)>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT COALESCE(tenant, ''), COUNT(*) FROM events WHERE seq > ?1 GROUP BY 1 ORDER BY 1",
        )?;
        let rows = stmt.query_map([after_seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A named cursor (the forwarder's position), none when never set.
    pub fn cursor(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .read()
            .query_row("SELECT seq FROM cursors WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Move a named cursor, durably.
    pub fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        self.conn().execute(
            "INSERT INTO cursors (name, seq) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            params![name, seq],
        )?;
        Ok(())
    }

    /// Staged writes not yet committed, and the per-tenant ordering of the webhook path.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Make `staged` writes and `events` durable together, in the next group commit (one
    /// transaction and one fsync for every job waiting then). Per event, whether it was
    /// new (an event already recorded under the same tenant and key is not recorded again).
    pub async fn commit(
        self: &Arc<Self>,
        staged: Vec<Staged>,
        events: Vec<NewEvent>,
        now_ms: i64,
    ) -> Result<Vec<bool>> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            staged,
            events,
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

    /// One transaction for a batch of jobs: their writes, then their events.
    fn write_batch(&self, jobs: &[Job]) -> Result<Vec<Vec<bool>>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(jobs.len());
        {
            let mut upsert = tx.prepare_cached(UPSERT_KV)?;
            let mut delete =
                tx.prepare_cached("DELETE FROM kv WHERE tenant = ?1 AND bucket = ?2 AND key = ?3")?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (tenant, kind, idempotency_key, received_at_ms, json) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for job in jobs {
                for w in job.staged.iter().flat_map(Staged::writes) {
                    for ((bucket, key), value) in &w.entries {
                        match value {
                            Some(v) => {
                                upsert.execute(params![w.tenant, bucket, key, v, job.now_ms])?
                            }
                            None => delete.execute(params![w.tenant, bucket, key])?,
                        };
                    }
                }
                let mut inserted = Vec::with_capacity(job.events.len());
                for e in &job.events {
                    inserted.push(
                        insert.execute(params![
                            e.tenant,
                            e.kind,
                            e.idempotency_key,
                            job.now_ms,
                            e.json
                        ])? == 1,
                    );
                }
                out.push(inserted);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Delete the keys of `bucket` (in every tenant) not written since `before_ms`;
    /// how many went. The webhook server sweeps the `dedupe` bucket with it.
    pub fn sweep(&self, bucket: &str, before_ms: i64) -> Result<usize> {
        Ok(self.conn().execute(
            "DELETE FROM kv WHERE bucket = ?1 AND updated_at_ms < ?2",
            params![bucket, before_ms],
        )?)
    }

    /// Events after `after_seq`, oldest first, optionally of one tenant.
    pub fn events(
        &self,
        tenant: Option<&str>,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<EventRow>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, tenant, kind, idempotency_key, received_at_ms, json FROM events
             WHERE seq > ?1 AND (?2 IS NULL OR tenant = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![after_seq, tenant, limit], |r| {
            Ok(EventRow {
                seq: r.get(0)?,
                tenant: r.get(1)?,
                kind: r.get(2)?,
                idempotency_key: r.get(3)?,
                received_at_ms: r.get(4)?,
                json: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl KvBackend for Database {
    fn get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        if let Some(staged) = self.journal.get(tenant, bucket, key) {
            return Ok(staged);
        }
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT value FROM kv WHERE tenant = ?1 AND bucket = ?2 AND key = ?3",
        )?;
        Ok(stmt
            .query_row(params![tenant, bucket, key], |r| r.get(0))
            .optional()?)
    }

    fn set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(UPSERT_KV)?;
        stmt.execute(params![tenant, bucket, key, value, now_ms()])?;
        Ok(())
    }

    fn delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("DELETE FROM kv WHERE tenant = ?1 AND bucket = ?2 AND key = ?3")?;
        stmt.execute(params![tenant, bucket, key])?;
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
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT key FROM kv WHERE tenant = ?1 AND bucket = ?2 ORDER BY key LIMIT ?3 OFFSET ?4",
        )?;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![tenant, bucket, limit, offset], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let current: Option<Vec<u8>> = tx
            .query_row(
                "SELECT value FROM kv WHERE tenant = ?1 AND bucket = ?2 AND key = ?3",
                params![tenant, bucket, key],
                |r| r.get(0),
            )
            .optional()?;
        let current = match current {
            None => 0,
            Some(v) => parse_counter(&v)
                .ok_or_else(|| StorageError(format!("the value under {key} is not a counter")))?,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| StorageError(format!("the counter under {key} would overflow")))?;
        tx.execute(
            UPSERT_KV,
            params![tenant, bucket, key, next.to_string().into_bytes(), now_ms()],
        )?;
        tx.commit()?;
        Ok(next)
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
        match db.write_batch(&current) {
            Ok(results) => {
                db.journal.committed(&current);
                for (j, r) in current.into_iter().zip(results) {
                    let _ = j.done.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::error!("group commit of {} deliveries failed: {e}", current.len());
                db.journal.failed();
                for j in current {
                    let _ = j.done.send(Err(StorageError(e.0.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::WriteSet;

    fn event(tenant: &str, key: &str) -> NewEvent {
        NewEvent {
            tenant: Some(tenant.into()),
            kind: "message".into(),
            idempotency_key: key.into(),
            json: "{}".into(),
        }
    }

    fn writes(tenant: &str, key: &str, value: &[u8]) -> WriteSet {
        let mut w = WriteSet::new(tenant);
        w.put("dedupe", key, Some(value.to_vec()));
        w
    }

    #[tokio::test]
    async fn staged_writes_are_seen_at_once_and_committed_with_their_events() {
        let db = Arc::new(Database::open_in_memory().unwrap());
        let j = db.journal();
        let staged = j
            .stage(j.generation(), vec![writes("a", "m1", b"1")])
            .unwrap();
        // Staged, not committed: reads see it, the table does not have it.
        assert_eq!(db.get("a", "dedupe", "m1").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.events(None, 0, 10).unwrap().len(), 0);
        let new = db
            .commit(vec![staged], vec![event("a", "m1"), event("a", "m1")], 5)
            .await
            .unwrap();
        assert_eq!(
            new,
            vec![true, false],
            "the same key twice is recorded once"
        );
        assert!(j.get("a", "dedupe", "m1").is_none(), "the overlay let go");
        assert_eq!(db.get("a", "dedupe", "m1").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.events(None, 0, 10).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_commit_loses_its_marks_and_refuses_what_was_staged_on_them() {
        let db = Arc::new(Database::open_in_memory().unwrap());
        let j = db.journal();
        let first = j
            .stage(j.generation(), vec![writes("a", "m1", b"1")])
            .unwrap();
        // A second delivery staged while the first waits (it has seen m1's mark).
        let generation = j.generation();
        let second = j.stage(generation, vec![writes("a", "m2", b"1")]).unwrap();
        db.conn().pragma_update(None, "query_only", true).unwrap();
        assert!(
            db.commit(vec![first], vec![event("a", "m1")], 5)
                .await
                .is_err()
        );
        db.conn().pragma_update(None, "query_only", false).unwrap();
        // Nothing of the failed batch remains to make a redelivery look like a duplicate.
        assert_eq!(db.get("a", "dedupe", "m1").unwrap(), None);
        assert!(
            db.commit(vec![second], vec![event("a", "m2")], 5)
                .await
                .is_err()
        );
        assert!(j.stage(generation, vec![writes("a", "m3", b"1")]).is_err());
        assert_eq!(db.events(None, 0, 10).unwrap().len(), 0);
        // A delivery staged afresh goes through.
        let again = j
            .stage(j.generation(), vec![writes("a", "m1", b"1")])
            .unwrap();
        assert_eq!(
            db.commit(vec![again], vec![event("a", "m1")], 6)
                .await
                .unwrap(),
            vec![true]
        );
    }

    #[tokio::test]
    async fn many_concurrent_commits_all_land() {
        let db = Arc::new(Database::open_in_memory().unwrap());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let key = format!("m{i}");
                let j = db.journal();
                let staged = j
                    .stage(j.generation(), vec![writes("a", &key, b"1")])
                    .unwrap();
                db.commit(vec![staged], vec![event("a", &key)], 1)
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), vec![true]);
        }
        assert_eq!(db.events(None, 0, 1000).unwrap().len(), 200);
        assert_eq!(db.list_keys("a", "dedupe", 0, 1000).unwrap().len(), 200);
    }

    #[test]
    fn namespaces_do_not_leak_between_tenants_or_buckets() {
        let db = Database::open_in_memory().unwrap();
        db.set("a", "b", "k", b"1").unwrap();
        assert_eq!(db.get("a", "b", "k").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.get("z", "b", "k").unwrap(), None);
        assert_eq!(db.get("a", "c", "k").unwrap(), None);
        assert!(db.list_keys("z", "b", 0, 10).unwrap().is_empty());
    }

    #[test]
    fn increment_counts_from_zero_and_refuses_non_counters() {
        let db = Database::open_in_memory().unwrap();
        assert_eq!(db.increment("a", "b", "n", 1).unwrap(), 1);
        assert_eq!(db.increment("a", "b", "n", 5).unwrap(), 6);
        db.set("a", "b", "s", b"text").unwrap();
        assert!(db.increment("a", "b", "s", 1).is_err());
        assert!(db.increment("a", "b", "n", u64::MAX).is_err());
    }

    #[test]
    fn list_keys_pages_in_order() {
        let db = Database::open_in_memory().unwrap();
        for k in ["c", "a", "b"] {
            db.set("t", "b", k, b"").unwrap();
        }
        assert_eq!(db.list_keys("t", "b", 0, 2).unwrap(), vec!["a", "b"]);
        assert_eq!(db.list_keys("t", "b", 2, 2).unwrap(), vec!["c"]);
        assert!(db.list_keys("t", "b", u64::MAX, 2).unwrap().is_empty());
    }

    #[test]
    fn events_are_recorded_in_order_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("wa-storage-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        {
            let db = Database::open(&path).unwrap();
            let ev = |k: &str| NewEvent {
                tenant: Some("t".into()),
                kind: "status".into(),
                idempotency_key: k.into(),
                json: "{}".into(),
            };
            db.record_events(&[ev("1"), ev("2")], 5).unwrap();
        }
        let db = Database::open(&path).unwrap();
        let rows = db.events(Some("t"), 0, 10).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| r.idempotency_key.as_str())
                .collect::<Vec<_>>(),
            vec!["1", "2"]
        );
        assert!(db.events(Some("other"), 0, 10).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
