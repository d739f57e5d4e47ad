//! The embedded backend: one SQLite file (WAL, `synchronous=FULL`), a writer connection
//! and, for a file, read-only readers that never wait behind the writer's fsync.

use crate::journal::Batch;
use crate::{
    Backend, DeadLetter, EventRow, Lease, Result, StorageError, TenantRecord, now_ms, parse_counter,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

mod outbox;

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError(e.to_string())
    }
}

/// The schema's version (`PRAGMA user_version`).
const VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    waba_id TEXT,
    phone_number_id TEXT,
    display_phone_number TEXT,
    graph_origin TEXT,
    app_secret BLOB,
    verify_token BLOB,
    created_at INTEGER NOT NULL,
    settings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS tenant_numbers (
    phone_number_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tenant_numbers_tenant ON tenant_numbers (tenant);
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
CREATE TABLE IF NOT EXISTS dead_letters (
    sink TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (sink, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 1 kept one number per tenant in `tenants.phone_number_id` (NOT NULL UNIQUE)
/// and required a WABA id: the numbers move to `tenant_numbers` and both become optional.
const MIGRATE_1_TO_2: &str = "
CREATE TABLE tenant_numbers (phone_number_id TEXT PRIMARY KEY, tenant TEXT NOT NULL);
CREATE INDEX tenant_numbers_tenant ON tenant_numbers (tenant);
INSERT INTO tenant_numbers (phone_number_id, tenant) SELECT phone_number_id, id FROM tenants;
CREATE TABLE tenants_v2 (
    id TEXT PRIMARY KEY, waba_id TEXT, phone_number_id TEXT, display_phone_number TEXT,
    graph_origin TEXT, app_secret BLOB, verify_token BLOB, created_at INTEGER NOT NULL,
    settings TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO tenants_v2 SELECT id, waba_id, phone_number_id, display_phone_number, graph_origin,
    app_secret, verify_token, created_at, settings FROM tenants;
DROP TABLE tenants;
ALTER TABLE tenants_v2 RENAME TO tenants;
";

/// Events after a cursor. Listing one tenant's is a statement of its own, so that it
/// walks `events_tenant` rather than every event after the cursor.
const EVENTS_AFTER: &str = "SELECT seq, tenant, kind, idempotency_key, received_at_ms, json
    FROM events WHERE seq > ?1 AND ?2 IS NULL ORDER BY seq LIMIT ?3";
const EVENTS_OF_TENANT: &str = "SELECT seq, tenant, kind, idempotency_key, received_at_ms, json
    FROM events WHERE tenant = ?2 AND seq > ?1 ORDER BY seq LIMIT ?3";

/// Events after a cursor, counted by tenant. NOT INDEXED: it reads the events after the
/// cursor, by their seq, rather than the whole `events_once` index (which the grouping
/// would otherwise pick: a walk of every event ever recorded, on each metrics scrape).
const COUNTS_AFTER: &str = "SELECT COALESCE(tenant, ''), COUNT(*) FROM events NOT INDEXED
    WHERE seq > ?1 GROUP BY 1 ORDER BY 1";

/// Store a key's value (and when it was written).
const UPSERT_KV: &str = "INSERT INTO kv (tenant, bucket, key, value, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (tenant, bucket, key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms";
const DELETE_KV: &str = "DELETE FROM kv WHERE tenant = ?1 AND bucket = ?2 AND key = ?3";
const INSERT_EVENT: &str = "INSERT OR IGNORE INTO events (tenant, kind, idempotency_key, received_at_ms, json) VALUES (?1, ?2, ?3, ?4, ?5)";
const TENANT_COLUMNS: &str = "t.id, t.waba_id, t.phone_number_id, t.display_phone_number, t.graph_origin, t.app_secret, t.verify_token, t.created_at, t.settings,
    (SELECT group_concat(n.phone_number_id, ',') FROM tenant_numbers n WHERE n.tenant = t.id)";

/// Reader connections of a file database.
const READERS: usize = 4;

/// The SQLite backend.
pub struct Sqlite {
    /// Every write goes through this connection.
    conn: Mutex<Connection>,
    /// Reads of a file database use their own connections: under WAL they see the last
    /// commit without waiting for a writer (the commit thread's fsync), and several
    /// threads read at once.
    readers: Vec<Mutex<Connection>>,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves SQLite consistent (statements are atomic).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sqlite {
    /// Open (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        // WAL for concurrent readers; FULL so that a commit survives power loss too.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut db = Self::init(conn)?;
        for _ in 0..READERS {
            let reader = Connection::open(path)?;
            reader.busy_timeout(std::time::Duration::from_secs(5))?;
            // A write sent to a reader by mistake fails loudly instead of bypassing the writer.
            reader.pragma_update(None, "query_only", true)?;
            db.readers.push(Mutex::new(reader));
        }
        Ok(db)
    }

    /// A database that lives in memory only.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        // Deleted and replaced content (an old token's ciphertext) is overwritten with
        // zeros inside its page, not left in free space.
        conn.pragma_update(None, "secure_delete", "FAST")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let has_tenants: bool = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tenants'")?
            .exists([])?;
        if has_tenants && version < 2 {
            // Columns added over version 1's life, then the move to version 2.
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
            conn.execute_batch(&format!("BEGIN; {MIGRATE_1_TO_2} COMMIT;"))?;
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(outbox::SCHEMA)?;
        outbox::upgrade(&conn)?;
        conn.pragma_update(None, "user_version", VERSION)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
            readers: Vec::new(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// A connection for reads: a free reader, else the first (the writer, for a
    /// database in memory).
    fn read(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            match r.try_lock() {
                Ok(c) => return c,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        lock(self.readers.first().unwrap_or(&self.conn))
    }

    /// The writer connection, for tests that need to make it fail.
    #[doc(hidden)]
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }

    fn tenant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TenantRecord> {
        let numbers: Option<String> = r.get(9)?;
        let mut t = TenantRecord {
            id: r.get(0)?,
            waba_id: r.get(1)?,
            phone_number_id: r.get(2)?,
            numbers: numbers
                .map(|n| n.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            display_phone_number: r.get(3)?,
            graph_origin: r.get(4)?,
            app_secret_sealed: r.get(5)?,
            verify_token_sealed: r.get(6)?,
            created_at: r.get(7)?,
            settings: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
        };
        t.numbers.sort();
        t.normalize_numbers();
        Ok(t)
    }

    fn query_tenants(&self, filter: &str, arg: Option<&str>) -> Result<Vec<TenantRecord>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants t {filter} ORDER BY t.id");
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = match arg {
            Some(a) => stmt
                .query_map([a], Self::tenant_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
            None => stmt
                .query_map([], Self::tenant_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        };
        Ok(rows)
    }
}

fn settings_json(t: &TenantRecord) -> String {
    serde_json::to_string(&t.settings).expect("pairs serialize")
}

fn constraint(e: rusqlite::Error, what: impl FnOnce() -> String) -> StorageError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StorageError(what())
        }
        e => e.into(),
    }
}

/// Write a tenant's numbers inside `tx`: each must be free or already its own.
fn write_numbers(tx: &rusqlite::Transaction<'_>, t: &TenantRecord) -> Result<()> {
    tx.execute("DELETE FROM tenant_numbers WHERE tenant = ?1", [&t.id])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO tenant_numbers (phone_number_id, tenant) VALUES (?1, ?2)")?;
    for n in &t.numbers {
        insert.execute(params![n, t.id]).map_err(|e| {
            constraint(e, || {
                format!("phone number id {n} already belongs to another tenant")
            })
        })?;
    }
    Ok(())
}

impl Backend for Sqlite {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn outbox(&self) -> Option<&dyn crate::outbox::OutboxBackend> {
        Some(self)
    }

    fn insert_tenant(&self, t: &TenantRecord) -> Result<()> {
        let mut t = t.clone();
        t.normalize_numbers();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO tenants (id, waba_id, phone_number_id, display_phone_number, graph_origin, app_secret, verify_token, created_at, settings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![t.id, t.waba_id, t.phone_number_id, t.display_phone_number, t.graph_origin, t.app_secret_sealed, t.verify_token_sealed, t.created_at, settings_json(&t)],
        )
        .map_err(|e| constraint(e, || format!("a tenant with id {} already exists", t.id)))?;
        write_numbers(&tx, &t)?;
        tx.commit()?;
        Ok(())
    }

    fn update_tenant(&self, t: &TenantRecord) -> Result<()> {
        let mut t = t.clone();
        t.normalize_numbers();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE tenants SET waba_id = ?2, phone_number_id = ?3, display_phone_number = ?4, graph_origin = ?5,
             app_secret = ?6, verify_token = ?7, settings = ?8 WHERE id = ?1",
            params![t.id, t.waba_id, t.phone_number_id, t.display_phone_number, t.graph_origin, t.app_secret_sealed, t.verify_token_sealed, settings_json(&t)],
        )?;
        if n == 0 {
            return Err(StorageError(format!("no tenant named {}", t.id)));
        }
        write_numbers(&tx, &t)?;
        tx.commit()?;
        Ok(())
    }

    fn delete_tenant(&self, id: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute("DELETE FROM tenants WHERE id = ?1", [id])?;
        tx.execute("DELETE FROM tenant_numbers WHERE tenant = ?1", [id])?;
        tx.execute("DELETE FROM kv WHERE tenant = ?1", [id])?;
        tx.commit()?;
        drop(conn);
        self.scrub()?;
        Ok(n > 0)
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        Ok(self.query_tenants("WHERE t.id = ?1", Some(id))?.pop())
    }

    fn tenant_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<TenantRecord>> {
        Ok(self
            .query_tenants(
                "WHERE t.id = (SELECT tenant FROM tenant_numbers WHERE phone_number_id = ?1)",
                Some(phone_number_id),
            )?
            .pop())
    }

    fn tenants(&self) -> Result<Vec<TenantRecord>> {
        self.query_tenants("", None)
    }

    fn kv_get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT value FROM kv WHERE tenant = ?1 AND bucket = ?2 AND key = ?3",
        )?;
        Ok(stmt
            .query_row(params![tenant, bucket, key], |r| r.get(0))
            .optional()?)
    }

    fn kv_set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(UPSERT_KV)?
            .execute(params![tenant, bucket, key, value, now_ms()])?;
        Ok(())
    }

    fn kv_replace(
        &self,
        tenant: &str,
        bucket: &str,
        key: &str,
        expected: &[u8],
        value: &[u8],
    ) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE kv SET value = ?5, updated_at_ms = ?6 WHERE tenant = ?1 AND bucket = ?2 AND key = ?3 AND value = ?4",
            params![tenant, bucket, key, expected, value, now_ms()],
        )?;
        Ok(n == 1)
    }

    fn kv_delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(DELETE_KV)?
            .execute(params![tenant, bucket, key])?;
        Ok(())
    }

    fn kv_list(&self, tenant: &str, bucket: &str, offset: u64, limit: u32) -> Result<Vec<String>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT key FROM kv WHERE tenant = ?1 AND bucket = ?2 ORDER BY key LIMIT ?3 OFFSET ?4",
        )?;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![tenant, bucket, limit, offset], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn kv_scan(&self, bucket: &str) -> Result<Vec<(String, String, Vec<u8>)>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare("SELECT tenant, key, value FROM kv WHERE bucket = ?1 ORDER BY tenant, key")?;
        let rows = stmt.query_map([bucket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn kv_increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64> {
        let mut conn = self.conn();
        // Immediate: the write lock is taken before the read, so that another process
        // incrementing the same file waits (busy timeout) instead of failing the upgrade.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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

    fn sweep(&self, bucket: &str, before_ms: i64) -> Result<usize> {
        Ok(self.conn().execute(
            "DELETE FROM kv WHERE bucket = ?1 AND updated_at_ms < ?2",
            params![bucket, before_ms],
        )?)
    }

    fn scrub(&self) -> Result<()> {
        // The WAL may still hold page images with the old value: copy everything into the
        // database file (where secure_delete zeroed it) and truncate the WAL to nothing.
        // Readers in the middle of a read can make this a no-op; the next scrub catches up.
        let conn = self.conn();
        let _: (i64, i64, i64) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(())
    }

    fn write_batch(&self, jobs: &[Batch<'_>]) -> Result<Vec<Vec<bool>>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(jobs.len());
        {
            let mut upsert = tx.prepare_cached(UPSERT_KV)?;
            let mut delete = tx.prepare_cached(DELETE_KV)?;
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            for job in jobs {
                for (tenant, bucket, key, value) in job.writes() {
                    match value {
                        Some(v) => upsert.execute(params![tenant, bucket, key, v, job.now_ms])?,
                        None => delete.execute(params![tenant, bucket, key])?,
                    };
                }
                let mut inserted = Vec::with_capacity(job.events.len());
                for e in job.events {
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
                for (tenant, p) in job.progress {
                    outbox::advance(&tx, tenant, std::slice::from_ref(p), job.now_ms)?;
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn events(&self, tenant: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<EventRow>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(match tenant {
            Some(_) => EVENTS_OF_TENANT,
            None => EVENTS_AFTER,
        })?;
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

    fn last_seq(&self) -> Result<i64> {
        Ok(self
            .read()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    fn counts_after(&self, after_seq: i64) -> Result<Vec<(String, i64)>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(COUNTS_AFTER)?;
        let rows = stmt.query_map([after_seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn cursor(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .read()
            .query_row("SELECT seq FROM cursors WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        self.conn().execute(
            "INSERT INTO cursors (name, seq) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            params![name, seq],
        )?;
        Ok(())
    }

    fn add_dead_letter(&self, sink: &str, seq: i64, reason: &str, at_ms: i64) -> Result<()> {
        self.conn().execute(
            "INSERT INTO dead_letters (sink, seq, reason, at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sink, seq) DO UPDATE SET reason = excluded.reason, at_ms = excluded.at_ms",
            params![sink, seq, reason, at_ms],
        )?;
        Ok(())
    }

    fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, reason, at_ms FROM dead_letters WHERE sink = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([sink], |r| {
            Ok(DeadLetter {
                seq: r.get(0)?,
                reason: r.get(1)?,
                at_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn remove_dead_letter(&self, sink: &str, seq: i64) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM dead_letters WHERE sink = ?1 AND seq = ?2",
            params![sink, seq],
        )?;
        Ok(n > 0)
    }

    fn lease(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool> {
        let n = self
            .conn()
            .execute(TAKE_LEASE, params![name, holder, now_ms + ttl_ms, now_ms])?;
        Ok(n == 1)
    }

    fn release(&self, name: &str, holder: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
            params![name, holder],
        )?;
        Ok(())
    }

    fn leases(&self) -> Result<Vec<Lease>> {
        let conn = self.read();
        let mut stmt =
            conn.prepare_cached("SELECT name, holder, expires_at_ms FROM leases ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(Lease {
                name: r.get(0)?,
                holder: r.get(1)?,
                expires_at_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Take a lease that is free, expired or the holder's own (then renewed); one row changed
/// when taken.
const TAKE_LEASE: &str = "INSERT INTO leases (name, holder, expires_at_ms) VALUES (?1, ?2, ?3)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
    WHERE leases.holder = excluded.holder OR leases.expires_at_ms <= ?4";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_reads_take_the_index_their_cursor_needs() {
        let db = Sqlite::open_in_memory().unwrap();
        let conn = db.conn();
        let plan = |sql: &str| {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let params = (0..stmt.parameter_count()).map(|_| 7);
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap();
            rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
        };
        for (sql, uses) in [
            (
                EVENTS_OF_TENANT,
                "USING INDEX events_tenant (tenant=? AND seq>?)",
            ),
            (EVENTS_AFTER, "USING INTEGER PRIMARY KEY (rowid>?)"),
            (COUNTS_AFTER, "USING INTEGER PRIMARY KEY (rowid>?)"),
        ] {
            let plan = plan(sql);
            assert!(plan.contains(uses), "{sql}: {plan}");
        }
    }

    #[test]
    fn a_version_1_database_is_migrated_with_its_tenants_and_numbers() {
        let dir = std::env::temp_dir().join(format!("wa-sqlite-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v1.sqlite3");
        let _ = std::fs::remove_file(&path);
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE tenants (id TEXT PRIMARY KEY, phone_number_id TEXT NOT NULL UNIQUE, waba_id TEXT NOT NULL,
                   display_phone_number TEXT, graph_origin TEXT, app_secret BLOB, verify_token BLOB, created_at INTEGER NOT NULL);
                 CREATE TABLE kv (tenant TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                   PRIMARY KEY (tenant, bucket, key)) WITHOUT ROWID;
                 INSERT INTO tenants VALUES ('acme', '111', '999', '+1 555', NULL, NULL, NULL, 7);
                 INSERT INTO kv VALUES ('acme', 'secrets', 'access-token', x'0102');",
            )
            .unwrap();
        }
        let db = Sqlite::open(&path).unwrap();
        let t = db.tenant("acme").unwrap().unwrap();
        assert_eq!(t.numbers, vec!["111"]);
        assert_eq!(t.phone_number_id.as_deref(), Some("111"));
        assert_eq!(t.waba_id.as_deref(), Some("999"));
        assert_eq!(
            db.tenant_by_phone_number_id("111").unwrap().unwrap().id,
            "acme"
        );
        assert_eq!(
            db.kv_get("acme", "secrets", "access-token").unwrap(),
            Some(vec![1, 2])
        );
        drop(db);
        // Opening again leaves a version 2 database as it is.
        let db = Sqlite::open(&path).unwrap();
        assert_eq!(db.tenants().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
