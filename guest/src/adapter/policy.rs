//! Gathers what `core::policy::check_send` needs from the tenant's buckets.

use super::bindings::whatsapp::cloud_api::pacing;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::buckets::Buckets;
use super::convert::err;
use super::tenant::Tenant;
use crate::core::connection::numbers;
use crate::core::messages::{Outgoing, Recipient};
use crate::core::outgoing::Content;
use crate::core::policy::{self, SendContext, check_send};
use crate::core::webhook::state::{self, CachedTemplate, Store};

/// What a send's checks found: the cached template's category when it is a template send
/// (what `core::marketing` routes by), and the user it reaches outside the window (what
/// the messaging limit counts), if any.
pub struct Checked {
    pub category: Option<String>,
    pub reaches: Option<String>,
}

/// Refuse locally what Meta would refuse for this recipient and template.
pub fn check(tenant: &Tenant, msg: &Outgoing) -> Result<Checked, Error> {
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
) -> Result<Checked, Error> {
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
    Ok(Checked {
        category: cached.and_then(|t| t.category),
        reaches: policy::counts_toward_limit(group, contact.last_inbound, now)
            .then(|| to.id().to_string()),
    })
}

/// Count `user` toward the portfolio's messaging limit, with the host
/// (`pacing.reach`), before a message reaches it outside the window: refused,
/// throttled until room opens, when the limit is full.
pub fn reach(tenant: &Tenant, user: &str) -> Result<(), Error> {
    let mut buckets = Buckets::default();
    let Some(limit) = messaging_limit(tenant, &mut buckets)? else {
        return Ok(());
    };
    let scope = tenant.settings.waba_id.as_deref().unwrap_or_default();
    match pacing::reach(scope, user, limit, policy::LIMIT_WINDOW_MS) {
        Ok(None) => Ok(()),
        Ok(Some(until)) => Err(err(policy::limit_reached(super::now_secs() * 1000, until))),
        Err(e) => Err(err(crate::core::error::Error::Storage(e))),
    }
}

/// The portfolio's messaging limit in users; none when unlimited or not known. As the
/// last webhook or read left it while fresh, else read again from the WABA's numbers (a
/// read that fails keeps what was known).
fn messaging_limit(tenant: &Tenant, buckets: &mut Buckets) -> Result<Option<u32>, Error> {
    let now = super::now_secs();
    let stored = buckets.get(state::CONTACTS_BUCKET, state::LIMIT_KEY)?;
    let stored = stored.as_deref().and_then(|v| std::str::from_utf8(v).ok());
    let (mut limit, at) = stored.map_or((None, 0), |v| {
        let (n, at) = state::read_consent(v);
        (n.parse::<i64>().ok(), at)
    });
    if now >= at.saturating_add(policy::LIMIT_FRESH_SECS) {
        let read = numbers::numbers_request(&tenant.settings, None)
            .map_err(err)
            .and_then(|r| tenant.call(&r))
            .and_then(|(status, body)| numbers::read_numbers(status, &body).map_err(err));
        if let Ok((numbers, _)) = read {
            let n = numbers
                .iter()
                .find_map(|n| {
                    n.messaging_limit_tier
                        .as_deref()
                        .and_then(policy::tier_limit)
                })
                .unwrap_or(-1);
            buckets.set(
                state::CONTACTS_BUCKET,
                state::LIMIT_KEY,
                state::stamped(n, now).as_bytes(),
            )?;
            limit = Some(n);
        }
    }
    Ok(limit.and_then(|n| u32::try_from(n).ok()))
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
