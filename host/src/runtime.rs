//! The engine, the component compiled once (and cached precompiled on disk), the
//! `InstancePre`, and a fresh `Store` with limits and a deadline for each unit of work.

use crate::bindings::PluginCore;
use crate::bindings::PluginCorePre;
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
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config as EngineConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
    StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The component this host was built with (compiled from `guest/` by the build script).
pub const COMPONENT: &[u8] = include_bytes!(env!("WA_GUEST_WASM"));

/// Per-tenant limits and the pool's size.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Live instances at once (the pooling allocator's size).
    pub max_instances: u32,
    /// Linear memory a tenant instance may grow to.
    pub memory_limit_bytes: usize,
    /// Wall-clock budget of one call into the component (checked while wasm runs).
    pub deadline: Duration,
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
}

/// The identity and settings the host binds into an instance. The guest reads them
/// through `wasi:config`; no argument of the guest's can change them.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantBinding {
    /// The tenant id: it namespaces storage and keys.
    pub tenant_id: String,
    /// The settings (`wasi:config` pairs), `tenant-id` included.
    pub config: Vec<(String, String)>,
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
            config,
        }
    }
}

/// The store data of one tenant instance: one field per capability.
pub struct TenantState {
    tenant: String,
    config: Vec<(String, String)>,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: EgressHooks,
    kv: Arc<dyn KvBackend>,
    vault: Arc<Vault>,
    limits: StoreLimits,
    /// Key-value writes staged rather than written through (`Instance::defer_writes`).
    writes: Option<WriteSet>,
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
    pre: PluginCorePre<TenantState>,
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
        let pre = PluginCorePre::new(linker.instantiate_pre(&component)?)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Runtime {
            engine,
            pre,
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

    /// A fresh instance bound to `binding`, with the tenant's limits and deadline.
    pub async fn instantiate(&self, binding: &TenantBinding) -> wasmtime::Result<Instance> {
        let state = TenantState {
            tenant: binding.tenant_id.clone(),
            config: binding.config.clone(),
            table: ResourceTable::new(),
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
                throughput: self.services.throughput.clone(),
                pool: self.pool.clone(),
            },
            kv: self.services.kv.clone(),
            vault: self.services.vault.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.config.memory_limit_bytes)
                .trap_on_grow_failure(true)
                .build(),
            writes: None,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = (self.config.deadline.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let plugin = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, plugin })
    }
}

fn engine_config(config: &RuntimeConfig) -> EngineConfig {
    let mut c = EngineConfig::new();
    c.epoch_interruption(true);
    let mut pool = PoolingAllocationConfig::default();
    let n = config.max_instances;
    pool.total_component_instances(n);
    pool.total_core_instances(n.saturating_mul(8));
    // The component has one linear memory; each slot reserves address space (4 GiB plus
    // guard) so that bounds checks can be elided, hence one slot per instance, no more.
    pool.total_memories(n);
    pool.total_tables(n.saturating_mul(8));
    pool.max_memory_size(config.memory_limit_bytes);
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
    store: Store<TenantState>,
    plugin: PluginCore,
}

/// The component's API types, re-exported without the generated module paths.
pub mod api {
    /// Everything `messages.send` takes, under the WIT's own names.
    pub mod outgoing {
        pub use crate::bindings::exports::whatsapp::cloud_api::messages::*;
    }
    pub use crate::bindings::exports::whatsapp::cloud_api::catalog::{Product, ProductPage};
    pub use crate::bindings::exports::whatsapp::cloud_api::connection::TenantInfo;
    pub use crate::bindings::exports::whatsapp::cloud_api::flows::{FlowPage, FlowSummary};
    pub use crate::bindings::exports::whatsapp::cloud_api::media::MediaInfo;
    pub use crate::bindings::exports::whatsapp::cloud_api::messages::DeliveryState;
    pub use crate::bindings::exports::whatsapp::cloud_api::messages::{
        Content, OutgoingMessage, Text,
    };
    pub use crate::bindings::exports::whatsapp::cloud_api::templates::{
        ListQuery, TemplatePage, TemplateSummary,
    };
    pub use crate::bindings::exports::whatsapp::cloud_api::webhooks::{
        AccountUpdate, CallEvent, CallPermissionReply, Contact, ContactCard, Conversation, Edit,
        Event, EventBody, FlowReply, InboundMessage, IngestResult, Location, Media, MessageContent,
        MessageContext, MessageEcho, Order, OrderItem, PhoneNumberUpdate, PhoneNumberUpdateKind,
        Pricing, QuickReply, Reaction, Referral, ReplyChoice, Routing, StatusUpdate, SystemNotice,
        TemplateUpdate, TemplateUpdateKind, UserPreference,
    };
    pub use crate::bindings::whatsapp::cloud_api::types::{
        DeliveryStatus, Error, GraphError, InvalidInput, RateLimited, SendResult,
    };
}

/// A call's outcome: the outer error is a trap or host failure, the inner one the
/// component's typed error.
pub type CallResult<T> = wasmtime::Result<Result<T, api::Error>>;

impl Instance {
    /// From now on, stage the component's key-value writes instead of writing them
    /// through; reads still see them. [`Instance::take_writes`] hands them over to be
    /// committed (the webhook server commits them with the events, see [`crate::journal`]).
    pub fn defer_writes(&mut self) {
        let data = self.store.data_mut();
        if data.writes.is_none() {
            data.writes = Some(WriteSet::new(&data.tenant));
        }
    }

    /// The writes staged so far (empty unless [`Instance::defer_writes`] was called).
    pub fn take_writes(&mut self) -> WriteSet {
        let data = self.store.data_mut();
        match &mut data.writes {
            Some(w) => std::mem::replace(w, WriteSet::new(&data.tenant)),
            None => WriteSet::new(&data.tenant),
        }
    }

    /// `messages.send`
    pub async fn send(&mut self, message: &api::OutgoingMessage) -> CallResult<api::SendResult> {
        self.plugin
            .whatsapp_cloud_api_messages()
            .call_send(&mut self.store, message)
            .await
    }

    /// `messages.mark-read`
    pub async fn mark_read(&mut self, message_id: &str, typing_indicator: bool) -> CallResult<()> {
        self.plugin
            .whatsapp_cloud_api_messages()
            .call_mark_read(&mut self.store, message_id, typing_indicator)
            .await
    }

    /// `webhooks.verify-subscription`
    pub async fn verify_subscription(
        &mut self,
        mode: &str,
        token: &str,
        challenge: &str,
    ) -> CallResult<String> {
        self.plugin
            .whatsapp_cloud_api_webhooks()
            .call_verify_subscription(&mut self.store, mode, token, challenge)
            .await
    }

    /// `webhooks.verify-signature`
    pub async fn verify_signature(
        &mut self,
        body: &[u8],
        signature: Option<&str>,
    ) -> CallResult<()> {
        self.plugin
            .whatsapp_cloud_api_webhooks()
            .call_verify_signature(&mut self.store, body, signature)
            .await
    }

    /// `webhooks.parse`
    pub async fn parse(&mut self, body: &[u8]) -> CallResult<Vec<api::Event>> {
        self.plugin
            .whatsapp_cloud_api_webhooks()
            .call_parse(&mut self.store, body)
            .await
    }

    /// `webhooks.receive`
    pub async fn receive(
        &mut self,
        body: &[u8],
        signature: Option<&str>,
    ) -> CallResult<Vec<api::Event>> {
        self.plugin
            .whatsapp_cloud_api_webhooks()
            .call_receive(&mut self.store, body, signature)
            .await
    }

    /// `webhooks.ingest`
    pub async fn ingest(
        &mut self,
        body: &[u8],
        signature: Option<&str>,
    ) -> CallResult<api::IngestResult> {
        self.plugin
            .whatsapp_cloud_api_webhooks()
            .call_ingest(&mut self.store, body, signature)
            .await
    }

    /// `webhooks.forget`
    pub async fn forget(&mut self, keys: &[String]) -> CallResult<()> {
        self.plugin
            .whatsapp_cloud_api_webhooks()
            .call_forget(&mut self.store, keys)
            .await
    }

    /// `messages.preview`
    pub async fn preview(
        &mut self,
        message: &api::OutgoingMessage,
    ) -> CallResult<api::outgoing::RequestPreview> {
        self.plugin
            .whatsapp_cloud_api_messages()
            .call_preview(&mut self.store, message)
            .await
    }

    /// `messages.status`
    pub async fn status(&mut self, message_id: &str) -> CallResult<Option<api::DeliveryState>> {
        self.plugin
            .whatsapp_cloud_api_messages()
            .call_status(&mut self.store, message_id)
            .await
    }

    /// `connection.info`
    pub async fn info(&mut self) -> CallResult<api::TenantInfo> {
        self.plugin
            .whatsapp_cloud_api_connection()
            .call_info(&mut self.store)
            .await
    }

    /// `templates.list`
    pub async fn list_templates(
        &mut self,
        query: &api::ListQuery,
    ) -> CallResult<api::TemplatePage> {
        self.plugin
            .whatsapp_cloud_api_templates()
            .call_list(&mut self.store, query)
            .await
    }

    /// `media.get`
    pub async fn media_info(&mut self, media_id: &str) -> CallResult<api::MediaInfo> {
        self.plugin
            .whatsapp_cloud_api_media()
            .call_get(&mut self.store, media_id)
            .await
    }

    /// `catalog.list-products`
    pub async fn list_products(
        &mut self,
        catalog_id: &str,
        after: Option<&str>,
    ) -> CallResult<api::ProductPage> {
        self.plugin
            .whatsapp_cloud_api_catalog()
            .call_list_products(&mut self.store, catalog_id, after)
            .await
    }

    /// `flows.list`
    pub async fn list_flows(&mut self, after: Option<&str>) -> CallResult<api::FlowPage> {
        self.plugin
            .whatsapp_cloud_api_flows()
            .call_list(&mut self.store, after)
            .await
    }
}
