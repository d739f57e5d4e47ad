//! One suite, written once, run against every backend: SQLite in memory (`sqlite_memory`),
//! SQLite in a file (`sqlite_file`) and PostgreSQL (`postgres`) when `WA_POSTGRES_URL`
//! names a server (`.ci/postgres.sh` starts one and prints its URL). Without it the
//! PostgreSQL cases say "skipped" on stderr and pass, unless `WA_REQUIRE_POSTGRES=1`.
//!
//! Isolation on PostgreSQL: each test creates a schema of its own (`wa_test_<pid>_<n>`),
//! connects with `options=-csearch_path=<schema>` and drops the schema when it ends. The
//! backend names its tables unqualified, so they, their sequences and indexes, and the
//! events lock (keyed by the events table's OID) are the test's own, with nothing in the
//! backend for tests; tests run in parallel on one database without seeing each other.
//!
//! The tests in `shared:` open several `Database`s over the same data, as several host
//! processes do: they run on the SQLite file and on PostgreSQL.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use whatsapp_storage::journal::{Batch, Staged, WriteSet};
use whatsapp_storage::postgres::Postgres;
use whatsapp_storage::sqlite::Sqlite;
use whatsapp_storage::{
    Backend, Database, DeadLetter, EventRow, KvBackend, Lease, NewEvent, Result, SECRETS_BUCKET,
    StorageError, TenantRecord,
};

// ---------------------------------------------------------------------------------------
// The stores and the harness.

/// Where one test's data lives.
enum Store {
    Memory,
    File {
        dir: PathBuf,
    },
    Postgres {
        admin_url: String,
        url: String,
        schema: String,
    },
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn in_memory() -> Option<Store> {
    Some(Store::Memory)
}

fn in_file() -> Option<Store> {
    let dir = std::env::temp_dir().join(format!("wa-conformance-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    Some(Store::File { dir })
}

fn on_postgres() -> Option<Store> {
    let admin_url = match std::env::var("WA_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("WA_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!(
                "WA_REQUIRE_POSTGRES=1 but WA_POSTGRES_URL is not set (.ci/postgres.sh prints one)"
            )
        }
        _ => {
            eprintln!(
                "skipped: set WA_POSTGRES_URL (.ci/postgres.sh prints one) to run this test on PostgreSQL"
            );
            return None;
        }
    };
    let schema = format!("wa_test_{}", unique());
    admin(&admin_url, format!("CREATE SCHEMA {schema}")).expect("create the test's schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
    Some(Store::Postgres {
        admin_url,
        url,
        schema,
    })
}

/// Run SQL on its own connection, from a thread of its own (the `postgres` client can't
/// run inside a tokio runtime); the first column of the rows it returns, as text.
fn admin(url: &str, sql: String) -> std::result::Result<Vec<String>, String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut c = whatsapp_storage::postgres::client(&url).map_err(|e| e.to_string())?;
        let messages = c.simple_query(&sql).map_err(|e| e.to_string())?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                ::postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_string()),
                _ => None,
            })
            .collect())
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_string())?
}

impl Store {
    /// A backend over this store's data (a new, empty database for `Memory`).
    fn backend(&self) -> Box<dyn Backend> {
        match self {
            Store::Memory => Box::new(Sqlite::open_in_memory().unwrap()),
            Store::File { dir } => Box::new(Sqlite::open(&dir.join("db.sqlite3")).unwrap()),
            Store::Postgres { url, .. } => Box::new(Postgres::connect(url).unwrap()),
        }
    }

    /// A `Database` over this store's data: another "process" each time, but for `Memory`
    /// (a new database each time).
    fn open(&self) -> Database {
        match self {
            Store::Memory => Database::open_in_memory().unwrap(),
            Store::File { dir } => {
                Database::open_url(&format!("sqlite:{}", dir.join("db.sqlite3").display())).unwrap()
            }
            Store::Postgres { url, .. } => Database::open_url(url).unwrap(),
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        match self {
            Store::Memory => {}
            Store::File { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Store::Postgres {
                admin_url, schema, ..
            } => {
                let _ = admin(admin_url, format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn run(make: fn() -> Option<Store>, test: fn(&Store)) {
    if let Some(store) = make() {
        test(&store);
    }
}

macro_rules! suite {
    (
        every: [$($t:ident),* $(,)?],
        shared: [$($s:ident),* $(,)?] $(,)?
    ) => {
        mod sqlite_memory {
            $( #[test] fn $t() { super::run(super::in_memory, super::$t) } )*
        }
        mod sqlite_file {
            $( #[test] fn $t() { super::run(super::in_file, super::$t) } )*
            $( #[test] fn $s() { super::run(super::in_file, super::$s) } )*
        }
        mod postgres {
            $( #[test] fn $t() { super::run(super::on_postgres, super::$t) } )*
            $( #[test] fn $s() { super::run(super::on_postgres, super::$s) } )*
        }
    };
}

suite! {
    every: [
        tenant_round_trips_with_its_numbers_default_first,
        a_tenant_without_a_default_number_takes_its_first,
        a_duplicate_tenant_id_is_refused,
        a_number_of_another_tenant_is_refused_and_nothing_is_kept,
        update_replaces_fields_and_numbers,
        a_refused_update_changes_nothing,
        delete_removes_numbers_and_kv_but_keeps_events,
        tenants_are_listed_by_id,
        namespaces_do_not_leak_between_tenants_or_buckets,
        set_overwrites_and_delete_removes,
        list_keys_pages_in_order,
        increment_counts_from_zero_and_refuses_non_counters,
        concurrent_increments_give_distinct_values,
        replace_is_compare_and_set,
        scan_lists_a_bucket_across_tenants,
        sweep_deletes_what_was_not_written_since,
        events_come_in_order_with_their_fields,
        an_event_is_recorded_once_per_tenant_and_key,
        cursors_start_unset_and_move,
        dead_letters_are_kept_per_sink_in_order_and_taken_off,
        counts_after_counts_per_tenant,
        last_seq_is_zero_then_the_newest,
        staged_writes_are_seen_at_once_and_committed_with_their_events,
        a_failed_commit_loses_its_marks_and_refuses_what_was_staged_on_them,
        many_concurrent_commits_all_land,
        outbox_keys_make_one_entry_and_a_batch_is_all_or_none,
        outbox_claims_go_by_priority_time_and_id_and_skip_holds,
        outbox_settles_only_its_holders_claims_and_never_moves_back,
        outbox_statuses_move_entries_forward_only,
        outbox_entries_of_a_stopped_host_become_unknown,
        outbox_cancel_and_tally_by_campaign,
        outbox_progress_commits_with_its_events,
        outbox_replies_go_to_the_campaign_that_reached_the_contact_last,
        reach_counts_members_once_within_the_window_up_to_the_limit,
    ],
    shared: [
        events_survive_reopening,
        two_processes_commit_concurrently_and_a_reader_never_skips,
        a_number_is_claimed_by_one_process_only,
        increments_from_two_processes_are_distinct,
        a_lease_goes_to_one_process_at_a_time,
        two_processes_never_claim_one_outbox_entry,
    ],
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn s(v: &str) -> String {
    v.to_string()
}

fn tenant(id: &str, numbers: &[&str]) -> TenantRecord {
    TenantRecord {
        id: s(id),
        numbers: numbers.iter().map(|n| s(n)).collect(),
        created_at: 1_700_000_000,
        ..TenantRecord::default()
    }
}

fn event(tenant: Option<&str>, key: &str) -> NewEvent {
    NewEvent {
        tenant: tenant.map(s),
        kind: s("message"),
        idempotency_key: s(key),
        json: format!("{{\"key\":\"{key}\"}}"),
    }
}

fn writes(tenant: &str, key: &str, value: &[u8]) -> WriteSet {
    let mut w = WriteSet::new(tenant);
    w.put("dedupe", key, Some(value.to_vec()));
    w
}

fn stage(db: &Database, w: Vec<WriteSet>) -> Staged {
    let j = db.journal();
    j.stage(j.generation(), w).unwrap()
}

fn keys(rows: &[EventRow]) -> Vec<&str> {
    rows.iter().map(|r| r.idempotency_key.as_str()).collect()
}

/// A backend whose `write_batch` fails on demand (to make a group commit fail).
struct Flaky {
    inner: Box<dyn Backend>,
    fail: Arc<AtomicBool>,
}

impl Backend for Flaky {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn insert_tenant(&self, t: &TenantRecord) -> Result<()> {
        self.inner.insert_tenant(t)
    }
    fn update_tenant(&self, t: &TenantRecord) -> Result<()> {
        self.inner.update_tenant(t)
    }
    fn delete_tenant(&self, id: &str) -> Result<bool> {
        self.inner.delete_tenant(id)
    }
    fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        self.inner.tenant(id)
    }
    fn tenant_by_phone_number_id(&self, n: &str) -> Result<Option<TenantRecord>> {
        self.inner.tenant_by_phone_number_id(n)
    }
    fn tenants(&self) -> Result<Vec<TenantRecord>> {
        self.inner.tenants()
    }
    fn kv_get(&self, t: &str, b: &str, k: &str) -> Result<Option<Vec<u8>>> {
        self.inner.kv_get(t, b, k)
    }
    fn kv_set(&self, t: &str, b: &str, k: &str, v: &[u8]) -> Result<()> {
        self.inner.kv_set(t, b, k, v)
    }
    fn kv_replace(&self, t: &str, b: &str, k: &str, expected: &[u8], v: &[u8]) -> Result<bool> {
        self.inner.kv_replace(t, b, k, expected, v)
    }
    fn kv_delete(&self, t: &str, b: &str, k: &str) -> Result<()> {
        self.inner.kv_delete(t, b, k)
    }
    fn kv_list(&self, t: &str, b: &str, offset: u64, limit: u32) -> Result<Vec<String>> {
        self.inner.kv_list(t, b, offset, limit)
    }
    fn kv_scan(&self, b: &str) -> Result<Vec<(String, String, Vec<u8>)>> {
        self.inner.kv_scan(b)
    }
    fn kv_increment(&self, t: &str, b: &str, k: &str, delta: u64) -> Result<u64> {
        self.inner.kv_increment(t, b, k, delta)
    }
    fn sweep(&self, b: &str, before_ms: i64) -> Result<usize> {
        self.inner.sweep(b, before_ms)
    }
    fn scrub(&self) -> Result<()> {
        self.inner.scrub()
    }
    fn write_batch(&self, jobs: &[Batch<'_>]) -> Result<Vec<Vec<bool>>> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StorageError("injected failure".into()));
        }
        self.inner.write_batch(jobs)
    }
    fn events(&self, t: Option<&str>, after_seq: i64, limit: u32) -> Result<Vec<EventRow>> {
        self.inner.events(t, after_seq, limit)
    }
    fn last_seq(&self) -> Result<i64> {
        self.inner.last_seq()
    }
    fn counts_after(&self, after_seq: i64) -> Result<Vec<(String, i64)>> {
        self.inner.counts_after(after_seq)
    }
    fn cursor(&self, name: &str) -> Result<Option<i64>> {
        self.inner.cursor(name)
    }
    fn set_cursor(&self, name: &str, seq: i64) -> Result<()> {
        self.inner.set_cursor(name, seq)
    }
    fn add_dead_letter(&self, sink: &str, seq: i64, reason: &str, at_ms: i64) -> Result<()> {
        self.inner.add_dead_letter(sink, seq, reason, at_ms)
    }
    fn dead_letters(&self, sink: &str) -> Result<Vec<DeadLetter>> {
        self.inner.dead_letters(sink)
    }
    fn remove_dead_letter(&self, sink: &str, seq: i64) -> Result<bool> {
        self.inner.remove_dead_letter(sink, seq)
    }
    fn lease(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool> {
        self.inner.lease(name, holder, ttl_ms, now_ms)
    }
    fn release(&self, name: &str, holder: &str) -> Result<()> {
        self.inner.release(name, holder)
    }
    fn leases(&self) -> Result<Vec<Lease>> {
        self.inner.leases()
    }
}

// ---------------------------------------------------------------------------------------
// Tenants.

fn tenant_round_trips_with_its_numbers_default_first(store: &Store) {
    let db = store.open();
    let t = TenantRecord {
        id: s("acme"),
        waba_id: Some(s("999")),
        phone_number_id: Some(s("222")),
        numbers: vec![s("333"), s("111"), s("222")],
        display_phone_number: Some(s("+1 555 0100")),
        graph_origin: Some(s("http://127.0.0.1:9")),
        app_secret_sealed: Some(vec![0, 1, 2, 255]),
        verify_token_sealed: None,
        created_at: 1_700_000_123,
        settings: vec![
            (s("window-policy"), s("strict")),
            (s("keywords"), s("hi,hello")),
        ],
    };
    db.insert_tenant(&t).unwrap();
    let want = TenantRecord {
        numbers: vec![s("222"), s("111"), s("333")],
        ..t.clone()
    };
    assert_eq!(db.tenant("acme").unwrap(), Some(want.clone()));
    for n in ["111", "222", "333"] {
        assert_eq!(
            db.tenant_by_phone_number_id(n).unwrap(),
            Some(want.clone()),
            "number {n}"
        );
    }
    assert_eq!(db.tenant_by_phone_number_id("444").unwrap(), None);
    assert_eq!(db.tenant("nobody").unwrap(), None);
    assert_eq!(db.tenants().unwrap(), vec![want]);
}

fn a_tenant_without_a_default_number_takes_its_first(store: &Store) {
    let db = store.open();
    db.insert_tenant(&tenant("a", &["333", "111", "333"]))
        .unwrap();
    let a = db.tenant("a").unwrap().unwrap();
    assert_eq!(a.phone_number_id.as_deref(), Some("333"));
    assert_eq!(a.numbers, vec!["333", "111"]);
    db.insert_tenant(&tenant("none", &[])).unwrap();
    let none = db.tenant("none").unwrap().unwrap();
    assert_eq!(none.phone_number_id, None);
    assert!(none.numbers.is_empty());
}

fn a_duplicate_tenant_id_is_refused(store: &Store) {
    let db = store.open();
    db.insert_tenant(&tenant("acme", &["111"])).unwrap();
    let err = db.insert_tenant(&tenant("acme", &["222"])).unwrap_err();
    assert_eq!(err.0, "a tenant with id acme already exists");
    assert_eq!(
        db.tenant_by_phone_number_id("222").unwrap(),
        None,
        "nothing of the refused insert is kept"
    );
    assert_eq!(db.tenant("acme").unwrap().unwrap().numbers, vec!["111"]);
}

fn a_number_of_another_tenant_is_refused_and_nothing_is_kept(store: &Store) {
    let db = store.open();
    db.insert_tenant(&tenant("acme", &["111"])).unwrap();
    let err = db
        .insert_tenant(&tenant("beta", &["222", "111"]))
        .unwrap_err();
    assert_eq!(
        err.0,
        "phone number id 111 already belongs to another tenant"
    );
    assert_eq!(db.tenant("beta").unwrap(), None);
    assert_eq!(db.tenant_by_phone_number_id("222").unwrap(), None);
    assert_eq!(
        db.tenant_by_phone_number_id("111").unwrap().unwrap().id,
        "acme"
    );
    assert_eq!(db.tenants().unwrap().len(), 1);
    // The same tenant without the taken number goes in.
    db.insert_tenant(&tenant("beta", &["222"])).unwrap();
    assert_eq!(
        db.tenant_by_phone_number_id("222").unwrap().unwrap().id,
        "beta"
    );
}

fn update_replaces_fields_and_numbers(store: &Store) {
    let db = store.open();
    db.insert_tenant(&tenant("acme", &["111", "222"])).unwrap();
    let mut t = db.tenant("acme").unwrap().unwrap();
    t.waba_id = Some(s("w2"));
    t.phone_number_id = Some(s("555"));
    t.numbers = vec![s("111"), s("555")];
    t.graph_origin = Some(s("http://sandbox"));
    t.verify_token_sealed = Some(vec![9; 40]);
    t.settings = vec![(s("a"), s("b"))];
    t.created_at = 1; // not a field an update changes
    db.update_tenant(&t).unwrap();
    let got = db.tenant("acme").unwrap().unwrap();
    assert_eq!(got.waba_id.as_deref(), Some("w2"));
    assert_eq!(got.numbers, vec!["555", "111"]);
    assert_eq!(got.phone_number_id.as_deref(), Some("555"));
    assert_eq!(got.graph_origin.as_deref(), Some("http://sandbox"));
    assert_eq!(got.verify_token_sealed, Some(vec![9; 40]));
    assert_eq!(got.settings, vec![(s("a"), s("b"))]);
    assert_eq!(got.created_at, 1_700_000_000);
    assert_eq!(
        db.tenant_by_phone_number_id("222").unwrap(),
        None,
        "a dropped number is free"
    );
    assert_eq!(
        db.tenant_by_phone_number_id("555").unwrap().unwrap().id,
        "acme"
    );
    // The dropped number can go to another tenant.
    db.insert_tenant(&tenant("beta", &["222"])).unwrap();
}

fn a_refused_update_changes_nothing(store: &Store) {
    let db = store.open();
    db.insert_tenant(&tenant("acme", &["111"])).unwrap();
    db.insert_tenant(&tenant("beta", &["999"])).unwrap();
    let before = db.tenant("acme").unwrap().unwrap();
    let mut t = before.clone();
    t.waba_id = Some(s("changed"));
    t.numbers = vec![s("111"), s("444"), s("999")];
    let err = db.update_tenant(&t).unwrap_err();
    assert_eq!(
        err.0,
        "phone number id 999 already belongs to another tenant"
    );
    assert_eq!(db.tenant("acme").unwrap(), Some(before));
    assert_eq!(db.tenant_by_phone_number_id("444").unwrap(), None);
    assert_eq!(
        db.tenant_by_phone_number_id("999").unwrap().unwrap().id,
        "beta"
    );
    let err = db.update_tenant(&tenant("ghost", &["777"])).unwrap_err();
    assert_eq!(err.0, "no tenant named ghost");
    assert_eq!(db.tenant_by_phone_number_id("777").unwrap(), None);
    assert_eq!(db.tenants().unwrap().len(), 2);
}

fn delete_removes_numbers_and_kv_but_keeps_events(store: &Store) {
    let db = store.open();
    db.insert_tenant(&tenant("acme", &["111", "222"])).unwrap();
    db.insert_tenant(&tenant("beta", &["333"])).unwrap();
    db.set("acme", "state", "k", b"1").unwrap();
    db.set("acme", SECRETS_BUCKET, "access-token", b"sealed")
        .unwrap();
    db.set("beta", "state", "k", b"2").unwrap();
    db.record_events(&[event(Some("acme"), "e1"), event(Some("beta"), "e2")], 5)
        .unwrap();

    assert!(db.delete_tenant("acme").unwrap());
    assert_eq!(db.tenant("acme").unwrap(), None);
    assert_eq!(db.tenant_by_phone_number_id("111").unwrap(), None);
    assert_eq!(db.tenant_by_phone_number_id("222").unwrap(), None);
    assert_eq!(db.get("acme", "state", "k").unwrap(), None);
    assert_eq!(
        db.get("acme", SECRETS_BUCKET, "access-token").unwrap(),
        None
    );
    assert_eq!(db.get("beta", "state", "k").unwrap(), Some(b"2".to_vec()));
    assert_eq!(
        keys(&db.events(Some("acme"), 0, 10).unwrap()),
        vec!["e1"],
        "its events stay"
    );
    assert_eq!(db.events(None, 0, 10).unwrap().len(), 2);
    assert!(!db.delete_tenant("acme").unwrap(), "gone already");
    // Its numbers are free again.
    db.insert_tenant(&tenant("gamma", &["111"])).unwrap();
}

fn tenants_are_listed_by_id(store: &Store) {
    let db = store.open();
    for id in ["b", "a-2", "C", "a"] {
        db.insert_tenant(&tenant(id, &[])).unwrap();
    }
    let ids: Vec<String> = db.tenants().unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        vec!["C", "a", "a-2", "b"],
        "byte order, whatever the locale"
    );
}

// ---------------------------------------------------------------------------------------
// Key-value.

fn namespaces_do_not_leak_between_tenants_or_buckets(store: &Store) {
    let db = store.open();
    db.set("a", "b", "k", b"1").unwrap();
    assert_eq!(db.get("a", "b", "k").unwrap(), Some(b"1".to_vec()));
    assert_eq!(db.get("z", "b", "k").unwrap(), None);
    assert_eq!(db.get("a", "c", "k").unwrap(), None);
    assert!(db.exists("a", "b", "k").unwrap());
    assert!(!db.exists("z", "b", "k").unwrap());
    assert!(db.list_keys("z", "b", 0, 10).unwrap().is_empty());
    db.delete("z", "b", "k").unwrap();
    assert_eq!(
        db.get("a", "b", "k").unwrap(),
        Some(b"1".to_vec()),
        "another tenant's delete"
    );
}

fn set_overwrites_and_delete_removes(store: &Store) {
    let db = store.open();
    let binary = [0u8, 255, 10, 0, 7];
    db.set("t", "b", "k", &binary).unwrap();
    assert_eq!(db.get("t", "b", "k").unwrap(), Some(binary.to_vec()));
    db.set("t", "b", "k", b"").unwrap();
    assert_eq!(
        db.get("t", "b", "k").unwrap(),
        Some(vec![]),
        "an empty value is a value"
    );
    assert!(db.exists("t", "b", "k").unwrap());
    db.delete("t", "b", "k").unwrap();
    assert_eq!(db.get("t", "b", "k").unwrap(), None);
    db.delete("t", "b", "k").unwrap();
    // A secret replaced and deleted (the backend scrubs after each).
    db.set("t", SECRETS_BUCKET, "s", b"old").unwrap();
    db.set("t", SECRETS_BUCKET, "s", b"new").unwrap();
    assert_eq!(
        db.get("t", SECRETS_BUCKET, "s").unwrap(),
        Some(b"new".to_vec())
    );
    db.delete("t", SECRETS_BUCKET, "s").unwrap();
    assert_eq!(db.get("t", SECRETS_BUCKET, "s").unwrap(), None);
    db.scrub().unwrap();
}

fn list_keys_pages_in_order(store: &Store) {
    let db = store.open();
    for k in ["c", "a", "b", "B"] {
        db.set("t", "b", k, b"").unwrap();
    }
    db.set("t", "other", "x", b"").unwrap();
    assert_eq!(db.list_keys("t", "b", 0, 2).unwrap(), vec!["B", "a"]);
    assert_eq!(db.list_keys("t", "b", 2, 2).unwrap(), vec!["b", "c"]);
    assert_eq!(db.list_keys("t", "b", 3, 10).unwrap(), vec!["c"]);
    assert!(db.list_keys("t", "b", 4, 10).unwrap().is_empty());
    assert!(db.list_keys("t", "b", 0, 0).unwrap().is_empty());
    assert!(db.list_keys("t", "b", u64::MAX, 2).unwrap().is_empty());
}

fn increment_counts_from_zero_and_refuses_non_counters(store: &Store) {
    let db = store.open();
    assert_eq!(db.increment("a", "b", "n", 1).unwrap(), 1);
    assert_eq!(db.increment("a", "b", "n", 5).unwrap(), 6);
    assert_eq!(db.increment("a", "b", "n", 0).unwrap(), 6);
    assert_eq!(
        db.get("a", "b", "n").unwrap(),
        Some(b"6".to_vec()),
        "stored as decimal text"
    );
    assert_eq!(
        db.increment("z", "b", "n", 1).unwrap(),
        1,
        "another tenant's counter"
    );

    db.set("a", "b", "s", b"text").unwrap();
    let err = db.increment("a", "b", "s", 1).unwrap_err();
    assert_eq!(err.0, "the value under s is not a counter");
    assert_eq!(db.get("a", "b", "s").unwrap(), Some(b"text".to_vec()));

    let err = db.increment("a", "b", "n", u64::MAX).unwrap_err();
    assert_eq!(err.0, "the counter under n would overflow");
    assert_eq!(
        db.get("a", "b", "n").unwrap(),
        Some(b"6".to_vec()),
        "unchanged"
    );

    db.set("a", "b", "max", u64::MAX.to_string().as_bytes())
        .unwrap();
    assert_eq!(db.increment("a", "b", "max", 0).unwrap(), u64::MAX);
    assert!(db.increment("a", "b", "max", 1).is_err());
}

fn concurrent_increments_give_distinct_values(store: &Store) {
    let db = Arc::new(store.open());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| db.increment("t", "b", "n", 1).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(
        all,
        (1..=200).collect::<Vec<u64>>(),
        "every increment saw its own value"
    );
    assert_eq!(db.get("t", "b", "n").unwrap(), Some(b"200".to_vec()));
}

fn replace_is_compare_and_set(store: &Store) {
    let db = store.open();
    db.set("t", "b", "k", b"one").unwrap();
    assert!(
        !db.kv_replace("t", "b", "k", b"two", b"three").unwrap(),
        "not what is there"
    );
    assert_eq!(db.get("t", "b", "k").unwrap(), Some(b"one".to_vec()));
    assert!(db.kv_replace("t", "b", "k", b"one", b"two").unwrap());
    assert_eq!(db.get("t", "b", "k").unwrap(), Some(b"two".to_vec()));
    assert!(
        !db.kv_replace("t", "b", "k", b"one", b"x").unwrap(),
        "the old value is gone"
    );
    assert!(
        !db.kv_replace("t", "b", "absent", b"", b"x").unwrap(),
        "absent is not empty"
    );
    assert_eq!(db.get("t", "b", "absent").unwrap(), None);
    assert!(
        !db.kv_replace("u", "b", "k", b"two", b"x").unwrap(),
        "another tenant"
    );

    db.set("t", SECRETS_BUCKET, "token", b"sealed-1").unwrap();
    assert!(
        !db.replace_secret("t", "token", b"sealed-0", b"sealed-2")
            .unwrap()
    );
    assert!(
        db.replace_secret("t", "token", b"sealed-1", b"sealed-2")
            .unwrap()
    );
    assert_eq!(
        db.get("t", SECRETS_BUCKET, "token").unwrap(),
        Some(b"sealed-2".to_vec())
    );
}

fn scan_lists_a_bucket_across_tenants(store: &Store) {
    let db = store.open();
    db.set("b", SECRETS_BUCKET, "x", b"3").unwrap();
    db.set("a", SECRETS_BUCKET, "y", b"2").unwrap();
    db.set("a", SECRETS_BUCKET, "x", b"1").unwrap();
    db.set("a", "state", "x", b"no").unwrap();
    assert_eq!(
        db.kv_scan(SECRETS_BUCKET).unwrap(),
        vec![
            (s("a"), s("x"), b"1".to_vec()),
            (s("a"), s("y"), b"2".to_vec()),
            (s("b"), s("x"), b"3".to_vec()),
        ]
    );
    assert!(db.kv_scan("empty").unwrap().is_empty());
}

fn sweep_deletes_what_was_not_written_since(store: &Store) {
    block_on(async {
        let db = Arc::new(store.open());
        // Written by a commit stamped at 1000 ms.
        let mut b = WriteSet::new("b");
        b.put("dedupe", "old-b", Some(b"1".to_vec()));
        b.put("other", "old", Some(b"1".to_vec()));
        let staged = stage(&db, vec![writes("a", "old", b"1"), b]);
        db.commit(vec![staged], vec![], vec![], 1_000)
            .await
            .unwrap();
        db.set("a", "dedupe", "new", b"1").unwrap();

        assert_eq!(db.sweep("dedupe", 2_000).unwrap(), 2);
        assert_eq!(db.kv_get("a", "dedupe", "old").unwrap(), None);
        assert_eq!(db.kv_get("b", "dedupe", "old-b").unwrap(), None);
        assert_eq!(
            db.kv_get("a", "dedupe", "new").unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(
            db.kv_get("b", "other", "old").unwrap(),
            Some(b"1".to_vec()),
            "another bucket"
        );
        assert_eq!(db.sweep("dedupe", 2_000).unwrap(), 0);
    });
}

// ---------------------------------------------------------------------------------------
// Events.

fn events_come_in_order_with_their_fields(store: &Store) {
    let db = store.open();
    let mut unroutable = event(None, "u1");
    unroutable.kind = s("unroutable");
    assert_eq!(
        db.record_events(
            &[event(Some("t"), "1"), unroutable, event(Some("o"), "2")],
            5
        )
        .unwrap(),
        vec![true, true, true]
    );
    db.record_events(&[event(Some("t"), "3")], 7).unwrap();
    let all = db.events(None, 0, 10).unwrap();
    assert_eq!(keys(&all), vec!["1", "u1", "2", "3"]);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "seqs increase");
    assert!(all[0].seq > 0);
    assert_eq!(
        all[1],
        EventRow {
            seq: all[1].seq,
            tenant: None,
            kind: s("unroutable"),
            idempotency_key: s("u1"),
            received_at_ms: 5,
            json: s("{\"key\":\"u1\"}"),
        }
    );
    assert_eq!(all[3].received_at_ms, 7);
    assert_eq!(all[0].tenant.as_deref(), Some("t"));
    assert_eq!(keys(&db.events(Some("t"), 0, 10).unwrap()), vec!["1", "3"]);
    assert_eq!(
        keys(&db.events(Some("t"), all[0].seq, 10).unwrap()),
        vec!["3"]
    );
    assert_eq!(
        keys(&db.events(None, all[0].seq, 2).unwrap()),
        vec!["u1", "2"]
    );
    assert!(db.events(None, all[3].seq, 10).unwrap().is_empty());
    assert!(db.events(Some("nobody"), 0, 10).unwrap().is_empty());
    assert!(db.events(None, 0, 0).unwrap().is_empty());
}

fn an_event_is_recorded_once_per_tenant_and_key(store: &Store) {
    let db = store.open();
    assert_eq!(
        db.record_events(&[event(Some("a"), "k"), event(Some("a"), "k")], 1)
            .unwrap(),
        vec![true, false],
        "twice in one batch"
    );
    assert_eq!(
        db.record_events(&[event(Some("a"), "k")], 2).unwrap(),
        vec![false],
        "again later"
    );
    assert_eq!(
        db.record_events(&[event(Some("b"), "k")], 3).unwrap(),
        vec![true],
        "another tenant"
    );
    assert_eq!(
        db.record_events(&[event(None, "k"), event(None, "k")], 4)
            .unwrap(),
        vec![true, false],
        "unroutable events too"
    );
    assert_eq!(db.events(None, 0, 10).unwrap().len(), 3);
    assert_eq!(
        db.events(Some("a"), 0, 10).unwrap()[0].received_at_ms,
        1,
        "the first is kept"
    );
    assert_eq!(db.record_events(&[], 5).unwrap(), Vec::<bool>::new());
}

/// A lease is held by one holder until it lapses or is given up: renewed by its holder,
/// refused to another while live, taken by another once expired; of many processes
/// asking at once, exactly one gets it.
fn a_lease_goes_to_one_process_at_a_time(store: &Store) {
    let (a, b) = (store.open(), store.open());
    assert!(a.lease("forward#0", "host-a", 1_000, 10_000).unwrap());
    assert!(
        !b.lease("forward#0", "host-b", 1_000, 10_500).unwrap(),
        "live"
    );
    assert!(
        a.lease("forward#0", "host-a", 1_000, 10_900).unwrap(),
        "renewed"
    );
    assert!(
        !b.lease("forward#0", "host-b", 1_000, 11_800).unwrap(),
        "renewed until 11,900"
    );
    assert!(
        b.lease("forward#0", "host-b", 1_000, 11_900).unwrap(),
        "lapsed"
    );
    assert!(
        !a.lease("forward#0", "host-a", 1_000, 12_000).unwrap(),
        "b's now"
    );
    assert!(a.lease("forward#1", "host-a", 1_000, 12_000).unwrap());
    assert_eq!(
        a.leases().unwrap(),
        vec![
            Lease {
                name: "forward#0".into(),
                holder: "host-b".into(),
                expires_at_ms: 12_900
            },
            Lease {
                name: "forward#1".into(),
                holder: "host-a".into(),
                expires_at_ms: 13_000
            },
        ]
    );
    a.release("forward#0", "host-a").unwrap();
    assert_eq!(
        b.leases().unwrap().len(),
        2,
        "only its holder gives a lease up"
    );
    b.release("forward#0", "host-b").unwrap();
    assert!(
        a.lease("forward#0", "host-a", 1_000, 12_100).unwrap(),
        "given up: free"
    );
    // Sixteen processes' worth of connections race for one lease: one wins.
    let racers: Vec<Arc<Database>> = (0..4).map(|_| Arc::new(store.open())).collect();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let db = racers[i % racers.len()].clone();
            std::thread::spawn(move || db.lease("race", &format!("h{i}"), 60_000, 1).unwrap())
        })
        .collect();
    let won = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1, "exactly one holder");
}

fn dead_letters_are_kept_per_sink_in_order_and_taken_off(store: &Store) {
    let db = store.open();
    assert!(db.dead_letters("forward").unwrap().is_empty());
    db.add_dead_letter("forward", 9, "422 Unprocessable Entity", 100)
        .unwrap();
    db.add_dead_letter("forward", 3, "400 Bad Request", 50)
        .unwrap();
    db.add_dead_letter("other", 3, "410 Gone", 60).unwrap();
    db.add_dead_letter("forward", 9, "400 again", 120).unwrap();
    assert_eq!(
        db.dead_letters("forward").unwrap(),
        vec![
            DeadLetter {
                seq: 3,
                reason: "400 Bad Request".into(),
                at_ms: 50
            },
            DeadLetter {
                seq: 9,
                reason: "400 again".into(),
                at_ms: 120
            },
        ]
    );
    assert!(db.remove_dead_letter("forward", 3).unwrap());
    assert!(!db.remove_dead_letter("forward", 3).unwrap());
    assert_eq!(db.dead_letters("forward").unwrap().len(), 1);
    assert_eq!(db.dead_letters("other").unwrap()[0].reason, "410 Gone");
}

fn cursors_start_unset_and_move(store: &Store) {
    let db = store.open();
    assert_eq!(db.cursor("forwarder").unwrap(), None);
    db.set_cursor("forwarder", 5).unwrap();
    db.set_cursor("other", 1).unwrap();
    assert_eq!(db.cursor("forwarder").unwrap(), Some(5));
    db.set_cursor("forwarder", 9).unwrap();
    assert_eq!(db.cursor("forwarder").unwrap(), Some(9));
    db.set_cursor("forwarder", 2).unwrap();
    assert_eq!(
        db.cursor("forwarder").unwrap(),
        Some(2),
        "a cursor may move back"
    );
    assert_eq!(db.cursor("other").unwrap(), Some(1));
}

fn counts_after_counts_per_tenant(store: &Store) {
    let db = store.open();
    assert!(db.counts_after(0).unwrap().is_empty());
    db.record_events(&[event(Some("b"), "1"), event(Some("a"), "2")], 1)
        .unwrap();
    let mark = db.last_seq().unwrap();
    db.record_events(
        &[
            event(Some("b"), "3"),
            event(None, "4"),
            event(Some("b"), "5"),
            event(None, "6"),
        ],
        1,
    )
    .unwrap();
    assert_eq!(
        db.counts_after(0).unwrap(),
        vec![(s(""), 2), (s("a"), 1), (s("b"), 3)]
    );
    assert_eq!(
        db.counts_after(mark).unwrap(),
        vec![(s(""), 2), (s("b"), 2)]
    );
    assert!(db.counts_after(db.last_seq().unwrap()).unwrap().is_empty());
}

fn last_seq_is_zero_then_the_newest(store: &Store) {
    let db = store.open();
    assert_eq!(db.last_seq().unwrap(), 0);
    db.record_events(&[event(Some("a"), "1"), event(Some("a"), "2")], 1)
        .unwrap();
    let all = db.events(None, 0, 10).unwrap();
    assert_eq!(db.last_seq().unwrap(), all[1].seq);
    db.record_events(&[event(Some("a"), "2")], 1).unwrap();
    assert_eq!(
        db.last_seq().unwrap(),
        all[1].seq,
        "a duplicate adds nothing"
    );
}

fn events_survive_reopening(store: &Store) {
    {
        let db = store.open();
        db.record_events(&[event(Some("t"), "1"), event(Some("t"), "2")], 5)
            .unwrap();
        db.set("t", "b", "k", b"v").unwrap();
        db.set_cursor("c", 1).unwrap();
    }
    let db = store.open();
    assert_eq!(keys(&db.events(Some("t"), 0, 10).unwrap()), vec!["1", "2"]);
    assert_eq!(db.get("t", "b", "k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(db.cursor("c").unwrap(), Some(1));
    assert_eq!(
        db.record_events(&[event(Some("t"), "1")], 6).unwrap(),
        vec![false]
    );
}

// ---------------------------------------------------------------------------------------
// Group commit.

fn staged_writes_are_seen_at_once_and_committed_with_their_events(store: &Store) {
    block_on(async {
        let db = Arc::new(store.open());
        let staged = stage(&db, vec![writes("a", "m1", b"1")]);
        // Staged, not committed: reads see it, the backend does not have it.
        assert_eq!(db.get("a", "dedupe", "m1").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.kv_get("a", "dedupe", "m1").unwrap(), None);
        assert!(db.events(None, 0, 10).unwrap().is_empty());
        let new = db
            .commit(
                vec![staged],
                vec![event(Some("a"), "m1"), event(Some("a"), "m1")],
                vec![],
                5,
            )
            .await
            .unwrap();
        assert_eq!(
            new,
            vec![true, false],
            "the same key twice is recorded once"
        );
        assert!(
            db.journal().get("a", "dedupe", "m1").is_none(),
            "the overlay let go"
        );
        assert_eq!(db.kv_get("a", "dedupe", "m1").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.events(None, 0, 10).unwrap().len(), 1);
        // A staged deletion is seen at once too, and committed.
        let mut w = WriteSet::new("a");
        w.put("dedupe", "m1", None);
        let staged = stage(&db, vec![w]);
        assert_eq!(db.get("a", "dedupe", "m1").unwrap(), None);
        assert!(!db.exists("a", "dedupe", "m1").unwrap());
        assert_eq!(
            db.commit(vec![staged], vec![], vec![], 6).await.unwrap(),
            Vec::<bool>::new()
        );
        assert_eq!(db.kv_get("a", "dedupe", "m1").unwrap(), None);
    });
}

fn a_failed_commit_loses_its_marks_and_refuses_what_was_staged_on_them(store: &Store) {
    block_on(async {
        let fail = Arc::new(AtomicBool::new(false));
        let db = Arc::new(Database::new(Box::new(Flaky {
            inner: store.backend(),
            fail: fail.clone(),
        })));
        let j = db.journal();
        let first = stage(&db, vec![writes("a", "m1", b"1")]);
        // A second delivery staged while the first waits (it has seen m1's mark).
        let generation = j.generation();
        let second = j.stage(generation, vec![writes("a", "m2", b"1")]).unwrap();
        fail.store(true, Ordering::SeqCst);
        assert!(
            db.commit(vec![first], vec![event(Some("a"), "m1")], vec![], 5)
                .await
                .is_err()
        );
        fail.store(false, Ordering::SeqCst);
        // Nothing of the failed batch remains to make a redelivery look like a duplicate.
        assert_eq!(db.get("a", "dedupe", "m1").unwrap(), None);
        assert_eq!(db.get("a", "dedupe", "m2").unwrap(), None);
        assert!(
            db.commit(vec![second], vec![event(Some("a"), "m2")], vec![], 5)
                .await
                .is_err()
        );
        assert!(j.stage(generation, vec![writes("a", "m3", b"1")]).is_err());
        assert!(db.events(None, 0, 10).unwrap().is_empty());
        assert_eq!(db.kv_get("a", "dedupe", "m2").unwrap(), None);
        // A delivery staged afresh goes through.
        let again = stage(&db, vec![writes("a", "m1", b"1")]);
        assert_eq!(
            db.commit(vec![again], vec![event(Some("a"), "m1")], vec![], 6)
                .await
                .unwrap(),
            vec![true]
        );
        assert_eq!(db.kv_get("a", "dedupe", "m1").unwrap(), Some(b"1".to_vec()));
    });
}

fn many_concurrent_commits_all_land(store: &Store) {
    block_on(async {
        let db = Arc::new(store.open());
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let key = format!("m{i:03}");
                    let staged = stage(&db, vec![writes("a", &key, b"1")]);
                    db.commit(vec![staged], vec![event(Some("a"), &key)], vec![], 1)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), vec![true]);
        }
        assert_eq!(db.events(None, 0, 1000).unwrap().len(), 200);
        assert_eq!(db.list_keys("a", "dedupe", 0, 1000).unwrap().len(), 200);
        assert_eq!(
            db.kv_list("a", "dedupe", 0, 1000).unwrap().len(),
            200,
            "all in the backend"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Several processes over the same data.

/// Two host processes commit deliveries at once (some of them the same: Meta retried on
/// the other), while a forwarder follows `seq > cursor` from a third. Every event is
/// recorded once, by one of them, and the forwarder sees each exactly once: no event
/// commits with a lower seq after one with a higher seq was visible.
fn two_processes_commit_concurrently_and_a_reader_never_skips(store: &Store) {
    const OWN: usize = 150;
    const BOTH: usize = 50;
    let processes = [Arc::new(store.open()), Arc::new(store.open())];
    let reader_db = store.open();
    let done = Arc::new(AtomicBool::new(false));
    let reader = std::thread::spawn({
        let done = done.clone();
        move || {
            let mut cursor = 0;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let rows = reader_db.events(None, cursor, 1000).unwrap();
                for r in &rows {
                    assert!(r.seq > cursor, "seqs come in order");
                    cursor = r.seq;
                    seen.push(r.idempotency_key.clone());
                }
                if finished && rows.is_empty() {
                    return seen;
                }
            }
        }
    });
    let results = block_on(async {
        let mut tasks = Vec::new();
        for (p, db) in processes.iter().enumerate() {
            let keys = (0..OWN)
                .map(move |i| format!("p{p}-{i:03}"))
                .chain((0..BOTH).map(|i| format!("both-{i:03}")));
            for key in keys {
                let db = db.clone();
                tasks.push(tokio::spawn(async move {
                    let staged = stage(&db, vec![writes("t", &key, b"1")]);
                    let new = db
                        .commit(vec![staged], vec![event(Some("t"), &key)], vec![], 1)
                        .await
                        .unwrap();
                    (key, new)
                }));
            }
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();

    let all: BTreeSet<String> = results.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(all.len(), 2 * OWN + BOTH);
    for key in &all {
        let new: Vec<bool> = results
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, n)| n[0])
            .collect();
        assert_eq!(
            new.iter().filter(|n| **n).count(),
            1,
            "{key} is new for exactly one process"
        );
    }
    assert_eq!(
        seen.len(),
        all.len(),
        "the forwarder saw every event once (none skipped)"
    );
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), all);
    let rows = store.open().events(None, 0, 10_000).unwrap();
    assert_eq!(rows.len(), all.len(), "every event recorded once");
}

fn increments_from_two_processes_are_distinct(store: &Store) {
    let processes = [Arc::new(store.open()), Arc::new(store.open())];
    let threads: Vec<_> = processes
        .iter()
        .flat_map(|db| [db.clone(), db.clone()])
        .map(|db| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| db.increment("t", "b", "n", 1).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (1..=100).collect::<Vec<u64>>());
}

fn a_number_is_claimed_by_one_process_only(store: &Store) {
    let processes = [Arc::new(store.open()), Arc::new(store.open())];
    for round in 0..20 {
        let threads: Vec<_> = processes
            .iter()
            .enumerate()
            .map(|(p, db)| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.insert_tenant(&tenant(&format!("p{p}-{round}"), &[&format!("n{round}")]))
                })
            })
            .collect();
        let results: Vec<Result<()>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}: {results:?}"
        );
        let owner = processes[0]
            .tenant_by_phone_number_id(&format!("n{round}"))
            .unwrap()
            .unwrap();
        let loser = if owner.id.starts_with("p0") {
            format!("p1-{round}")
        } else {
            format!("p0-{round}")
        };
        assert_eq!(
            processes[1].tenant(&loser).unwrap(),
            None,
            "the refused tenant left nothing"
        );
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL only: connections and errors.

/// The server ends every connection of the pool (a restart, a failover): reads go on at
/// once (retried on a fresh connection), a write fails at most once per connection and
/// then goes through, and nothing the error says shows the password.
#[test]
fn postgres_broken_connections_are_opened_again() {
    let Some(store) = on_postgres() else { return };
    let Store::Postgres { admin_url, url, .. } = &store else {
        unreachable!()
    };
    let app = format!("wa_test_{}", unique());
    let db = Database::open_url(&format!("{url}&application_name={app}")).unwrap();
    // Use the pool from several threads at once so that more of its connections open.
    let db = Arc::new(db);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let db = db.clone();
            std::thread::spawn(move || db.set_cursor(&format!("c{i}"), i).unwrap())
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());

    let end_all = || {
        let ended = admin(
            admin_url,
            format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"),
        )
        .unwrap();
        assert!(
            !ended.is_empty() && ended.iter().all(|t| t == "t"),
            "{ended:?}"
        );
        ended.len()
    };

    // Writes: the first one on each dead connection fails, the next opens it again.
    let ended = end_all();
    let mut failed = 0;
    for i in 0..2 * whatsapp_storage::postgres::POOL as i64 {
        if let Err(e) = db.set_cursor("w", i) {
            failed += 1;
            assert!(e.0.starts_with("postgres: "), "{e}");
        }
    }
    // The pool finds most dead connections closed before it hands them out; one it hands
    // out fails its write once.
    assert!(
        failed <= ended,
        "{failed} writes failed for {ended} connections ended"
    );
    // Reads: retried at once on a fresh connection.
    end_all();
    for _ in 0..2 * whatsapp_storage::postgres::POOL {
        assert_eq!(db.cursor("c3").unwrap(), Some(3), "reads are retried");
    }
    db.set_cursor("w", 100).unwrap();
    assert_eq!(db.cursor("w").unwrap(), Some(100));
}

/// The key-value futures the component awaits hold no thread while the server works: on
/// a runtime of one thread, an increment that waits for a row another connection has
/// locked lets the runtime's other task run meanwhile, and completes once the lock goes.
#[test]
fn postgres_key_value_futures_do_not_hold_the_thread() {
    let Some(store) = on_postgres() else { return };
    let Store::Postgres {
        admin_url, schema, ..
    } = &store
    else {
        unreachable!()
    };
    let db = store.open();
    db.set("t", "b", "n", b"1").unwrap();
    // Another connection holds the counter's row for 600 ms.
    let locker = {
        let sql = format!(
            "BEGIN; SELECT 1 FROM {schema}.kv WHERE key = 'n' FOR UPDATE; SELECT pg_sleep(0.6); COMMIT"
        );
        let url = admin_url.clone();
        std::thread::spawn(move || admin(&url, sql))
    };
    std::thread::sleep(std::time::Duration::from_millis(150));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (value, ticks) = runtime.block_on(async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let value = db.increment_async("t", "b", "n", 2).await.unwrap();
        ticker.abort();
        (value, ticks.load(Ordering::SeqCst))
    });
    locker.join().unwrap().unwrap();
    assert_eq!(
        value, 3,
        "the increment waited for the lock and then counted"
    );
    assert!(
        ticks >= 10,
        "the runtime's one thread ran other tasks while the increment waited ({ticks} ticks)"
    );
}

/// A host that stopped between committing events and numbering them leaves them without a
/// place in the log, unseen by readers until numbered: any process numbers them within a
/// second with nothing else committed, and a commit numbers them at once, always after
/// the log's last and in the order they were inserted.
#[test]
fn postgres_events_left_unnumbered_are_numbered_after_the_last() {
    let Some(store) = on_postgres() else { return };
    let Store::Postgres {
        admin_url, schema, ..
    } = &store
    else {
        unreachable!()
    };
    let db = store.open();
    db.record_events(&[event(Some("t"), "first")], 1).unwrap();
    let orphan = |key: &str| {
        admin(
            admin_url,
            format!(
                "INSERT INTO {schema}.events (tenant, kind, idempotency_key, received_at_ms, json)
                 VALUES ('t', 'message', '{key}', 1, '{{}}')"
            ),
        )
        .unwrap();
    };
    let keys = |db: &Database| -> Vec<(i64, String)> {
        db.events(None, 0, 100)
            .unwrap()
            .into_iter()
            .map(|r| (r.seq, r.idempotency_key))
            .collect()
    };
    orphan("orphan-1");
    orphan("orphan-2");
    // Nothing committed: numbered within a second or so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while keys(&db).len() < 3 {
        assert!(std::time::Instant::now() < deadline, "never numbered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        keys(&db),
        vec![
            (1, "first".to_string()),
            (2, "orphan-1".to_string()),
            (3, "orphan-2".to_string())
        ]
    );
    // A commit numbers what waits with its own, in the order inserted.
    orphan("orphan-3");
    db.record_events(&[event(Some("t"), "second")], 2).unwrap();
    assert_eq!(
        keys(&db)[3..],
        [(4, "orphan-3".to_string()), (5, "second".to_string())]
    );
}

/// Connection errors name what failed, never the URL's password.
#[test]
fn postgres_errors_never_show_the_password() {
    let secret = "never-print-me-7f3a";
    for url in [
        format!("postgres://wa:{secret}@127.0.0.1:1/db"),
        format!("postgres://wa:{secret}@127.0.0.1:notaport/db"),
        format!("postgres://wa:{secret}@127.0.0.1/db?nonsense=1"),
    ] {
        let err = Postgres::connect(&url).err().expect("no server there");
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }
    // The right server with a wrong password.
    if let Some(url) = std::env::var("WA_POSTGRES_URL")
        .ok()
        .and_then(|u| with_password(&u, secret))
    {
        match Postgres::connect(&url) {
            Ok(_) => {
                eprintln!("the server at WA_POSTGRES_URL trusts its user: no password to check")
            }
            Err(err) => {
                assert!(err.0.contains("password authentication failed"), "{err}");
                assert!(!format!("{err} {err:?}").contains(secret), "{err:?}");
            }
        }
    }
}

/// The server's certificate is checked as the URL's `sslmode` says: `.ci/postgres.sh`'s
/// server serves TLS from a CA of its own and its URL asks for `verify-full` against it.
#[test]
fn postgres_connections_are_encrypted_and_their_certificate_checked() {
    let Some(url) = std::env::var("WA_POSTGRES_URL")
        .ok()
        .filter(|u| u.contains("sslrootcert="))
    else {
        eprintln!(
            "skipped: WA_POSTGRES_URL names no sslrootcert (.ci/postgres.sh prints one that does)"
        );
        return;
    };
    assert!(url.contains("sslmode=verify-full"), "{url}");
    let pg = Postgres::connect(&url).expect("verify-full against the test CA");
    assert!(pg.encrypted().unwrap(), "TLS in use");
    drop(pg);
    // The same server, checked against the built-in web roots: its CA is not one of them.
    let (base, query) = url.split_once('?').unwrap();
    let others: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("sslrootcert=") && !p.starts_with("sslmode="))
        .collect();
    let with = |extra: &str| {
        let mut q = others.clone();
        q.push(extra);
        format!("{base}?{}", q.join("&"))
    };
    let err = Postgres::connect(&with("sslmode=verify-full&sslrootcert=system"))
        .err()
        .expect("a certificate from an unknown CA is refused");
    assert!(err.0.contains("certificate"), "{err}");
    // The certificate names 127.0.0.1 only: reached as `localhost`, the server is refused
    // by verify-full and taken by verify-ca, which checks no name.
    let root = query
        .split('&')
        .find(|p| p.starts_with("sslrootcert="))
        .unwrap();
    let by_name =
        |mode: &str| with(&format!("sslmode={mode}&{root}")).replace("@127.0.0.1:", "@localhost:");
    let err = Postgres::connect(&by_name("verify-full"))
        .err()
        .expect("a certificate for another name is refused");
    assert!(err.0.contains("certificate"), "{err}");
    assert!(
        Postgres::connect(&by_name("verify-ca")).is_ok(),
        "verify-ca checks no name"
    );
    // Asked for none, none: the server allows both.
    let plain = Postgres::connect(&with("sslmode=disable")).unwrap();
    assert!(!plain.encrypted().unwrap(), "sslmode=disable");
}

/// The schema's version is recorded once, however many processes start; a database at a
/// version newer than this build's is refused, and one made before versions were recorded
/// is taken as version 1.
#[test]
fn postgres_migrations_are_recorded_and_a_newer_schema_refused() {
    let Some(store) = on_postgres() else { return };
    let Store::Postgres {
        url,
        admin_url,
        schema,
    } = &store
    else {
        unreachable!()
    };
    let versions = |sql: &str| admin(admin_url, format!("SET search_path = {schema}; {sql}"));
    // A database of before: the first tables, no record of versions.
    drop(Postgres::connect(url).unwrap());
    versions("DROP TABLE schema_migrations; DROP TABLE dead_letters; DROP TABLE leases").unwrap();
    let a = Postgres::connect(url).unwrap();
    let b = Postgres::connect(url).unwrap();
    assert_eq!(
        versions("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
            .unwrap(),
        vec!["1,2,3,4,5,6".to_string()]
    );
    drop((a, b));
    versions("INSERT INTO schema_migrations VALUES (999, 0)").unwrap();
    let err = Postgres::connect(url)
        .err()
        .expect("a newer schema is refused");
    assert!(err.0.contains("version 999"), "{err}");
}

/// `url` with its password replaced.
fn with_password(url: &str, password: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (userinfo, host) = rest.rsplit_once('@')?;
    let user = userinfo.split(':').next()?;
    Some(format!("{scheme}://{user}:{password}@{host}"))
}

// ---------------------------------------------------------------------------------------
// The outbox.

use whatsapp_storage::outbox::{Hold, NewEntry, News, Outcome, Progress, state};

fn item(to: &str, key: Option<&str>, priority: u8, not_before_ms: i64) -> NewEntry {
    NewEntry {
        key: key.map(str::to_string),
        campaign: None,
        number: "111".into(),
        recipient: to.into(),
        priority,
        not_before_ms,
        item: format!("{{\"to\":\"{to}\"}}"),
    }
}

fn in_campaign(mut e: NewEntry, campaign: &str) -> NewEntry {
    e.campaign = Some(campaign.into());
    e
}

fn state_of(db: &Database, tenant: &str, id: i64) -> u8 {
    db.outbox()
        .unwrap()
        .outbox_entry(tenant, id)
        .unwrap()
        .unwrap()
        .state
}

fn outbox_keys_make_one_entry_and_a_batch_is_all_or_none(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let first = o
        .outbox_put(
            "acme",
            &[item("1", Some("k1"), 0, 0), item("2", None, 0, 0)],
            5,
        )
        .unwrap();
    assert!(first.iter().all(|(_, new)| *new));
    let again = o
        .outbox_put(
            "acme",
            &[item("1", Some("k1"), 0, 0), item("3", Some("k3"), 0, 0)],
            6,
        )
        .unwrap();
    assert_eq!(
        again[0],
        (first[0].0, false),
        "the key names the first entry"
    );
    assert!(again[1].1);
    // The same key in another tenant is another entry.
    let other = o
        .outbox_put("globex", &[item("1", Some("k1"), 0, 0)], 7)
        .unwrap();
    assert!(other[0].1);
    assert_ne!(other[0].0, first[0].0);
    let e = o.outbox_entry("acme", first[0].0).unwrap().unwrap();
    assert_eq!(
        (
            e.tenant.as_str(),
            e.key.as_deref(),
            e.recipient.as_str(),
            e.state,
            e.created_ms
        ),
        ("acme", Some("k1"), "1", state::QUEUED, 5)
    );
    assert_eq!(e.item, "{\"to\":\"1\"}");
    assert!(
        o.outbox_entry("globex", first[0].0).unwrap().is_none(),
        "tenants are apart"
    );
}

fn outbox_claims_go_by_priority_time_and_id_and_skip_holds(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let ids: Vec<i64> = o
        .outbox_put(
            "acme",
            &[
                in_campaign(item("c1", None, 2, 0), "spring"),
                item("later", None, 0, 10_000),
                item("a1", None, 1, 0),
                item("r1", None, 0, 50),
                item("r2", None, 0, 0),
            ],
            1,
        )
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        o.outbox_due_numbers(100, 10).unwrap(),
        vec!["111".to_string()]
    );
    assert!(o.outbox_claim("222", "h", 100, 10).unwrap().is_empty());
    o.outbox_hold(
        "acme",
        &Hold {
            campaign: Some("spring".into()),
            code: "paused".into(),
            reason: "by hand".into(),
            at_ms: 2,
        },
    )
    .unwrap();
    let claimed: Vec<String> = o
        .outbox_claim("111", "h", 100, 10)
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!((e.state, e.attempts), (state::SENDING, 1));
            e.recipient
        })
        .collect();
    assert_eq!(
        claimed,
        ["r2", "r1", "a1"],
        "not the held campaign, not the later one"
    );
    assert!(
        o.outbox_due_numbers(100, 10).unwrap().is_empty(),
        "all held or claimed"
    );
    assert_eq!(o.outbox_holds("acme").unwrap().len(), 1);
    assert!(o.outbox_release("acme", Some("spring")).unwrap());
    assert!(!o.outbox_release("acme", Some("spring")).unwrap());
    // A hold on the whole tenant keeps every entry back.
    o.outbox_hold(
        "acme",
        &Hold {
            campaign: None,
            code: "190".into(),
            reason: "token".into(),
            at_ms: 3,
        },
    )
    .unwrap();
    assert!(o.outbox_claim("111", "h", 20_000, 10).unwrap().is_empty());
    o.outbox_release("acme", None).unwrap();
    let rest: Vec<i64> = o
        .outbox_claim("111", "h", 20_000, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(rest, vec![ids[1], ids[0]], "priority first, then time");
}

fn outbox_settles_only_its_holders_claims_and_never_moves_back(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let ids: Vec<i64> = o
        .outbox_put(
            "acme",
            &[
                item("1", None, 0, 0),
                item("2", None, 0, 0),
                item("3", None, 0, 0),
                item("4", None, 0, 0),
            ],
            1,
        )
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(o.outbox_claim("111", "h", 10, 10).unwrap().len(), 4);
    // A status of the first message arrives before the host records its send.
    let news = Progress {
        id: ids[0],
        state: state::DELIVERED,
        wamid: "wamid.1".into(),
        code: None,
        reason: None,
    };
    assert_eq!(
        o.outbox_progress("acme", &[News::Status(news)], 11)
            .unwrap(),
        1
    );
    let sent = |w: &str| Outcome::Sent { wamid: w.into() };
    assert_eq!(
        o.outbox_settle("other-host", &[(ids[1], sent("x"))], 12)
            .unwrap(),
        vec![false],
        "another host's claim"
    );
    let done = o
        .outbox_settle(
            "h",
            &[
                (ids[0], sent("wamid.1")),
                (
                    ids[1],
                    Outcome::Wait {
                        not_before_ms: 5_000,
                        code: "130429".into(),
                        reason: "throughput".into(),
                    },
                ),
                (
                    ids[2],
                    Outcome::Failed {
                        code: "131026".into(),
                        reason: "undeliverable".into(),
                    },
                ),
                (
                    ids[3],
                    Outcome::Unknown {
                        code: "ambiguous".into(),
                        reason: "reset".into(),
                    },
                ),
            ],
            13,
        )
        .unwrap();
    assert_eq!(done, vec![true; 4]);
    let e = |i: usize| o.outbox_entry("acme", ids[i]).unwrap().unwrap();
    assert_eq!(
        (e(0).state, e(0).wamid.as_deref()),
        (state::DELIVERED, Some("wamid.1")),
        "not back to sent"
    );
    assert_eq!(
        (e(1).state, e(1).not_before_ms, e(1).code.as_deref()),
        (state::QUEUED, 5_000, Some("130429"))
    );
    assert_eq!(
        (e(2).state, e(2).reason.as_deref()),
        (state::FAILED, Some("undeliverable"))
    );
    assert_eq!(e(3).state, state::UNKNOWN);
    // Settled once: a second settle of the same claim changes nothing.
    assert_eq!(
        o.outbox_settle("h", &[(ids[2], sent("late"))], 14).unwrap(),
        vec![false]
    );
    assert_eq!(e(2).state, state::FAILED);
    // A claim given back is queued again, its attempt not counted.
    let again = o.outbox_claim("111", "h", 6_000, 10).unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    o.outbox_unclaim("h", &[ids[1]], 6_001).unwrap();
    assert_eq!((e(1).state, e(1).attempts), (state::QUEUED, 1));
}

fn outbox_statuses_move_entries_forward_only(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let id = o.outbox_put("acme", &[item("1", None, 0, 0)], 1).unwrap()[0].0;
    o.outbox_claim("111", "h", 2, 1).unwrap();
    o.outbox_settle(
        "h",
        &[(
            id,
            Outcome::Sent {
                wamid: "wamid.A".into(),
            },
        )],
        3,
    )
    .unwrap();
    let p = |s: u8| Progress {
        id,
        state: s,
        wamid: "wamid.A".into(),
        code: None,
        reason: None,
    };
    assert_eq!(
        o.outbox_progress("acme", &[News::Status(p(state::READ))], 4)
            .unwrap(),
        1
    );
    assert_eq!(
        o.outbox_progress(
            "acme",
            &[
                News::Status(p(state::DELIVERED)),
                News::Status(p(state::SENT))
            ],
            5
        )
        .unwrap(),
        0,
        "late and twice"
    );
    assert_eq!(state_of(&db, "acme", id), state::READ);
    assert_eq!(
        o.outbox_progress("globex", &[News::Status(p(state::FAILED))], 6)
            .unwrap(),
        0,
        "another tenant's id"
    );
    let failed = Progress {
        code: Some("131049".into()),
        reason: Some("limit".into()),
        ..p(state::FAILED)
    };
    assert_eq!(
        o.outbox_progress("acme", &[News::Status(failed)], 7)
            .unwrap(),
        1
    );
    let e = o.outbox_entry("acme", id).unwrap().unwrap();
    assert_eq!(
        (e.state, e.code.as_deref(), e.updated_ms),
        (state::FAILED, Some("131049"), 7)
    );
    // A cancelled entry stays cancelled.
    let c = o.outbox_put("acme", &[item("2", None, 0, 0)], 8).unwrap()[0].0;
    assert!(o.outbox_cancel("acme", c, 9).unwrap());
    assert_eq!(
        o.outbox_progress(
            "acme",
            &[News::Status(Progress {
                id: c,
                ..p(state::SENT)
            })],
            10
        )
        .unwrap(),
        0
    );
    assert_eq!(state_of(&db, "acme", c), state::CANCELLED);
}

fn outbox_entries_of_a_stopped_host_become_unknown(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let ids: Vec<i64> = o
        .outbox_put("acme", &[item("1", None, 0, 0), item("2", None, 0, 0)], 1)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    o.outbox_claim("111", "dead", 2, 1).unwrap();
    o.outbox_claim("111", "alive", 2, 1).unwrap();
    assert_eq!(o.outbox_recover(&["alive".to_string()], 3).unwrap(), 1);
    let e = o.outbox_entry("acme", ids[0]).unwrap().unwrap();
    assert_eq!(
        (e.state, e.code.as_deref()),
        (state::UNKNOWN, Some("interrupted"))
    );
    assert_eq!(state_of(&db, "acme", ids[1]), state::SENDING);
    // Never claimed again: only a status, or the number's history, settles it.
    assert!(o.outbox_claim("111", "alive", 4, 10).unwrap().is_empty());
    let d = o.outbox_doubts("111", "other").unwrap();
    assert_eq!(d.others_sending, 1, "alive's claim");
    assert_eq!(
        d.unknown,
        vec![(ids[0], "acme".to_string(), 2)],
        "claimed at 2"
    );
    assert_eq!(o.outbox_doubts("111", "alive").unwrap().others_sending, 0);
    let p = Progress {
        id: ids[0],
        state: state::SENT,
        wamid: "wamid.D".into(),
        code: None,
        reason: None,
    };
    o.outbox_progress("acme", &[News::Status(p)], 5).unwrap();
    assert_eq!(state_of(&db, "acme", ids[0]), state::SENT);
    assert!(o.outbox_doubts("111", "other").unwrap().unknown.is_empty());
    // An unknown entry history shows was never accepted goes back to the queue, once.
    let third = o.outbox_put("acme", &[item("3", None, 0, 0)], 6).unwrap()[0].0;
    o.outbox_claim("111", "dead", 7, 1).unwrap();
    o.outbox_recover(&["alive".to_string()], 8).unwrap();
    assert_eq!(
        o.outbox_requeue(&[third, ids[0]], 9).unwrap(),
        1,
        "not the sent one"
    );
    let e = o.outbox_entry("acme", third).unwrap().unwrap();
    assert_eq!(
        (e.state, e.code.as_deref()),
        (state::QUEUED, Some("requeued"))
    );
    assert_eq!(o.outbox_requeue(&[third], 10).unwrap(), 0);
    // An entry in doubt makes its number due even with nothing queued, until it is
    // settled, or marked unconfirmed for the platform to decide.
    o.outbox_claim("111", "dead", 11, 1).unwrap();
    o.outbox_recover(&["alive".to_string()], 12).unwrap();
    assert_eq!(
        o.outbox_due_numbers(0, 10).unwrap(),
        vec!["111".to_string()]
    );
    assert_eq!(o.outbox_unconfirmed(&[third], 13).unwrap(), 1);
    assert!(o.outbox_due_numbers(0, 10).unwrap().is_empty());
    assert!(o.outbox_doubts("111", "other").unwrap().unknown.is_empty());
    let e = o.outbox_entry("acme", third).unwrap().unwrap();
    assert_eq!(
        (e.state, e.code.as_deref()),
        (state::UNKNOWN, Some("unconfirmed"))
    );
}

fn outbox_cancel_and_tally_by_campaign(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let ids: Vec<i64> = o
        .outbox_put(
            "acme",
            &[
                in_campaign(item("1", None, 2, 100), "spring"),
                in_campaign(item("2", None, 2, 300), "spring"),
                in_campaign(item("3", None, 2, 0), "spring"),
                in_campaign(item("4", None, 2, 0), "autumn"),
            ],
            1,
        )
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let claimed = o.outbox_claim("111", "h", 10, 1).unwrap();
    assert_eq!(claimed[0].id, ids[2]);
    let t = o.outbox_tally("acme", "spring").unwrap();
    assert_eq!((t.by_state[0], t.by_state[1], t.next_ms), (2, 1, Some(100)));
    assert!(!o.outbox_cancel("acme", ids[2], 11).unwrap(), "being sent");
    assert_eq!(o.outbox_cancel_campaign("acme", "spring", 12).unwrap(), 2);
    let t = o.outbox_tally("acme", "spring").unwrap();
    assert_eq!((t.by_state[0], t.by_state[7], t.next_ms), (0, 2, None));
    assert_eq!(o.outbox_tally("acme", "autumn").unwrap().by_state[0], 1);
    assert_eq!(o.outbox_tally("acme", "none").unwrap(), Default::default());
}

fn two_processes_never_claim_one_outbox_entry(store: &Store) {
    let (a, b) = (Arc::new(store.open()), Arc::new(store.open()));
    let items: Vec<NewEntry> = (0..400).map(|i| item(&i.to_string(), None, 0, 0)).collect();
    a.outbox().unwrap().outbox_put("acme", &items, 1).unwrap();
    let claim = |db: Arc<Database>, holder: &'static str| {
        std::thread::spawn(move || {
            let mut mine = Vec::new();
            loop {
                let got = db
                    .outbox()
                    .unwrap()
                    .outbox_claim("111", holder, 2, 7)
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|e| e.id));
            }
        })
    };
    let (ta, tb) = (claim(a, "host-a"), claim(b, "host-b"));
    let (ma, mb) = (ta.join().unwrap(), tb.join().unwrap());
    let all: BTreeSet<i64> = ma.iter().chain(&mb).copied().collect();
    assert_eq!(ma.len() + mb.len(), 400, "every entry claimed once");
    assert_eq!(all.len(), 400, "none claimed twice");
}

fn outbox_progress_commits_with_its_events(store: &Store) {
    block_on(async {
        let db = Arc::new(store.open());
        let o = db.outbox().unwrap();
        let id = o.outbox_put("acme", &[item("1", None, 0, 0)], 1).unwrap()[0].0;
        o.outbox_claim("111", "h", 2, 1).unwrap();
        o.outbox_settle(
            "h",
            &[(
                id,
                Outcome::Sent {
                    wamid: "wamid.C".into(),
                },
            )],
            3,
        )
        .unwrap();
        let news = |s: u8| {
            vec![(
                "acme".to_string(),
                News::Status(Progress {
                    id,
                    state: s,
                    wamid: "wamid.C".into(),
                    code: None,
                    reason: None,
                }),
            )]
        };
        let new = db
            .commit(
                vec![],
                vec![event(Some("acme"), "s1")],
                news(state::DELIVERED),
                4,
            )
            .await
            .unwrap();
        assert_eq!(new, vec![true]);
        assert_eq!(state_of(&db, "acme", id), state::DELIVERED);
        // The same delivery again: the event is not new, and the entry stays where it is.
        let again = db
            .commit(
                vec![],
                vec![event(Some("acme"), "s1")],
                news(state::SENT),
                5,
            )
            .await
            .unwrap();
        assert_eq!(again, vec![false]);
        assert_eq!(state_of(&db, "acme", id), state::DELIVERED);
    });
}

fn outbox_replies_go_to_the_campaign_that_reached_the_contact_last(store: &Store) {
    block_on(async {
        let db = Arc::new(store.open());
        let o = db.outbox().unwrap();
        let put = |campaign: &str, to: &str, at: i64| {
            o.outbox_put("acme", &[in_campaign(item(to, None, 2, 0), campaign)], at)
                .unwrap()[0]
                .0
        };
        let sent = |id: i64, at: i64| {
            o.outbox_claim("111", "h", at, 10).unwrap();
            o.outbox_settle(
                "h",
                &[(
                    id,
                    Outcome::Sent {
                        wamid: format!("wamid.{id}"),
                    },
                )],
                at,
            )
            .unwrap();
        };
        let spring = put("spring", "15550001", 1);
        sent(spring, 2);
        let summer = put("summer", "15550001", 3);
        sent(summer, 4);
        // Queued, never sent: it reached no one.
        put("autumn", "15550001", 5);
        let other = put("spring", "15550002", 6);
        sent(other, 7);
        let reply = |ids: &[&str], at: i64| {
            vec![(
                "acme".to_string(),
                News::Reply(ids.iter().map(|s| s.to_string()).collect()),
            )]
            .into_iter()
            .map(|n| {
                db.commit(
                    vec![],
                    vec![event(Some("acme"), &format!("r{at}"))],
                    vec![n],
                    at,
                )
            })
            .next()
            .unwrap()
        };
        reply(&["15550001", "US.1"], 8).await.unwrap();
        let replied = |c: &str| o.outbox_tally("acme", c).unwrap().replied;
        assert_eq!(
            (replied("spring"), replied("summer"), replied("autumn")),
            (0, 1, 0)
        );
        // The same contact again: one reply per entry.
        reply(&["15550001"], 9).await.unwrap();
        assert_eq!(replied("summer"), 1);
        // Another tenant's contact of the same id is not ours.
        db.commit(
            vec![],
            vec![event(Some("globex"), "g")],
            vec![("globex".to_string(), News::Reply(vec!["15550002".into()]))],
            10,
        )
        .await
        .unwrap();
        assert_eq!(replied("spring"), 0);
        // The other contact: its own entry, of the same campaign.
        reply(&["15550002"], 11).await.unwrap();
        assert_eq!(replied("spring"), 1);
    });
}

fn reach_counts_members_once_within_the_window_up_to_the_limit(store: &Store) {
    let db = store.open();
    let o = db.outbox().unwrap();
    let day = 86_400_000;
    assert_eq!(o.outbox_reach("p1", "a", 2, day, 1_000).unwrap(), None);
    assert_eq!(o.outbox_reach("p1", "b", 2, day, 2_000).unwrap(), None);
    // Full: a third member waits until the earliest leaves the window.
    assert_eq!(
        o.outbox_reach("p1", "c", 2, day, 3_000).unwrap(),
        Some(1_000 + day)
    );
    // A member already counted is reached again, and counted from then.
    assert_eq!(o.outbox_reach("p1", "a", 2, day, 4_000).unwrap(), None);
    assert_eq!(
        o.outbox_reach("p1", "c", 2, day, 5_000).unwrap(),
        Some(2_000 + day)
    );
    // Another scope has its own count.
    assert_eq!(o.outbox_reach("p2", "c", 2, day, 5_000).unwrap(), None);
    // Once b leaves the window, c takes its place.
    assert_eq!(
        o.outbox_reach("p1", "c", 2, day, 2_000 + day).unwrap(),
        None
    );
    assert_eq!(
        o.outbox_reach("p1", "d", 2, day, 2_001 + day).unwrap(),
        Some(4_000 + day)
    );
}

#[test]
fn postgres_wakes_the_listeners_of_other_processes_on_enqueue_and_resume() {
    let Some(store) = on_postgres() else { return };
    let (a, b) = (store.open(), store.open());
    let woken = Arc::new(AtomicUsize::new(0));
    let w = woken.clone();
    assert!(a.outbox().unwrap().outbox_listen(Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    })));
    // Nothing happens: no wake-up (other tests' schemas have channels of their own).
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert_eq!(woken.load(Ordering::SeqCst), 0, "woken for nothing");
    // Another process enqueues: woken (enqueued until the listener has taken hold).
    let o = b.outbox().unwrap();
    let wait_for = |n: usize, again: &dyn Fn()| {
        for _ in 0..100 {
            again();
            std::thread::sleep(std::time::Duration::from_millis(100));
            if woken.load(Ordering::SeqCst) >= n {
                return;
            }
        }
        panic!("not woken");
    };
    wait_for(1, &|| {
        o.outbox_put("acme", &[item("1", None, 0, 0)], 1).unwrap();
    });
    // Another process lifts a hold: woken again.
    let n = woken.load(Ordering::SeqCst);
    wait_for(n + 1, &|| {
        let hold = Hold {
            campaign: Some("spring".into()),
            code: "paused".into(),
            reason: "by hand".into(),
            at_ms: 2,
        };
        o.outbox_hold("acme", &hold).unwrap();
        assert!(o.outbox_release("acme", Some("spring")).unwrap());
    });
}
