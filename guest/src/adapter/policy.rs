//! Gathers what `core::policy::check_send` needs from the tenant's buckets.

use super::bindings::whatsapp::cloud_api::types::Error;
use super::buckets::Buckets;
use super::convert::err;
use super::tenant::Tenant;
use crate::core::messages::{Outgoing, Recipient};
use crate::core::outgoing::Content;
use crate::core::policy::{SendContext, check_send};
use crate::core::webhook::state::{self, CachedTemplate, Store};

/// Refuse locally what Meta would refuse for this recipient and template; the cached
/// template's category when it is a template send (what `core::marketing` routes by).
pub fn check(tenant: &Tenant, msg: &Outgoing) -> Result<Option<String>, Error> {
    let to = Recipient::parse(&msg.to).map_err(err)?;
    let number = tenant.settings.phone_number_id().map_err(err)?;
    let mut buckets = Buckets::default();
    let group = matches!(to, Recipient::Group(_));
    let contact = if group {
        state::ContactState::default()
    } else {
        state::contact_state(&mut buckets, number, to.id())?
    };
    let cached: Option<CachedTemplate> = match &msg.content {
        Content::Template(t) => buckets
            .get(
                state::TEMPLATES_BUCKET,
                &state::template_key(&t.name, &t.language),
            )?
            .and_then(|j| serde_json::from_slice(&j).ok()),
        _ => None,
    };
    let now = super::now_secs();
    check_send(&SendContext {
        policy: tenant.settings.window_policy,
        template: matches!(msg.content, Content::Template(_)),
        group,
        last_inbound: contact.last_inbound,
        now,
        consent: contact.consent.as_deref().map(|c| state::read_consent(c).0),
        cached_template: cached.as_ref(),
        message: match &msg.content {
            Content::Template(t) => Some(t),
            _ => None,
        },
    })
    .map_err(err)?;
    Ok(cached.and_then(|t| t.category))
}
