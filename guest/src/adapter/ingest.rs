//! `webhooks.ingest`: parse a verified body and keep state, through the tenant's
//! key-value buckets. Deliveries are deduplicated by the host (once, where it records
//! them), so a redelivered event passes here again: every state change is one that a
//! repeat or a late arrival cannot move back. The decisions are the core's
//! (`core::webhook::state`); this file only reads and writes.

use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::{err, storage};
use super::now_secs;
use super::tenant::Tenant;
use crate::core::webhook::state::{self, DeliveryState};
use crate::core::webhook::{self, Event, EventBody, MessageContent};
use sha2::{Digest, Sha256};

/// Keys are bounded by the host; a long idempotency key is stored by its digest.
fn bounded_key(k: &str) -> String {
    if k.len() <= 200 {
        k.to_string()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(k.as_bytes())))
    }
}

pub struct Ingested {
    pub events: Vec<Event>,
    pub not_mine: u32,
}

struct Buckets {
    contacts: Bucket,
    statuses: Bucket,
    templates: Bucket,
}

/// The events of a body whose signature the host checked.
pub fn ingest(tenant: &Tenant, body: &[u8]) -> Result<Ingested, Error> {
    let events = webhook::parse(body).map_err(err)?;
    let buckets = Buckets {
        contacts: kv::open(state::CONTACTS_BUCKET).map_err(storage)?,
        statuses: kv::open(state::STATUS_BUCKET).map_err(storage)?,
        templates: kv::open(state::TEMPLATES_BUCKET).map_err(storage)?,
    };
    let mut out = Ingested {
        events: Vec::new(),
        not_mine: 0,
    };
    for e in events {
        if !tenant
            .settings
            .owns(&e.routing.waba_id, e.routing.phone_number_id.as_deref())
        {
            out.not_mine += 1;
            continue;
        }
        keep_state(tenant, &buckets, &e)?;
        out.events.push(e);
    }
    Ok(out)
}

/// A stored text value.
fn text(bucket: &Bucket, key: &str) -> Result<Option<String>, Error> {
    Ok(bucket
        .get(key)
        .map_err(storage)?
        .and_then(|v| String::from_utf8(v).ok()))
}

/// Store consent `c`, given at `at`, unless a newer one is stored.
fn set_consent(contacts: &Bucket, wa_id: &str, c: state::Consent, at: u64) -> Result<(), Error> {
    let key = state::consent_key(wa_id);
    if state::consent_applies(text(contacts, &key)?.as_deref(), at) {
        contacts
            .set(&key, state::consent_value(c, at).as_bytes())
            .map_err(storage)?;
    }
    Ok(())
}

fn keep_state(tenant: &Tenant, b: &Buckets, e: &Event) -> Result<(), Error> {
    match &e.body {
        EventBody::Message(m) => {
            let wa_id = e
                .contact
                .as_ref()
                .and_then(|c| c.wa_id.clone())
                .unwrap_or_else(|| m.from.clone());
            let at = e.timestamp.unwrap_or_else(now_secs);
            let number = e.routing.phone_number_id.as_deref().unwrap_or_default();
            let key = state::last_inbound_key(number, &wa_id);
            let before = b
                .contacts
                .get(&key)
                .map_err(storage)?
                .and_then(|v| String::from_utf8(v).ok()?.parse::<u64>().ok());
            if before.is_none_or(|t| at > t) {
                b.contacts
                    .set(&key, at.to_string().as_bytes())
                    .map_err(storage)?;
            }
            if let MessageContent::Text(t) = &m.content {
                let s = &tenant.settings;
                if let Some(c) =
                    state::consent_from_text(t, &s.opt_out_keywords, &s.opt_in_keywords)
                {
                    set_consent(&b.contacts, &wa_id, c, at)?;
                }
            }
        }
        EventBody::Status(s) => {
            let current = status_of(&b.statuses, &s.message_id)?;
            if let Some(next) = state::reduce(current.as_ref(), s.status, &s.errors) {
                let json = serde_json::to_vec(&next).expect("a delivery state serializes");
                b.statuses
                    .set(&bounded_key(&s.message_id), &json)
                    .map_err(storage)?;
            }
        }
        EventBody::Preference(p) => {
            if let Some(c) = state::consent_from_preference(p) {
                set_consent(
                    &b.contacts,
                    &p.wa_id,
                    c,
                    e.timestamp.unwrap_or_else(now_secs),
                )?;
            }
        }
        EventBody::Template(t) => {
            if let (Some(name), Some(lang)) = (&t.name, &t.language) {
                let key = state::template_key(name, lang);
                let current = b
                    .templates
                    .get(&key)
                    .map_err(storage)?
                    .and_then(|v| serde_json::from_slice(&v).ok());
                let at = e.timestamp.unwrap_or_else(now_secs);
                if let Some(next) = state::apply_template_update(current, t, at) {
                    b.templates
                        .set(
                            &key,
                            &serde_json::to_vec(&next).expect("a template serializes"),
                        )
                        .map_err(storage)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn status_of(bucket: &Bucket, message_id: &str) -> Result<Option<DeliveryState>, Error> {
    Ok(bucket
        .get(&bounded_key(message_id))
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// The stored delivery state of a message.
pub fn delivery_state(message_id: &str) -> Result<Option<DeliveryState>, Error> {
    if message_id.trim().is_empty() {
        return Err(err(crate::core::Error::invalid(
            "message-id",
            "must not be empty",
        )));
    }
    status_of(
        &kv::open(state::STATUS_BUCKET).map_err(storage)?,
        message_id,
    )
}
