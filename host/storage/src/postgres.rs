//! The shared backend: a PostgreSQL server several host processes use at once.
//!
//! **TLS** as libpq's `sslmode` and `sslrootcert` in the URL say ([`crate::postgres_tls`]):
//! `verify-full` for a server across a network (`prefer`, the default, encrypts when the
//! server can but checks no certificate, as libpq's does).
//!
//! **Threads.** The `postgres` client runs a tokio runtime of its own for every call,
//! which panics inside another runtime, and the host calls a [`Backend`] from its tokio
//! worker threads. So each connection lives on a thread of its own ([`POOL`] of them,
//! taking jobs from one queue), and a call sends its job there and waits for the answer,
//! as a call to SQLite waits for its file. A connection found broken is dropped and opened
//! again on the next job; reads are retried once on a fresh connection, writes are not
//! (whether a broken write committed is unknown: the caller decides).
//!
//! **Several processes.** The schema is migrated under an advisory lock, versions
//! recorded in `schema_migrations` ([`MIGRATIONS`]), so processes starting together don't
//! trip over each other. Events are written under a transaction
//! advisory lock on the events table ([`Backend::write_batch`]): sequence numbers are
//! taken and committed in the same order, so a reader that follows `seq > cursor` never
//! skips an event that commits after a later one. Counters are incremented under a row
//! lock, compare-and-set is one `UPDATE`, and tenants' numbers are unique by key.
//!
//! Errors carry the server's primary message and SQLSTATE, never its DETAIL (which can
//! quote values), the URL or its password.

use crate::journal::Batch;
use crate::{
    Backend, DeadLetter, EventRow, NewEvent, Result, StorageError, TenantRecord, now_ms,
    parse_counter,
};
use ::postgres::{Client, Config, NoTls, Row, Transaction};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Connections (and their threads) per [`Postgres`].
pub const POOL: usize = 4;

/// Held while the schema is created (any 64-bit constant of ours: "wa-schem").
const SCHEMA_LOCK: &str = "SELECT pg_advisory_xact_lock(8603105683393799533)";

/// Held while a batch writes events. The key is the events table's OID, under a class of
/// ours ("wa" = 30561): constant for every process sharing the table, and distinct for
/// another schema's table in the same database (no contention between them).
const EVENTS_LOCK: &str = "SELECT pg_advisory_xact_lock(30561, 'events'::regclass::oid::int4)";

/// Text keys compare byte by byte (`COLLATE "C"`), as in SQLite: listing and paging give
/// the same order whatever the database's locale.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    waba_id TEXT,
    phone_number_id TEXT,
    display_phone_number TEXT,
    graph_origin TEXT,
    app_secret BYTEA,
    verify_token BYTEA,
    created_at BIGINT NOT NULL,
    settings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS tenant_numbers (
    phone_number_id TEXT COLLATE "C" PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS tenant_numbers_tenant ON tenant_numbers (tenant);
CREATE TABLE IF NOT EXISTS kv (
    tenant TEXT COLLATE "C" NOT NULL,
    bucket TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value BYTEA NOT NULL,
    updated_at_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, bucket, key)
);
CREATE TABLE IF NOT EXISTS events (
    seq BIGSERIAL PRIMARY KEY,
    tenant TEXT COLLATE "C",
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant, seq);
CREATE UNIQUE INDEX IF NOT EXISTS events_once ON events ((COALESCE(tenant, '')), idempotency_key);
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL
);
"#;

/// The schema's migrations, in order. Each is applied once, in one transaction with its
/// record in `schema_migrations`, under [`SCHEMA_LOCK`], by whichever process starts
/// first. Version 1 is the schema as the first releases created it (`IF NOT EXISTS`: a
/// database they made is taken as it is). Add a version; never edit one that shipped.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, SCHEMA),
    (
        2,
        r#"CREATE TABLE dead_letters (
    sink TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (sink, seq)
);"#,
    ),
];

/// Bring the schema to the newest version this build knows; that version. A database
/// already at a newer one (a newer host's) is refused: this build would not know its
/// tables.
fn migrate(c: &mut Client) -> Step<i32> {
    let mut tx = c.transaction()?;
    tx.batch_execute(SCHEMA_LOCK)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(Fail::Storage(StorageError(format!(
            "postgres: the database's schema is at version {current}, newer than this host's {newest}: run the newer wa-host"
        ))));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)",
            &[version, &now_ms()],
        )?;
        tracing::info!("postgres: schema migrated to version {version}");
    }
    tx.commit()?;
    Ok(newest)
}

const UPSERT_KV: &str = "INSERT INTO kv (tenant, bucket, key, value, updated_at_ms) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (tenant, bucket, key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms";
const DELETE_KV: &str = "DELETE FROM kv WHERE tenant = $1 AND bucket = $2 AND key = $3";
const INSERT_EVENT: &str =
    "INSERT INTO events (tenant, kind, idempotency_key, received_at_ms, json)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING seq";
const TENANT_COLUMNS: &str =
    "t.id, t.waba_id, t.phone_number_id, t.display_phone_number, t.graph_origin,
    t.app_secret, t.verify_token, t.created_at, t.settings,
    ARRAY(SELECT n.phone_number_id FROM tenant_numbers n WHERE n.tenant = t.id)";

/// Why a job failed: the server (or the connection), or a rule of ours.
enum Fail {
    Pg(::postgres::Error),
    Storage(StorageError),
}

impl From<::postgres::Error> for Fail {
    fn from(e: ::postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Self {
        Fail::Storage(e)
    }
}

impl Fail {
    fn into_error(self) -> StorageError {
        match self {
            Fail::Storage(e) => e,
            Fail::Pg(e) => StorageError(describe(&e)),
        }
    }
}

/// A driver error for a human: the server's primary message and SQLSTATE (its DETAIL can
/// quote values and is left out), or what went wrong with the connection.
fn describe(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("postgres: {} (SQLSTATE {})", db.message(), db.code().code());
    }
    match std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>()) {
        Some(io) => format!("postgres: {e}: {io}"),
        None => format!("postgres: {e}"),
    }
}

type Step<T> = std::result::Result<T, Fail>;
type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// One connection, owned by its thread; opened on first use and after it broke.
struct Conn {
    config: Arc<Config>,
    tls: Option<MakeRustlsConnect>,
    client: Option<Client>,
}

/// Open a connection with `config` over `tls` (none: plain).
fn open(
    config: &Config,
    tls: &Option<MakeRustlsConnect>,
) -> std::result::Result<Client, ::postgres::Error> {
    match tls {
        Some(tls) => config.connect(tls.clone()),
        None => config.connect(NoTls),
    }
}

/// The URL's connection settings and TLS (`sslmode`, `sslrootcert`).
fn settings(url: &str) -> Result<(Config, Option<MakeRustlsConnect>)> {
    let tls = crate::postgres_tls::from_url(url)?;
    let mut config: Config = tls
        .url
        .parse()
        .map_err(|_| StorageError("postgres: the URL is not a valid connection string".into()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("whatsapp-host");
    }
    Ok((config, tls.connector))
}

/// A connection of its own to `url`, with the same TLS as the backend's (for tools and
/// tests that run their own SQL). Call it outside a tokio runtime.
pub fn client(url: &str) -> Result<Client> {
    let (config, tls) = settings(url)?;
    open(&config, &tls).map_err(|e| StorageError(describe(&e)))
}

impl Conn {
    /// Run `f` on the connection; whether the connection broke on the way.
    fn run<T>(&mut self, f: &impl Fn(&mut Client) -> Step<T>) -> (Step<T>, bool) {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        let client = match &mut self.client {
            Some(c) => c,
            None => match open(&self.config, &self.tls) {
                Ok(c) => self.client.insert(c),
                Err(e) => return (Err(e.into()), false),
            },
        };
        let result = f(client);
        let broken = client.is_closed() || matches!(&result, Err(Fail::Pg(e)) if e.is_closed());
        if broken {
            tracing::warn!("a PostgreSQL connection broke; it is opened again on the next call");
            self.client = None;
        }
        (result, broken)
    }
}

/// A connection thread: runs the jobs it takes from the shared queue until the
/// [`Postgres`] is dropped.
fn serve(
    config: Arc<Config>,
    tls: Option<MakeRustlsConnect>,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
) {
    let mut conn = Conn {
        config,
        tls,
        client: None,
    };
    loop {
        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = job else { return };
        // A job that panicked has dropped its reply (its caller gets an error); the thread
        // and a fresh connection stay for the next.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            conn.client = None;
        }
    }
}

fn gone() -> StorageError {
    StorageError("postgres: the connection threads are gone".into())
}

/// The PostgreSQL backend: a pool of [`POOL`] connections, each on its own thread.
///
/// [`Backend::scrub`] does nothing here: PostgreSQL does not promise that old row
/// versions are ever zeroed on disk. A replaced or deleted value stays in the table's
/// files until VACUUM lets its space be reused and something overwrites it, and in the
/// write-ahead log, its archives and replicas. Secrets reach storage sealed by the host's
/// vault; retire an old master key with that in mind.
pub struct Postgres {
    queue: mpsc::Sender<Job>,
}

impl Postgres {
    /// Connect to `url` (`postgres://user:password@host:port/db`, or any form the
    /// `postgres` crate takes, `?options=-csearch_path%3Dname` for another schema) and
    /// create the tables that are missing. Fails if the server can't be reached.
    pub fn connect(url: &str) -> Result<Self> {
        let (config, tls) = settings(url)?;
        let config = Arc::new(config);
        let (queue, jobs) = mpsc::channel();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..POOL {
            let (config, tls, jobs) = (config.clone(), tls.clone(), jobs.clone());
            std::thread::Builder::new()
                .name(format!("wa-postgres-{i}"))
                .spawn(move || serve(config, tls, jobs))
                .map_err(|_| {
                    StorageError("postgres: could not start a connection thread".into())
                })?;
        }
        let pg = Postgres { queue };
        pg.write(migrate)?;
        Ok(pg)
    }

    /// Run `f` on a connection thread and wait for its answer.
    fn call<T: Send + 'static>(
        &self,
        retry: bool,
        f: impl Fn(&mut Client) -> Step<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn: &mut Conn| {
            let (mut result, broken) = conn.run(&f);
            if broken && retry {
                result = conn.run(&f).0;
            }
            let _ = reply.send(result.map_err(Fail::into_error));
        });
        self.queue.send(job).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    /// A read: retried once on a fresh connection if the connection broke.
    fn read<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Client) -> Step<T> + Send + 'static,
    ) -> Result<T> {
        self.call(true, f)
    }

    /// Whether this backend's connections are encrypted (`pg_stat_ssl`, of one of them).
    pub fn encrypted(&self) -> Result<bool> {
        self.read(|c| {
            let row = c.query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )?;
            Ok(row.get::<_, bool>(0))
        })
    }

    /// A write: never retried (it may have committed before the connection broke).
    fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Client) -> Step<T> + Send + 'static,
    ) -> Result<T> {
        self.call(false, f)
    }

    fn query_tenants(
        &self,
        filter: &'static str,
        arg: Option<String>,
    ) -> Result<Vec<TenantRecord>> {
        self.read(move |c| {
            let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants t {filter} ORDER BY t.id");
            let rows = match &arg {
                Some(a) => c.query(&sql, &[a])?,
                None => c.query(&sql, &[])?,
            };
            rows.iter().map(tenant_from_row).collect()
        })
    }
}

fn tenant_from_row(r: &Row) -> Step<TenantRecord> {
    let settings: String = r.try_get(8)?;
    let mut t = TenantRecord {
        id: r.try_get(0)?,
        waba_id: r.try_get(1)?,
        phone_number_id: r.try_get(2)?,
        display_phone_number: r.try_get(3)?,
        graph_origin: r.try_get(4)?,
        app_secret_sealed: r.try_get(5)?,
        verify_token_sealed: r.try_get(6)?,
        created_at: r.try_get(7)?,
        settings: serde_json::from_str(&settings).unwrap_or_default(),
        numbers: r.try_get(9)?,
    };
    t.numbers.sort();
    t.normalize_numbers();
    Ok(t)
}

fn settings_json(t: &TenantRecord) -> Result<String> {
    serde_json::to_string(&t.settings)
        .map_err(|_| StorageError("a tenant's settings could not be encoded".into()))
}

/// Write a tenant's numbers inside `tx`: each must be free or already its own.
fn write_numbers(tx: &mut Transaction<'_>, t: &TenantRecord) -> Step<()> {
    tx.execute("DELETE FROM tenant_numbers WHERE tenant = $1", &[&t.id])?;
    let insert = tx.prepare(
        "INSERT INTO tenant_numbers (phone_number_id, tenant) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )?;
    for n in &t.numbers {
        if tx.execute(&insert, &[n, &t.id])? == 0 {
            return Err(StorageError(format!(
                "phone number id {n} already belongs to another tenant"
            ))
            .into());
        }
    }
    Ok(())
}

/// A job of a batch, owned (it crosses to a connection thread).
struct OwnedBatch {
    writes: Vec<(String, String, String, Option<Vec<u8>>)>,
    events: Vec<NewEvent>,
    now_ms: i64,
}

impl Backend for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn insert_tenant(&self, t: &TenantRecord) -> Result<()> {
        let mut t = t.clone();
        t.normalize_numbers();
        let settings = settings_json(&t)?;
        self.write(move |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "INSERT INTO tenants (id, waba_id, phone_number_id, display_phone_number, graph_origin, app_secret, verify_token, created_at, settings)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                &[&t.id, &t.waba_id, &t.phone_number_id, &t.display_phone_number, &t.graph_origin,
                  &t.app_secret_sealed, &t.verify_token_sealed, &t.created_at, &settings],
            )?;
            if n == 0 {
                return Err(StorageError(format!("a tenant with id {} already exists", t.id)).into());
            }
            write_numbers(&mut tx, &t)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn update_tenant(&self, t: &TenantRecord) -> Result<()> {
        let mut t = t.clone();
        t.normalize_numbers();
        let settings = settings_json(&t)?;
        self.write(move |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE tenants SET waba_id = $2, phone_number_id = $3, display_phone_number = $4, graph_origin = $5,
                 app_secret = $6, verify_token = $7, settings = $8 WHERE id = $1",
                &[&t.id, &t.waba_id, &t.phone_number_id, &t.display_phone_number, &t.graph_origin,
                  &t.app_secret_sealed, &t.verify_token_sealed, &settings],
            )?;
            if n == 0 {
                return Err(StorageError(format!("no tenant named {}", t.id)).into());
            }
            write_numbers(&mut tx, &t)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn delete_tenant(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        let existed = self.write(move |c| {
            let mut tx = c.transaction()?;
            let n = tx.execute("DELETE FROM tenants WHERE id = $1", &[&id])?;
            tx.execute("DELETE FROM tenant_numbers WHERE tenant = $1", &[&id])?;
            tx.execute("DELETE FROM kv WHERE tenant = $1", &[&id])?;
            tx.commit()?;
            Ok(n > 0)
        })?;
        self.scrub()?;
        Ok(existed)
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        Ok(self
            .query_tenants("WHERE t.id = $1", Some(id.to_string()))?
            .pop())
    }

    fn tenant_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<TenantRecord>> {
        Ok(self
            .query_tenants(
                "WHERE t.id = (SELECT tenant FROM tenant_numbers WHERE phone_number_id = $1)",
                Some(phone_number_id.to_string()),
            )?
            .pop())
    }

    fn tenants(&self) -> Result<Vec<TenantRecord>> {
        self.query_tenants("", None)
    }

    fn kv_get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let (t, b, k) = (tenant.to_string(), bucket.to_string(), key.to_string());
        self.read(move |c| {
            let row = c.query_opt(
                "SELECT value FROM kv WHERE tenant = $1 AND bucket = $2 AND key = $3",
                &[&t, &b, &k],
            )?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn kv_set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()> {
        let (t, b, k, v) = (
            tenant.to_string(),
            bucket.to_string(),
            key.to_string(),
            value.to_vec(),
        );
        self.write(move |c| {
            c.execute(UPSERT_KV, &[&t, &b, &k, &v, &now_ms()])?;
            Ok(())
        })
    }

    fn kv_replace(
        &self,
        tenant: &str,
        bucket: &str,
        key: &str,
        expected: &[u8],
        value: &[u8],
    ) -> Result<bool> {
        let (t, b, k) = (tenant.to_string(), bucket.to_string(), key.to_string());
        let (expected, v) = (expected.to_vec(), value.to_vec());
        self.write(move |c| {
            let n = c.execute(
                "UPDATE kv SET value = $5, updated_at_ms = $6 WHERE tenant = $1 AND bucket = $2 AND key = $3 AND value = $4",
                &[&t, &b, &k, &expected, &v, &now_ms()],
            )?;
            Ok(n == 1)
        })
    }

    fn kv_delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()> {
        let (t, b, k) = (tenant.to_string(), bucket.to_string(), key.to_string());
        self.write(move |c| {
            c.execute(DELETE_KV, &[&t, &b, &k])?;
            Ok(())
        })
    }

    fn kv_list(&self, tenant: &str, bucket: &str, offset: u64, limit: u32) -> Result<Vec<String>> {
        let (t, b) = (tenant.to_string(), bucket.to_string());
        let (offset, limit) = (i64::try_from(offset).unwrap_or(i64::MAX), i64::from(limit));
        self.read(move |c| {
            let rows = c.query(
                "SELECT key FROM kv WHERE tenant = $1 AND bucket = $2 ORDER BY key LIMIT $3 OFFSET $4",
                &[&t, &b, &limit, &offset],
            )?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
        })
    }

    fn kv_scan(&self, bucket: &str) -> Result<Vec<(String, String, Vec<u8>)>> {
        let b = bucket.to_string();
        self.read(move |c| {
            let rows = c.query(
                "SELECT tenant, key, value FROM kv WHERE bucket = $1 ORDER BY tenant, key",
                &[&b],
            )?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<std::result::Result<_, ::postgres::Error>>()?)
        })
    }

    fn kv_increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64> {
        let (t, b, k) = (tenant.to_string(), bucket.to_string(), key.to_string());
        self.write(move |c| {
            let mut tx = c.transaction()?;
            // Create the counter at 0 if absent, and lock its row either way: a concurrent
            // increment (from any process) waits here until this one commits.
            let zero: &[u8] = b"0";
            let row = tx.query_one(
                "INSERT INTO kv (tenant, bucket, key, value, updated_at_ms) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, bucket, key) DO UPDATE SET updated_at_ms = kv.updated_at_ms
                 RETURNING value",
                &[&t, &b, &k, &zero, &now_ms()],
            )?;
            let current: Vec<u8> = row.try_get(0)?;
            let current = parse_counter(&current)
                .ok_or_else(|| StorageError(format!("the value under {k} is not a counter")))?;
            let next = current
                .checked_add(delta)
                .ok_or_else(|| StorageError(format!("the counter under {k} would overflow")))?;
            tx.execute(UPSERT_KV, &[&t, &b, &k, &next.to_string().into_bytes(), &now_ms()])?;
            tx.commit()?;
            Ok(next)
        })
    }

    fn sweep(&self, bucket: &str, before_ms: i64) -> Result<usize> {
        let b = bucket.to_string();
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM kv WHERE bucket = $1 AND updated_at_ms < $2",
                &[&b, &before_ms],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    /// Nothing to do: see [`Postgres`] (PostgreSQL does not promise old row versions are
    /// zeroed on disk, and `VACUUM` would not zero them either).
    fn scrub(&self) -> Result<()> {
        Ok(())
    }

    fn write_batch(&self, jobs: &[Batch<'_>]) -> Result<Vec<Vec<bool>>> {
        let jobs: Vec<OwnedBatch> = jobs
            .iter()
            .map(|j| OwnedBatch {
                writes: j
                    .writes()
                    .map(|(t, b, k, v)| {
                        (
                            t.to_string(),
                            b.to_string(),
                            k.to_string(),
                            v.map(<[u8]>::to_vec),
                        )
                    })
                    .collect(),
                events: j.events.to_vec(),
                now_ms: j.now_ms,
            })
            .collect();
        self.write(move |c| {
            let mut tx = c.transaction()?;
            // First, so that sequence numbers are taken and committed in one order.
            tx.batch_execute(EVENTS_LOCK)?;
            let upsert = tx.prepare(UPSERT_KV)?;
            let delete = tx.prepare(DELETE_KV)?;
            let insert = tx.prepare(INSERT_EVENT)?;
            let mut out = Vec::with_capacity(jobs.len());
            for job in &jobs {
                for (t, b, k, v) in &job.writes {
                    match v {
                        Some(v) => tx.execute(&upsert, &[t, b, k, v, &job.now_ms])?,
                        None => tx.execute(&delete, &[t, b, k])?,
                    };
                }
                let mut new = Vec::with_capacity(job.events.len());
                for e in &job.events {
                    let row = tx.query_opt(
                        &insert,
                        &[&e.tenant, &e.kind, &e.idempotency_key, &job.now_ms, &e.json],
                    )?;
                    new.push(row.is_some());
                }
                out.push(new);
            }
            tx.commit()?;
            Ok(out)
        })
    }

    fn events(&self, tenant: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<EventRow>> {
        let tenant = tenant.map(str::to_string);
        let limit = i64::from(limit);
        self.read(move |c| {
            let rows = c.query(
                "SELECT seq, tenant, kind, idempotency_key, received_at_ms, json FROM events
                 WHERE seq > $1 AND ($2::text IS NULL OR tenant = $2) ORDER BY seq LIMIT $3",
                &[&after_seq, &tenant, &limit],
            )?;
            Ok(rows
                .iter()
                .map(|r| {
                    Ok(EventRow {
                        seq: r.try_get(0)?,
                        tenant: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        idempotency_key: r.try_get(3)?,
                        received_at_ms: r.try_get(4)?,
                        json: r.try_get(5)?,
                    })
                })
                .collect::<std::result::Result<_, ::postgres::Error>>()?)
        })
    }

    fn last_seq(&self) -> Result<i64> {
        self.read(|c| {
            Ok(
                c.query_one("SELECT COALESCE(MAX(seq), 0) FROM events", &[])?
                    .try_get(0)?,
            )
        })
    }

    fn counts_after(&self, after_seq: i64) -> Result<Vec<(String, i64)>> {
        self.read(move |c| {
            let rows = c.query(
                "SELECT COALESCE(tenant, ''), COUNT(*) FROM events WHERE seq > $1 GROUP BY 1 ORDER BY 1",
                &[&after_seq],
            )?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<std::result::Result<_, ::postgres::Error>>()?)
        })
    }

    fn cursor(&self, name: &str) -> Result<Option<i64>> {
        let name = name.to_string();
        self.read(move |c| {
            let row = c.query_opt("SELECT seq FROM cursors WHERE name = $1", &[&name])?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        let name = name.to_string();
        self.write(move |c| {
            c.execute(
                "INSERT INTO cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                &[&name, &seq],
            )?;
            Ok(())
        })
    }

    fn add_dead_letter(&self, sink: &str, seq: i64, reason: &str, at_ms: i64) -> Result<()> {
        let (sink, reason) = (sink.to_string(), reason.to_string());
        self.write(move |c| {
            c.execute(
                "INSERT INTO dead_letters (sink, seq, reason, at_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sink, seq) DO UPDATE SET reason = excluded.reason, at_ms = excluded.at_ms",
                &[&sink, &seq, &reason, &at_ms],
            )?;
            Ok(())
        })
    }

    fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>> {
        let sink = sink.to_string();
        self.read(move |c| {
            c.query(
                "SELECT seq, reason, at_ms FROM dead_letters WHERE sink = $1 ORDER BY seq",
                &[&sink],
            )?
            .iter()
            .map(|r| {
                Ok(DeadLetter {
                    seq: r.try_get(0)?,
                    reason: r.try_get(1)?,
                    at_ms: r.try_get(2)?,
                })
            })
            .collect::<std::result::Result<_, ::postgres::Error>>()
            .map_err(Fail::from)
        })
    }

    fn remove_dead_letter(&self, sink: &str, seq: i64) -> Result<bool> {
        let sink = sink.to_string();
        self.write(move |c| {
            Ok(c.execute(
                "DELETE FROM dead_letters WHERE sink = $1 AND seq = $2",
                &[&sink, &seq],
            )? > 0)
        })
    }
}
