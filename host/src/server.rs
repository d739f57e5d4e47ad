//! The shared webhook endpoint: `GET /webhook` answers Meta's handshake, `POST /webhook`
//! checks `X-Hub-Signature-256` over the raw body, routes each change to its tenant by
//! `phone_number_id` (or WABA id), runs the tenant's component to parse it, and commits
//! the events to the database before it answers 200.

use crate::directory::Known;
use crate::events;
use crate::net::{self, Resp, text};
use crate::runtime::api::ErrorKind;
use crate::signature;
pub use crate::state::{Counters, DEFAULT_MAX_BODY, Metrics, ServerState};
use crate::storage::NewEvent;
use crate::storage::outbox::News;
use crate::tenants::{Defaults, TenantExt};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::Instrument;

/// Serve the public endpoint on `listener` until `shutdown` resolves, then drain: what
/// Meta and the business's browser reach (the webhook, the OAuth callback, `/livez`).
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = state.limits;
    net::serve(
        listener,
        limits,
        state,
        |state, req| async move { handle(&state, req).await },
        shutdown,
    )
    .await
}

/// Serve the operator's endpoint on `listener` (loopback by default) until `shutdown`
/// resolves: the admin API, `/metrics`, `/readyz` and `/livez`. Kept off the public
/// listener: `/metrics` names tenants, and the admin API needs no exposure to Meta.
pub async fn serve_admin(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = state.limits;
    net::serve(
        listener,
        limits,
        state,
        |state, req| async move { handle_admin(&state, req).await },
        shutdown,
    )
    .await
}

/// Answer one request on the public listener.
pub async fn handle(state: &ServerState, req: Request<Incoming>) -> Resp {
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/webhook") => handshake(state, req.uri().query().unwrap_or("")).await,
        ("POST", "/webhook") => {
            let span = tracing::info_span!("webhook");
            let started = std::time::Instant::now();
            let received = receive(state, req).instrument(span.clone()).await;
            let _in = span.enter();
            let resp = match received {
                Ok(n) => {
                    tracing::debug!(
                        events = n,
                        us = started.elapsed().as_micros() as u64,
                        "webhook recorded"
                    );
                    text(StatusCode::OK, format!("recorded {n} events\n"))
                }
                Err((status, msg)) => {
                    tracing::warn!("webhook refused ({status}): {msg}");
                    text(status, format!("{msg}\n"))
                }
            };
            crate::telemetry::histograms().webhook(resp.status().as_u16(), started.elapsed());
            resp
        }
        ("GET", "/oauth/callback") if state.public_url.is_some() => {
            crate::admin::oauth_callback(state, req.uri().query().unwrap_or("")).await
        }
        ("GET", "/livez") => text(StatusCode::OK, "ok\n"),
        (_, "/webhook") => text(StatusCode::METHOD_NOT_ALLOWED, "GET or POST\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Answer one request on the admin listener.
pub async fn handle_admin(state: &ServerState, req: Request<Incoming>) -> Resp {
    match (req.method().as_str(), req.uri().path()) {
        (_, p) if p == "/admin" || p.starts_with("/admin/") => match &state.admin {
            Some(config) => crate::admin::handle(state, config, req).await,
            None => text(
                StatusCode::NOT_FOUND,
                "the admin API is off: set WA_ADMIN_TOKEN\n",
            ),
        },
        ("GET", "/metrics") => {
            let backlog = crate::forward::backlog_by_tenant(&state.db);
            let mut page = state.metrics.render(backlog);
            page.push_str(&crate::telemetry::histograms().render());
            net::respond(StatusCode::OK, "text/plain; version=0.0.4", page)
        }
        ("GET", "/readyz") => ready(state),
        ("GET", "/livez") => text(StatusCode::OK, "ok\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Whether this host can take webhooks: its database answers a query (the component
/// was compiled and loaded before the listeners opened). 503 with the reason if not.
fn ready(state: &ServerState) -> Resp {
    match state.db.last_seq() {
        Ok(_) => net::json(
            StatusCode::OK,
            &serde_json::json!({ "ready": true, "database": state.db.kind(), "component": "loaded" }),
        ),
        Err(e) => {
            tracing::warn!("readiness: the database does not answer: {e}");
            net::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({ "ready": false, "database": format!("does not answer: {e}") }),
            )
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    // Digests first, so the comparison takes the same time wherever the two differ.
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

async fn handshake(state: &ServerState, query: &str) -> Resp {
    let param = |name| net::query_param(query, name);
    let (Some(mode), Some(token), Some(challenge)) = (
        param("hub.mode"),
        param("hub.verify_token"),
        param("hub.challenge"),
    ) else {
        return text(
            StatusCode::BAD_REQUEST,
            "hub.mode, hub.verify_token and hub.challenge are required\n",
        );
    };
    if mode != "subscribe" {
        return text(StatusCode::BAD_REQUEST, "hub.mode must be subscribe\n");
    }
    // Whose subscription this is: the tenants with this verify token of their own, or
    // (the host's token) every tenant without one.
    let host_wide = state
        .defaults
        .verify_token
        .as_ref()
        .is_some_and(|v| same(v, &token));
    let vault = &state.runtime.services().vault;
    let tenants = state.db.tenants().unwrap_or_default();
    let verified: Vec<_> = tenants
        .iter()
        .filter(|t| match &t.verify_token_sealed {
            Some(_) => matches!(t.verify_token(vault, &Defaults::default()),
                Ok(Some(v)) if same(&v, &token)),
            None => host_wide,
        })
        .collect();
    if verified.is_empty() && !host_wide {
        return text(StatusCode::FORBIDDEN, "verify token does not match\n");
    }
    // Each tenant's component answers too: it checks the token against the one it is
    // bound with and notes "webhook verified" for its readiness checklist.
    for t in verified {
        let answered = match t.binding(vault, &state.defaults) {
            Ok(binding) => match state.runtime.instantiate(&binding).await {
                Ok(mut i) => match i.verify_subscription(&mode, &token, &challenge).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(events::describe_error(&e)),
                    Err(trap) => Err(trap.to_string()),
                },
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = answered {
            tracing::warn!("tenant {}: noting the webhook handshake: {e}", t.id);
        }
    }
    text(StatusCode::OK, challenge)
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    entry: Vec<PeekEntry<'a>>,
}

#[derive(Deserialize)]
struct PeekEntry<'a> {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(borrow, default)]
    changes: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct PeekChange {
    value: Option<PeekValue>,
}

#[derive(Deserialize)]
struct PeekValue {
    metadata: Option<PeekMetadata>,
}

#[derive(Deserialize)]
struct PeekMetadata {
    phone_number_id: Option<String>,
}

/// Where one change of a POST goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedChange {
    /// `entry[].id`.
    pub waba_id: String,
    /// `value.metadata.phone_number_id`, when present.
    pub phone_number_id: Option<String>,
    /// The change's raw JSON.
    pub raw: String,
}

/// The routing keys of every change of a body, without parsing anything else.
pub fn peek_routes(body: &[u8]) -> Result<Vec<RoutedChange>, String> {
    let p: Peek<'_> =
        serde_json::from_slice(body).map_err(|e| format!("not a WhatsApp webhook payload: {e}"))?;
    let mut out = Vec::new();
    for e in p.entry {
        let waba_id = match e.id {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        for c in e.changes {
            let pnid = serde_json::from_str::<PeekChange>(c.get())
                .ok()
                .and_then(|c| c.value)
                .and_then(|v| v.metadata)
                .and_then(|m| m.phone_number_id);
            out.push(RoutedChange {
                waba_id: waba_id.clone(),
                phone_number_id: pnid,
                raw: c.get().to_string(),
            });
        }
    }
    Ok(out)
}

type Refusal = (StatusCode, String);

async fn receive(state: &ServerState, req: Request<Incoming>) -> Result<usize, Refusal> {
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > state.max_body as u64) {
        let e = net::BodyError::TooLarge(state.max_body);
        return Err((e.status(), e.to_string()));
    }
    let signature = req
        .headers()
        .get(signature::META_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_string());
    let body = net::read_body(req.into_body(), state.max_body, state.limits.body_timeout)
        .await
        .map_err(|e| (e.status(), e.to_string()))?;
    let Some(signature) = signature else {
        state.metrics.add("", |c| c.signature_failures += 1);
        return Err((
            StatusCode::UNAUTHORIZED,
            "the X-Hub-Signature-256 header is missing".into(),
        ));
    };
    // The signature is the transport's: checked here, once per candidate secret, and the
    // body handed to the components as verified. A malformed header holds under none.
    let expected = signature::parse(Some(&signature)).ok();
    let holds = |secret: &[u8]| expected.is_some_and(|x| signature::holds(secret, &body, &x));
    let routes = match peek_routes(&body) {
        Ok(r) => r,
        // Signed by Meta yet unreadable: kept whole as a `rejected` event and answered
        // 200, so that nothing is lost and Meta does not retry it for days. Unsigned, it
        // is refused like any forgery (and the sender learns nothing of the parser).
        Err(reason) => {
            let owner = if state
                .defaults
                .app_secret
                .as_ref()
                .is_some_and(|s| holds(s.as_bytes()))
            {
                Some(None)
            } else {
                // Not under the host's secret: a tenant's own, if one signed it. (Only on
                // this path, for bodies that do not parse: one HMAC per such tenant.)
                let vault = &state.runtime.services().vault;
                state.db.tenants().ok().and_then(|ts| {
                    ts.into_iter()
                        .filter(|t| t.app_secret_sealed.is_some())
                        .find(|t| {
                            t.app_secret(vault, &state.defaults)
                                .ok()
                                .flatten()
                                .is_some_and(|s| holds(s.as_bytes()))
                        })
                        .map(|t| Some(t.id))
                })
            };
            let Some(tenant) = owner else {
                state.metrics.add("", |c| c.signature_failures += 1);
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "the signature does not match the body under any app secret".into(),
                ));
            };
            let row = rejected(tenant.as_deref(), &reason, &body);
            return record(state, Vec::new(), vec![row], Vec::new()).await;
        }
    };

    // Who each change belongs to, and whether the signature holds under that party's secret.
    let vault = &state.runtime.services().vault;
    let mut tenants: Vec<Arc<Known>> = Vec::new();
    let mut unroutable: Vec<&RoutedChange> = Vec::new();
    for r in &routes {
        let owners = state.directory.owners(
            &state.db,
            vault,
            &state.defaults,
            &r.waba_id,
            r.phone_number_id.as_deref(),
        );
        if owners.is_empty() {
            unroutable.push(r);
        }
        for t in owners.iter() {
            if !tenants.iter().any(|x| x.record.id == t.record.id) {
                tenants.push(t.clone());
            }
        }
    }
    let holds_opt = |secret: &Option<zeroize::Zeroizing<String>>| {
        secret.as_ref().is_some_and(|s| holds(s.as_bytes()))
    };
    let mut verified: Vec<Arc<Known>> = Vec::new();
    for t in tenants {
        let id = &t.record.id;
        match &t.app_secret {
            Ok(secret) if holds_opt(secret) => verified.push(t),
            Ok(_) => state.metrics.add(id, |c| c.signature_failures += 1),
            Err(e) => {
                tracing::error!("tenant {id}: {e}");
                state.metrics.add(id, |c| c.signature_failures += 1);
            }
        }
    }
    // Changes no tenant owns (and bodies with no change at all) answer to the host's secret.
    let host_ok =
        (routes.is_empty() || !unroutable.is_empty()) && holds_opt(&state.defaults.app_secret);
    if verified.is_empty() && !host_ok {
        if routes.is_empty() || !unroutable.is_empty() {
            state.metrics.add("", |c| c.signature_failures += 1);
        }
        return Err((
            StatusCode::UNAUTHORIZED,
            "the signature does not match the body under any applicable app secret".into(),
        ));
    }

    // Each verified tenant's own instance ingests the POST: its events, deduplicated, with
    // its state kept. The instance stages its writes; they become durable together with
    // the events, in the next group commit, before the 200 (see `crate::journal`).
    let journal = state.db.journal();
    let mut rows: Vec<NewEvent> = Vec::new();
    let mut progress: Vec<(String, News)> = Vec::new();
    let mut staged = Vec::new();
    let warm_limit = state.runtime.max_instances() as usize / 4;
    for known in &verified {
        let t = &known.record;
        // One call at a time per tenant, so that each sees the writes staged before it;
        // the instance the last one gave back is therefore free (made only when none is).
        let turn = journal.lock_tenant(&t.id).await;
        let mut inst = known.instance(&state.runtime).await;
        let generation = journal.generation();
        let ingested = match &mut inst {
            Ok(i) => {
                i.defer_writes();
                // Verified above: the component parses and keeps its state, and hands
                // back each event as the JSON to record; the events table's unique
                // (tenant, idempotency key) deduplicates deliveries, once.
                match i.ingest(&body).await {
                    Ok(r) => Ok(r.map(|r| (r, i.take_writes()))),
                    Err(trap) => Err(trap.to_string()),
                }
            }
            Err(e) => Err(e.clone()),
        };
        if let (Ok(i), Ok(_)) = (inst, &ingested) {
            known.keep(i, warm_limit);
        }
        let refusal = match ingested {
            Ok(Ok((result, writes))) => match journal.stage(generation, vec![writes]) {
                Ok(s) => {
                    staged.push(s);
                    drop(turn);
                    Ok(result)
                }
                Err(e) => Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
            },
            // A verified body the component cannot read: kept for this tenant as a
            // `rejected` event (200, so that Meta does not retry it for days).
            Ok(Err(e)) if e.kind == ErrorKind::InvalidInput => {
                drop(turn);
                rows.push(rejected(Some(&t.id), &e.message, &body));
                continue;
            }
            Ok(Err(e)) => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the component failed: {}", events::describe_error(&e)),
            )),
            Err(trap) => {
                tracing::error!("tenant {}: the component failed: {trap}", t.id);
                Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the component failed; Meta will retry".into(),
                ))
            }
        };
        let result = match refusal {
            Ok(r) => r,
            Err(refused) => {
                journal.discard(staged);
                return Err(refused);
            }
        };
        for e in result.events {
            if let Some(p) = e.outbox {
                progress
                    .extend(crate::dispatch::progress(p).map(|p| (t.id.clone(), News::Status(p))));
            }
            if !e.reply_from.is_empty() {
                progress.push((t.id.clone(), News::Reply(e.reply_from)));
            }
            rows.push(NewEvent {
                tenant: Some(t.id.clone()),
                kind: e.kind,
                idempotency_key: e.idempotency_key,
                json: e.json,
            });
        }
    }
    if host_ok {
        for r in unroutable {
            let json = serde_json::json!({
                "type": "unroutable",
                "waba_id": r.waba_id,
                "phone_number_id": r.phone_number_id,
                "raw": serde_json::from_str::<serde_json::Value>(&r.raw).unwrap_or(serde_json::Value::Null),
            });
            rows.push(NewEvent {
                tenant: None,
                kind: "unroutable".into(),
                idempotency_key: format!(
                    "unroutable:{}",
                    hex::encode(&Sha256::digest(r.raw.as_bytes())[..16])
                ),
                json: json.to_string(),
            });
        }
    }
    record(state, staged, rows, progress).await
}

/// A `rejected` event: a verified body that could not be read, kept whole (base64) with
/// the reason, once per tenant and body. (The transport's own record, like `unroutable`:
/// it says nothing of what the body means.)
fn rejected(tenant: Option<&str>, reason: &str, body: &[u8]) -> NewEvent {
    use base64::Engine;
    let json = serde_json::json!({
        "type": "rejected",
        "tenant": tenant,
        "reason": reason,
        "body_base64": base64::engine::general_purpose::STANDARD.encode(body),
    });
    NewEvent {
        tenant: tenant.map(str::to_string),
        kind: "rejected".into(),
        idempotency_key: format!("rejected:{}", hex::encode(&Sha256::digest(body)[..16])),
        json: json.to_string(),
    }
}

/// Commit the staged writes and the events together; how many events were new.
async fn record(
    state: &ServerState,
    staged: Vec<crate::journal::Staged>,
    rows: Vec<NewEvent>,
    progress: Vec<(String, News)>,
) -> Result<usize, Refusal> {
    // What the counters and the in-process listeners (the demo) need after the commit.
    let recorded: Vec<(Option<String>, String, Option<String>)> = rows
        .iter()
        .map(|r| {
            let json = state.events.as_ref().map(|_| r.json.clone());
            (r.tenant.clone(), r.kind.clone(), json)
        })
        .collect();
    // Nothing was written yet: if the commit fails, Meta's retry is processed afresh.
    let committing = std::time::Instant::now();
    let committed = state.db.commit(staged, rows, progress, now_ms()).await;
    crate::telemetry::histograms().commit(committing.elapsed());
    let inserted = committed.map_err(|e| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("recording failed: {e}"),
        )
    })?;
    let mut n = 0;
    for ((tenant, kind, json), new) in recorded.into_iter().zip(inserted) {
        let name = tenant.as_deref().unwrap_or("");
        if !new {
            state.metrics.add(name, |c| c.duplicates += 1);
            continue;
        }
        n += 1;
        state.metrics.add(name, |c| match (kind.as_str(), &tenant) {
            ("rejected", _) => c.rejected += 1,
            (_, Some(_)) => c.events += 1,
            (_, None) => c.unroutable += 1,
        });
        if let (Some(tx), Some(json)) = (&state.events, json)
            && let Ok(v) = serde_json::from_str(&json)
        {
            let _ = tx.send(v);
        }
    }
    Ok(n)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_peeked_per_change() {
        let body = br#"{"entry":[{"id":"W1","changes":[{"value":{"metadata":{"phone_number_id":"P1"}}},{"value":{}}]},{"id":7,"changes":[1]}]}"#;
        let r = peek_routes(body).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].waba_id.as_str(), r[0].phone_number_id.as_deref()),
            ("W1", Some("P1"))
        );
        assert_eq!(r[1].phone_number_id, None);
        assert_eq!(r[2].waba_id, "7");
        assert!(peek_routes(b"nope").is_err());
    }
}
