//! `wa-host demo`: the whole round trip on loopback with embedded defaults. A sandbox
//! and the webhook server start on free ports, a demo tenant is added, a text is sent
//! through the component, and the signed `sent`, `delivered` and `read` statuses and an
//! inbound reply come back through the webhook endpoint; each event is printed as one
//! JSON line on stdout (progress goes to stderr).

use crate::app::{DataDir, now_secs};
use crate::capabilities::http::EgressPolicy;
use crate::events;
use crate::runtime::api::{Content, OutgoingMessage, Text};
use crate::sandbox::{self, SandboxConfig};
use crate::server::{self, ServerState};
use crate::tenants::{self, Defaults, NewTenant};
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

/// The demo's ids, shaped like Meta's.
pub const DEMO_PHONE_NUMBER_ID: &str = "106540352242922";
/// The demo's WABA id.
pub const DEMO_WABA_ID: &str = "102290129340398";
/// The demo recipient.
pub const DEMO_RECIPIENT: &str = "+15551234567";

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
    let webhook_url = format!("http://{}/webhook", server_listener.local_addr()?);
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
    let tenant = tenants::add(
        &data.db,
        &data.vault,
        NewTenant {
            id: "demo".into(),
            phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
            waba_id: DEMO_WABA_ID.into(),
            display_phone_number: Some(sandbox_config.display_phone_number.clone()),
            graph_origin: Some(sandbox_origin.clone()),
            access_token: Some(Zeroizing::new(sandbox_config.access_token.clone())),
            app_secret: Some(Zeroizing::new(sandbox_config.app_secret.clone())),
            verify_token: Some(Zeroizing::new("demo-verify-token".into())),
            settings: vec![],
        },
        now_secs(),
    )?;
    eprintln!("demo: tenant 'demo' added (token and app secret sealed)");

    let (events_tx, mut events_rx) = broadcast::channel(1024);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let state = Arc::new(ServerState {
        runtime: runtime.clone(),
        db: data.db.clone(),
        defaults: Defaults::default(),
        max_body: server::DEFAULT_MAX_BODY,
        events: Some(events_tx),
        metrics: Default::default(),
    });
    let server_task = tokio::spawn(server::serve(
        server_listener,
        state,
        stopped(stop_rx.clone()),
    ));
    let sandbox_task = tokio::spawn(sandbox::serve(
        sandbox_listener,
        sandbox_config,
        stopped(stop_rx),
    ));

    let mut waiting: BTreeSet<&str> = ["inbound", "sent", "delivered", "read", "reply"].into();
    let outcome = tokio::time::timeout(timeout, async {
        // Meta's subscription handshake against our endpoint.
        let challenge = "demo-challenge-1158201444";
        let got = http_get(&format!("{webhook_url}?hub.mode=subscribe&hub.verify_token=demo-verify-token&hub.challenge={challenge}")).await?;
        if got != challenge {
            return Err(format!("the webhook handshake answered {got:?}").into());
        }
        eprintln!("demo: webhook subscription verified");

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

        let binding = tenant.binding(&data.vault, &Defaults::default())?;
        let mut instance = runtime.instantiate(&binding).await?;
        let message = OutgoingMessage {
            to: DEMO_RECIPIENT.into(),
            content: Content::Text(Text { body: "Yes! It ships today. Reply here with any question.".into(), preview_url: false }),
            reply_to: Some(question),
            biz_opaque_callback_data: Some("demo-order-42".into()),
        };
        let sent = instance.send(&message).await?.map_err(|e| events::describe_error(&e))?;
        writeln!(out, "{}", json!({ "type": "send-result", "message_id": sent.message_id, "wa_id": sent.wa_id, "input": sent.input }))?;

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
        Ok::<_, BoxError>(())
    })
    .await;

    let _ = stop_tx.send(true);
    let _ = server_task.await;
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

async fn http_get(url: &str) -> Result<String, BoxError> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let res = client.get(url.parse()?).await?;
    let body = res.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}
