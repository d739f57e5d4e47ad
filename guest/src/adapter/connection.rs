//! `connection`: the WIT operations onto `core::connection`, the credential's state in
//! the tenant's `connection` bucket, and the token sealed into its `secrets` bucket.

use super::bindings::exports::whatsapp::cloud_api::connection as wit;
use super::bindings::wasi::keyvalue::atomics;
use super::bindings::wasi::keyvalue::store as kv;
use super::bindings::wasi::random::random;
use super::bindings::whatsapp::cloud_api::crypto;
use super::bindings::whatsapp::cloud_api::types::{Error, ErrorKind};
use super::convert::err;
use super::convert::storage;
use super::readiness::{bucket, json, mark_reauth_required, seconds};
use super::tenant::{self, Tenant};
use super::{Component, now_secs};
use crate::core::connection::coexistence as co;
use crate::core::connection::{
    self as c, CREDENTIAL_KEY, CredentialRecord, CredentialState, GENERATION_KEY, OAUTH_STATE_KEY,
    PendingState, TEMPLATES_SYNCED_KEY, WEBHOOK_VERIFIED_KEY,
};
use crate::core::encoding::json_bytes;
use crate::core::messages::read_success;
use crate::core::{GraphError, secret::wipe};

type Result<T> = std::result::Result<T, Error>;

fn credential() -> Result<(wit::CredentialStatus, bool)> {
    let b = bucket()?;
    let record: CredentialRecord = json(&b, CREDENTIAL_KEY)?.unwrap_or_default();
    let has_token = Tenant::bind().has_secret(tenant::ACCESS_TOKEN)?;
    let generation = seconds(&b, GENERATION_KEY)?.unwrap_or(0);
    let state = record.state(has_token);
    Ok((
        wit::CredentialStatus {
            state: credential_state(state),
            reason: record
                .reason
                .filter(|_| state != CredentialState::NotConnected),
            code: record
                .code
                .filter(|_| state == CredentialState::ReauthRequired),
            since: record.since.filter(|_| has_token),
            generation,
        },
        has_token,
    ))
}

fn credential_state(s: CredentialState) -> wit::CredentialState {
    match s {
        CredentialState::NotConnected => wit::CredentialState::NotConnected,
        CredentialState::Connected => wit::CredentialState::Connected,
        CredentialState::ReauthRequired => wit::CredentialState::ReauthRequired,
    }
}

/// Seal and store a new access token, replacing the old one; the credential is
/// `connected` again under a new generation. Whether one was replaced, and the generation.
fn store_token(token: &str) -> Result<(bool, u64)> {
    let secrets = kv::open(tenant::SECRETS_BUCKET).map_err(storage)?;
    let replaced = secrets.exists(tenant::ACCESS_TOKEN).map_err(storage)?;
    let mut plain = token.as_bytes().to_vec();
    let sealed = crypto::seal(&plain);
    wipe(&mut plain);
    secrets
        .set(tenant::ACCESS_TOKEN, &sealed)
        .map_err(storage)?;
    let b = bucket()?;
    let generation = atomics::increment(&b, GENERATION_KEY, 1).map_err(storage)?;
    b.set(
        CREDENTIAL_KEY,
        &json_bytes(&CredentialRecord::connected(now_secs())),
    )
    .map_err(storage)?;
    Ok((replaced, generation))
}

/// `token` without surrounding blanks; a blank one is refused.
fn nonblank<'a>(field: &str, token: &'a str) -> Result<&'a str> {
    match token.trim() {
        "" => Err(err(crate::core::Error::invalid(field, "must not be blank"))),
        t => Ok(t),
    }
}

fn number(n: c::PhoneNumber, selected: &[String]) -> wit::PhoneNumber {
    wit::PhoneNumber {
        selected: selected.contains(&n.id),
        id: n.id,
        display_phone_number: n.display_phone_number,
        verified_name: n.verified_name,
        quality_rating: n.quality_rating,
        messaging_limit_tier: n.messaging_limit_tier,
        throughput: n.throughput,
        status: n.status,
        code_verification_status: n.code_verification_status,
        name_status: n.name_status,
        platform_type: n.platform_type,
    }
}

/// Every page of the WABA's numbers (at most 20 pages of 100).
fn all_numbers(t: &Tenant) -> Result<Vec<c::PhoneNumber>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..20 {
        let req = c::numbers_request(&t.settings, after.as_deref()).map_err(err)?;
        let (status, body) = t.call(&req)?;
        let (page, next) = c::read_numbers(status, &body).map_err(err)?;
        out.extend(page);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    Ok(out)
}

fn health_of(t: &Tenant) -> Result<c::TokenHealth> {
    let token = t
        .access_token()?
        .ok_or_else(|| Error::not_configured("the tenant has no access token".into()))?;
    let req = c::debug_token_request(&t.settings, token.expose());
    let (status, body) = t.call(&req)?;
    drop(token);
    let mut h = c::read_debug_token(status, &body).map_err(err)?;
    if !h.valid {
        let e = GraphError {
            code: 190,
            message: h
                .reason
                .clone()
                .unwrap_or_else(|| "Meta says the token is not valid".into()),
            ..Default::default()
        };
        mark_reauth_required(&e)?;
    } else {
        // Kept beside the credential's state, so `refresh-token` knows without asking.
        let b = bucket()?;
        if let Some(mut record) = json::<CredentialRecord>(&b, CREDENTIAL_KEY)? {
            if (record.expires_at, record.token_type.as_deref())
                != (h.expires_at, h.token_type.as_deref())
            {
                record.expires_at = h.expires_at;
                record.token_type = h.token_type.clone();
                b.set(CREDENTIAL_KEY, &json_bytes(&record))
                    .map_err(storage)?;
            }
        }
    }
    h.warning = c::expiry_warning(h.expires_at, now_secs(), t.settings.token_warning_days());
    Ok(h)
}

/// A long-lived token for a person's `token` (Meta's `fb_exchange_token`).
fn long_lived(t: &Tenant, token: &str) -> Result<c::TokenGrant> {
    let req = c::long_lived_request(&t.settings, token).map_err(err)?;
    let (status, mut body) = t.call(&req)?;
    let grant = c::read_exchange(status, &body);
    wipe(&mut body);
    grant.map_err(err)
}

fn token_health(h: c::TokenHealth) -> wit::TokenHealth {
    wit::TokenHealth {
        valid: h.valid,
        expires_at: h.expires_at,
        data_access_expires_at: h.data_access_expires_at,
        token_type: h.token_type,
        app_id: h.app_id,
        scopes: h.scopes,
        missing_scopes: h.missing_scopes,
        waba_ids: h.waba_ids,
        reason: h.reason,
        warning: h.warning,
    }
}

fn success(t: &Tenant, req: crate::core::graph::Request) -> Result<()> {
    let (status, body) = t.call(&req)?;
    read_success(status, &body).map_err(err)
}

fn item(i: c::Item) -> wit::ReadinessItem {
    wit::ReadinessItem {
        check: match i.check {
            c::Check::CredentialValid => wit::ReadinessCheck::CredentialValid,
            c::Check::IdentityKnown => wit::ReadinessCheck::IdentityKnown,
            c::Check::NumberRegistered => wit::ReadinessCheck::NumberRegistered,
            c::Check::AppSubscribed => wit::ReadinessCheck::AppSubscribed,
            c::Check::WebhookVerified => wit::ReadinessCheck::WebhookVerified,
            c::Check::TemplatesSynced => wit::ReadinessCheck::TemplatesSynced,
            c::Check::SenderReady => wit::ReadinessCheck::SenderReady,
        },
        ok: i.ok,
        reason: i.reason,
    }
}

/// An error's text for a readiness item: what failed, never a secret (errors carry none).
fn describe(e: &Error) -> String {
    match (e.kind, &e.graph) {
        (ErrorKind::Unauthorized, Some(g)) => format!("Meta refused the token: {}", g.message),
        _ => e.message.clone(),
    }
}

impl wit::Guest for Component {
    fn info() -> Result<wit::TenantInfo> {
        let tenant = Tenant::bind();
        let has_catalog_token = tenant.has_secret(tenant::CATALOG_TOKEN)?;
        let (status, has_access_token) = credential()?;
        let s = &tenant.settings;
        Ok(wit::TenantInfo {
            tenant_id: s.tenant_id.clone(),
            phone_number_id: s.phone_number_id.clone(),
            phone_number_ids: s.phone_number_ids.clone(),
            waba_id: s.waba_id.clone(),
            app_id: s.app_id.clone(),
            api_version: s.api_version.clone(),
            graph_origin: s.graph_origin.clone(),
            has_access_token,
            has_catalog_token,
            has_app_secret: s.app_secret.is_some(),
            credential: status.state,
        })
    }

    fn status() -> Result<wit::CredentialStatus> {
        credential().map(|(s, _)| s)
    }

    fn authorize_url(request: wit::AuthorizeRequest) -> Result<wit::Authorization> {
        let tenant = Tenant::bind();
        let req = c::AuthorizeRequest {
            redirect_uri: request.redirect_uri,
            config_id: request.config_id,
            extra_scopes: request.extra_scopes,
        };
        let state = c::new_state(
            &tenant.settings.tenant_id,
            &random::get_random_bytes(c::STATE_RANDOM_BYTES as u64),
        );
        let url = c::authorize_url(&tenant.settings, &req, &state).map_err(err)?;
        let pending = PendingState::new(&state, &req.redirect_uri, now_secs());
        bucket()?
            .set(OAUTH_STATE_KEY, &json_bytes(&pending))
            .map_err(storage)?;
        Ok(wit::Authorization {
            url,
            state,
            expires_at: pending.expires_at,
        })
    }

    fn exchange_code(code: String, state: String, redirect_uri: String) -> Result<wit::Connected> {
        let tenant = Tenant::bind();
        let b = bucket()?;
        let pending: Option<PendingState> = json(&b, OAUTH_STATE_KEY)?;
        c::check_state(pending.as_ref(), &state, &redirect_uri, now_secs()).map_err(err)?;
        // Single use: whatever Meta answers, this state is spent.
        b.delete(OAUTH_STATE_KEY).map_err(storage)?;
        let req = c::exchange_request(&tenant.settings, &code, &redirect_uri).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let grant = c::read_exchange(status, &body).map_err(err)?;
        let mut body = body;
        wipe(&mut body);
        // A person's token comes short-lived: exchanged at once for a long-lived one. If
        // Meta refuses, the short one is kept (and `refresh-token` tries again).
        let grant = match grant.expires_in {
            Some(_) => match long_lived(&tenant, grant.access_token.expose()) {
                Ok(long) => long,
                Err(_) => grant,
            },
            None => grant,
        };
        let (replaced, generation) = store_token(grant.access_token.expose())?;
        // The onboarding a WhatsApp Business app number's sync window runs from.
        b.set(co::ONBOARDED_KEY, now_secs().to_string().as_bytes())
            .map_err(storage)?;
        // What the token may do, and on which WABAs; the token is stored even if Meta
        // cannot say right now (`health` asks again).
        let (scopes, waba_ids, expires_at) = match health_of(&tenant) {
            Ok(h) => (h.scopes, h.waba_ids, h.expires_at),
            Err(_) => (
                Vec::new(),
                Vec::new(),
                grant.expires_in.map(|s| now_secs() + s),
            ),
        };
        Ok(wit::Connected {
            expires_at,
            scopes,
            waba_ids,
            replaced,
            generation,
        })
    }

    fn disconnect() -> Result<()> {
        kv::open(tenant::SECRETS_BUCKET)
            .and_then(|s| s.delete(tenant::ACCESS_TOKEN))
            .map_err(storage)?;
        bucket()?.delete(CREDENTIAL_KEY).map_err(storage)
    }

    fn set_access_token(token: String) -> Result<u64> {
        let token = nonblank("token", &token)?;
        store_token(token).map(|(_, generation)| generation)
    }

    fn set_catalog_token(token: String) -> Result<()> {
        let token = nonblank("token", &token)?;
        let mut plain = token.as_bytes().to_vec();
        let sealed = crypto::seal(&plain);
        wipe(&mut plain);
        kv::open(tenant::SECRETS_BUCKET)
            .and_then(|s| s.set(tenant::CATALOG_TOKEN, &sealed))
            .map_err(storage)
    }

    fn health() -> Result<wit::TokenHealth> {
        health_of(&Tenant::bind()).map(token_health)
    }

    fn refresh_token() -> Result<wit::TokenRefresh> {
        let t = Tenant::bind();
        let (status, has_token) = credential()?;
        if !has_token {
            return Err(Error::not_configured(
                "the tenant has no access token".into(),
            ));
        }
        if status.state == wit::CredentialState::ReauthRequired {
            return Ok(wit::TokenRefresh {
                refreshed: false,
                expires_at: None,
                note: "Meta refused the token: connect the business again".into(),
            });
        }
        let b = bucket()?;
        let mut record: CredentialRecord = json(&b, CREDENTIAL_KEY)?.unwrap_or_default();
        if record.token_type.is_none() {
            // Never asked (a token set by hand): ask Meta once, which records it.
            let h = health_of(&t)?;
            record.expires_at = h.expires_at;
            record.token_type = h.token_type;
        }
        let days = t.settings.token_warning_days();
        if let Err(note) = c::refresh_due(
            record.expires_at,
            record.token_type.as_deref(),
            now_secs(),
            days,
        ) {
            return Ok(wit::TokenRefresh {
                refreshed: false,
                expires_at: record.expires_at,
                note,
            });
        }
        let token = t
            .access_token()?
            .ok_or_else(|| Error::not_configured("the tenant has no access token".into()))?;
        let grant = long_lived(&t, token.expose())?;
        drop(token);
        let (_, generation) = store_token(grant.access_token.expose())?;
        let granted = grant.expires_in.map(|s| now_secs() + s);
        // What Meta says of the new token now (recorded); the exchange's own answer if
        // Meta cannot say right now.
        let expires_at = health_of(&t).map_or(granted, |h| h.expires_at);
        Ok(wit::TokenRefresh {
            refreshed: true,
            expires_at,
            note: format!("a fresh token is stored (generation {generation})"),
        })
    }

    fn list_numbers() -> Result<Vec<wit::PhoneNumber>> {
        let tenant = Tenant::bind();
        let selected = tenant.settings.phone_number_ids.clone();
        Ok(all_numbers(&tenant)?
            .into_iter()
            .map(|n| number(n, &selected))
            .collect())
    }

    fn register_number(phone_number_id: String, pin: String) -> Result<()> {
        let t = Tenant::bind();
        success(
            &t,
            c::register_request(&t.settings, &phone_number_id, &pin).map_err(err)?,
        )
    }

    fn deregister_number(phone_number_id: String) -> Result<()> {
        let t = Tenant::bind();
        success(
            &t,
            c::deregister_request(&t.settings, &phone_number_id).map_err(err)?,
        )
    }

    fn set_two_step_pin(phone_number_id: String, pin: String) -> Result<()> {
        let t = Tenant::bind();
        success(
            &t,
            c::set_pin_request(&t.settings, &phone_number_id, &pin).map_err(err)?,
        )
    }

    fn add_number(
        country_code: String,
        phone_number: String,
        verified_name: String,
    ) -> Result<String> {
        let t = Tenant::bind();
        let req = c::numbers::add_number_request(
            &t.settings,
            &country_code,
            &phone_number,
            &verified_name,
        )
        .map_err(err)?;
        let (status, body) = t.call(&req)?;
        c::numbers::read_added(status, &body).map_err(err)
    }

    fn request_code(
        phone_number_id: String,
        method: wit::CodeMethod,
        language: String,
    ) -> Result<()> {
        let t = Tenant::bind();
        let method = match method {
            wit::CodeMethod::Sms => c::CodeMethod::Sms,
            wit::CodeMethod::Voice => c::CodeMethod::Voice,
        };
        success(
            &t,
            c::request_code_request(&t.settings, &phone_number_id, method, &language)
                .map_err(err)?,
        )
    }

    fn verify_code(phone_number_id: String, code: String) -> Result<()> {
        let t = Tenant::bind();
        success(
            &t,
            c::verify_code_request(&t.settings, &phone_number_id, &code).map_err(err)?,
        )
    }

    fn subscribe_app(over: Option<wit::CallbackOverride>) -> Result<()> {
        let t = Tenant::bind();
        let over = over.map(|o| c::CallbackOverride {
            url: o.url,
            verify_token: o.verify_token,
        });
        success(
            &t,
            c::subscribe_request(&t.settings, over.as_ref()).map_err(err)?,
        )
    }

    fn subscriptions() -> Result<Vec<wit::AppSubscription>> {
        let t = Tenant::bind();
        let (status, body) = t.call(&c::subscriptions_request(&t.settings).map_err(err)?)?;
        Ok(c::read_subscriptions(status, &body)
            .map_err(err)?
            .into_iter()
            .map(|s| wit::AppSubscription {
                app_id: s.app_id,
                name: s.name,
                override_callback_uri: s.override_callback_uri,
            })
            .collect())
    }

    fn unsubscribe_app() -> Result<()> {
        let t = Tenant::bind();
        success(&t, c::unsubscribe_request(&t.settings).map_err(err)?)
    }

    fn profile(phone_number_id: Option<String>) -> Result<wit::BusinessProfile> {
        let t = Tenant::bind();
        let req = c::profile_request(&t.settings, phone_number_id.as_deref()).map_err(err)?;
        let (status, body) = t.call(&req)?;
        let p = c::read_profile(status, &body).map_err(err)?;
        Ok(wit::BusinessProfile {
            about: p.about,
            address: p.address,
            description: p.description,
            email: p.email,
            websites: p.websites,
            vertical: p.vertical,
            profile_picture_url: p.profile_picture_url,
        })
    }

    fn update_profile(phone_number_id: Option<String>, update: wit::ProfileUpdate) -> Result<()> {
        let t = Tenant::bind();
        let u = c::ProfileUpdate {
            about: update.about,
            address: update.address,
            description: update.description,
            email: update.email,
            websites: update.websites,
            vertical: update.vertical,
            profile_picture_handle: update.profile_picture_handle,
        };
        success(
            &t,
            c::update_profile_request(&t.settings, phone_number_id.as_deref(), &u).map_err(err)?,
        )
    }

    fn username(phone_number_id: Option<String>) -> Result<wit::BusinessUsername> {
        let t = Tenant::bind();
        let req = c::username_request(&t.settings, phone_number_id.as_deref()).map_err(err)?;
        let (status, body) = t.call(&req)?;
        let u = c::read_username(status, &body).map_err(err)?;
        Ok(wit::BusinessUsername {
            username: u.username,
            status: u.status,
        })
    }

    fn set_username(
        phone_number_id: Option<String>,
        username: String,
        force_transfer: bool,
    ) -> Result<String> {
        let t = Tenant::bind();
        let req = c::set_username_request(
            &t.settings,
            phone_number_id.as_deref(),
            &username,
            force_transfer,
        )
        .map_err(err)?;
        let (status, body) = t.call(&req)?;
        c::read_set_username(status, &body).map_err(err)
    }

    fn delete_username(phone_number_id: Option<String>) -> Result<()> {
        let t = Tenant::bind();
        success(
            &t,
            c::delete_username_request(&t.settings, phone_number_id.as_deref()).map_err(err)?,
        )
    }

    fn request_sync(phone_number_id: Option<String>, kind: wit::SyncKind) -> Result<String> {
        let mut t = Tenant::bind();
        if let Some(n) = phone_number_id {
            t = Tenant::with(t.settings.sending_from(&n).map_err(err)?);
        }
        let kind = match kind {
            wit::SyncKind::Contacts => co::SyncKind::Contacts,
            wit::SyncKind::History => co::SyncKind::History,
        };
        let number = t.settings.phone_number_id().map_err(err)?.to_string();
        let b = bucket()?;
        let key = kind.requested_key(&number);
        co::check_sync(
            kind,
            &number,
            seconds(&b, co::ONBOARDED_KEY)?,
            seconds(&b, &key)?,
            now_secs(),
        )
        .map_err(err)?;
        let (status, body) = t.call(&co::sync_request(&t.settings, kind).map_err(err)?)?;
        let request_id = co::read_sync(status, &body).map_err(err)?;
        b.set(&key, now_secs().to_string().as_bytes())
            .map_err(storage)?;
        Ok(request_id)
    }

    fn check_readiness() -> Result<wit::Readiness> {
        let t = Tenant::bind();
        let b = bucket()?;
        let has_token = t.has_secret(tenant::ACCESS_TOKEN)?;
        fn text<T>(r: Result<T>) -> std::result::Result<T, String> {
            r.map_err(|e| describe(&e))
        }
        // Meta is asked about a stored token even when it was refused: its reason shows.
        let health = has_token.then(|| text(health_of(&t)));
        // Read after `health_of`, which may have just found the token refused.
        let credential: CredentialRecord = json(&b, CREDENTIAL_KEY)?.unwrap_or_default();
        let usable = has_token && credential.state(true) == CredentialState::Connected;
        let with_waba = usable && t.settings.waba_id.is_some();
        let numbers = with_waba.then(|| text(all_numbers(&t)));
        let subscriptions = with_waba.then(|| {
            text(
                c::subscriptions_request(&t.settings)
                    .map_err(err)
                    .and_then(|req| t.call(&req))
                    .and_then(|(status, body)| c::read_subscriptions(status, &body).map_err(err)),
            )
        });
        let facts = c::Facts {
            now: now_secs(),
            has_token,
            credential,
            health,
            waba_id: t.settings.waba_id.clone(),
            selected: t.settings.phone_number_ids.clone(),
            numbers,
            subscriptions,
            app_id: t.settings.app_id.clone(),
            webhook_verified_at: seconds(&b, WEBHOOK_VERIFIED_KEY)?,
            templates_synced_at: seconds(&b, TEMPLATES_SYNCED_KEY)?,
        };
        let r = c::readiness(&facts);
        Ok(wit::Readiness {
            token: facts.health.and_then(|h| h.ok()).map(token_health),
            items: r.items.into_iter().map(item).collect(),
            numbers: r
                .numbers
                .into_iter()
                .map(|n| wit::NumberReadiness {
                    phone_number_id: n.phone_number_id,
                    display_phone_number: n.display_phone_number,
                    items: n.items.into_iter().map(item).collect(),
                    ready: n.ready,
                })
                .collect(),
            ready: r.ready,
        })
    }
}
