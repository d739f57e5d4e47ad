//! The one place a host's runtime is put together: `wa-host serve` and the other
//! subcommands (through [`crate::app::DataDir::runtime`]), the demo, the bench, the tests
//! and the embedding example all start from [`HostBuilder`].
//!
//! Every default is the production one: an in-memory database and an ephemeral key only
//! when none is given, egress to Meta alone, Graph requests recorded when
//! `WA_RECORD_REQUESTS` names a file (the recording contract covers every host), pacing
//! from `WA_MPS_PER_NUMBER`, refused tokens noted as `connection` events in the database,
//! and the compiled component cached where [`cache_dir`] says.

use crate::capabilities::crypto::Vault;
use crate::capabilities::http::{EgressPolicy, Recorder};
use crate::capabilities::throughput::Throughput;
use crate::runtime::{COMPONENT, Runtime, RuntimeConfig, Services};
use crate::storage::Database;
use std::path::PathBuf;
use std::sync::Arc;

/// A runtime's parts, each with its production default (see the module docs).
pub struct HostBuilder {
    db: Option<Arc<Database>>,
    vault: Option<Arc<Vault>>,
    egress: EgressPolicy,
    record: bool,
    throughput: Option<Throughput>,
    connection_events: bool,
    config: RuntimeConfig,
    component: Option<Vec<u8>>,
}

impl Default for HostBuilder {
    fn default() -> Self {
        HostBuilder {
            db: None,
            vault: None,
            egress: EgressPolicy::default(),
            record: true,
            throughput: None,
            connection_events: true,
            config: RuntimeConfig {
                cache_dir: cache_dir(),
                ..RuntimeConfig::default()
            },
            component: None,
        }
    }
}

impl HostBuilder {
    /// The production defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tenants' key-value data (and, unless [`HostBuilder::without_connection_events`],
    /// the `connection` events) live here [default: a new in-memory database].
    pub fn database(mut self, db: Arc<Database>) -> Self {
        self.db = Some(db);
        self
    }

    /// The master key ring tenants' secrets are sealed under [default: a random key
    /// that dies with the process].
    pub fn vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Where instances may send requests [default: Meta's origins only].
    pub fn egress(mut self, egress: EgressPolicy) -> Self {
        self.egress = egress;
        self
    }

    /// Record nothing, whatever `WA_RECORD_REQUESTS` says (a benchmark, which would
    /// otherwise measure the recording).
    pub fn without_recording(mut self) -> Self {
        self.record = false;
        self
    }

    /// Pacing and throttle retries [default: `WA_MPS_PER_NUMBER`, else 80 per second].
    pub fn throughput(mut self, throughput: Throughput) -> Self {
        self.throughput = Some(throughput);
        self
    }

    /// Note nothing when Meta refuses a tenant's token (the tenant is still marked
    /// `reauth-required` in its own storage).
    pub fn without_connection_events(mut self) -> Self {
        self.connection_events = false;
        self
    }

    /// Limits, pool size, deadline, clock offset and cache directory [default:
    /// [`RuntimeConfig::default`] with the cache directory of [`cache_dir`]].
    pub fn config(mut self, config: RuntimeConfig) -> Self {
        self.config = config;
        self
    }

    /// Another build of the component [default: the one built into this crate].
    pub fn component(mut self, wasm: Option<Vec<u8>>) -> Self {
        self.component = wasm;
        self
    }

    /// The services instances are given, without loading the component (for an
    /// embedder that adjusts them before [`Runtime::new`]).
    pub fn services(self) -> Result<Services, String> {
        self.into_parts().map(|(services, _, _)| services)
    }

    /// Load the component (from the cache when it was compiled before) over the services.
    pub fn build(self) -> Result<Runtime, Box<dyn std::error::Error + Send + Sync>> {
        let (services, config, component) = self.into_parts()?;
        let wasm = component.as_deref().unwrap_or(COMPONENT);
        Runtime::new(wasm, config, services)
            .map_err(|e| format!("loading the component: {e}").into())
    }

    fn into_parts(self) -> Result<(Services, RuntimeConfig, Option<Vec<u8>>), String> {
        let db = match self.db {
            Some(db) => db,
            None => Arc::new(Database::open_in_memory().map_err(|e| e.to_string())?),
        };
        let recorder = if self.record {
            Recorder::from_env()
                .map_err(|e| format!("WA_RECORD_REQUESTS: {e}"))?
                .map(Arc::new)
        } else {
            None
        };
        let services = Services {
            kv: db.clone(),
            outbox: Some(Arc::new(crate::capabilities::outbox::OutboxService::new(
                db.clone(),
            ))),
            vault: self.vault.unwrap_or_else(|| Arc::new(Vault::ephemeral())),
            egress: Arc::new(self.egress),
            recorder,
            throughput: Arc::new(self.throughput.unwrap_or_else(Throughput::from_env)),
            events: self
                .connection_events
                .then_some(db as Arc<dyn crate::runtime::ConnectionEvents>),
        };
        Ok((services, self.config, self.component))
    }
}

/// Where every subcommand caches the precompiled component, with or without a data
/// directory: `WA_CACHE_DIR`, else `$XDG_CACHE_HOME/wa-host`, else `~/.cache/wa-host`;
/// none without a home directory. One cache serves every data directory: the
/// precompiled component depends only on the component and the engine, both named in
/// the file's name, so a stale or foreign file is never loaded.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    };
    var("WA_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("wa-host")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/wa-host")))
}
