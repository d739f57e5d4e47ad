//! Gathers what `core::policy::check_send` needs from the tenant's buckets.

use super::bindings::wasi::keyvalue::store as kv;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::convert::storage;
use super::tenant::Tenant;
use crate::core::messages::{Outgoing, normalize_recipient};
use crate::core::outgoing::Content;
use crate::core::policy::{SendContext, check_send};
use crate::core::webhook::state::{self, CachedTemplate};

fn text(b: &kv::Bucket, key: &str) -> Result<Option<String>, Error> {
    Ok(b.get(key)
        .map_err(storage)?
        .and_then(|v| String::from_utf8(v).ok()))
}

/// Refuse locally what Meta would refuse for this recipient and template.
pub fn check(tenant: &Tenant, msg: &Outgoing) -> Result<(), Error> {
    let wa_id = normalize_recipient(&msg.to).map_err(err)?;
    let contacts = kv::open(state::CONTACTS_BUCKET).map_err(storage)?;
    let last_inbound = text(
        &contacts,
        &state::last_inbound_key(tenant.settings.phone_number_id().map_err(err)?, &wa_id),
    )?
    .and_then(|t| t.parse().ok());
    let consent = text(&contacts, &state::consent_key(&wa_id))?;
    let cached: Option<CachedTemplate> = match &msg.content {
        Content::Template(t) => {
            let templates = kv::open(state::TEMPLATES_BUCKET).map_err(storage)?;
            text(&templates, &state::template_key(&t.name, &t.language))?
                .and_then(|j| serde_json::from_str(&j).ok())
        }
        _ => None,
    };
    let now = super::now_secs();
    check_send(&SendContext {
        policy: tenant.settings.window_policy,
        template: matches!(msg.content, Content::Template(_)),
        last_inbound,
        now,
        consent: consent.as_deref().map(|c| state::read_consent(c).0),
        cached_template: cached.as_ref(),
        message: match &msg.content {
            Content::Template(t) => Some(t),
            _ => None,
        },
    })
    .map_err(err)
}
