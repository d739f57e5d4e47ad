//! The shared backend: a PostgreSQL server several host processes use at once.
//!
//! **TLS** as libpq's `sslmode` and `sslrootcert` in the URL say ([`crate::postgres_tls`]):
//! `verify-full` for a server across a network (`prefer`, the default, encrypts when the
//! server can but checks no certificate, as libpq's does).
//!
//! **Threads.** The client is tokio-postgres, pooled by deadpool ([`POOL`] connections),
//! on a small tokio runtime the backend owns: its connections' tasks run there whatever
//! calls it. The key-value calls the component makes while it runs
//! ([`Backend::kv_get_async`] and the rest) are answered as futures, so a query in
//! flight holds no worker of the host's runtime; the other calls (tools, the admin API,
//! the commit thread) wait for their answer, as a call to SQLite waits for its file. A
//! connection found closed is dropped by the pool and a new one opened; reads are tried
//! again on a fresh connection, writes are not (whether a broken write committed is
//! unknown: the caller decides).
//!
//! **Several processes.** The schema is migrated under an advisory lock, versions
//! recorded in `schema_migrations` ([`MIGRATIONS`]), so processes starting together don't
//! trip over each other. Writes take no lock beyond their rows': a batch's key-value
//! writes go in key order (two batches never wait on each other in a circle) and its
//! events are inserted without a place in the log. Their place (`seq`) is given after
//! they commit, by [`SEQUENCE`]: one short transaction at a time across processes, under
//! an advisory lock, numbers every committed event that has none above the log's last.
//! So a reader that follows `seq > cursor` never skips an event that commits after a
//! later one, and no host's commit waits for another's. Counters are incremented under a
//! row lock, compare-and-set is one `UPDATE`, and tenants' numbers are unique by key.
//!
//! Errors carry the server's primary message and SQLSTATE, never its DETAIL (which can
//! quote values), the URL or its password.

use crate::journal::Batch;
use crate::{
    Backend, DeadLetter, EventRow, KvFuture, Lease, NewEvent, Result, StorageError, TenantRecord,
    now_ms, parse_counter,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tokio_postgres::{Config, NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

mod outbox;

/// Connections in a [`Postgres`]'s pool.
pub const POOL: usize = 8;

/// How long a call waits for a free connection (or a new one) before it fails.
const WAIT: Duration = Duration::from_secs(30);

/// Held while the schema is created (any 64-bit constant of ours: "wa-schem").
const SCHEMA_LOCK: &str = "SELECT pg_advisory_xact_lock(8603105683393799533)";

/// Held while committed events are given their place in the log ([`SEQUENCE`]), and
/// only then: no commit waits for it. The key is the events table's OID, under a class
/// of ours ("wa" = 30561): constant for every process sharing the table, and distinct
/// for another schema's table in the same database.
const SEQUENCE_LOCK: &str = "SELECT pg_advisory_xact_lock(30561, 'events'::regclass::oid::int4)";

/// Number the committed events that have no place in the log yet, in the order they were
/// inserted, above the log's last. Run under [`SEQUENCE_LOCK`], one run at a time across
/// processes, each committing before the next reads the log's last: a reader sees a
/// run's numbers all at once or not at all, and always after the runs before it.
const SEQUENCE: &str = "WITH pending AS (
        SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM events WHERE seq IS NULL
    ), top AS (SELECT COALESCE(MAX(seq), 0) AS m FROM events)
    UPDATE events e SET seq = top.m + pending.n FROM pending, top WHERE e.id = pending.id";

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
    // Events are inserted without a place in the log and numbered once committed
    // ([`SEQUENCE`]): `id` is the row's own key, `seq` its place (none until numbered).
    // Written to be applied again harmlessly (a database whose record of versions was lost).
    (
        3,
        r#"DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'id') THEN
        ALTER TABLE events DROP CONSTRAINT events_pkey;
        ALTER TABLE events ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;
        ALTER TABLE events ADD PRIMARY KEY (id);
        ALTER TABLE events ALTER COLUMN seq DROP DEFAULT, ALTER COLUMN seq DROP NOT NULL;
        CREATE UNIQUE INDEX events_seq ON events (seq);
        CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
    END IF;
END $$;"#,
    ),
    (
        4,
        r#"CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);"#,
    ),
    (5, outbox::SCHEMA),
    (6, outbox::REACH),
];

/// Bring the schema to the newest version this build knows; that version. A database
/// already at a newer one (a newer host's) is refused: this build would not know its
/// tables.
async fn migrate(pool: Pool) -> Step<i32> {
    let mut c = pool.get().await?;
    let tx = c.transaction().await?;
    tx.batch_execute(SCHEMA_LOCK).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)",
    )
    .await?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(Fail::Storage(StorageError(format!(
            "postgres: the database's schema is at version {current}, newer than this host's {newest}: run the newer wa-host"
        ))));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)",
            &[version, &now_ms()],
        )
        .await?;
        tracing::info!("postgres: schema migrated to version {version}");
    }
    tx.commit().await?;
    Ok(newest)
}

/// Give every committed event without a place in the log its place ([`SEQUENCE`]); how
/// many were numbered.
async fn sequence(pool: &Pool) -> Step<u64> {
    let mut c = pool.get().await?;
    let tx = c.transaction().await?;
    tx.batch_execute(SEQUENCE_LOCK).await?;
    let n = tx.execute(SEQUENCE, &[]).await?;
    tx.commit().await?;
    Ok(n)
}

/// Every second, number the committed events that wait for it: what a commit whose
/// numbering failed (or a host that stopped in between) left, seen by readers within a
/// second even if nothing else is committed. The check is the partial index's.
async fn number_what_waits(pool: Pool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let waiting = async {
            let c = pool.get().await?;
            let row = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM events WHERE seq IS NULL)",
                    &[],
                )
                .await?;
            Ok::<bool, Fail>(row.try_get(0)?)
        };
        match waiting.await {
            Ok(true) => {
                if let Err(e) = sequence(&pool).await {
                    tracing::warn!("postgres: numbering events: {}", e.into_error());
                }
            }
            Ok(false) => {}
            Err(_) if pool.is_closed() => return,
            Err(_) => {}
        }
    }
}

const UPSERT_KV: &str = "INSERT INTO kv (tenant, bucket, key, value, updated_at_ms) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (tenant, bucket, key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms";
const DELETE_KV: &str = "DELETE FROM kv WHERE tenant = $1 AND bucket = $2 AND key = $3";
const GET_KV: &str = "SELECT value FROM kv WHERE tenant = $1 AND bucket = $2 AND key = $3";
const LIST_KV: &str =
    "SELECT key FROM kv WHERE tenant = $1 AND bucket = $2 ORDER BY key LIMIT $3 OFFSET $4";
const INSERT_EVENT: &str =
    "INSERT INTO events (tenant, kind, idempotency_key, received_at_ms, json)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id";
/// Take a lease that is free, expired or the holder's own (then renewed); one row changed
/// when taken. Row-locked: two processes taking it at once, one wins.
const TAKE_LEASE: &str = "INSERT INTO leases (name, holder, expires_at_ms) VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
    WHERE leases.holder = excluded.holder OR leases.expires_at_ms <= $4";
const TENANT_COLUMNS: &str =
    "t.id, t.waba_id, t.phone_number_id, t.display_phone_number, t.graph_origin,
    t.app_secret, t.verify_token, t.created_at, t.settings,
    ARRAY(SELECT n.phone_number_id FROM tenant_numbers n WHERE n.tenant = t.id)";

/// Why a call failed: the server (or the connection), or a rule of ours.
enum Fail {
    Pg(tokio_postgres::Error),
    Storage(StorageError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Self {
        Fail::Storage(e)
    }
}

impl From<PoolError> for Fail {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => Fail::Pg(e),
            PoolError::Timeout(_) => Fail::Storage(StorageError(format!(
                "postgres: no connection within {} s (the server is unreachable or every connection is busy)",
                WAIT.as_secs()
            ))),
            PoolError::Closed => Fail::Storage(gone()),
            other => Fail::Storage(StorageError(format!("postgres: {other}"))),
        }
    }
}

impl Fail {
    fn into_error(self) -> StorageError {
        match self {
            Fail::Storage(e) => e,
            Fail::Pg(e) => StorageError(describe(&e)),
        }
    }

    /// The connection it ran on turned out closed (the query never ran, or its outcome is
    /// unknown): closed under it, or ended by the server, which says so first
    /// (`57P01` administrator command, `57P02` crash, class `08` connection exceptions).
    fn closed(&self) -> bool {
        match self {
            Fail::Pg(e) => {
                e.is_closed()
                    || e.code().is_some_and(|c| {
                        let c = c.code();
                        c == "57P01" || c == "57P02" || c.starts_with("08")
                    })
            }
            Fail::Storage(_) => false,
        }
    }
}

/// A driver error for a human: the server's primary message and SQLSTATE (its DETAIL can
/// quote values and is left out), or what went wrong with the connection.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("postgres: {} (SQLSTATE {})", db.message(), db.code().code());
    }
    match std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>()) {
        Some(io) => format!("postgres: {e}: {io}"),
        None => format!("postgres: {e}"),
    }
}

type Step<T> = std::result::Result<T, Fail>;

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

/// A blocking connection of its own to `url`, with the same TLS as the backend's (for
/// tools and tests that run their own SQL). Call it outside a tokio runtime.
pub fn client(url: &str) -> Result<::postgres::Client> {
    let (config, tls) = settings(url)?;
    let config = ::postgres::Config::from(config);
    match tls {
        Some(tls) => config.connect(tls),
        None => config.connect(NoTls),
    }
    .map_err(|e| StorageError(describe(&e)))
}

fn gone() -> StorageError {
    StorageError("postgres: the backend is shut down".into())
}

/// The PostgreSQL backend: a pool of [`POOL`] connections on a runtime of its own.
///
/// [`Backend::scrub`] does nothing here: PostgreSQL does not promise that old row
/// versions are ever zeroed on disk. A replaced or deleted value stays in the table's
/// files until VACUUM lets its space be reused and something overwrites it, and in the
/// write-ahead log, its archives and replicas. Secrets reach storage sealed by the host's
/// vault; retire an old master key with that in mind.
pub struct Postgres {
    pool: Pool,
    /// How to open a connection of its own (a `LISTEN`er).
    dial: (Config, Option<MakeRustlsConnect>),
    /// Where the connections' tasks and every query run; shut down when dropped.
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pool.close();
        if let Some(rt) = self.runtime.take() {
            // Not `drop`: that would wait, and a `Postgres` may be dropped on an async worker.
            rt.shutdown_background();
        }
    }
}

impl Postgres {
    /// Connect to `url` (`postgres://user:password@host:port/db`, or any form
    /// tokio-postgres takes, `?options=-csearch_path%3Dname` for another schema), bring
    /// the schema up to date and number any event a stopped host left unnumbered. Fails if
    /// the server can't be reached.
    pub fn connect(url: &str) -> Result<Self> {
        let (config, tls) = settings(url)?;
        let dial = (config.clone(), tls.clone());
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls {
            Some(tls) => Manager::from_config(config, tls, manager_config),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wa-postgres")
            .enable_all()
            .build()
            .map_err(|e| StorageError(format!("postgres: could not start its runtime: {e}")))?;
        let pool = {
            // The pool's timeouts need a runtime in scope.
            let _enter = runtime.enter();
            Pool::builder(manager)
                .max_size(POOL)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(WAIT))
                .create_timeout(Some(WAIT))
                .build()
                .map_err(|e| StorageError(format!("postgres: {e}")))?
        };
        let pg = Postgres {
            pool,
            dial,
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        };
        pg.wait(false, migrate)?;
        pg.wait(false, |pool| async move { sequence(&pool).await })?;
        pg.handle.spawn(number_what_waits(pg.pool.clone()));
        Ok(pg)
    }

    /// Call `wake` for every notification on `channel`, on a connection of its own, for
    /// as long as the backend lives. A lost connection is made again after a second (and
    /// `wake` called then: a notification may have been missed meanwhile).
    fn listen(&self, channel: &'static str, wake: std::sync::Arc<dyn Fn() + Send + Sync>) {
        let (config, tls) = self.dial.clone();
        self.handle.spawn(async move {
            loop {
                let ended = match tls.clone() {
                    Some(tls) => match config.connect(tls).await {
                        Ok((client, conn)) => listening(channel, client, conn, &*wake).await,
                        Err(e) => Err(e),
                    },
                    None => match config.connect(NoTls).await {
                        Ok((client, conn)) => listening(channel, client, conn, &*wake).await,
                        Err(e) => Err(e),
                    },
                };
                if let Err(e) = ended {
                    tracing::warn!("postgres: listening on {channel}: {}", describe(&e));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                wake();
            }
        });
    }

    /// Run `op` with the pool on the backend's runtime and hand its result to `reply`. A
    /// read (`retry`) whose connection turned out closed is tried again, on the next
    /// connection, as many times as the pool has connections.
    fn start<T, F, Fut>(&self, retry: bool, op: F, reply: impl FnOnce(Result<T>) + Send + 'static)
    where
        T: Send + 'static,
        F: Fn(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Step<T>> + Send,
    {
        let pool = self.pool.clone();
        self.handle.spawn(async move {
            let mut result = op(pool.clone()).await;
            let mut tries = 1;
            while retry && tries <= POOL && result.as_ref().is_err_and(Fail::closed) {
                result = op(pool.clone()).await;
                tries += 1;
            }
            reply(result.map_err(Fail::into_error));
        });
    }

    /// Run `op` and wait for its answer: for callers that are not async.
    fn wait<T, F, Fut>(&self, retry: bool, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Step<T>> + Send,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.start(retry, op, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().map_err(|_| gone())?
    }

    /// Run `op`; its answer as a future that holds no thread while it waits.
    fn later<'a, T, F, Fut>(&self, retry: bool, op: F) -> KvFuture<'a, T>
    where
        T: Send + Unpin + 'static,
        F: Fn(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Step<T>> + Send,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.start(retry, op, move |r| {
            let _ = tx.send(r);
        });
        KvFuture::later(async move { rx.await.map_err(|_| gone())? })
    }

    /// A read, tried again on a fresh connection if its connection was closed.
    fn read<T, F, Fut>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Step<T>> + Send,
    {
        self.wait(true, op)
    }

    /// A write: never tried again (it may have committed before the connection broke).
    fn write<T, F, Fut>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = Step<T>> + Send,
    {
        self.wait(false, op)
    }

    /// Whether this backend's connections are encrypted (`pg_stat_ssl`, of one of them).
    pub fn encrypted(&self) -> Result<bool> {
        self.read(|pool| async move {
            let row = pool
                .get()
                .await?
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await?;
            Ok(row.get::<_, bool>(0))
        })
    }

    fn query_tenants(
        &self,
        filter: &'static str,
        arg: Option<String>,
    ) -> Result<Vec<TenantRecord>> {
        self.read(move |pool| {
            let arg = arg.clone();
            async move {
                let c = pool.get().await?;
                let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants t {filter} ORDER BY t.id");
                let rows = match &arg {
                    Some(a) => c.query(&sql, &[a]).await?,
                    None => c.query(&sql, &[]).await?,
                };
                rows.iter().map(tenant_from_row).collect()
            }
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
async fn write_numbers(tx: &deadpool_postgres::Transaction<'_>, t: &TenantRecord) -> Step<()> {
    tx.execute("DELETE FROM tenant_numbers WHERE tenant = $1", &[&t.id])
        .await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO tenant_numbers (phone_number_id, tenant) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .await?;
    for n in &t.numbers {
        if tx.execute(&insert, &[n, &t.id]).await? == 0 {
            return Err(StorageError(format!(
                "phone number id {n} already belongs to another tenant"
            ))
            .into());
        }
    }
    Ok(())
}

/// `LISTEN` on `channel`, in the connection's schema (`{channel}:{digest}`), and call
/// `wake` for each notification, until the connection ends.
async fn listening<S, T>(
    channel: &str,
    client: tokio_postgres::Client,
    mut conn: tokio_postgres::Connection<S, T>,
    wake: &(dyn Fn() + Send + Sync),
) -> std::result::Result<(), tokio_postgres::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let listen = async {
        let digest: String = client
            .query_one("SELECT left(md5(current_schema()), 16)", &[])
            .await?
            .try_get(0)?;
        client
            .batch_execute(&format!("LISTEN \"{channel}:{digest}\""))
            .await
    };
    tokio::pin!(listen);
    let mut listened = false;
    loop {
        tokio::select! {
            r = &mut listen, if !listened => {
                r?;
                listened = true;
            }
            m = std::future::poll_fn(|cx| conn.poll_message(cx)) => match m {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => wake(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}

/// A batch's writes and events, owned (they cross to the backend's runtime). The
/// key-value writes are merged across its jobs (the last write of a key wins, as applying
/// them in order would leave it) and kept in key order, so that two batches lock rows in
/// the same order and never wait on each other in a circle.
struct OwnedBatch {
    writes: BTreeMap<FullKey, (Option<Vec<u8>>, i64)>,
    events: Vec<(Vec<NewEvent>, i64)>,
    progress: Vec<(String, crate::outbox::News, i64)>,
}

/// A key with its tenant and bucket.
type FullKey = (String, String, String);

/// A batch's transaction: its key-value writes in key order, then its events, each job's
/// in order; per job and event, whether the event was new.
async fn write_jobs(pool: &Pool, batch: &OwnedBatch) -> Step<Vec<Vec<bool>>> {
    let mut c = pool.get().await?;
    let tx = c.transaction().await?;
    let upsert = tx.prepare_cached(UPSERT_KV).await?;
    let delete = tx.prepare_cached(DELETE_KV).await?;
    let insert = tx.prepare_cached(INSERT_EVENT).await?;
    for ((t, b, k), (v, at)) in &batch.writes {
        match v {
            Some(v) => tx.execute(&upsert, &[t, b, k, v, at]).await?,
            None => tx.execute(&delete, &[t, b, k]).await?,
        };
    }
    let mut out = Vec::with_capacity(batch.events.len());
    for (events, at) in &batch.events {
        let mut new = Vec::with_capacity(events.len());
        for e in events {
            let row = tx
                .query_opt(
                    &insert,
                    &[&e.tenant, &e.kind, &e.idempotency_key, at, &e.json],
                )
                .await?;
            new.push(row.is_some());
        }
        out.push(new);
    }
    for (tenant, p, at) in &batch.progress {
        outbox::advance(&tx, tenant, std::slice::from_ref(p), *at).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// A deadlock or serialization failure: the server rolled the transaction back whole, and
/// it can be run again.
fn must_retry(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// Get a counter's value and add `delta` to it, in one transaction under its row's lock.
async fn increment(pool: Pool, t: String, b: String, k: String, delta: u64) -> Step<u64> {
    let mut c = pool.get().await?;
    let tx = c.transaction().await?;
    // Create the counter at 0 if absent, and lock its row either way: a concurrent
    // increment (from any process) waits here until this one commits.
    let zero: &[u8] = b"0";
    let row = tx
        .query_one(
            "INSERT INTO kv (tenant, bucket, key, value, updated_at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, bucket, key) DO UPDATE SET updated_at_ms = kv.updated_at_ms
             RETURNING value",
            &[&t, &b, &k, &zero, &now_ms()],
        )
        .await?;
    let current: Vec<u8> = row.try_get(0)?;
    let current = parse_counter(&current)
        .ok_or_else(|| StorageError(format!("the value under {k} is not a counter")))?;
    let next = current
        .checked_add(delta)
        .ok_or_else(|| StorageError(format!("the counter under {k} would overflow")))?;
    let upsert = tx.prepare_cached(UPSERT_KV).await?;
    tx.execute(
        &upsert,
        &[&t, &b, &k, &next.to_string().into_bytes(), &now_ms()],
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}

async fn kv_get(pool: Pool, t: String, b: String, k: String) -> Step<Option<Vec<u8>>> {
    let c = pool.get().await?;
    let get = c.prepare_cached(GET_KV).await?;
    let row = c.query_opt(&get, &[&t, &b, &k]).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

async fn kv_set(pool: Pool, t: String, b: String, k: String, v: Vec<u8>) -> Step<()> {
    let c = pool.get().await?;
    let upsert = c.prepare_cached(UPSERT_KV).await?;
    c.execute(&upsert, &[&t, &b, &k, &v, &now_ms()]).await?;
    Ok(())
}

async fn kv_delete(pool: Pool, t: String, b: String, k: String) -> Step<()> {
    let c = pool.get().await?;
    let delete = c.prepare_cached(DELETE_KV).await?;
    c.execute(&delete, &[&t, &b, &k]).await?;
    Ok(())
}

async fn kv_list(pool: Pool, t: String, b: String, offset: u64, limit: u32) -> Step<Vec<String>> {
    let (offset, limit) = (i64::try_from(offset).unwrap_or(i64::MAX), i64::from(limit));
    let c = pool.get().await?;
    let list = c.prepare_cached(LIST_KV).await?;
    let rows = c.query(&list, &[&t, &b, &limit, &offset]).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?)
}

/// Owned copies of a key's three names.
fn names(tenant: &str, bucket: &str, key: &str) -> (String, String, String) {
    (tenant.to_string(), bucket.to_string(), key.to_string())
}

impl Backend for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn outbox(&self) -> Option<&dyn crate::outbox::OutboxBackend> {
        Some(self)
    }

    fn insert_tenant(&self, t: &TenantRecord) -> Result<()> {
        let mut t = t.clone();
        t.normalize_numbers();
        let settings = settings_json(&t)?;
        self.write(move |pool| {
            let (t, settings) = (t.clone(), settings.clone());
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                let n = tx.execute(
                    "INSERT INTO tenants (id, waba_id, phone_number_id, display_phone_number, graph_origin, app_secret, verify_token, created_at, settings)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                    &[&t.id, &t.waba_id, &t.phone_number_id, &t.display_phone_number, &t.graph_origin,
                      &t.app_secret_sealed, &t.verify_token_sealed, &t.created_at, &settings],
                ).await?;
                if n == 0 {
                    return Err(StorageError(format!("a tenant with id {} already exists", t.id)).into());
                }
                write_numbers(&tx, &t).await?;
                tx.commit().await?;
                Ok(())
            }
        })
    }

    fn update_tenant(&self, t: &TenantRecord) -> Result<()> {
        let mut t = t.clone();
        t.normalize_numbers();
        let settings = settings_json(&t)?;
        self.write(move |pool| {
            let (t, settings) = (t.clone(), settings.clone());
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                let n = tx.execute(
                    "UPDATE tenants SET waba_id = $2, phone_number_id = $3, display_phone_number = $4, graph_origin = $5,
                     app_secret = $6, verify_token = $7, settings = $8 WHERE id = $1",
                    &[&t.id, &t.waba_id, &t.phone_number_id, &t.display_phone_number, &t.graph_origin,
                      &t.app_secret_sealed, &t.verify_token_sealed, &settings],
                ).await?;
                if n == 0 {
                    return Err(StorageError(format!("no tenant named {}", t.id)).into());
                }
                write_numbers(&tx, &t).await?;
                tx.commit().await?;
                Ok(())
            }
        })
    }

    fn delete_tenant(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        let existed = self.write(move |pool| {
            let id = id.clone();
            async move {
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                let n = tx
                    .execute("DELETE FROM tenants WHERE id = $1", &[&id])
                    .await?;
                tx.execute("DELETE FROM tenant_numbers WHERE tenant = $1", &[&id])
                    .await?;
                tx.execute("DELETE FROM kv WHERE tenant = $1", &[&id])
                    .await?;
                tx.commit().await?;
                Ok(n > 0)
            }
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
        let (t, b, k) = names(tenant, bucket, key);
        self.read(move |pool| kv_get(pool, t.clone(), b.clone(), k.clone()))
    }

    fn kv_get_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, Option<Vec<u8>>> {
        let (t, b, k) = names(tenant, bucket, key);
        self.later(true, move |pool| {
            kv_get(pool, t.clone(), b.clone(), k.clone())
        })
    }

    fn kv_set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()> {
        let ((t, b, k), v) = (names(tenant, bucket, key), value.to_vec());
        self.write(move |pool| kv_set(pool, t.clone(), b.clone(), k.clone(), v.clone()))
    }

    fn kv_set_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        value: &'a [u8],
    ) -> KvFuture<'a, ()> {
        let ((t, b, k), v) = (names(tenant, bucket, key), value.to_vec());
        self.later(false, move |pool| {
            kv_set(pool, t.clone(), b.clone(), k.clone(), v.clone())
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
        let (t, b, k) = names(tenant, bucket, key);
        let (expected, v) = (expected.to_vec(), value.to_vec());
        self.write(move |pool| {
            let (t, b, k, expected, v) = (t.clone(), b.clone(), k.clone(), expected.clone(), v.clone());
            async move {
                let n = pool.get().await?.execute(
                    "UPDATE kv SET value = $5, updated_at_ms = $6 WHERE tenant = $1 AND bucket = $2 AND key = $3 AND value = $4",
                    &[&t, &b, &k, &expected, &v, &now_ms()],
                ).await?;
                Ok(n == 1)
            }
        })
    }

    fn kv_delete(&self, tenant: &str, bucket: &str, key: &str) -> Result<()> {
        let (t, b, k) = names(tenant, bucket, key);
        self.write(move |pool| kv_delete(pool, t.clone(), b.clone(), k.clone()))
    }

    fn kv_delete_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
    ) -> KvFuture<'a, ()> {
        let (t, b, k) = names(tenant, bucket, key);
        self.later(false, move |pool| {
            kv_delete(pool, t.clone(), b.clone(), k.clone())
        })
    }

    fn kv_list(&self, tenant: &str, bucket: &str, offset: u64, limit: u32) -> Result<Vec<String>> {
        let (t, b) = (tenant.to_string(), bucket.to_string());
        self.read(move |pool| kv_list(pool, t.clone(), b.clone(), offset, limit))
    }

    fn kv_list_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        offset: u64,
        limit: u32,
    ) -> KvFuture<'a, Vec<String>> {
        let (t, b) = (tenant.to_string(), bucket.to_string());
        self.later(true, move |pool| {
            kv_list(pool, t.clone(), b.clone(), offset, limit)
        })
    }

    fn kv_scan(&self, bucket: &str) -> Result<Vec<(String, String, Vec<u8>)>> {
        let b = bucket.to_string();
        self.read(move |pool| {
            let b = b.clone();
            async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT tenant, key, value FROM kv WHERE bucket = $1 ORDER BY tenant, key",
                        &[&b],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<std::result::Result<_, tokio_postgres::Error>>()?)
            }
        })
    }

    fn kv_increment(&self, tenant: &str, bucket: &str, key: &str, delta: u64) -> Result<u64> {
        let (t, b, k) = names(tenant, bucket, key);
        self.write(move |pool| increment(pool, t.clone(), b.clone(), k.clone(), delta))
    }

    fn kv_increment_async<'a>(
        &'a self,
        tenant: &'a str,
        bucket: &'a str,
        key: &'a str,
        delta: u64,
    ) -> KvFuture<'a, u64> {
        let (t, b, k) = names(tenant, bucket, key);
        self.later(false, move |pool| {
            increment(pool, t.clone(), b.clone(), k.clone(), delta)
        })
    }

    fn sweep(&self, bucket: &str, before_ms: i64) -> Result<usize> {
        let b = bucket.to_string();
        self.write(move |pool| {
            let b = b.clone();
            async move {
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "DELETE FROM kv WHERE bucket = $1 AND updated_at_ms < $2",
                        &[&b, &before_ms],
                    )
                    .await?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        })
    }

    /// Nothing to do: see [`Postgres`] (PostgreSQL does not promise old row versions are
    /// zeroed on disk, and `VACUUM` would not zero them either).
    fn scrub(&self) -> Result<()> {
        Ok(())
    }

    /// One transaction for the batch's writes and events, then their place in the log
    /// ([`SEQUENCE`]). If numbering fails after the commit, the events are durable all the
    /// same: the next commit (of any process) numbers them, or [`number_what_waits`]
    /// within a second.
    fn write_batch(&self, jobs: &[Batch<'_>]) -> Result<Vec<Vec<bool>>> {
        let mut batch = OwnedBatch {
            writes: BTreeMap::new(),
            events: Vec::with_capacity(jobs.len()),
            progress: Vec::new(),
        };
        for j in jobs {
            for (t, b, k, v) in j.writes() {
                batch.writes.insert(
                    (t.to_string(), b.to_string(), k.to_string()),
                    (v.map(<[u8]>::to_vec), j.now_ms),
                );
            }
            batch.events.push((j.events.to_vec(), j.now_ms));
            batch.progress.extend(
                j.progress
                    .iter()
                    .map(|(t, p)| (t.clone(), p.clone(), j.now_ms)),
            );
        }
        let batch = std::sync::Arc::new(batch);
        let out = self.write(move |pool| {
            let batch = batch.clone();
            async move {
                // Without a global lock, two processes' batches can wait on each other (the
                // same delivery's events, inserted in another order); the server aborts
                // one, whose transaction rolled back whole: it is written again.
                let mut tries = 1;
                loop {
                    match write_jobs(&pool, &batch).await {
                        Err(Fail::Pg(e)) if tries < 4 && must_retry(&e) => tries += 1,
                        other => return other,
                    }
                }
            }
        })?;
        if out.iter().flatten().any(|new| *new)
            && let Err(e) = self.write(|pool| async move { sequence(&pool).await })
        {
            tracing::warn!(
                "events committed but not yet numbered in the log ({e}); numbered within a second"
            );
        }
        Ok(out)
    }

    fn events(&self, tenant: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<EventRow>> {
        let tenant = tenant.map(str::to_string);
        let limit = i64::from(limit);
        self.read(move |pool| {
            let tenant = tenant.clone();
            async move {
                let c = pool.get().await?;
                // One statement each: a prepared statement's plan must serve every value,
                // and `($2 IS NULL OR tenant = $2)` would keep a tenant's listing off
                // `events_tenant`.
                let select = c
                    .prepare_cached(match tenant {
                        Some(_) => {
                            "SELECT seq, tenant, kind, idempotency_key, received_at_ms, json FROM events
                             WHERE tenant = $2 AND seq > $1 ORDER BY seq LIMIT $3"
                        }
                        None => {
                            "SELECT seq, tenant, kind, idempotency_key, received_at_ms, json FROM events
                             WHERE seq > $1 AND $2::text IS NULL ORDER BY seq LIMIT $3"
                        }
                    })
                    .await?;
                let rows = c.query(&select, &[&after_seq, &tenant, &limit]).await?;
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
                    .collect::<std::result::Result<_, tokio_postgres::Error>>()?)
            }
        })
    }

    fn last_seq(&self) -> Result<i64> {
        self.read(|pool| async move {
            Ok(pool
                .get()
                .await?
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM events", &[])
                .await?
                .try_get(0)?)
        })
    }

    fn counts_after(&self, after_seq: i64) -> Result<Vec<(String, i64)>> {
        self.read(move |pool| async move {
            let rows = pool.get().await?.query(
                "SELECT COALESCE(tenant, ''), COUNT(*) FROM events WHERE seq > $1 GROUP BY 1 ORDER BY 1",
                &[&after_seq],
            ).await?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<std::result::Result<_, tokio_postgres::Error>>()?)
        })
    }

    fn cursor(&self, name: &str) -> Result<Option<i64>> {
        let name = name.to_string();
        self.read(move |pool| {
            let name = name.clone();
            async move {
                let row = pool
                    .get()
                    .await?
                    .query_opt("SELECT seq FROM cursors WHERE name = $1", &[&name])
                    .await?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }
        })
    }

    fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        let name = name.to_string();
        self.write(move |pool| {
            let name = name.clone();
            async move {
                pool.get().await?.execute(
                    "INSERT INTO cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                    &[&name, &seq],
                ).await?;
                Ok(())
            }
        })
    }

    fn add_dead_letter(&self, sink: &str, seq: i64, reason: &str, at_ms: i64) -> Result<()> {
        let (sink, reason) = (sink.to_string(), reason.to_string());
        self.write(move |pool| {
            let (sink, reason) = (sink.clone(), reason.clone());
            async move {
                pool.get().await?.execute(
                    "INSERT INTO dead_letters (sink, seq, reason, at_ms) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (sink, seq) DO UPDATE SET reason = excluded.reason, at_ms = excluded.at_ms",
                    &[&sink, &seq, &reason, &at_ms],
                ).await?;
                Ok(())
            }
        })
    }

    fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>> {
        let sink = sink.to_string();
        self.read(move |pool| {
            let sink = sink.clone();
            async move {
                Ok(pool
                    .get()
                    .await?
                    .query(
                        "SELECT seq, reason, at_ms FROM dead_letters WHERE sink = $1 ORDER BY seq",
                        &[&sink],
                    )
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(DeadLetter {
                            seq: r.try_get(0)?,
                            reason: r.try_get(1)?,
                            at_ms: r.try_get(2)?,
                        })
                    })
                    .collect::<std::result::Result<_, tokio_postgres::Error>>()?)
            }
        })
    }

    fn remove_dead_letter(&self, sink: &str, seq: i64) -> Result<bool> {
        let sink = sink.to_string();
        self.write(move |pool| {
            let sink = sink.clone();
            async move {
                Ok(pool
                    .get()
                    .await?
                    .execute(
                        "DELETE FROM dead_letters WHERE sink = $1 AND seq = $2",
                        &[&sink, &seq],
                    )
                    .await?
                    > 0)
            }
        })
    }

    fn lease(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |pool| {
            let (name, holder) = (name.clone(), holder.clone());
            async move {
                let c = pool.get().await?;
                let take = c.prepare_cached(TAKE_LEASE).await?;
                Ok(
                    c.execute(&take, &[&name, &holder, &(now_ms + ttl_ms), &now_ms])
                        .await?
                        == 1,
                )
            }
        })
    }

    fn release(&self, name: &str, holder: &str) -> Result<()> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |pool| {
            let (name, holder) = (name.clone(), holder.clone());
            async move {
                pool.get()
                    .await?
                    .execute(
                        "DELETE FROM leases WHERE name = $1 AND holder = $2",
                        &[&name, &holder],
                    )
                    .await?;
                Ok(())
            }
        })
    }

    fn leases(&self) -> Result<Vec<Lease>> {
        self.read(|pool| async move {
            Ok(pool
                .get()
                .await?
                .query(
                    "SELECT name, holder, expires_at_ms FROM leases ORDER BY name",
                    &[],
                )
                .await?
                .iter()
                .map(|r| {
                    Ok(Lease {
                        name: r.try_get(0)?,
                        holder: r.try_get(1)?,
                        expires_at_ms: r.try_get(2)?,
                    })
                })
                .collect::<std::result::Result<_, tokio_postgres::Error>>()?)
        })
    }
}
