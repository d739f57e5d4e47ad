//! `webhooks.ingest`: parse a verified body and keep its state in the tenant's key-value
//! buckets. Deliveries are deduplicated by the host (once, where it records them), so a
//! redelivered event passes here again: every state change is one that a repeat or a
//! late arrival cannot move back. The decisions are the core's
//! (`core::webhook::state::keep`), over the tenant's buckets.

use super::bindings::whatsapp::cloud_api::types::Error;
use super::buckets::Buckets;
use super::convert::err;
use super::now_secs;
use super::tenant::Tenant;
use crate::core::webhook::state::{self, DeliveryState, Keywords};
use crate::core::webhook::{self, Event};

pub struct Ingested {
    pub events: Vec<Event>,
    pub not_mine: u32,
}

/// The events of a body whose signature the host checked.
pub fn ingest(tenant: &Tenant, body: &[u8]) -> Result<Ingested, Error> {
    let events = webhook::parse(body).map_err(err)?;
    let s = &tenant.settings;
    let keywords = Keywords {
        opt_out: &s.opt_out_keywords,
        opt_in: &s.opt_in_keywords,
    };
    let mut out = Ingested {
        events: Vec::new(),
        not_mine: 0,
    };
    for e in events {
        if !s.owns(&e.routing.waba_id, e.routing.phone_number_id.as_deref()) {
            out.not_mine += 1;
            continue;
        }
        state::keep(&mut Buckets::default(), keywords, &e, now_secs)?;
        out.events.push(e);
    }
    Ok(out)
}

/// The stored delivery state of a message.
pub fn delivery_state(message_id: &str) -> Result<Option<DeliveryState>, Error> {
    if message_id.trim().is_empty() {
        return Err(err(crate::core::Error::invalid(
            "message-id",
            "must not be empty",
        )));
    }
    state::delivery_state(&mut Buckets::default(), message_id)
}
