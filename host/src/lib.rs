//! The reference wasmtime host for the WhatsApp Cloud API component.
//!
//! It loads the component once ([`Runtime`], put together by [`builder::HostBuilder`]), gives each tenant a fresh instance bound to
//! its identity ([`TenantBinding`]) with HTTP behind an egress allow-list, key-value
//! storage namespaced per tenant, settings and sealing with a per-tenant key, serves the
//! shared webhook endpoint ([`server`]) and ships a Graph API sandbox ([`sandbox`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use whatsapp_host::builder::HostBuilder;
//! use whatsapp_host::storage::Database;
//! use whatsapp_host::TenantBinding;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Production defaults: egress to Meta only, recording when WA_RECORD_REQUESTS is set.
//! let runtime = HostBuilder::new()
//!     .database(Arc::new(Database::open_in_memory()?))
//!     .build()?;
//! let binding = TenantBinding::new("acme", [("phone-number-id".into(), "106540352242922".into())]);
//! let mut instance = runtime.instantiate(&binding).await?;
//! let info = instance.info().await??;
//! println!("{} sends from {:?}", info.tenant_id, info.phone_number_id);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod admin;
pub mod app;
pub mod bench;
#[allow(missing_docs)]
mod bindings;
pub mod broker;
pub mod builder;
pub mod campaign;
pub mod capabilities;
pub mod connect;
pub mod demo;
pub mod directory;
pub mod dispatch;
pub mod events;
pub mod forward;
pub mod invoke;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod signature;
pub mod state;
pub mod storage;
/// Staged writes and group commits (from `whatsapp-storage`).
pub use whatsapp_storage::journal;
pub mod telemetry;
pub mod tenants;

/// The HTTP plumbing the webhook server shares with the sandbox.
pub use whatsapp_net as net;
/// The Graph API sandbox (its own crate, `whatsapp-sandbox`: it needs no wasmtime).
pub use whatsapp_sandbox as sandbox;

/// The wasmtime this host is built on, for embedders' own `wasmtime::Result` and config.
pub use wasmtime;

pub use runtime::{
    COMPONENT, COMPONENT_WASM_OPT, CallResult, Instance, Runtime, RuntimeConfig, Services,
    TenantBinding, api,
};
