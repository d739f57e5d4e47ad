//! `webhooks.ingest`: parse a verified body and keep its state in the tenant's key-value
//! buckets. Deliveries are deduplicated by the host (once, where it records them), so a
//! redelivered event passes here again: every state change is one that a repeat or a
//! late arrival cannot move back. The decisions are the core's
//! (`core::webhook::state::keep`); this file only opens the buckets it reads and writes.

use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::{err, storage};
use super::now_secs;
use super::tenant::Tenant;
use crate::core::webhook::state::{self, DeliveryState, Keywords};
use crate::core::webhook::{self, Event};

pub struct Ingested {
    pub events: Vec<Event>,
    pub not_mine: u32,
}

/// The tenant's buckets, each opened when first used.
#[derive(Default)]
struct Buckets(Vec<(&'static str, Bucket)>);

impl Buckets {
    fn bucket(&mut self, name: &'static str) -> Result<&Bucket, Error> {
        let i = match self.0.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.0.push((name, kv::open(name).map_err(storage)?));
                self.0.len() - 1
            }
        };
        Ok(&self.0[i].1)
    }
}

impl state::Store for Buckets {
    type Error = Error;

    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.bucket(bucket)?.get(key).map_err(storage)
    }

    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.bucket(bucket)?.set(key, value).map_err(storage)
    }
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
