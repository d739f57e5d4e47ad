//! Connecting a tenant's business, as the CLI (`wa-host connect`, `numbers`, `health`),
//! the admin API and the demo all do it: the component builds the authorization and
//! exchanges the code; the host keeps what it learns (the WABA, the numbers routed to
//! the tenant) and notes a `connection` event. Everything printed or returned here is
//! JSON without a secret.

use crate::capabilities::crypto::Vault;
use crate::runtime::api;
use crate::runtime::{ConnectionEvents, Runtime};
use crate::storage::{Database, TenantRecord};
use crate::tenants::{self, Defaults, TenantExt};
use serde_json::{Value, json};

/// Why a connection step failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The component refused or Meta did (the component's typed error, boxed: it is the
    /// largest of the three).
    Component(Box<api::Error>),
    /// The tenant, its storage or its secrets.
    Tenant(tenants::TenantError),
    /// The component trapped or could not be instantiated.
    Host(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Component(e) => f.write_str(&crate::events::describe_error(e)),
            ConnectError::Tenant(e) => write!(f, "{e}"),
            ConnectError::Host(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl From<tenants::TenantError> for ConnectError {
    fn from(e: tenants::TenantError) -> Self {
        ConnectError::Tenant(e)
    }
}

impl From<crate::storage::StorageError> for ConnectError {
    fn from(e: crate::storage::StorageError) -> Self {
        ConnectError::Tenant(tenants::TenantError::Storage(e))
    }
}

impl ConnectError {
    /// The error as JSON (the component's typed error keeps its case and fields).
    pub fn to_json(&self) -> Value {
        match self {
            ConnectError::Component(e) => crate::events::error_json(e),
            other => json!({ "error": "host", "message": other.to_string() }),
        }
    }
}

/// What a connection step needs of the host.
pub struct Context<'a> {
    /// The loaded component.
    pub runtime: &'a Runtime,
    /// Tenants and their storage.
    pub db: &'a Database,
    /// The master keys.
    pub vault: &'a Vault,
    /// Host-wide settings (`WA_APP_ID`, `WA_APP_SECRET`, …).
    pub defaults: &'a Defaults,
}

impl Context<'_> {
    /// A fresh instance of `tenant`.
    pub async fn instance(&self, tenant: &str) -> Result<crate::Instance, ConnectError> {
        let record = tenants::get(self.db, tenant)?;
        let binding = record.binding(self.vault, self.defaults)?;
        self.runtime
            .instantiate(&binding)
            .await
            .map_err(|e| ConnectError::Host(format!("the component could not start: {e}")))
    }
}

/// A call's outcome with traps and typed errors both as [`ConnectError`].
pub fn called<T>(r: crate::CallResult<T>) -> Result<T, ConnectError> {
    r.map_err(|e| ConnectError::Host(format!("the component failed: {e}")))?
        .map_err(|e| ConnectError::Component(Box::new(e)))
}

/// Add a tenant (its record, its own secrets sealed by the host) and, when one is given,
/// store its access token through its component. A token the component refuses leaves
/// no tenant behind.
pub async fn add_tenant(
    cx: &Context<'_>,
    t: tenants::NewTenant,
    access_token: Option<&str>,
    now_secs: i64,
) -> Result<TenantRecord, ConnectError> {
    let record = tenants::add(cx.db, cx.vault, t, now_secs)?;
    if let Some(token) = access_token
        && let Err(e) = set_access_token(cx, &record.id, token).await
    {
        let _ = tenants::remove(cx.db, &record.id);
        return Err(e);
    }
    Ok(record)
}

/// Store (or replace) a tenant's access token through its component (sealed; the old
/// ciphertext is gone); the credential is `connected` under a new generation, returned.
pub async fn set_access_token(
    cx: &Context<'_>,
    tenant: &str,
    token: &str,
) -> Result<u64, ConnectError> {
    let mut i = cx.instance(tenant).await?;
    called(i.set_access_token(token).await)
}

/// Store (or replace) a tenant's catalog token through its component, sealed.
pub async fn set_catalog_token(
    cx: &Context<'_>,
    tenant: &str,
    token: &str,
) -> Result<(), ConnectError> {
    let mut i = cx.instance(tenant).await?;
    called(i.set_catalog_token(token).await)
}

/// A tenant described for people and scripts: its record, and what its component knows
/// of its credential (`connection.info`). Never a secret, only whether one is set. A
/// component that cannot answer leaves `credential` null, with the reason.
pub async fn describe(cx: &Context<'_>, t: &TenantRecord) -> Value {
    let info = match t.binding(cx.vault, cx.defaults) {
        Ok(binding) => match cx.runtime.instantiate(&binding).await {
            Ok(mut i) => called(i.info().await),
            Err(e) => Err(ConnectError::Host(format!(
                "the component could not start: {e}"
            ))),
        },
        Err(e) => Err(e.into()),
    };
    let mut v = json!({
        "id": t.id,
        "phone_number_id": t.phone_number_id,
        "numbers": t.numbers,
        "waba_id": t.waba_id,
        "display_phone_number": t.display_phone_number,
        "graph_origin": t.graph_origin,
        "credential": info.as_ref().ok().map(|i| state_name(i.credential)),
        "has_access_token": info.as_ref().ok().map(|i| i.has_access_token),
        "has_catalog_token": info.as_ref().ok().map(|i| i.has_catalog_token),
        "has_own_app_secret": t.app_secret_sealed.is_some(),
        "has_own_verify_token": t.verify_token_sealed.is_some(),
        "created_at": t.created_at,
        "settings": t.settings.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    });
    if let (Err(e), Some(o)) = (info, v.as_object_mut()) {
        o.insert("credential_error".into(), e.to_string().into());
    }
    v
}

/// Meta's dialog URL for `tenant`, with a fresh single-use state.
pub async fn authorize(
    cx: &Context<'_>,
    tenant: &str,
    request: &api::AuthorizeRequest,
) -> Result<api::Authorization, ConnectError> {
    let mut i = cx.instance(tenant).await?;
    called(i.authorize_url(request).await)
}

/// Exchange the code Meta sent back, then keep what the connection tells: the WABA
/// (when the token may manage exactly one and the tenant had none) and the numbers (the
/// only one of the WABA, when the tenant had none). Notes a `connection` event.
pub async fn exchange(
    cx: &Context<'_>,
    tenant: &str,
    code: &str,
    state: &str,
    redirect_uri: &str,
) -> Result<Value, ConnectError> {
    let mut i = cx.instance(tenant).await?;
    let c = called(i.exchange_code(code, state, redirect_uri).await)?;
    let mut record = tenants::get(cx.db, tenant)?;
    if record.waba_id.is_none()
        && let [waba] = c.waba_ids.as_slice()
    {
        record = tenants::set_identity(cx.db, tenant, waba, None)?;
    }
    let mut numbers = Value::Null;
    if record.waba_id.is_some() {
        // A new instance: the binding now has the WABA.
        let mut i = cx.instance(tenant).await?;
        match called(i.list_numbers().await) {
            Ok(list) => {
                if record.numbers.is_empty()
                    && let [only] = list.as_slice()
                {
                    let display = Some(only.display_phone_number.as_str());
                    tenants::select_numbers(cx.db, tenant, std::slice::from_ref(&only.id))?;
                    record = tenants::set_identity(
                        cx.db,
                        tenant,
                        record.waba_id.as_deref().unwrap_or_default(),
                        display,
                    )?;
                }
                numbers = Value::Array(list.iter().map(number_json).collect());
            }
            Err(e) => numbers = e.to_json(),
        }
    }
    cx.db.connected(tenant, c.generation, &c.waba_ids);
    Ok(json!({
        "tenant": tenant,
        "credential": "connected",
        "generation": c.generation,
        "replaced": c.replaced,
        "expires_at": c.expires_at,
        "scopes": c.scopes,
        "waba_ids": c.waba_ids,
        "waba_id": record.waba_id,
        "selected": record.numbers,
        "numbers": numbers,
    }))
}

/// The token's health and the readiness checklist.
pub async fn health(cx: &Context<'_>, tenant: &str) -> Result<Value, ConnectError> {
    let mut i = cx.instance(tenant).await?;
    // The checklist asks Meta about the token (once); the state is read after it, since
    // Meta's answer may have just put the tenant in `reauth-required`.
    let readiness = called(i.check_readiness().await)?;
    let status = called(i.credential_status().await)?;
    Ok(json!({
        "tenant": tenant,
        "credential": status_json(&status),
        "token": readiness.token.as_ref().map(health_json),
        "readiness": readiness_json(&readiness),
    }))
}

/// A phone number as JSON.
pub fn number_json(n: &api::PhoneNumber) -> Value {
    json!({
        "id": n.id, "display_phone_number": n.display_phone_number, "verified_name": n.verified_name,
        "quality_rating": n.quality_rating, "messaging_limit_tier": n.messaging_limit_tier,
        "throughput": n.throughput, "status": n.status, "code_verification_status": n.code_verification_status,
        "name_status": n.name_status, "platform_type": n.platform_type, "selected": n.selected,
    })
}

/// A credential state's name.
pub fn state_name(s: api::CredentialState) -> &'static str {
    match s {
        api::CredentialState::NotConnected => "not-connected",
        api::CredentialState::Connected => "connected",
        api::CredentialState::ReauthRequired => "reauth-required",
    }
}

/// The credential's status as JSON.
pub fn status_json(s: &api::CredentialStatus) -> Value {
    json!({ "state": state_name(s.state), "reason": s.reason, "code": s.code, "since": s.since, "generation": s.generation })
}

/// The token's health as JSON.
pub fn health_json(h: &api::TokenHealth) -> Value {
    json!({
        "valid": h.valid, "expires_at": h.expires_at, "data_access_expires_at": h.data_access_expires_at,
        "token_type": h.token_type, "app_id": h.app_id, "scopes": h.scopes,
        "missing_scopes": h.missing_scopes, "waba_ids": h.waba_ids, "reason": h.reason,
        "warning": h.warning,
    })
}

fn check_name(c: api::ReadinessCheck) -> &'static str {
    use api::ReadinessCheck as C;
    match c {
        C::CredentialValid => "credential-valid",
        C::IdentityKnown => "identity-known",
        C::NumberRegistered => "number-registered",
        C::AppSubscribed => "app-subscribed",
        C::WebhookVerified => "webhook-verified",
        C::TemplatesSynced => "templates-synced",
        C::SenderReady => "sender-ready",
    }
}

fn items_json(items: &[api::ReadinessItem]) -> Value {
    items
        .iter()
        .map(|i| json!({ "check": check_name(i.check), "ok": i.ok, "reason": i.reason }))
        .collect()
}

/// The readiness checklist as JSON.
pub fn readiness_json(r: &api::Readiness) -> Value {
    json!({
        "ready": r.ready,
        "items": items_json(&r.items),
        "numbers": r.numbers.iter().map(|n| json!({
            "phone_number_id": n.phone_number_id, "display_phone_number": n.display_phone_number,
            "ready": n.ready, "items": items_json(&n.items),
        })).collect::<Vec<_>>(),
    })
}

/// Keeps tenants' tokens alive: each sweep asks every tenant's component to refresh its
/// token (`connection.refresh-token`), which exchanges a person's token for a fresh one
/// when it is due and Meta allows, and leaves the rest alone. One tenant's failure is
/// logged; the others go on.
pub struct TokenKeeper {
    /// The loaded component.
    pub runtime: std::sync::Arc<Runtime>,
    /// Tenants and their storage.
    pub db: std::sync::Arc<Database>,
    /// The master keys.
    pub vault: std::sync::Arc<Vault>,
    /// Host-wide settings.
    pub defaults: Defaults,
    /// Between sweeps.
    pub every: std::time::Duration,
}

impl TokenKeeper {
    /// One sweep over every tenant with a token: what each refresh did, or why it
    /// failed (tenants without a token are left out).
    pub async fn sweep(&self) -> Vec<(String, Result<api::TokenRefresh, ConnectError>)> {
        let cx = Context {
            runtime: &self.runtime,
            db: &self.db,
            vault: &self.vault,
            defaults: &self.defaults,
        };
        let tenants = match self.db.tenants() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("token sweep: cannot list tenants: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for t in tenants {
            let r = match cx.instance(&t.id).await {
                Ok(mut i) => called(i.refresh_token().await),
                Err(e) => Err(e),
            };
            match &r {
                Err(ConnectError::Component(e)) if e.kind == api::ErrorKind::NotConfigured => {
                    continue;
                }
                Ok(done) if done.refreshed => {
                    tracing::info!(tenant = %t.id, expires_at = ?done.expires_at, "token refreshed");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(tenant = %t.id, "token refresh failed: {e}"),
            }
            out.push((t.id, r));
        }
        out
    }

    /// Sweep now and then every [`TokenKeeper::every`], until `stop` resolves.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            self.sweep().await;
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(self.every) => {}
            }
        }
    }
}
