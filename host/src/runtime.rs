//! The engine, the component compiled once (and cached precompiled on disk), the
//! `InstancePre`, and a fresh `Store` with limits and a deadline for each unit of work.

use crate::capabilities::{
    config::Config,
    crypto::{Crypto, Vault},
    http::{EgressHooks, EgressPolicy, Recorder},
    keyvalue::KeyValue,
};
use crate::journal::WriteSet;
use crate::storage::KvBackend;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::Instrument;
use wasmtime::component::{
    Component, ComponentExportIndex, InstancePre, Linker, ResourceTable, TypedFunc,
};
use wasmtime::{
    Config as EngineConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
    StoreLimits, StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The component this host was built with (compiled from `guest/` by the build script).
pub const COMPONENT: &[u8] = include_bytes!(env!("WA_GUEST_WASM"));

/// Whether the build script ran binaryen's `wasm-opt` over [`COMPONENT`]'s core
/// module (`host/wasm_opt.rs`; it does when one is installed).
pub const COMPONENT_WASM_OPT: bool = matches!(env!("WA_GUEST_WASM_OPT").as_bytes(), b"1");

/// Per-tenant limits and the pool's size.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Live instances at once (the pooling allocator's size).
    pub max_instances: u32,
    /// Linear memory a tenant instance may grow to.
    pub memory_limit_bytes: usize,
    /// Wall-clock budget of each call into an instance (checked while wasm runs: a guest
    /// that runs on yields to other tasks every epoch tick and is stopped with a trap
    /// once this has passed). Each call starts its own.
    pub deadline: Duration,
    /// Host resources (HTTP requests and fields, buckets, …) an instance may hold at
    /// once; creating one more fails with a trap.
    pub max_resources: usize,
    /// Where the precompiled component is cached; none compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Seconds added to the wall clock instances see (for simulations and tests of the
    /// 24-hour window); 0 in production.
    pub clock_offset_secs: i64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 1000,
            memory_limit_bytes: 64 << 20,
            deadline: Duration::from_secs(60),
            max_resources: 1_000,
            cache_dir: None,
            clock_offset_secs: 0,
        }
    }
}

/// What the host gives every tenant instance.
#[derive(Clone)]
pub struct Services {
    /// Key-value storage.
    pub kv: Arc<dyn KvBackend>,
    /// The master key.
    pub vault: Arc<Vault>,
    /// Where instances may send requests.
    pub egress: Arc<EgressPolicy>,
    /// `WA_RECORD_REQUESTS`, when set.
    pub recorder: Option<Arc<Recorder>>,
    /// Pacing per number and pair, and throttle retries (`WA_MPS_PER_NUMBER`).
    pub throughput: Arc<crate::capabilities::throughput::Throughput>,
    /// The tenants' outboxes; none refuses `outbox` calls (`not-configured`).
    pub outbox: Option<Arc<crate::capabilities::outbox::OutboxService>>,
    /// Where a refused token is noted as a `connection` event; none notes nothing
    /// (the tenant is marked `reauth-required` in its storage either way).
    pub events: Option<Arc<dyn ConnectionEvents>>,
}

/// Where the host notes what happens to tenants' connections.
pub trait ConnectionEvents: Send + Sync {
    /// Meta refused the tenant's token (the tenant is now `reauth-required`).
    /// `generation` counts the tokens the tenant stored: the same token refused again
    /// is the same event.
    fn reauth_required(&self, tenant: &str, generation: u64, error: &api::GraphError);
    /// The tenant connected (a new token, of this generation, for these WABAs).
    fn connected(&self, tenant: &str, generation: u64, waba_ids: &[String]);
}

/// Record one `connection` event; whether it was new.
fn record_connection(
    db: &crate::storage::Database,
    tenant: &str,
    key: String,
    json: serde_json::Value,
) -> bool {
    {
        let event = crate::storage::NewEvent {
            tenant: Some(tenant.to_string()),
            kind: "connection".into(),
            idempotency_key: key,
            json: json.to_string(),
        };
        match db.record_events(&[event], crate::storage::now_ms()) {
            Ok(new) => new.first() == Some(&true),
            Err(e) => {
                tracing::error!("tenant {tenant}: recording its connection event: {e}");
                false
            }
        }
    }
}

/// `connection` events in the event log, once per token and state.
impl ConnectionEvents for crate::storage::Database {
    fn reauth_required(&self, tenant: &str, generation: u64, error: &api::GraphError) {
        let json = serde_json::json!({
            "type": "connection",
            "tenant": tenant,
            "state": "reauth-required",
            "generation": generation,
            "code": error.code,
            "subcode": error.subcode,
            "message": error.message,
            "fbtrace_id": error.fbtrace_id,
        });
        if record_connection(
            self,
            tenant,
            format!("connection:reauth-required:{generation}"),
            json,
        ) {
            tracing::warn!("tenant {tenant}: Meta refused its token; reconnect needed");
        }
    }

    fn connected(&self, tenant: &str, generation: u64, waba_ids: &[String]) {
        // A refused token held the tenant's outbox; a new connection lifts that hold.
        if let Ok(o) = self.outbox()
            && let Ok(holds) = o.outbox_holds(tenant)
            && holds
                .iter()
                .any(|h| h.campaign.is_none() && h.code != "paused")
            && let Err(e) = o.outbox_release(tenant, None)
        {
            tracing::error!("tenant {tenant}: lifting its outbox's hold: {e}");
        }
        let json = serde_json::json!({
            "type": "connection",
            "tenant": tenant,
            "state": "connected",
            "generation": generation,
            "waba_ids": waba_ids,
        });
        record_connection(
            self,
            tenant,
            format!("connection:connected:{generation}"),
            json,
        );
    }
}

/// The identity and settings the host binds into an instance. The guest reads them
/// through `wasi:config`; no argument of the guest's can change them.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantBinding {
    /// The tenant id: it namespaces storage and keys.
    pub tenant_id: String,
    /// The settings (`wasi:config` pairs), `tenant-id` included; shared, not copied, by
    /// every instance made from this binding.
    pub config: Arc<[(String, String)]>,
}

impl std::fmt::Debug for TenantBinding {
    // Settings include the app secret: show only the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.config.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TenantBinding")
            .field("tenant_id", &self.tenant_id)
            .field("config_keys", &keys)
            .finish()
    }
}

impl TenantBinding {
    /// A binding with these settings; `tenant-id` is set from `tenant_id`.
    pub fn new(tenant_id: &str, settings: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut config = vec![("tenant-id".to_string(), tenant_id.to_string())];
        config.extend(settings.into_iter().filter(|(k, _)| k != "tenant-id"));
        TenantBinding {
            tenant_id: tenant_id.to_string(),
            config: config.into(),
        }
    }
}

/// The store data of one tenant instance: one field per capability.
pub struct TenantState {
    tenant: String,
    config: Arc<[(String, String)]>,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: EgressHooks,
    throughput: Arc<crate::capabilities::throughput::Throughput>,
    outbox: Option<Arc<crate::capabilities::outbox::OutboxService>>,
    kv: Arc<dyn KvBackend>,
    vault: Arc<Vault>,
    events: Option<Arc<dyn ConnectionEvents>>,
    limits: StoreLimits,
    /// Key-value writes staged rather than written through (`Instance::defer_writes`).
    writes: Option<WriteSet>,
    /// Each call's budget, and when the current call must have ended.
    call_budget: Duration,
    call_deadline: std::time::Instant,
}

impl WasiView for TenantState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for TenantState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl TenantState {
    fn keyvalue(&mut self) -> KeyValue<'_> {
        KeyValue {
            tenant: &self.tenant,
            backend: &self.kv,
            table: &mut self.table,
            staged: self.writes.as_mut(),
        }
    }

    fn config(&mut self) -> Config<'_> {
        Config {
            pairs: &self.config,
        }
    }

    fn pacing(&mut self) -> crate::capabilities::throughput::Pacing<'_> {
        crate::capabilities::throughput::Pacing {
            throughput: &self.throughput,
            tenant: &self.tenant,
            outbox: self.outbox.as_deref(),
        }
    }

    fn outbox(&mut self) -> crate::capabilities::outbox::Outbox<'_> {
        crate::capabilities::outbox::Outbox {
            tenant: &self.tenant,
            service: self.outbox.as_ref(),
        }
    }

    fn crypto(&mut self) -> Crypto<'_> {
        Crypto {
            tenant: &self.tenant,
            vault: &self.vault,
        }
    }
}

/// The system clock moved by a number of seconds.
struct OffsetClock(i64);

impl wasmtime_wasi::HostWallClock for OffsetClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        if self.0 >= 0 {
            now + Duration::from_secs(self.0 as u64)
        } else {
            now.saturating_sub(Duration::from_secs(self.0.unsigned_abs()))
        }
    }
}

/// Increments the engine's epoch every tick until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

/// One epoch tick.
const TICK: Duration = Duration::from_millis(10);

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wa-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The loaded component, ready to instantiate for any tenant.
pub struct Runtime {
    engine: Engine,
    pub(crate) pre: InstancePre<TenantState>,
    exports: Arc<Exports>,
    typechecked: std::sync::OnceLock<()>,
    services: Services,
    pool: Arc<crate::capabilities::pool::Pool>,
    config: RuntimeConfig,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Load `wasm` (compiled, or read from the cache) and link it against the capabilities.
    pub fn new(wasm: &[u8], config: RuntimeConfig, services: Services) -> wasmtime::Result<Self> {
        let engine = Engine::new(&engine_config(&config))?;
        let component = load_component(&engine, wasm, config.cache_dir.as_deref())?;
        let mut linker = Linker::<TenantState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::capabilities::keyvalue::add_to_linker(&mut linker, TenantState::keyvalue)?;
        crate::capabilities::config::add_to_linker(&mut linker, TenantState::config)?;
        crate::capabilities::crypto::add_to_linker(&mut linker, TenantState::crypto)?;
        crate::capabilities::throughput::add_to_linker(&mut linker, TenantState::pacing)?;
        crate::capabilities::outbox::add_to_linker(&mut linker, TenantState::outbox)?;
        let exports = Arc::new(Exports::new(&component)?);
        let pre = linker.instantiate_pre(&component)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Runtime {
            engine,
            pre,
            exports,
            typechecked: std::sync::OnceLock::new(),
            services,
            pool: Default::default(),
            config,
            _ticker: ticker,
        })
    }

    /// The services instances get.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// How many instances can be live at once (the pool's size).
    pub fn max_instances(&self) -> u32 {
        self.config.max_instances
    }

    /// A fresh instance bound to `binding`, with the tenant's limits and deadline.
    pub async fn instantiate(&self, binding: &TenantBinding) -> wasmtime::Result<Instance> {
        let state = TenantState {
            tenant: binding.tenant_id.clone(),
            config: binding.config.clone(),
            table: {
                let mut t = ResourceTable::new();
                t.set_max_capacity(self.config.max_resources);
                t
            },
            wasi: {
                let mut b = WasiCtx::builder();
                if self.config.clock_offset_secs != 0 {
                    b.wall_clock(OffsetClock(self.config.clock_offset_secs));
                }
                b.build()
            },
            http: WasiHttpCtx::new(),
            hooks: EgressHooks {
                policy: self.services.egress.clone(),
                recorder: self.services.recorder.clone(),
                pool: self.pool.clone(),
            },
            throughput: self.services.throughput.clone(),
            outbox: self.services.outbox.clone(),
            kv: self.services.kv.clone(),
            vault: self.services.vault.clone(),
            events: self.services.events.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.config.memory_limit_bytes)
                .trap_on_grow_failure(true)
                .build(),
            writes: None,
            call_budget: self.config.deadline,
            call_deadline: std::time::Instant::now() + self.config.deadline,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Every tick that finds wasm running yields to the executor, so a busy guest
        // never holds a worker thread; past the deadline it is stopped.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |ctx| {
            Ok(if std::time::Instant::now() >= ctx.data().call_deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        let instance = self.pre.instantiate_async(&mut store).await?;
        if self.typechecked.get().is_none() {
            self.exports.typecheck(&mut store, &instance)?;
            let _ = self.typechecked.set(());
        }
        Ok(Instance {
            store,
            instance,
            exports: self.exports.clone(),
        })
    }
}

/// Bytes of a freed instance's linear memory reset in place instead of decommitted.
const KEEP_RESIDENT: usize = 2 << 20;

fn engine_config(config: &RuntimeConfig) -> EngineConfig {
    let mut c = EngineConfig::new();
    c.epoch_interruption(true);
    // `WA_PERF_MAP=1` names the component's compiled functions for `perf` (in
    // /tmp/perf-PID.map), so that a profile of the host shows where the guest spends.
    if std::env::var_os("WA_PERF_MAP").is_some() {
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let mut pool = PoolingAllocationConfig::default();
    let n = config.max_instances;
    pool.total_component_instances(n);
    pool.total_core_instances(n.saturating_mul(8));
    // The component has one linear memory; each slot reserves address space (4 GiB plus
    // guard) so that bounds checks can be elided, hence one slot per instance, no more.
    pool.total_memories(n);
    pool.total_tables(n.saturating_mul(8));
    pool.max_memory_size(config.memory_limit_bytes);
    // A slot freed is reused warm: its low memory (where the guest's stack, data and
    // small heap live) is reset in place rather than unmapped, so that the next instance
    // neither page-faults it back in nor makes every core flush its TLB (madvise).
    pool.linear_memory_keep_resident(KEEP_RESIDENT);
    pool.table_keep_resident(64 << 10);
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.decommit_batch_size(32);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c
}

fn load_component(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&std::path::Path>,
) -> wasmtime::Result<Component> {
    use sha2::{Digest, Sha256};
    use std::hash::{Hash, Hasher};
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm);
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let digest = Sha256::new_with_prefix(wasm)
        .chain_update(h.finish().to_le_bytes())
        .finalize();
    let path = dir.join(format!(
        "whatsapp-guest-{}.cwasm",
        hex::encode(&digest[..12])
    ));
    if path.exists() {
        // SAFETY: the file is one this host wrote for this exact engine configuration and
        // component (both are in its name), in the host's own data directory.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => tracing::warn!(
                "ignoring the unreadable cached component {}: {e}",
                path.display()
            ),
        }
    }
    let component = Component::new(engine, wasm)?;
    let bytes = component.serialize()?;
    std::fs::create_dir_all(dir)?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| wasmtime::format_err!("random: {e}"))?;
    // Unique per writer: several processes (or tests in one process) may compile at once.
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), hex::encode(nonce)));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(component)
}

/// One tenant instance: call the component's operations on it.
pub struct Instance {
    pub(crate) store: Store<TenantState>,
    pub(crate) instance: wasmtime::component::Instance,
    exports: Arc<Exports>,
}

/// The component's API types, re-exported without the generated module paths.
pub mod api {
    /// Everything `messages.send` takes, under the WIT's own names, and the other
    /// records of `messages`.
    pub mod outgoing {
        pub use crate::bindings::exports::whatsapp::cloud_api::messages::{
            BlockOutcome, BlockedPage, DeliveryState, RequestPreview,
        };
        pub use crate::bindings::whatsapp::cloud_api::outgoing::*;
    }
    /// The `outbox` interface's records (the host keeps the outbox), and those of
    /// `messages` that its operations take and give.
    pub mod outbox {
        pub use crate::bindings::exports::whatsapp::cloud_api::messages::{
            Delivery, OutboxItem, Retry,
        };
        pub use crate::bindings::whatsapp::cloud_api::outbox::*;
        pub use crate::bindings::whatsapp::cloud_api::types::{
            Enqueued, EntryState, EntryUpdate, Priority, Queued, TemplateRef,
        };
    }
    pub use crate::bindings::exports::whatsapp::cloud_api::catalog::{
        BatchResult, BatchStatus, ItemError, Product, ProductInput, ProductPage,
    };
    pub use crate::bindings::exports::whatsapp::cloud_api::connection::{
        AppSubscription, Authorization, AuthorizeRequest, BusinessProfile, BusinessUsername,
        CallbackOverride, CodeMethod, Connected, CredentialState, CredentialStatus,
        NumberReadiness, PhoneNumber, ProfileUpdate, Readiness, ReadinessCheck, ReadinessItem,
        SyncKind, TenantInfo, TokenHealth, TokenRefresh,
    };
    pub use crate::bindings::exports::whatsapp::cloud_api::flows::{
        AssetResult, FlowDetails, FlowExchange, FlowPage, FlowPreview, FlowSummary, FlowUpdate,
        FlowValidationError, NewFlow,
    };
    pub use crate::bindings::exports::whatsapp::cloud_api::media::{
        DownloadInfo, DownloadedMedia, MediaInfo, MediaKind, UploadProgress,
    };
    pub use crate::bindings::exports::whatsapp::cloud_api::messages::DeliveryState;
    pub use crate::bindings::exports::whatsapp::cloud_api::templates::{
        CreatedTemplate, ListQuery, NewTemplate, SyncReport, TemplateDetails, TemplatePage,
        TemplateSummary,
    };
    pub use crate::bindings::whatsapp::cloud_api::outgoing::{Content, OutgoingMessage, Text};
    /// The `groups` interface's records.
    pub mod groups {
        pub use crate::bindings::exports::whatsapp::cloud_api::groups::*;
    }
    /// The `business` interface's records.
    pub mod business {
        pub use crate::bindings::exports::whatsapp::cloud_api::business::*;
    }
    /// The `calling` interface's records.
    pub mod calling {
        pub use crate::bindings::exports::whatsapp::cloud_api::calling::*;
    }
    /// The `insights` interface's records.
    pub mod insights {
        pub use crate::bindings::exports::whatsapp::cloud_api::insights::*;
    }
    /// The `flows` interface's records.
    pub mod flows {
        pub use crate::bindings::exports::whatsapp::cloud_api::flows::*;
    }
    /// The `templates` interface's records.
    pub mod templates {
        pub use crate::bindings::exports::whatsapp::cloud_api::templates::*;
    }
    pub use crate::bindings::exports::whatsapp::cloud_api::webhooks::{
        AccountUpdate, CallEvent, CallPermissionReply, Contact, ContactCard, Conversation, Edit,
        Event, EventBody, EventRecord, FlowReply, InboundMessage, IngestResult, Location, Media,
        MessageContent, MessageContext, MessageEcho, Order, OrderItem, PhoneNumberUpdate,
        PhoneNumberUpdateKind, Pricing, QuickReply, Reaction, Referral, ReplyChoice, Routing,
        StatusUpdate, SystemNotice, TemplateUpdate, TemplateUpdateKind, UserPreference,
    };
    pub use crate::bindings::whatsapp::cloud_api::types::{
        DeliveryStatus, Error, ErrorKind, GraphError, SendResult,
    };
}

/// A call's outcome: the outer error is a trap or host failure, the inner one the
/// component's typed error.
pub type CallResult<T> = wasmtime::Result<Result<T, api::Error>>;

impl Instance {
    /// After a call that met a refused token: a `connection` event (the component has
    /// marked the tenant `reauth-required` already), under the credential generation the
    /// component reports.
    pub(crate) async fn noted(&mut self, error: &api::GraphError) {
        if self.store.data().events.is_none() {
            return;
        }
        let status = self
            .call::<(), api::CredentialStatus>(self.exports.credential_status, "status", ())
            .await;
        let generation = match status {
            Ok(Ok(s)) => s.generation,
            _ => 0,
        };
        let data = self.store.data();
        if let Some(events) = &data.events {
            events.reauth_required(&data.tenant, generation, error);
        }
    }

    /// Start a call: its deadline a full budget from now, and its span.
    pub(crate) fn start_call(&mut self, name: &str) -> tracing::Span {
        let data = self.store.data_mut();
        data.call_deadline = std::time::Instant::now() + data.call_budget;
        let span = tracing::debug_span!("component", call = name, tenant = %data.tenant);
        // A store used again starts each call a full tick from its deadline.
        self.store.set_epoch_deadline(1);
        span
    }

    /// Call the export at `index`, whose signature `Exports::typecheck` checked.
    async fn call<P, R>(
        &mut self,
        index: ComponentExportIndex,
        name: &'static str,
        args: P,
    ) -> CallResult<R>
    where
        P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower + Send + Sync,
        R: wasmtime::component::ComponentType + wasmtime::component::Lift + Send + Sync + 'static,
    {
        let func = self
            .instance
            .get_func(&mut self.store, index)
            .ok_or_else(|| wasmtime::format_err!("the component exports no {name}"))?;
        // SAFETY: `Exports::typecheck` checked this very signature against the component
        // every instance of this runtime comes from.
        let typed = unsafe { TypedFunc::<P, (Result<R, api::Error>,)>::new_unchecked(func) };
        let started = std::time::Instant::now();
        let span = self.start_call(name);
        let called = typed
            .call_async(&mut self.store, args)
            .instrument(span.clone())
            .await;
        crate::telemetry::histograms().component_call(name, started.elapsed());
        span.in_scope(|| match &called {
            Ok((r,)) => tracing::debug!(
                us = started.elapsed().as_micros() as u64,
                error = r.as_ref().err().map(|e| tracing::field::debug(e.kind)),
                "component call returned"
            ),
            Err(trap) => tracing::debug!(%trap, "component call trapped"),
        });
        let (r,) = called?;
        Ok(r)
    }

    /// `messages.deliver`: send outbox entry `id` now (try `attempt`, from 1); what
    /// became of it.
    pub async fn deliver(
        &mut self,
        id: &str,
        entry: &api::outbox::Queued,
        attempt: u32,
    ) -> wasmtime::Result<api::outbox::Delivery> {
        let func = self
            .instance
            .get_func(&mut self.store, self.exports.deliver)
            .ok_or_else(|| wasmtime::format_err!("the component exports no deliver"))?;
        // SAFETY: `Exports::typecheck` checked this signature against the component.
        let typed = unsafe {
            TypedFunc::<(&str, &api::outbox::Queued, u32), (api::outbox::Delivery,)>::new_unchecked(
                func,
            )
        };
        let started = std::time::Instant::now();
        let span = self.start_call("deliver");
        let (delivery,) = typed
            .call_async(&mut self.store, (id, entry, attempt))
            .instrument(span)
            .await?;
        crate::telemetry::histograms().component_call("deliver", started.elapsed());
        if let api::outbox::Delivery::HoldTenant(api::Error { graph: Some(e), .. }) = &delivery {
            self.noted(e).await;
        }
        Ok(delivery)
    }

    /// From now on, stage the component's key-value writes instead of writing them
    /// through; reads still see them. [`Instance::take_writes`] hands them over to be
    /// committed (the webhook server commits them with the events, see [`crate::journal`]).
    /// Writes staged before and not taken are dropped: an instance used again (the
    /// server's warm ones) starts each unit of work from an empty set.
    pub fn defer_writes(&mut self) {
        let data = self.store.data_mut();
        data.writes = Some(WriteSet::new(&data.tenant));
    }

    /// The writes staged so far (empty unless [`Instance::defer_writes`] was called).
    pub fn take_writes(&mut self) -> WriteSet {
        let data = self.store.data_mut();
        match &mut data.writes {
            Some(w) => std::mem::replace(w, WriteSet::new(&data.tenant)),
            None => WriteSet::new(&data.tenant),
        }
    }
}

/// Where each operation the host calls is, found once per component, and the typed
/// `Instance` method that calls it.
macro_rules! exports {
    ($(
        $(#[$doc:meta])*
        $name:ident($($arg:ident: $ty:ty),*) -> $ok:ty = $iface:expr, $func:literal;
    )*) => {
        struct Exports {
            $($name: ComponentExportIndex,)*
            /// `messages.deliver`, the one operation that returns no `result`.
            deliver: ComponentExportIndex,
        }

        impl Exports {
            fn new(component: &Component) -> wasmtime::Result<Self> {
                Ok(Exports {
                    $($name: export_index(component, $iface, $func)?,)*
                    deliver: export_index(component, MESSAGES, "deliver")?,
                })
            }

            /// Check every signature against the component, once: what lets each call
            /// skip the check (`TypedFunc::new_unchecked`).
            fn typecheck(
                &self,
                store: &mut Store<TenantState>,
                instance: &wasmtime::component::Instance,
            ) -> wasmtime::Result<()> {
                $(instance.get_typed_func::<($($ty,)*), (Result<$ok, api::Error>,)>(&mut *store, self.$name)?;)*
                instance.get_typed_func::<(&str, &api::outbox::Queued, u32), (api::outbox::Delivery,)>(&mut *store, self.deliver)?;
                Ok(())
            }
        }

        impl Instance {
            $(
                $(#[$doc])*
                pub async fn $name(&mut self, $($arg: $ty),*) -> CallResult<$ok> {
                    let r = self.call(self.exports.$name, $func, ($($arg,)*)).await?;
                    if let Err(api::Error { kind: api::ErrorKind::Unauthorized, graph: Some(e), .. }) = &r {
                        self.noted(e).await;
                    }
                    Ok(r)
                }
            )*
        }
    };
}

const MESSAGES: &str = "whatsapp:cloud-api/messages@0.1.0";
const WEBHOOKS: &str = "whatsapp:cloud-api/webhooks@0.1.0";
const TEMPLATES: &str = "whatsapp:cloud-api/templates@0.1.0";
const MEDIA: &str = "whatsapp:cloud-api/media@0.1.0";
const FLOWS: &str = "whatsapp:cloud-api/flows@0.1.0";
const CATALOG: &str = "whatsapp:cloud-api/catalog@0.1.0";
const CONNECTION: &str = "whatsapp:cloud-api/connection@0.1.0";
const GROUPS: &str = "whatsapp:cloud-api/groups@0.1.0";
const BUSINESS: &str = "whatsapp:cloud-api/business@0.1.0";
const CALLING: &str = "whatsapp:cloud-api/calling@0.1.0";
const INSIGHTS: &str = "whatsapp:cloud-api/insights@0.1.0";

exports! {
    /// `messages.send`
    send(message: &api::OutgoingMessage) -> api::SendResult = MESSAGES, "send";
    /// `messages.send-from`
    send_from(phone_number_id: &str, message: &api::OutgoingMessage) -> api::SendResult = MESSAGES, "send-from";
    /// `messages.mark-read`
    mark_read(message_id: &str, typing_indicator: bool) -> () = MESSAGES, "mark-read";
    /// `messages.block-users`
    block_users(users: &[String]) -> Vec<api::outgoing::BlockOutcome> = MESSAGES, "block-users";
    /// `messages.unblock-users`
    unblock_users(users: &[String]) -> Vec<api::outgoing::BlockOutcome> = MESSAGES, "unblock-users";
    /// `messages.blocked-users`
    blocked_users(after: Option<&str>) -> api::outgoing::BlockedPage = MESSAGES, "blocked-users";
    /// `messages.enqueue`
    enqueue(items: &[api::outbox::OutboxItem]) -> Vec<api::outbox::Enqueued> = MESSAGES, "enqueue";
    /// `messages.history-clear`
    history_clear(phone_number_id: &str, since_ms: u64) -> bool = MESSAGES, "history-clear";
    /// `messages.preview`
    preview(message: &api::OutgoingMessage) -> api::outgoing::RequestPreview = MESSAGES, "preview";
    /// `messages.status`
    status(message_id: &str) -> Option<api::DeliveryState> = MESSAGES, "status";
    /// `webhooks.verify-subscription`
    verify_subscription(mode: &str, token: &str, challenge: &str) -> String = WEBHOOKS, "verify-subscription";
    /// `webhooks.verify-signature`
    verify_signature(body: &[u8], signature: Option<&str>) -> () = WEBHOOKS, "verify-signature";
    /// `webhooks.parse`
    parse(body: &[u8]) -> Vec<api::Event> = WEBHOOKS, "parse";
    /// `webhooks.receive`
    receive(body: &[u8], signature: Option<&str>) -> Vec<api::Event> = WEBHOOKS, "receive";
    /// `webhooks.ingest`
    ingest(body: &[u8]) -> api::IngestResult = WEBHOOKS, "ingest";
    /// `connection.info`
    info() -> api::TenantInfo = CONNECTION, "info";
    /// `connection.status`
    credential_status() -> api::CredentialStatus = CONNECTION, "status";
    /// `connection.authorize-url`
    authorize_url(request: &api::AuthorizeRequest) -> api::Authorization = CONNECTION, "authorize-url";
    /// `connection.exchange-code`
    exchange_code(code: &str, state: &str, redirect_uri: &str) -> api::Connected = CONNECTION, "exchange-code";
    /// `connection.disconnect`
    disconnect() -> () = CONNECTION, "disconnect";
    /// `connection.set-access-token`
    set_access_token(token: &str) -> u64 = CONNECTION, "set-access-token";
    /// `connection.set-catalog-token`
    set_catalog_token(token: &str) -> () = CONNECTION, "set-catalog-token";
    /// `connection.health`
    health() -> api::TokenHealth = CONNECTION, "health";
    /// `connection.list-numbers`
    list_numbers() -> Vec<api::PhoneNumber> = CONNECTION, "list-numbers";
    /// `connection.register-number`
    register_number(phone_number_id: &str, pin: &str) -> () = CONNECTION, "register-number";
    /// `connection.deregister-number`
    deregister_number(phone_number_id: &str) -> () = CONNECTION, "deregister-number";
    /// `connection.set-two-step-pin`
    set_two_step_pin(phone_number_id: &str, pin: &str) -> () = CONNECTION, "set-two-step-pin";
    /// `connection.request-code`
    request_code(phone_number_id: &str, method: api::CodeMethod, language: &str) -> () = CONNECTION, "request-code";
    /// `connection.verify-code`
    verify_code(phone_number_id: &str, code: &str) -> () = CONNECTION, "verify-code";
    /// `connection.subscribe-app`
    subscribe_app(callback: Option<&api::CallbackOverride>) -> () = CONNECTION, "subscribe-app";
    /// `connection.subscriptions`
    subscriptions() -> Vec<api::AppSubscription> = CONNECTION, "subscriptions";
    /// `connection.unsubscribe-app`
    unsubscribe_app() -> () = CONNECTION, "unsubscribe-app";
    /// `connection.profile`
    business_profile(phone_number_id: Option<&str>) -> api::BusinessProfile = CONNECTION, "profile";
    /// `connection.update-profile`
    update_business_profile(phone_number_id: Option<&str>, update: &api::ProfileUpdate) -> () = CONNECTION, "update-profile";
    /// `connection.username`
    business_username(phone_number_id: Option<&str>) -> api::BusinessUsername = CONNECTION, "username";
    /// `connection.set-username`
    set_business_username(phone_number_id: Option<&str>, username: &str, force_transfer: bool) -> String = CONNECTION, "set-username";
    /// `connection.delete-username`
    delete_business_username(phone_number_id: Option<&str>) -> () = CONNECTION, "delete-username";
    /// `connection.refresh-token`
    refresh_token() -> api::TokenRefresh = CONNECTION, "refresh-token";
    /// `connection.request-sync`
    request_sync(phone_number_id: Option<&str>, kind: api::SyncKind) -> String = CONNECTION, "request-sync";
    /// `connection.check-readiness`
    check_readiness() -> api::Readiness = CONNECTION, "check-readiness";
    /// `templates.list`
    list_templates(query: &api::ListQuery) -> api::TemplatePage = TEMPLATES, "list";
    /// `templates.create`
    create_template(template: &api::NewTemplate) -> api::CreatedTemplate = TEMPLATES, "create";
    /// `templates.create-json`
    create_template_json(json: &str) -> api::CreatedTemplate = TEMPLATES, "create-json";
    /// `templates.get`
    get_template(template_id: &str) -> api::TemplateDetails = TEMPLATES, "get";
    /// `templates.edit`
    edit_template(template_id: &str, template: &api::NewTemplate) -> () = TEMPLATES, "edit";
    /// `templates.edit-json`
    edit_template_json(template_id: &str, json: &str) -> () = TEMPLATES, "edit-json";
    /// `templates.delete`
    delete_template(name: &str, template_id: Option<&str>) -> () = TEMPLATES, "delete";
    /// `templates.sync`
    sync_templates() -> api::SyncReport = TEMPLATES, "sync";
    /// `media.get`
    media_info(media_id: &str) -> api::MediaInfo = MEDIA, "get";
    /// `media.upload`
    upload_media(kind: api::MediaKind, mime_type: &str, file_name: &str, data: &[u8]) -> String = MEDIA, "upload";
    /// `media.begin-upload`
    begin_upload(kind: api::MediaKind, mime_type: &str, file_name: &str, size: u64) -> u32 = MEDIA, "begin-upload";
    /// `media.write-upload`
    write_upload(upload: u32, data: &[u8]) -> u64 = MEDIA, "write-upload";
    /// `media.finish-upload`
    finish_upload(upload: u32) -> String = MEDIA, "finish-upload";
    /// `media.start-upload`
    start_upload(file_name: &str, file_length: u64, mime_type: &str) -> api::UploadProgress = MEDIA, "start-upload";
    /// `media.upload-chunk`
    upload_chunk(session_id: &str, offset: u64, data: &[u8]) -> api::UploadProgress = MEDIA, "upload-chunk";
    /// `media.upload-status`
    upload_status(session_id: &str) -> api::UploadProgress = MEDIA, "upload-status";
    /// `media.download`
    download_media(media_id: &str, expected_sha256: Option<&str>) -> api::DownloadedMedia = MEDIA, "download";
    /// `media.begin-download`
    begin_download(media_id: &str, expected_sha256: Option<&str>) -> api::DownloadInfo = MEDIA, "begin-download";
    /// `media.read-download`
    read_download(download: u32, max_bytes: u32) -> Vec<u8> = MEDIA, "read-download";
    /// `media.delete`
    delete_media(media_id: &str) -> () = MEDIA, "delete";
    /// `catalog.list-products`
    list_products(catalog_id: &str, after: Option<&str>) -> api::ProductPage = CATALOG, "list-products";
    /// `catalog.upsert-products`
    upsert_products(catalog_id: &str, products: &[api::ProductInput]) -> api::BatchResult = CATALOG, "upsert-products";
    /// `catalog.delete-products`
    delete_products(catalog_id: &str, retailer_ids: &[String]) -> api::BatchResult = CATALOG, "delete-products";
    /// `catalog.create-product`
    create_product(catalog_id: &str, product: &api::ProductInput) -> String = CATALOG, "create-product";
    /// `catalog.check-batch`
    check_batch(catalog_id: &str, handle: &str) -> api::BatchStatus = CATALOG, "check-batch";
    /// `catalog.minor-units`
    minor_units(amount: &str, currency: &str) -> u64 = CATALOG, "minor-units";
    /// `groups.create`
    create_group(phone_number_id: Option<&str>, subject: &str, description: Option<&str>, approval_required: bool) -> String = GROUPS, "create";
    /// `groups.list`
    list_groups(phone_number_id: Option<&str>, after: Option<&str>) -> api::groups::GroupPage = GROUPS, "list";
    /// `groups.get`
    get_group(group_id: &str) -> api::groups::GroupInfo = GROUPS, "get";
    /// `groups.update`
    update_group(group_id: &str, subject: Option<&str>, description: Option<&str>) -> Option<String> = GROUPS, "update";
    /// `groups.delete`
    delete_group(group_id: &str) -> () = GROUPS, "delete";
    /// `groups.invite-link`
    group_invite_link(group_id: &str, reset: bool) -> String = GROUPS, "invite-link";
    /// `groups.remove-participants`
    remove_group_participants(group_id: &str, users: &[String]) -> Option<String> = GROUPS, "remove-participants";
    /// `groups.join-requests`
    group_join_requests(group_id: &str, after: Option<&str>) -> api::groups::JoinRequestPage = GROUPS, "join-requests";
    /// `groups.answer-join-requests`
    answer_group_join_requests(group_id: &str, ids: &[String], approve: bool) -> Vec<api::groups::JoinOutcome> = GROUPS, "answer-join-requests";
    /// `flows.list`
    list_flows(after: Option<&str>) -> api::FlowPage = FLOWS, "list";
    /// `flows.create`
    create_flow(flow: &api::NewFlow) -> String = FLOWS, "create";
    /// `flows.get`
    get_flow(flow_id: &str) -> api::FlowDetails = FLOWS, "get";
    /// `flows.update`
    update_flow(flow_id: &str, update: &api::FlowUpdate) -> () = FLOWS, "update";
    /// `flows.upload-json`
    upload_flow_json(flow_id: &str, flow_json: &str) -> api::AssetResult = FLOWS, "upload-json";
    /// `flows.publish`
    publish_flow(flow_id: &str) -> () = FLOWS, "publish";
    /// `flows.deprecate`
    deprecate_flow(flow_id: &str) -> () = FLOWS, "deprecate";
    /// `flows.delete`
    delete_flow(flow_id: &str) -> () = FLOWS, "delete";
    /// `flows.preview`
    preview_flow(flow_id: &str, invalidate: bool) -> api::FlowPreview = FLOWS, "preview";
    /// `flows.set-public-key`
    set_flow_public_key(phone_number_id: Option<&str>, pem: &str) -> () = FLOWS, "set-public-key";
    /// `flows.get-public-key`
    get_flow_public_key(phone_number_id: Option<&str>) -> Option<api::flows::PublicKey> = FLOWS, "get-public-key";
    /// `flows.download-json`
    download_flow_json(flow_id: &str) -> String = FLOWS, "download-json";
    /// `flows.metrics`
    flow_metrics(flow_id: &str, query: &api::flows::MetricQuery) -> Vec<api::flows::MetricPoint> = FLOWS, "metrics";
    /// `flows.migrate`
    migrate_flows(source_waba_id: &str, flow_names: Option<&[String]>) -> api::flows::Migration = FLOWS, "migrate";
    /// `connection.add-number`
    add_number(country_code: &str, phone_number: &str, verified_name: &str) -> String = CONNECTION, "add-number";
    /// `business.get-automation`
    get_automation(phone_number_id: Option<&str>) -> api::business::Automation = BUSINESS, "get-automation";
    /// `business.set-automation`
    set_automation(phone_number_id: Option<&str>, automation: &api::business::Automation) -> () = BUSINESS, "set-automation";
    /// `business.create-qr-code`
    create_qr_code(phone_number_id: Option<&str>, prefilled_message: &str, image: Option<api::business::QrImageFormat>) -> api::business::QrCode = BUSINESS, "create-qr-code";
    /// `business.update-qr-code`
    update_qr_code(phone_number_id: Option<&str>, code: &str, prefilled_message: &str) -> api::business::QrCode = BUSINESS, "update-qr-code";
    /// `business.list-qr-codes`
    list_qr_codes(phone_number_id: Option<&str>, image: Option<api::business::QrImageFormat>, after: Option<&str>) -> api::business::QrPage = BUSINESS, "list-qr-codes";
    /// `business.delete-qr-code`
    delete_qr_code(phone_number_id: Option<&str>, code: &str) -> () = BUSINESS, "delete-qr-code";
    /// `business.get-commerce-settings`
    get_commerce_settings(phone_number_id: Option<&str>) -> api::business::CommerceSettings = BUSINESS, "get-commerce-settings";
    /// `business.set-commerce-settings`
    set_commerce_settings(phone_number_id: Option<&str>, settings: api::business::CommerceSettings) -> () = BUSINESS, "set-commerce-settings";
    /// `business.get-number-settings`
    get_number_settings(phone_number_id: Option<&str>) -> api::business::NumberSettings = BUSINESS, "get-number-settings";
    /// `business.set-calling`
    set_calling(phone_number_id: Option<&str>, enabled: bool, icon_visible: Option<bool>, callback_permission: Option<bool>) -> () = BUSINESS, "set-calling";
    /// `business.set-storage`
    set_storage(phone_number_id: Option<&str>, region: Option<&str>) -> () = BUSINESS, "set-storage";
    /// `business.profile-picture`
    profile_picture(phone_number_id: Option<&str>) -> Option<api::business::Picture> = BUSINESS, "profile-picture";
    /// `business.catalogs`
    catalogs() -> Vec<api::business::CatalogSummary> = BUSINESS, "catalogs";
    /// `business.marketing-messages-status`
    marketing_messages_status() -> String = BUSINESS, "marketing-messages-status";
    /// `templates.library`
    template_library(query: &api::templates::LibraryQuery) -> api::templates::LibraryPage = TEMPLATES, "library";
    /// `templates.create-from-library`
    create_template_from_library(template: &api::templates::FromLibrary) -> api::CreatedTemplate = TEMPLATES, "create-from-library";
    /// `templates.compare`
    compare_templates(template_id: &str, other_id: &str, start: u64, end: u64) -> api::templates::Comparison = TEMPLATES, "compare";
    /// `templates.unpause`
    unpause_template(template_id: &str) -> () = TEMPLATES, "unpause";
    /// `templates.upsert-authentication`
    upsert_authentication_template(template: &api::templates::AuthenticationTemplate) -> Vec<api::templates::UpsertedTemplate> = TEMPLATES, "upsert-authentication";
    /// `templates.migrate`
    migrate_templates(source_waba_id: &str, page: Option<u32>) -> api::templates::TemplateMigration = TEMPLATES, "migrate";
    /// `insights.enable-template-analytics`
    enable_template_analytics() -> () = INSIGHTS, "enable-template-analytics";
    /// `insights.template-analytics`
    template_analytics(template_ids: &[String], start: u64, end: u64, after: Option<&str>) -> api::insights::TemplateAnalyticsPage = INSIGHTS, "template-analytics";
    /// `insights.pricing`
    pricing_analytics(query: &api::insights::UsageQuery) -> Vec<api::insights::Usage> = INSIGHTS, "pricing";
    /// `insights.conversations`
    conversation_analytics(query: &api::insights::UsageQuery) -> Vec<api::insights::Usage> = INSIGHTS, "conversations";
    /// `calling.permission`
    call_permission(phone_number_id: Option<&str>, user: &str) -> api::calling::CallPermission = CALLING, "permission";
    /// `calling.connect`
    connect_call(phone_number_id: Option<&str>, to: &str, sdp_offer: &str, callback_data: Option<&str>) -> String = CALLING, "connect";
    /// `calling.respond`
    respond_to_call(phone_number_id: Option<&str>, call_id: &str, action: &api::calling::CallAction) -> () = CALLING, "respond";
    /// `flows.decrypt-request`
    decrypt_flow_request(body: &[u8], signature: Option<&str>) -> api::FlowExchange = FLOWS, "decrypt-request";
    /// `flows.encrypt-response`
    encrypt_flow_response(exchange: &api::FlowExchange, response_json: &str) -> String = FLOWS, "encrypt-response";
}

fn export_index(
    c: &Component,
    interface: &str,
    func: &str,
) -> wasmtime::Result<ComponentExportIndex> {
    let (_, instance) = c
        .get_export(None, interface)
        .ok_or_else(|| wasmtime::format_err!("the component does not export {interface}"))?;
    let (_, f) = c
        .get_export(Some(&instance), func)
        .ok_or_else(|| wasmtime::format_err!("the component's {interface} has no {func}"))?;
    Ok(f)
}
