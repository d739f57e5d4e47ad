//! The workspace's integration tests: the built component in the real host against the
//! sandbox and the webhook server. One binary (each module was one before, and each linked
//! wasmtime and the host on its own); run one area with a filter, for example
//! `cargo test -p whatsapp-tests -- messages::`.

mod bad_inputs;
mod broker;
mod business;
mod call;
mod calling;
mod catalog;
mod connection;
mod flows;
mod footprint;
mod groups;
mod hostile;
mod ingest;
mod insights;
mod layout;
mod media;
mod messages;
mod outbox;
mod policy;
mod roundtrip;
mod schema;
mod templates;
mod webhooks;
