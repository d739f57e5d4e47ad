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
    let template = match &msg.content {
        Content::Template(t) => Some(t),
        _ => None,
    };
    check_to(
        tenant,
        &msg.to,
        template.map(|t| (t.name.as_str(), t.language.as_str())),
        template,
    )
}

/// [`check`] of a message to `to` sending `template` (name, language), if any; `message`,
/// the template message, when its parameters are to be checked against the cache too.
pub fn check_to(
    tenant: &Tenant,
    to: &str,
    template: Option<(&str, &str)>,
    message: Option<&crate::core::outgoing::Template>,
) -> Result<Option<String>, Error> {
    let to = Recipient::parse(to).map_err(err)?;
    let number = tenant.settings.phone_number_id().map_err(err)?;
    let mut buckets = Buckets::default();
    let group = matches!(to, Recipient::Group(_));
    let contact = if group {
        state::ContactState::default()
    } else {
        state::contact_state(&mut buckets, number, to.id())?
    };
    let cached: Option<CachedTemplate> = match template {
        Some((name, language)) => buckets
            .get(
                state::TEMPLATES_BUCKET,
                &state::template_key(name, language),
            )?
            .and_then(|j| serde_json::from_slice(&j).ok()),
        None => None,
    };
    let now = super::now_secs();
    check_send(&SendContext {
        policy: tenant.settings.window_policy,
        template: template.is_some(),
        group,
        last_inbound: contact.last_inbound,
        now,
        consent: contact.consent.as_deref().map(|c| state::read_consent(c).0),
        cached_template: cached.as_ref(),
        message,
    })
    .map_err(err)?;
    Ok(cached.and_then(|t| t.category))
}

/// A template message checked against the cached template's definition (its parameters
/// and buttons), without the window, consent or status checks a send makes then.
pub fn check_template(msg: &Outgoing) -> Result<(), Error> {
    let Content::Template(t) = &msg.content else {
        return Ok(());
    };
    let cached: Option<CachedTemplate> = Buckets::default()
        .get(
            state::TEMPLATES_BUCKET,
            &state::template_key(&t.name, &t.language),
        )?
        .and_then(|j| serde_json::from_slice(&j).ok());
    match cached.as_ref().and_then(|c| c.definition.as_ref()) {
        Some(d) => crate::core::preflight::check(t, d).map_err(err),
        None => Ok(()),
    }
}
