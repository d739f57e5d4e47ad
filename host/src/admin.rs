//! The admin API, for platforms that run the host as a service: tenants, tokens,
//! connecting through OAuth, numbers, subscriptions and health over HTTP, behind a
//! bearer token (`WA_ADMIN_TOKEN`), on the admin listener (`serve --admin-listen`). And the OAuth callback Meta sends the business's
//! browser back to, on the public listener, which needs no bearer: the single-use
//! `state` the component made is what it checks.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /admin/tenants` | every tenant, described (never a secret) |
//! | `POST /admin/tenants` | add one: `{"id", "phone_number_id"?, "numbers"?, "waba_id"?, "graph_origin"?, "access_token"?, "app_secret"?, "verify_token"?, "settings"?}` |
//! | `GET /admin/tenants/{id}` | one tenant |
//! | `DELETE /admin/tenants/{id}` | remove it (its storage and secrets; its events stay) |
//! | `PUT /admin/tenants/{id}/token` | replace its token: `{"access_token"}` |
//! | `POST /admin/tenants/{id}/connect` | Meta's dialog URL: `{"redirect_uri"?, "config_id"?, "extra_scopes"?}`; the redirect defaults to this host's `/oauth/callback` |
//! | `GET /admin/tenants/{id}/numbers` | the WABA's numbers |
//! | `PUT /admin/tenants/{id}/numbers` | select the tenant's numbers: `{"numbers": [...]}` (the first is the default) |
//! | `POST /admin/tenants/{id}/numbers/{number}/register` | register a number: `{"pin"}` |
//! | `POST /admin/tenants/{id}/subscribe` | subscribe the app to the WABA: `{"override_callback_uri"?, "verify_token"?}` |
//! | `GET /admin/tenants/{id}/health` | the token's health and the readiness checklist |
//! | `POST /admin/tenants/{id}/call/{operation}` | any operation of the component (`flows.get`, `messages.send`, …) with its arguments as a JSON object keyed by parameter name (`crate::invoke` says the mapping): 200 with its answer, or its typed error (400 `invalid-input`, 409 `not-configured`, 502 any other) |
//! | `GET /admin/tenants/{id}/outbox/{entry}` | an outbox entry; `POST …/outbox/{entry}/cancel` cancels it, `POST …/outbox/pause` and `…/resume` hold and release the whole outbox |
//! | `POST /admin/tenants/{id}/campaigns/{campaign}` | a campaign: `{"template", "language"?, "not_before_ms"?, "recipients"}`, the recipients objects (`to`, then `1`, `2`, … or named parameters) or CSV text with a header; each entry keyed by campaign and recipient (the same list again adds nothing): `{"campaign", "entries", "created"}` |
//! | `GET /admin/tenants/{id}/campaigns/{campaign}` | its progress; `POST …/{campaign}/pause`, `…/resume`, `…/cancel` steer it |
//! | `GET /admin/operations` | every operation with its parameters |
//! | `GET /oauth/callback?code&state` | Meta's redirect after the dialog (no bearer) |

use crate::api::ErrorKind;
use crate::connect::{self, ConnectError, Context};
use crate::net::{self, Resp};
pub use crate::state::AdminConfig;
use crate::state::ServerState;
use crate::tenants::{self, NewTenant};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Largest admin request body.
const MAX_BODY: usize = 64 << 10;
/// Largest campaign: its recipient list (100,000 rows of a number and a few parameters).
const MAX_CAMPAIGN_BODY: usize = 16 << 20;

/// Where Meta sends the browser back, on the host at `public_url`.
pub fn callback_url(public_url: &str) -> String {
    format!("{}/oauth/callback", public_url.trim_end_matches('/'))
}

fn error(status: StatusCode, message: impl Into<String>) -> Resp {
    net::json(
        status,
        &json!({ "error": "request", "message": message.into() }),
    )
}

fn failed(e: ConnectError) -> Resp {
    let status = match &e {
        ConnectError::Component(e) => match e.kind {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotConfigured => StatusCode::CONFLICT,
            _ => StatusCode::BAD_GATEWAY,
        },
        ConnectError::Tenant(tenants::TenantError::NotFound(_)) => StatusCode::NOT_FOUND,
        ConnectError::Tenant(tenants::TenantError::Invalid(_)) => StatusCode::BAD_REQUEST,
        ConnectError::Tenant(_) | ConnectError::Host(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    net::json(status, &e.to_json())
}

fn tenant_failed(e: tenants::TenantError) -> Resp {
    failed(ConnectError::Tenant(e))
}

/// Whether the request carries the admin token (compared as digests, in constant time
/// with respect to where they differ).
fn authorized(config: &AdminConfig, req: &Request<Incoming>) -> bool {
    let Some(presented) = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(presented.as_bytes()) == Sha256::digest(config.token.as_bytes())
}

async fn body<T: for<'de> Deserialize<'de>>(
    within: std::time::Duration,
    req: Request<Incoming>,
) -> Result<T, Resp> {
    body_of(MAX_BODY, within, req).await
}

/// [`body`], up to `max` bytes.
async fn body_of<T: for<'de> Deserialize<'de>>(
    max: usize,
    within: std::time::Duration,
    req: Request<Incoming>,
) -> Result<T, Resp> {
    let bytes = net::read_body(req.into_body(), max, within)
        .await
        .map_err(|e| error(e.status(), e.to_string()))?;
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
    // serde's message names the field, never a value.
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("not the expected JSON: {e}"),
        )
    })
}

/// `POST /admin/tenants/{id}/campaigns/{campaign}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCampaign {
    template: String,
    #[serde(default = "en_us")]
    language: String,
    #[serde(default)]
    not_before_ms: Option<u64>,
    /// Objects (`to`, then `1`, `2`, … or named parameters), or CSV text with a header.
    recipients: Value,
}

fn en_us() -> String {
    "en_US".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddTenant {
    id: String,
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    numbers: Vec<String>,
    #[serde(default)]
    waba_id: Option<String>,
    #[serde(default)]
    display_phone_number: Option<String>,
    #[serde(default)]
    graph_origin: Option<String>,
    #[serde(default)]
    access_token: Option<Zeroizing<String>>,
    #[serde(default)]
    app_secret: Option<Zeroizing<String>>,
    #[serde(default)]
    verify_token: Option<Zeroizing<String>>,
    #[serde(default)]
    settings: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Token {
    access_token: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Connect {
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    config_id: Option<String>,
    #[serde(default)]
    extra_scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Numbers {
    numbers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pin {
    pin: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    #[serde(default)]
    override_callback_uri: Option<String>,
    #[serde(default)]
    verify_token: Option<Zeroizing<String>>,
}

fn context(state: &ServerState) -> Context<'_> {
    Context {
        runtime: &state.runtime,
        db: &state.db,
        vault: &state.runtime.services().vault,
        defaults: &state.defaults,
    }
}

/// Answer an `/admin/…` request.
pub async fn handle(state: &ServerState, config: &AdminConfig, req: Request<Incoming>) -> Resp {
    if !authorized(config, &req) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin bearer token is required",
        );
    }
    route(state, req).await.unwrap_or_else(|refused| refused)
}

/// An authorized admin request's answer; `Err` is a refusal already made a response.
async fn route(state: &ServerState, req: Request<Incoming>) -> Result<Resp, Resp> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').skip(1).collect();
    let cx = context(state);
    Ok(match (method.as_str(), segments.as_slice()) {
        ("GET", ["tenants"]) => match state.db.tenants() {
            Ok(ts) => {
                let mut all = Vec::with_capacity(ts.len());
                for t in &ts {
                    all.push(connect::describe(&cx, t).await);
                }
                net::json(StatusCode::OK, &Value::Array(all))
            }
            Err(e) => tenant_failed(e.into()),
        },
        ("POST", ["tenants"]) => {
            let a: AddTenant = body(state.limits.body_timeout, req).await?;
            let t = NewTenant {
                id: a.id,
                phone_number_id: a.phone_number_id.unwrap_or_default(),
                numbers: a.numbers,
                waba_id: a.waba_id.unwrap_or_default(),
                display_phone_number: a.display_phone_number,
                graph_origin: a.graph_origin,
                app_secret: a.app_secret,
                verify_token: a.verify_token,
                settings: a.settings.into_iter().collect(),
            };
            let token = a.access_token.as_deref().map(|t| t.as_str());
            match connect::add_tenant(&cx, t, token, crate::app::now_secs()).await {
                Ok(r) => net::json(StatusCode::CREATED, &connect::describe(&cx, &r).await),
                Err(ConnectError::Tenant(tenants::TenantError::Storage(e))) => {
                    error(StatusCode::CONFLICT, e.to_string())
                }
                Err(e) => failed(e),
            }
        }
        ("GET", ["tenants", id]) => match tenants::get(&state.db, id) {
            Ok(t) => net::json(StatusCode::OK, &connect::describe(&cx, &t).await),
            Err(e) => tenant_failed(e),
        },
        ("DELETE", ["tenants", id]) => match tenants::remove(&state.db, id) {
            Ok(true) => net::json(StatusCode::OK, &json!({ "removed": id })),
            Ok(false) => tenant_failed(tenants::TenantError::NotFound(id.to_string())),
            Err(e) => tenant_failed(e),
        },
        ("PUT", ["tenants", id, "token"]) => {
            let id = id.to_string();
            let t: Token = body(state.limits.body_timeout, req).await?;
            match connect::set_access_token(&cx, &id, &t.access_token).await {
                Ok(generation) => net::json(
                    StatusCode::OK,
                    &json!({ "tenant": id, "credential": "connected", "generation": generation }),
                ),
                Err(e) => failed(e),
            }
        }
        ("POST", ["tenants", id, "connect"]) => {
            let id = id.to_string();
            let c: Connect = body(state.limits.body_timeout, req).await?;
            let Some(redirect_uri) = c
                .redirect_uri
                .or_else(|| state.public_url.as_deref().map(callback_url))
            else {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "give a redirect_uri, or run serve with --public-url",
                ));
            };
            let request = crate::api::AuthorizeRequest {
                redirect_uri,
                config_id: c.config_id,
                extra_scopes: c.extra_scopes,
            };
            match connect::authorize(&cx, &id, &request).await {
                Ok(a) => net::json(
                    StatusCode::OK,
                    &json!({ "url": a.url, "state": a.state, "expires_at": a.expires_at, "redirect_uri": request.redirect_uri }),
                ),
                Err(e) => failed(e),
            }
        }
        ("GET", ["tenants", id, "numbers"]) => {
            let r = async {
                let mut i = cx.instance(id).await?;
                connect::called(i.list_numbers().await)
            }
            .await;
            match r {
                Ok(list) => net::json(
                    StatusCode::OK,
                    &list.iter().map(connect::number_json).collect(),
                ),
                Err(e) => failed(e),
            }
        }
        ("PUT", ["tenants", id, "numbers"]) => {
            let id = id.to_string();
            let n: Numbers = body(state.limits.body_timeout, req).await?;
            match tenants::select_numbers(&state.db, &id, &n.numbers) {
                Ok(t) => net::json(StatusCode::OK, &connect::describe(&cx, &t).await),
                Err(tenants::TenantError::Storage(e)) => error(StatusCode::CONFLICT, e.to_string()),
                Err(e) => tenant_failed(e),
            }
        }
        ("POST", ["tenants", id, "numbers", number, "register"]) => {
            let (id, number) = (id.to_string(), number.to_string());
            let p: Pin = body(state.limits.body_timeout, req).await?;
            let r = async {
                let mut i = cx.instance(&id).await?;
                connect::called(i.register_number(&number, &p.pin).await)
            }
            .await;
            match r {
                Ok(()) => net::json(StatusCode::OK, &json!({ "registered": number })),
                Err(e) => failed(e),
            }
        }
        ("POST", ["tenants", id, "subscribe"]) => {
            let id = id.to_string();
            let s: Subscribe = body(state.limits.body_timeout, req).await?;
            let callback = match (s.override_callback_uri, s.verify_token) {
                (Some(url), Some(token)) => Some(crate::api::CallbackOverride {
                    url,
                    verify_token: token.to_string(),
                }),
                (None, None) => None,
                _ => {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "override_callback_uri and verify_token go together",
                    ));
                }
            };
            let r = async {
                let mut i = cx.instance(&id).await?;
                connect::called(i.subscribe_app(callback.as_ref()).await)
            }
            .await;
            match r {
                Ok(()) => net::json(StatusCode::OK, &json!({ "subscribed": true })),
                Err(e) => failed(e),
            }
        }
        ("GET", ["tenants", id, "health"]) => match connect::health(&cx, id).await {
            Ok(v) => net::json(StatusCode::OK, &v),
            Err(e) => failed(e),
        },
        ("GET", ["tenants", id, "outbox", entry]) => {
            let outbox = outbox_of(state, id)?;
            match outbox.status(id, entry) {
                Ok(Some(e)) => {
                    net::json(StatusCode::OK, &crate::capabilities::outbox::entry_json(&e))
                }
                Ok(None) => error(
                    StatusCode::NOT_FOUND,
                    format!("tenant {id} has no outbox entry {entry}"),
                ),
                Err(e) => failed(ConnectError::Component(Box::new(e))),
            }
        }
        ("POST", ["tenants", id, "outbox", entry, "cancel"]) => {
            let outbox = outbox_of(state, id)?;
            match outbox.cancel(id, entry) {
                Ok(cancelled) => net::json(
                    StatusCode::OK,
                    &json!({ "id": entry, "cancelled": cancelled }),
                ),
                Err(e) => failed(ConnectError::Component(Box::new(e))),
            }
        }
        ("POST", ["tenants", id, "outbox", action @ ("pause" | "resume")]) => {
            campaign_action(state, id, None, action)?
        }
        ("GET", ["tenants", id, "campaigns", campaign]) => {
            let outbox = outbox_of(state, id)?;
            match outbox.progress(id, campaign) {
                Ok(t) => net::json(StatusCode::OK, &crate::capabilities::outbox::tally_json(&t)),
                Err(e) => failed(ConnectError::Component(Box::new(e))),
            }
        }
        (
            "POST",
            [
                "tenants",
                id,
                "campaigns",
                campaign,
                action @ ("pause" | "resume" | "cancel"),
            ],
        ) => campaign_action(state, id, Some(campaign), action)?,
        ("POST", ["tenants", id, "campaigns", campaign]) => {
            let (id, campaign) = (id.to_string(), campaign.to_string());
            outbox_of(state, &id)?;
            let c: NewCampaign = body_of(MAX_CAMPAIGN_BODY, state.limits.body_timeout, req).await?;
            let rows = match &c.recipients {
                Value::String(csv) => crate::campaign::csv_objects(csv),
                Value::Array(rows) if rows.iter().all(Value::is_object) => Ok(rows.clone()),
                _ => Err("recipients: objects, or CSV text with a header".to_string()),
            };
            let items = rows
                .and_then(|rows| {
                    crate::campaign::Campaign {
                        name: &campaign,
                        template: &c.template,
                        language: &c.language,
                        not_before_ms: c.not_before_ms,
                    }
                    .items(&rows)
                })
                .map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
            if items.is_empty() {
                return Err(error(StatusCode::BAD_REQUEST, "recipients: none"));
            }
            let r = async {
                let mut i = cx.instance(&id).await?;
                crate::campaign::enqueue(&mut i, &items).await
            }
            .await;
            match r {
                Ok(entries) => net::json(
                    StatusCode::OK,
                    &json!({ "campaign": campaign, "entries": entries.len(),
                        "created": entries.iter().filter(|e| e["created"] == true).count() }),
                ),
                Err(e) => failed(e),
            }
        }
        ("GET", ["operations"]) => net::json(StatusCode::OK, &json!(state.runtime.operations())),
        ("POST", ["tenants", id, "call", operation]) => {
            let args: Value = body(state.limits.body_timeout, req).await?;
            let mut instance = cx.instance(id).await.map_err(failed)?;
            match instance.invoke(operation, &args).await {
                Ok(Ok(Ok(answer))) => net::json(StatusCode::OK, &answer),
                Ok(Ok(Err(e))) => failed(ConnectError::Component(Box::new(e))),
                Ok(Err(e @ crate::invoke::InvokeError::NoSuchOperation(_))) => {
                    error(StatusCode::NOT_FOUND, e.to_string())
                }
                Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
                Err(e) => failed(ConnectError::Host(format!("the component failed: {e}"))),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "no such admin route"),
    })
}

/// The host's outbox, for an existing tenant.
fn outbox_of(
    state: &ServerState,
    id: &str,
) -> Result<std::sync::Arc<crate::capabilities::outbox::OutboxService>, Resp> {
    tenants::get(&state.db, id).map_err(tenant_failed)?;
    state
        .runtime
        .services()
        .outbox
        .clone()
        .ok_or_else(|| error(StatusCode::CONFLICT, "this host keeps no outbox"))
}

/// Pause, resume or cancel a campaign (none: pause or resume the whole outbox).
fn campaign_action(
    state: &ServerState,
    id: &str,
    campaign: Option<&str>,
    action: &str,
) -> Result<Resp, Resp> {
    let outbox = outbox_of(state, id)?;
    let done = match action {
        "pause" => outbox
            .pause(id, campaign)
            .map(|()| json!({ "paused": true })),
        "resume" => outbox
            .resume(id, campaign)
            .map(|lifted| json!({ "resumed": lifted })),
        _ => outbox
            .cancel_campaign(id, campaign.unwrap_or_default())
            .map(|n| json!({ "cancelled": n })),
    };
    Ok(match done {
        Ok(mut v) => {
            v["campaign"] = json!(campaign);
            net::json(StatusCode::OK, &v)
        }
        Err(e) => failed(ConnectError::Component(Box::new(e))),
    })
}

pub use crate::net::query_param;

fn page(status: StatusCode, title: &str, detail: &str) -> Resp {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    net::respond(
        status,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><meta charset=utf-8><title>{t}</title><h1>{t}</h1><p>{d}</p>\n",
            t = escape(title),
            d = escape(detail)
        ),
    )
}

/// `GET /oauth/callback?code&state` (or `?error…` when the business declined): exchange
/// the code for the tenant the state names. Answers the browser with a short page; the
/// outcome is also a `connection` event.
pub async fn oauth_callback(state: &ServerState, query: &str) -> Resp {
    let param = |name: &str| query_param(query, name);
    if let Some(e) = param("error") {
        let why = param("error_description").unwrap_or(e);
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            &format!("Meta says: {why}"),
        );
    }
    let (Some(code), Some(st)) = (param("code"), param("state")) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "the callback has no code or state",
        );
    };
    // `connection.authorization.state` is `{tenant-id}.{random}` (the WIT says so).
    let Some(tenant) = st.split_once('.').map(|(t, _)| t).filter(|t| !t.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "the state is not one this host made",
        );
    };
    let Some(public) = &state.public_url else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not connected",
            "the host has no --public-url",
        );
    };
    match connect::exchange(&context(state), tenant, &code, &st, &callback_url(public)).await {
        Ok(v) => {
            tracing::info!("tenant {tenant} connected (generation {})", v["generation"]);
            page(
                StatusCode::OK,
                "Connected",
                "WhatsApp is connected. You can close this window.",
            )
        }
        Err(e) => {
            tracing::warn!("tenant {tenant}: the OAuth callback failed: {e}");
            let status = match &e {
                ConnectError::Component(c) if c.kind == ErrorKind::InvalidInput => {
                    StatusCode::BAD_REQUEST
                }
                ConnectError::Tenant(tenants::TenantError::NotFound(_)) => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            page(status, "Not connected", &e.to_string())
        }
    }
}
