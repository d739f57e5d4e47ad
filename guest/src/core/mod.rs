//! The sans-IO core: no sockets, clocks or globals; values in, values out.

pub mod block_users;
pub mod business;
pub mod calling;
pub mod catalog;
pub mod connection;
pub mod encoding;
pub mod error;
pub mod flows;
pub mod graph;
pub mod groups;
pub mod ids;
pub mod insights;
pub mod listing;
pub mod marketing;
pub mod media;
pub mod messages;
pub mod outbox;
pub mod outgoing;
pub mod policy;
pub mod preflight;
pub mod secret;
pub mod settings;
pub mod templates;
pub mod webhook;

pub use error::{Error, GraphError};
