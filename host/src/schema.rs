//! The JSON Schema (draft 2020-12) of the events the host records, lists and forwards:
//! generated from the component's own event writers (`guest/src/core/webhook/schema.rs`)
//! and checked against real output by `tests/schema.rs`. The host only ships the file: it
//! never links the guest's core (the WIT is the one contract between them).

/// `host/schema/events.schema.json`, as published.
pub const EVENTS_SCHEMA: &str = include_str!("../schema/events.schema.json");
