//! Shared test support: the payload corpora (`corpus`), and a harness running the real
//! component in the real host against the sandbox and the webhook server, all on
//! 127.0.0.1:0.

pub mod corpus;
pub use corpus::webhook;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use whatsapp_host::builder::HostBuilder;
use whatsapp_host::capabilities::crypto::Vault;
use whatsapp_host::capabilities::http::EgressPolicy;
use whatsapp_host::capabilities::throughput::Throughput;
use whatsapp_host::sandbox::{self, SandboxConfig};
use whatsapp_host::server::{self, ServerState};
use whatsapp_host::storage::{Database, TenantRecord};
use whatsapp_host::tenants::TenantExt;
use whatsapp_host::tenants::{Defaults, NewTenant};
use whatsapp_host::{COMPONENT, Instance, Runtime, RuntimeConfig, Services, TenantBinding};
use zeroize::Zeroizing;

/// Where precompiled components are cached across tests.
pub fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("whatsapp-component-cache")
}

/// Services over an in-memory database, recording requests when `WA_RECORD_REQUESTS` is set.
pub fn services(egress: EgressPolicy) -> (Services, Arc<Database>, Arc<Vault>) {
    services_on(egress, Arc::new(Database::open_in_memory().unwrap()))
}

/// [`services`] over a given database.
pub fn services_on(
    egress: EgressPolicy,
    db: Arc<Database>,
) -> (Services, Arc<Database>, Arc<Vault>) {
    let vault = Arc::new(Vault::ephemeral());
    let services = test_host()
        .database(db.clone())
        .vault(vault.clone())
        .egress(egress)
        .services()
        .unwrap();
    (services, db, vault)
}

/// The host as the tests build it: production defaults but for pacing (tests send
/// thousands of messages to one sandbox recipient: no pair pacing, short backoffs), the
/// shared compile cache, and a small pool (every test process holds several runtimes,
/// each reserving address space per slot).
pub fn test_host() -> HostBuilder {
    let mut throughput = Throughput::new(1000).with_pair_burst(1_000_000);
    throughput.base_backoff = Duration::from_millis(5);
    HostBuilder::new()
        .throughput(throughput)
        .config(test_config())
}

/// The tests' runtime limits: the shared compile cache and a small pool.
fn test_config() -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(cache_dir()),
        max_instances: 32,
        ..RuntimeConfig::default()
    }
}

/// A runtime over `services`, with the shared compile cache.
pub fn runtime(services: Services) -> Runtime {
    Runtime::new(COMPONENT, test_config(), services).expect("load the component")
}

/// A runtime with no network and a tenant bound only to an app secret: for parsing.
pub async fn parser(app_secret: &str) -> Instance {
    static PARSER: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    let rt = PARSER.get_or_init(|| runtime(services(EgressPolicy::default()).0));
    rt.instantiate(&TenantBinding::new(
        "parser",
        [("app-secret".to_string(), app_secret.to_string())],
    ))
    .await
    .unwrap()
}

/// The app secret the harness's sandbox signs with.
pub const APP_SECRET: &str = "harness-app-secret";
/// The token the harness's sandbox accepts.
pub const TOKEN: &str = "harness-token";
/// The harness tenant's Meta app id (resumable uploads).
pub const APP_ID: &str = "1189009012345678";
/// The bearer token of the harness server's admin API.
pub const ADMIN_TOKEN: &str = "harness-admin-token";
/// The harness tenant's phone number id.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// The harness tenant's WABA id (the sandbox's default).
pub const WABA_ID: &str = "102290129340398";

/// What to start.
pub struct Options {
    /// The sandbox posts webhooks to the server.
    pub webhooks: bool,
    /// The sandbox answers every text with a reply.
    pub auto_reply: bool,
    /// The sandbox fails free-form messages outside the 24-hour window, like Meta.
    pub enforce_window: bool,
}

/// No webhooks, no auto-reply, no window: what most tests start with.
pub fn quiet() -> Options {
    Options {
        webhooks: false,
        auto_reply: false,
        enforce_window: false,
    }
}

/// A webhook body of one entry (the harness's WABA) with one change of `field`.
pub fn envelope(field: &str, value: Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "time": 1700000000,
        "changes": [{"field": field, "value": value}]}]}))
    .unwrap()
}

/// A text message.
pub fn text(to: &str, body: &str) -> whatsapp_host::api::OutgoingMessage {
    use whatsapp_host::api::{Content, OutgoingMessage, Text};
    OutgoingMessage {
        to: to.into(),
        content: Content::Text(Text {
            body: body.into(),
            preview_url: false,
        }),
        reply_to: None,
        biz_opaque_callback_data: None,
    }
}

/// A template message without parameters, in `en_US`.
pub fn template(to: &str, name: &str) -> whatsapp_host::api::OutgoingMessage {
    use whatsapp_host::api::outgoing::TemplateMessage;
    use whatsapp_host::api::{Content, OutgoingMessage};
    OutgoingMessage {
        to: to.into(),
        content: Content::Template(TemplateMessage {
            name: name.into(),
            language: "en_US".into(),
            header: None,
            body: vec![],
            buttons: vec![],
            carousel: vec![],
            offer_expires_at_ms: None,
        }),
        reply_to: None,
        biz_opaque_callback_data: None,
    }
}

/// Sandbox + webhook server + runtime + one tenant, torn down on drop.
/// Add a tenant as a platform does (`connect::add_tenant`): its record, then its access
/// token, when one is given, stored by its component.
pub async fn add_tenant(
    runtime: &Runtime,
    db: &Database,
    vault: &Vault,
    t: NewTenant,
    access_token: Option<&str>,
) -> TenantRecord {
    let cx = whatsapp_host::connect::Context {
        runtime,
        db,
        vault,
        defaults: &Defaults::default(),
    };
    whatsapp_host::connect::add_tenant(&cx, t, access_token, 0)
        .await
        .unwrap()
}

pub struct Harness {
    /// The component runtime.
    pub runtime: Arc<Runtime>,
    /// The database: a file, as `serve` uses (WAL, group commits, a read connection).
    pub db: Arc<Database>,
    /// Its path.
    pub db_path: PathBuf,
    /// The vault.
    pub vault: Arc<Vault>,
    /// `http://127.0.0.1:PORT` of the sandbox.
    pub sandbox_origin: String,
    /// `http://127.0.0.1:PORT` of the server's public listener (webhook, OAuth callback).
    pub server_origin: String,
    /// `http://127.0.0.1:PORT` of its admin listener (admin API, metrics, readiness).
    pub admin_origin: String,
    /// `http://127.0.0.1:PORT/webhook` of the server.
    pub webhook_url: String,
    /// The tenant.
    pub tenant: TenantRecord,
    /// Events as the server records them.
    pub events: broadcast::Receiver<Value>,
    stop: watch::Sender<bool>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(dir) = self.db_path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Harness {
    /// Start everything on free loopback ports.
    pub async fn start(opts: Options) -> Harness {
        Harness::start_with(opts, |_| {}).await
    }

    /// [`Harness::start`] with the sandbox's configuration adjusted by `tweak`.
    pub async fn start_with(opts: Options, tweak: impl FnOnce(&mut SandboxConfig)) -> Harness {
        let sandbox_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_origin = format!("http://{}", admin_listener.local_addr().unwrap());
        let sandbox_origin = format!("http://{}", sandbox_listener.local_addr().unwrap());
        let server_origin = format!("http://{}", server_listener.local_addr().unwrap());
        let webhook_url = format!("{server_origin}/webhook");
        let mut egress = EgressPolicy::default();
        egress.allow(&sandbox_origin).unwrap();
        static HARNESSES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "wa-harness-{}-{}",
            std::process::id(),
            HARNESSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db_path = dir.join("host.db");
        let (services, db, vault) =
            services_on(egress, Arc::new(Database::open(&db_path).unwrap()));
        let runtime = Arc::new(runtime(services));
        let tenant = add_tenant(
            &runtime,
            &db,
            &vault,
            NewTenant {
                id: "acme".into(),
                phone_number_id: PHONE_NUMBER_ID.into(),
                waba_id: WABA_ID.into(),
                display_phone_number: Some("15550783881".into()),
                graph_origin: Some(sandbox_origin.clone()),
                app_secret: Some(Zeroizing::new(APP_SECRET.into())),
                verify_token: Some(Zeroizing::new("harness-verify".into())),
                // Most tests send to contacts who never wrote; the window has tests of its own.
                settings: vec![
                    ("window-policy".into(), "off".into()),
                    ("app-id".into(), APP_ID.into()),
                ],
                numbers: vec![],
            },
            Some(TOKEN),
        )
        .await;
        let (tx, events) = broadcast::channel(16384);
        let (stop, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        // The host-wide secret equals the sandbox's, so changes of unknown numbers verify.
        let defaults = Defaults {
            app_secret: Some(Zeroizing::new(APP_SECRET.into())),
            ..Defaults::default()
        };
        let state = Arc::new(ServerState {
            events: Some(tx),
            admin: Some(whatsapp_host::admin::AdminConfig {
                token: Zeroizing::new(ADMIN_TOKEN.into()),
            }),
            public_url: Some(server_origin.clone()),
            ..ServerState::new(runtime.clone(), db.clone(), defaults)
        });
        tokio::spawn(server::serve(
            server_listener,
            state.clone(),
            stopped(stop_rx.clone()),
        ));
        if let Some(d) = whatsapp_host::dispatch::Dispatcher::new(state.clone(), Default::default())
        {
            tokio::spawn(d.run(stopped(stop_rx.clone())));
        }
        tokio::spawn(server::serve_admin(
            admin_listener,
            state,
            stopped(stop_rx.clone()),
        ));
        let mut config = SandboxConfig {
            app_secret: APP_SECRET.into(),
            access_token: TOKEN.into(),
            app_id: APP_ID.into(),
            webhook_url: opts.webhooks.then(|| webhook_url.clone()),
            auto_reply: opts.auto_reply,
            status_delay: Duration::from_millis(1),
            // Tests send to contacts who never wrote; the window has tests of its own.
            enforce_window: opts.enforce_window,
            ..SandboxConfig::default()
        };
        tweak(&mut config);
        tokio::spawn(sandbox::serve(sandbox_listener, config, stopped(stop_rx)));
        Harness {
            runtime,
            db,
            db_path,
            vault,
            sandbox_origin,
            server_origin,
            admin_origin,
            webhook_url,
            tenant,
            events,
            stop,
        }
    }

    /// A runtime over the harness's storage and vault whose instances see the clock
    /// `offset` seconds on (for the 24-hour window and the template edit budget).
    pub fn runtime_at(&self, offset: i64) -> Runtime {
        let mut egress = EgressPolicy::default();
        egress.allow(&self.sandbox_origin).unwrap();
        test_host()
            .database(self.db.clone())
            .vault(self.vault.clone())
            .egress(egress)
            .throughput(Throughput::new(1000).with_pair_burst(1_000_000))
            .config(RuntimeConfig {
                max_instances: 16,
                clock_offset_secs: offset,
                ..test_config()
            })
            .build()
            .unwrap()
    }

    /// Call `operation` by name with JSON arguments (`Instance::invoke`) on a fresh
    /// instance of tenant `t`: the component's answer or its typed error.
    pub async fn op_of(
        &self,
        t: &TenantRecord,
        operation: &str,
        args: Value,
    ) -> Result<Value, whatsapp_host::api::Error> {
        self.instance_of(t)
            .await
            .invoke(operation, &args)
            .await
            .expect("no trap")
            .expect("the operation and its arguments fit")
    }

    /// [`Harness::op_of`] on the harness tenant.
    pub async fn op(
        &self,
        operation: &str,
        args: Value,
    ) -> Result<Value, whatsapp_host::api::Error> {
        self.op_of(&self.tenant, operation, args).await
    }

    /// A JSON request to the sandbox's own routes (`/sandbox/…`) and its JSON answer.
    pub async fn sandbox(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, text) = http(
            method,
            &format!("{}{path}", self.sandbox_origin),
            &[("content-type", "application/json")],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// A fresh instance of the harness tenant.
    pub async fn instance(&self) -> Instance {
        self.instance_of(&self.tenant).await
    }

    /// A fresh instance of any tenant.
    /// Add another tenant ([`add_tenant`]).
    pub async fn add_tenant(&self, t: NewTenant, access_token: Option<&str>) -> TenantRecord {
        add_tenant(&self.runtime, &self.db, &self.vault, t, access_token).await
    }

    pub async fn instance_of(&self, t: &TenantRecord) -> Instance {
        self.runtime
            .instantiate(&t.binding(&self.vault, &Defaults::default()).unwrap())
            .await
            .unwrap()
    }

    /// Wait for events until `done` says enough, or panic after `timeout`.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let mut seen = Vec::new();
        let r = tokio::time::timeout(timeout, async {
            while !done(&seen) {
                match self.events.recv().await {
                    Ok(v) => seen.push(v),
                    Err(broadcast::error::RecvError::Lagged(n)) => panic!("lagged by {n} events"),
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .await;
        assert!(r.is_ok(), "timed out; events so far: {seen:#?}");
        seen
    }
}

/// A plain HTTP request; the status and body of the answer.
pub async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `sha256=<hex>` as Meta signs.
pub fn sign(secret: &str, body: &[u8]) -> String {
    whatsapp_guest::core::webhook::sign(secret.as_bytes(), body)
}
