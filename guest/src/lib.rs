//! The WhatsApp Cloud API component.
//!
//! [`core`] is the whole of the Meta logic as plain functions over values (sans-IO):
//! request builders and validators, Graph response and error classification, webhook
//! signature checks and parsing. It compiles natively and is unit-tested with
//! `cargo test`. The `adapter` module (wasm32 only) maps the WIT exports onto the core
//! and performs the I/O through the component's imports.
#![deny(missing_docs)]

pub mod core;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod adapter;

// The component's allocator, compiled natively as well so that its unit tests run.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "adapter/alloc.rs"]
#[allow(dead_code)]
mod alloc;
