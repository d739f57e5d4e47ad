//! One module per capability the host gives a tenant instance. Each has its state, a
//! borrowed view that implements the generated `Host` traits, and an `add_to_linker`.

pub mod config;
pub mod crypto;
pub mod flows_crypto;
pub mod http;
pub mod keyvalue;
pub mod outbox;
pub mod pool;
pub mod throughput;
