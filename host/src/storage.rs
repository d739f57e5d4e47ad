//! Storage: the `whatsapp-storage` crate (tenants, their key-value namespaces, the event
//! log; SQLite embedded or PostgreSQL shared), re-exported under the host's name.

pub use whatsapp_storage::*;
