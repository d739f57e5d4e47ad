//! `wa-host demo`: the whole round trip on loopback with embedded defaults. A sandbox
//! and the webhook server start on free ports; a demo tenant connects its business
//! through Meta's OAuth dialog (the sandbox approves it and redirects to the host's
//! callback), picks its number, subscribes the app with the host as its webhook
//! callback, syncs its templates and passes the readiness checklist; then a customer
//! writes, a reply goes out through the component, and the signed `sent`, `delivered`
//! and `read` statuses and the customer's answer come back through the webhook
//! endpoint; last, a small campaign goes out through the outbox, its progress printed as
//! its entries move. Each event is printed as one JSON line on stdout (progress goes to
//! stderr).

use crate::app::{DataDir, now_secs};
use crate::capabilities::http::EgressPolicy;
use crate::connect::{self, Context};
use crate::events;
use crate::runtime::api::outbox::{OutboxItem, Priority};
use crate::runtime::api::outgoing::TemplateMessage;
use crate::runtime::api::{Content, OutgoingMessage, Text};
use crate::sandbox::{self, SandboxConfig};
use crate::server::{self, ServerState};
use crate::tenants::{self, Defaults, NewTenant, TenantExt};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use zeroize::Zeroizing;

/// The demo's sending number (the sandbox WABA's registered one).
pub const DEMO_PHONE_NUMBER_ID: &str = crate::sandbox::DEFAULT_PHONE_NUMBER_ID;
/// The verify token of the demo tenant's webhook subscription.
const DEMO_VERIFY_TOKEN: &str = "demo-verify-token";
/// The demo recipient.
pub const DEMO_RECIPIENT: &str = "+15551234567";
/// Customers the demo's campaign goes to.
const CAMPAIGN_SIZE: u64 = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Run the demo; `out` gets the JSON lines. Fails saying what did not arrive in time.
pub async fn run(
    timeout: Duration,
    wasm: Option<&[u8]>,
    out: &mut (dyn Write + Send),
) -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!(
        "wa-host-demo-{}-{}",
        std::process::id(),
        crate::server::now_ms()
    ));
    let result = run_in(&dir, timeout, wasm, out).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(
    dir: &std::path::Path,
    timeout: Duration,
    wasm: Option<&[u8]>,
    out: &mut (dyn Write + Send),
) -> Result<(), BoxError> {
    let data = DataDir::open(dir)?;
    let sandbox_listener = TcpListener::bind("127.0.0.1:0").await?;
    let server_listener = TcpListener::bind("127.0.0.1:0").await?;
    let sandbox_origin = format!("http://{}", sandbox_listener.local_addr()?);
    let server_origin = format!("http://{}", server_listener.local_addr()?);
    let webhook_url = format!("{server_origin}/webhook");
    eprintln!("demo: data in {}", dir.display());
    eprintln!("demo: Graph sandbox at {sandbox_origin}, webhook endpoint at {webhook_url}");

    let mut egress = EgressPolicy::default();
    egress.allow(&sandbox_origin)?;
    let runtime = Arc::new(data.runtime(wasm, egress)?);

    let sandbox_config = SandboxConfig {
        webhook_url: Some(webhook_url.clone()),
        auto_reply: true,
        ..SandboxConfig::default()
    };
    // A tenant as a platform creates it before its business connects: no token, no
    // WABA, no number yet; the app it connects through and its webhook secrets.
    tenants::add(
        &data.db,
        &data.vault,
        NewTenant {
            id: "demo".into(),
            graph_origin: Some(sandbox_origin.clone()),
            app_secret: Some(Zeroizing::new(sandbox_config.app_secret.clone())),
            verify_token: Some(Zeroizing::new(DEMO_VERIFY_TOKEN.into())),
            settings: vec![("app-id".into(), sandbox_config.app_id.clone())],
            ..NewTenant::default()
        },
        now_secs(),
    )?;
    eprintln!("demo: tenant 'demo' added (app secret and verify token sealed; not connected yet)");

    let (events_tx, mut events_rx) = broadcast::channel(1024);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let defaults = Defaults::default();
    let state = Arc::new(ServerState {
        events: Some(events_tx),
        public_url: Some(server_origin.clone()),
        ..ServerState::new(runtime.clone(), data.db.clone(), defaults.clone())
    });
    let server_task = tokio::spawn(server::serve(
        server_listener,
        state.clone(),
        stopped(stop_rx.clone()),
    ));
    // The outbox's dispatcher, as `wa-host serve` runs it.
    let dispatcher = crate::dispatch::Dispatcher::new(state, Default::default())
        .ok_or("the demo's runtime keeps no outbox")?;
    let dispatch_task = tokio::spawn(dispatcher.run(stopped(stop_rx.clone())));
    let sandbox_task = tokio::spawn(sandbox::serve(
        sandbox_listener,
        sandbox_config,
        stopped(stop_rx),
    ));

    let mut waiting: BTreeSet<&str> = [
        "connected",
        "ready",
        "inbound",
        "sent",
        "delivered",
        "read",
        "reply",
    ]
    .into();
    let outcome = tokio::time::timeout(timeout, async {
        let cx = Context {
            runtime: &runtime,
            db: &data.db,
            vault: &data.vault,
            defaults: &defaults,
        };
        // Meta's OAuth dialog: the business approves, Meta sends the browser back to the
        // host's callback with a code, the host exchanges it (the sandbox approves at once).
        let request = crate::api::AuthorizeRequest {
            redirect_uri: crate::admin::callback_url(&server_origin),
            config_id: None,
            extra_scopes: vec![],
        };
        let auth = connect::authorize(&cx, "demo", &request).await?;
        eprintln!("demo: the business opens {}", auth.url);
        let callback = http_redirect(&auth.url).await?;
        let page = http_get(&callback).await?;
        if !page.contains("Connected") {
            return Err(format!("the OAuth callback answered: {page}").into());
        }
        let tenant = tenants::get(&data.db, "demo")?;
        writeln!(out, "{}", json!({ "type": "connected", "tenant": "demo", "waba_id": tenant.waba_id, "token": "sealed" }))?;
        waiting.remove("connected");

        // The business picks its number; the app subscribes to the WABA's webhooks with
        // this host as the callback (Meta checks it with a handshake first).
        tenants::select_numbers(&data.db, "demo", &[DEMO_PHONE_NUMBER_ID.to_string()])?;
        let mut instance = cx.instance("demo").await?;
        let over = crate::api::CallbackOverride { url: webhook_url.clone(), verify_token: DEMO_VERIFY_TOKEN.into() };
        connect::called(instance.subscribe_app(Some(&over)).await)?;
        let synced = connect::called(instance.sync_templates().await)?;
        eprintln!("demo: number {DEMO_PHONE_NUMBER_ID} selected, app subscribed, {} templates synced", synced.templates);
        let readiness = connect::called(instance.check_readiness().await)?;
        writeln!(out, "{}", json!({ "type": "readiness", "tenant": "demo", "ready": readiness.ready, "checklist": connect::readiness_json(&readiness) }))?;
        if !readiness.ready {
            return Err("the tenant is connected but not ready (see the checklist above)".into());
        }
        waiting.remove("ready");

        // The customer writes first: that opens the 24-hour window a free-form reply needs.
        let asked = http_post_json(
            &format!("{sandbox_origin}/sandbox/inbound"),
            &json!({ "phone_number_id": DEMO_PHONE_NUMBER_ID, "from": DEMO_RECIPIENT.trim_start_matches('+'), "text": "Hi! Is my order on its way?" }),
        )
        .await?;
        let question = loop {
            let ev: Value = match events_rx.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            writeln!(out, "{ev}")?;
            if ev["type"] == "message" && ev["message_id"] == asked["message_id"] {
                break ev["message_id"].as_str().unwrap_or_default().to_string();
            }
        };
        waiting.remove("inbound");

        let binding = tenants::get(&data.db, "demo")?.binding(&data.vault, &defaults)?;
        let mut instance = runtime.instantiate(&binding).await?;
        let message = OutgoingMessage {
            to: DEMO_RECIPIENT.into(),
            content: Content::Text(Text { body: "Yes! It ships today. Reply here with any question.".into(), preview_url: false }),
            reply_to: Some(question),
            biz_opaque_callback_data: Some("demo-order-42".into()),
        };
        let sent = instance.send(&message).await?.map_err(|e| events::describe_error(&e))?;
        writeln!(out, "{}", json!({ "type": "send-result", "message_id": sent.message_id, "wa_id": sent.wa_id, "user_id": sent.user_id, "input": sent.input }))?;

        while !waiting.is_empty() {
            let ev: Value = match events_rx.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            writeln!(out, "{ev}")?;
            match ev["type"].as_str() {
                Some("status") if ev["message_id"] == sent.message_id.as_str() => {
                    if let Some(s) = ev["status"].as_str() {
                        waiting.remove(s);
                    }
                }
                Some("message") if ev["context"]["message_id"] == sent.message_id.as_str() => {
                    waiting.remove("reply");
                    let id = ev["message_id"].as_str().unwrap_or_default().to_string();
                    let mut instance = runtime.instantiate(&binding).await?;
                    instance.mark_read(&id, true).await?.map_err(|e| events::describe_error(&e))?;
                    writeln!(out, "{}", json!({ "type": "marked-read", "message_id": id, "typing_indicator": true }))?;
                }
                _ => {}
            }
            out.flush()?;
        }

        // A small campaign through the outbox: one approved template to five customers,
        // committed before `enqueue` answers, then sent by the dispatcher within the
        // number's throughput; its progress as the statuses move each entry on.
        waiting.insert("campaign");
        let items: Vec<OutboxItem> = (1..=CAMPAIGN_SIZE)
            .map(|i| OutboxItem {
                message: OutgoingMessage {
                    to: format!("+4477009001{i:02}"),
                    content: Content::Template(TemplateMessage {
                        name: "hello_world".into(),
                        language: "en_US".into(),
                        header: None,
                        body: vec![],
                        buttons: vec![],
                        carousel: vec![],
                        offer_expires_at_ms: None,
                    }),
                    reply_to: None,
                    biz_opaque_callback_data: None,
                },
                phone_number_id: None,
                key: Some(format!("demo-campaign:{i}")),
                not_before_ms: None,
                priority: Priority::Campaign,
                campaign: Some("demo-campaign".into()),
            })
            .collect();
        let mut instance = runtime.instantiate(&binding).await?;
        let enqueued = instance.enqueue(&items).await?.map_err(|e| events::describe_error(&e))?;
        writeln!(out, "{}", json!({ "type": "enqueued", "campaign": "demo-campaign", "entries": enqueued.len() }))?;
        let outbox = runtime.services().outbox.clone().ok_or("no outbox")?;
        let mut last = Value::Null;
        loop {
            let t = outbox.progress("demo", "demo-campaign").map_err(|e| events::describe_error(&e))?;
            let line = crate::capabilities::outbox::tally_json(&t);
            if line != last {
                writeln!(out, "{}", json!({ "type": "campaign-progress", "progress": line }))?;
                out.flush()?;
                last = line;
            }
            if t.read == CAMPAIGN_SIZE {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        waiting.remove("campaign");
        Ok::<_, BoxError>(())
    })
    .await;

    let _ = stop_tx.send(true);
    let _ = server_task.await;
    let _ = dispatch_task.await;
    let _ = sandbox_task.await;
    match outcome {
        Ok(r) => r.map(|()| eprintln!("demo: round trip complete")),
        Err(_) => {
            let missing: Vec<&str> = waiting.into_iter().collect();
            Err(format!(
                "timed out after {timeout:?} still waiting for: {}",
                missing.join(", ")
            )
            .into())
        }
    }
}

async fn http_post_json(url: &str, body: &Value) -> Result<Value, BoxError> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let req = hyper::Request::post(url)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(Bytes::from(body.to_string())))?;
    let res = client.request(req).await?;
    let status = res.status();
    let bytes = res.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!(
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        )
        .into());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// GET `url`, which must answer with a redirect: where it sends the browser.
async fn http_redirect(url: &str) -> Result<String, BoxError> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let res = client.get(url.parse()?).await?;
    res.headers()
        .get(hyper::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("{url} answered {} without a redirect", res.status()).into())
}

async fn http_get(url: &str) -> Result<String, BoxError> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let res = client.get(url.parse()?).await?;
    let body = res.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}
