//! `wa-host`: the reference host's command line.

use clap::{Parser, Subcommand};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use whatsapp_host::app::{DataDir, default_data_dir};
use whatsapp_host::capabilities::crypto::Vault;
use whatsapp_host::capabilities::http::{EgressPolicy, Recorder};
use whatsapp_host::forward::Forwarder;
use whatsapp_host::runtime::api::{Content, OutgoingMessage, Text};
use whatsapp_host::sandbox::{self, SandboxConfig};
use whatsapp_host::server::{self, ServerState};
use whatsapp_host::storage::Database;
use whatsapp_host::tenants::Defaults;
use whatsapp_host::{COMPONENT, Runtime, RuntimeConfig, Services, TenantBinding, events};
use zeroize::Zeroizing;

mod commands;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(
    name = "wa-host",
    version,
    about = "The reference host of the WhatsApp Cloud API component"
)]
struct Cli {
    /// Where the database and the master key file live [default: $XDG_DATA_HOME/wa-host
    /// or ~/.local/share/wa-host]. The compiled component is cached apart, for every
    /// subcommand: WA_CACHE_DIR, else $XDG_CACHE_HOME/wa-host or ~/.cache/wa-host.
    #[arg(long, global = true, env = "WA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The database: `postgres://USER:PASSWORD@HOST:PORT/DB` for a server several host
    /// processes share [default: wa-host.sqlite3 in the data directory].
    #[arg(long, global = true, env = "WA_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Load this component instead of the one built into the binary.
    #[arg(long, global = true, env = "WA_COMPONENT")]
    component: Option<PathBuf>,
    /// Another origin tenant instances may call besides https://graph.facebook.com
    /// (repeatable, or comma-separated), e.g. the sandbox's http://127.0.0.1:8090.
    #[arg(
        long = "allow-egress",
        global = true,
        env = "WA_ALLOW_EGRESS",
        value_delimiter = ','
    )]
    allow_egress: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The round trip on loopback: sandbox, webhook server, a demo tenant, a text, its
    /// statuses and a reply, printed as JSON lines.
    Demo {
        /// Give up (exit 1) after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
    /// Serve the shared webhook endpoint (`/webhook`) for all tenants.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Largest body accepted (bytes); larger ones get 413.
        #[arg(long, default_value_t = server::DEFAULT_MAX_BODY)]
        max_body: usize,
        /// Forward every recorded event to this platform URL (http://), signed with
        /// `WA_FORWARD_SECRET` in `X-WA-Signature-256`; retried until acknowledged.
        #[arg(long)]
        forward_url: Option<String>,
        /// Where this host is reached from outside (https://wa.example.com): serves
        /// Meta's OAuth redirect at /oauth/callback and uses it as the redirect URI.
        #[arg(long, env = "WA_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Connect a tenant's business: print Meta's authorize URL, take the code from a
    /// loopback callback (or stdin), exchange it, keep the WABA and the numbers.
    Connect(Box<commands::connect::ConnectArgs>),
    /// A tenant's numbers: list, select, register, codes, app subscription, profile.
    Numbers {
        #[command(subcommand)]
        command: commands::connect::NumbersCommand,
    },
    /// A tenant's token health and readiness checklist (credential, identity,
    /// registration, subscription, webhook, templates, sender).
    Health {
        #[arg(long)]
        tenant: String,
    },
    /// Re-seal every tenant's secrets under a new master key, then retire the old one
    /// (hosts serving from the same data directory keep going).
    RotateKey,
    /// Run the Graph API sandbox.
    Sandbox {
        /// Address to listen on (loopback).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// Where to post the signed webhooks (e.g. http://127.0.0.1:8080/webhook).
        #[arg(long)]
        webhook_url: Option<String>,
        /// The bearer token the sandbox accepts.
        #[arg(
            long,
            env = "WA_SANDBOX_TOKEN",
            default_value = "sandbox-access-token",
            hide_env_values = true
        )]
        access_token: String,
        /// Answer every text with an inbound reply after it is read.
        #[arg(long)]
        auto_reply: bool,
        /// The Meta app id the sandbox's OAuth dialog and code exchange take (its secret
        /// is the app secret, WA_APP_SECRET).
        #[arg(long, env = "WA_SANDBOX_APP_ID", default_value = sandbox::SANDBOX_APP_ID)]
        app_id: String,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: commands::tenant::TenantCommand,
    },
    /// The recorded webhook events.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Webhook tools.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Send a text message as a tenant.
    Send(Box<SendArgs>),
    /// A tenant's catalog: push products from JSON or CSV, list, delete, batch status.
    Catalog {
        #[command(subcommand)]
        command: commands::catalog::CatalogCommand,
    },
    /// A tenant's WhatsApp Flows, and its data-exchange key pair.
    Flows {
        #[command(subcommand)]
        command: commands::flows::FlowsCommand,
    },
    /// A tenant's media: upload (whole or resumable), get, download, delete.
    Media {
        #[command(subcommand)]
        command: commands::media::MediaCommand,
    },
    /// A tenant's message templates: list, get, create, edit, delete, sync.
    Templates {
        #[command(subcommand)]
        command: commands::templates::TemplatesCommand,
    },
    /// Measure: parse natively and through the component, instantiation, memory per
    /// instance, webhook server and send throughput on loopback (build with --release).
    Bench {
        /// Print one JSON object (otherwise one `key: value` line each).
        #[arg(long)]
        json: bool,
        /// Also time verify + parse of every payload in these files of named payloads
        /// (e.g. ../shared/fixtures/pywa/updates).
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Seconds each load test runs at most.
        #[arg(long, default_value_t = 3)]
        load_secs: u64,
        /// Requests each load test sends at most.
        #[arg(long, default_value_t = 200_000)]
        load_max: u64,
        /// Concurrent connections of the webhook load generator.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// A Python with pywa installed (`pip install pywa`): pywa's parse of the same
        /// fixtures is timed in this run and compared (otherwise its quoted 18 µs is).
        #[arg(long, env = "WA_PYWA_PYTHON")]
        pywa_python: Option<PathBuf>,
    },
}

/// What to send: one of the content flags, or `--json`.
#[derive(clap::Args)]
struct SendArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The recipient (E.164 or wa_id); overrides the one in --json.
    #[arg(long)]
    to: Option<String>,
    /// A text message.
    #[arg(long, group = "kind")]
    text: Option<String>,
    /// Render a link preview (with --text).
    #[arg(long)]
    preview_url: bool,
    /// An image: a media id, or an http(s) link.
    #[arg(long, group = "kind")]
    image: Option<String>,
    /// A video: a media id or link.
    #[arg(long, group = "kind")]
    video: Option<String>,
    /// An audio file or voice note: a media id or link.
    #[arg(long, group = "kind")]
    audio: Option<String>,
    /// A document: a media id or link.
    #[arg(long, group = "kind")]
    document: Option<String>,
    /// A sticker: a media id or link.
    #[arg(long, group = "kind")]
    sticker: Option<String>,
    /// The caption (image, video, document).
    #[arg(long)]
    caption: Option<String>,
    /// The file name (document).
    #[arg(long)]
    filename: Option<String>,
    /// A reaction: the wamid reacted to (with --emoji; an empty emoji removes it).
    #[arg(long, group = "kind")]
    react_to: Option<String>,
    /// The reaction's emoji.
    #[arg(long, default_value = "")]
    emoji: String,
    /// A template, by name (with --language and --param).
    #[arg(long, group = "kind")]
    template: Option<String>,
    /// The template's language code.
    #[arg(long, default_value = "en_US")]
    language: String,
    /// A body parameter: VALUE (positional, in order) or name=VALUE (NAMED); repeatable.
    #[arg(long = "param")]
    params: Vec<String>,
    /// The full message as JSON, in the shape of the WIT's `outgoing-message` (see
    /// examples/messages/); `-` reads stdin.
    #[arg(long, group = "kind", value_name = "FILE")]
    json: Option<PathBuf>,
    /// The wamid this replies to.
    #[arg(long)]
    reply_to: Option<String>,
    /// Data echoed back in status webhooks.
    #[arg(long)]
    callback_data: Option<String>,
    /// Validate and print the Graph request instead of sending it (no token in it).
    #[arg(long)]
    dry_run: bool,
}

impl SendArgs {
    fn message(&self) -> Result<OutgoingMessage, BoxError> {
        use whatsapp_host::api::outgoing as o;
        let source = |s: &str| {
            if s.starts_with("http://") || s.starts_with("https://") {
                o::MediaSource::Link(s.into())
            } else {
                o::MediaSource::Id(s.into())
            }
        };
        let media = |s: &str| o::Media {
            source: source(s),
            caption: self.caption.clone(),
            filename: self.filename.clone(),
        };
        let mut m = if let Some(path) = &self.json {
            let text = if path.as_os_str() == "-" {
                let mut t = String::new();
                std::io::stdin().read_to_string(&mut t)?;
                t
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            };
            serde_json::from_str::<OutgoingMessage>(&text)
                .map_err(|e| format!("{}: not an outgoing-message: {e}", path.display()))?
        } else {
            let content = if let Some(t) = &self.text {
                Content::Text(Text {
                    body: t.clone(),
                    preview_url: self.preview_url,
                })
            } else if let Some(s) = &self.image {
                Content::Image(media(s))
            } else if let Some(s) = &self.video {
                Content::Video(media(s))
            } else if let Some(s) = &self.audio {
                Content::Audio(media(s))
            } else if let Some(s) = &self.document {
                Content::Document(media(s))
            } else if let Some(s) = &self.sticker {
                Content::Sticker(media(s))
            } else if let Some(id) = &self.react_to {
                Content::Reaction(o::Reaction {
                    message_id: id.clone(),
                    emoji: self.emoji.clone(),
                })
            } else if let Some(name) = &self.template {
                let body = self
                    .params
                    .iter()
                    .map(|p| {
                        let (name, value) = match p.split_once('=') {
                            Some((n, v))
                                if !n.is_empty()
                                    && n.bytes().all(|b| {
                                        b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()
                                    }) =>
                            {
                                (Some(n.to_string()), v.to_string())
                            }
                            _ => (None, p.clone()),
                        };
                        o::TemplateParameter {
                            name,
                            value: o::ParameterValue::Text(value),
                        }
                    })
                    .collect();
                Content::Template(o::TemplateMessage {
                    name: name.clone(),
                    language: self.language.clone(),
                    header: None,
                    body,
                    buttons: vec![],
                    carousel: vec![],
                    offer_expires_at_ms: None,
                })
            } else {
                return Err("say what to send: --text, --image, --video, --audio, --document, --sticker, --react-to, --template or --json".into());
            };
            OutgoingMessage {
                to: String::new(),
                content,
                reply_to: None,
                biz_opaque_callback_data: None,
            }
        };
        if let Some(to) = &self.to {
            m.to = to.clone();
        }
        if m.to.is_empty() {
            return Err("--to is required (or a \"to\" in --json)".into());
        }
        if self.reply_to.is_some() {
            m.reply_to = self.reply_to.clone();
        }
        if self.callback_data.is_some() {
            m.biz_opaque_callback_data = self.callback_data.clone();
        }
        Ok(m)
    }
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print recorded events as JSON lines, oldest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
    },
    /// Print events as they are recorded, until interrupted.
    Follow {
        #[arg(long)]
        tenant: Option<String>,
        /// Start after this sequence number [default: the newest event].
        #[arg(long)]
        after: Option<i64>,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Read a raw webhook body from stdin, verify its signature when given, parse it with
    /// the component and print one JSON object per event.
    Parse {
        /// The Meta app secret.
        #[arg(long, env = "WA_APP_SECRET", hide_env_values = true)]
        app_secret: String,
        /// The X-Hub-Signature-256 header value (`sha256=<hex>`).
        #[arg(long)]
        signature: Option<String>,
    },
}

fn secret_env(name: &str) -> Option<Zeroizing<String>> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Zeroizing::new)
}

fn defaults() -> Defaults {
    Defaults {
        app_secret: secret_env("WA_APP_SECRET"),
        verify_token: secret_env("WA_VERIFY_TOKEN"),
        graph_origin: None,
        app_id: std::env::var("WA_APP_ID").ok().filter(|v| !v.is_empty()),
    }
}

fn egress(cli: &Cli) -> Result<EgressPolicy, BoxError> {
    let mut p = EgressPolicy::default();
    for o in cli.allow_egress.iter().filter(|o| !o.is_empty()) {
        p.allow(o)?;
    }
    Ok(p)
}

fn component(cli: &Cli) -> Result<Option<Vec<u8>>, BoxError> {
    match &cli.component {
        Some(p) => {
            Ok(Some(std::fs::read(p).map_err(|e| {
                format!("cannot read {}: {e}", p.display())
            })?))
        }
        None => Ok(None),
    }
}

fn data_dir(cli: &Cli) -> Result<DataDir, BoxError> {
    DataDir::open_with(
        &cli.data_dir.clone().unwrap_or_else(default_data_dir),
        cli.database_url.as_deref(),
    )
}

/// Delete idempotency keys older than the dedupe retention, hourly.
async fn sweep_dedupe(db: Arc<Database>, shutdown: impl Future<Output = ()>) {
    use whatsapp_guest::core::webhook::state::{DEDUPE_BUCKET, DEDUPE_RETENTION_SECS};
    tokio::pin!(shutdown);
    loop {
        let before = server::now_ms() - (DEDUPE_RETENTION_SECS as i64) * 1000;
        match db.sweep(DEDUPE_BUCKET, before) {
            Ok(n) if n > 0 => tracing::info!("swept {n} idempotency keys older than 7 days"),
            Ok(_) => {}
            Err(e) => tracing::warn!("sweeping idempotency keys: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = &mut shutdown => return,
        }
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match &cli.command {
        Command::Bench {
            json,
            fixtures,
            load_secs,
            load_max,
            connections,
            pywa_python,
        } => {
            let opts = whatsapp_host::bench::BenchOptions {
                fixtures: fixtures.clone(),
                load_duration: Duration::from_secs((*load_secs).clamp(1, 60)),
                load_max: *load_max,
                connections: (*connections).clamp(1, 1024),
                pywa_python: pywa_python.clone(),
                component: component(&cli)?,
                ..Default::default()
            };
            let v = whatsapp_host::bench::run(&opts).await?;
            if *json {
                println!("{v}");
            } else if let Some(o) = v.as_object() {
                for (k, v) in o.iter().filter(|(k, _)| *k != "targets") {
                    println!("{k}: {v}");
                }
            }
            Ok(())
        }
        Command::Demo { timeout_secs } => {
            let wasm = component(&cli)?;
            let mut out = std::io::stdout();
            whatsapp_host::demo::run(
                Duration::from_secs(*timeout_secs),
                wasm.as_deref(),
                &mut out,
            )
            .await
        }
        Command::Connect(args) => commands::connect::connect(&cli, args).await,
        Command::Numbers { command } => commands::connect::numbers(&cli, command).await,
        Command::Health { tenant } => commands::connect::health(&cli, tenant).await,
        Command::RotateKey => commands::keys::rotate(&cli),
        Command::Serve {
            listen,
            max_body,
            forward_url,
            public_url,
        } => {
            let data = data_dir(&cli)?;
            let runtime = Arc::new(data.runtime(component(&cli)?.as_deref(), egress(&cli)?)?);
            let listener = tokio::net::TcpListener::bind(listen).await?;
            eprintln!(
                "wa-host: webhook endpoint at http://{}/webhook",
                listener.local_addr()?
            );
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            let mut tasks = Vec::new();
            if let Some(url) = forward_url {
                let secret = secret_env("WA_FORWARD_SECRET")
                    .ok_or("--forward-url needs WA_FORWARD_SECRET to sign with")?;
                eprintln!("wa-host: forwarding recorded events to {url}");
                let f = Forwarder {
                    db: data.db.clone(),
                    url: url.clone(),
                    secret,
                    poll: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(30),
                };
                tasks.push(tokio::spawn(f.run(stopped(stop_rx.clone()))));
            }
            tasks.push(tokio::spawn(sweep_dedupe(
                data.db.clone(),
                stopped(stop_rx.clone()),
            )));
            let state = Arc::new(ServerState {
                runtime,
                db: data.db.clone(),
                defaults: defaults(),
                max_body: *max_body,
                events: None,
                metrics: Default::default(),
                admin: secret_env("WA_ADMIN_TOKEN").map(|token| {
                    eprintln!("wa-host: admin API at /admin (bearer WA_ADMIN_TOKEN)");
                    whatsapp_host::admin::AdminConfig { token }
                }),
                public_url: public_url.clone().inspect(|u| {
                    eprintln!(
                        "wa-host: OAuth callback at {}",
                        whatsapp_host::admin::callback_url(u)
                    );
                }),
                directory: Default::default(),
            });
            let served = server::serve(listener, state, shutdown_signal()).await;
            let _ = stop_tx.send(true);
            for t in tasks {
                let _ = t.await;
            }
            served?;
            Ok(())
        }
        Command::Events {
            command: EventsCommand::Follow { tenant, after },
        } => {
            let data = data_dir(&cli)?;
            let mut at = match after {
                Some(a) => *a,
                None => data.db.last_seq()?,
            };
            let follow = async {
                loop {
                    let rows = data.db.events(tenant.as_deref(), at, 1000)?;
                    let mut out = std::io::stdout().lock();
                    for row in &rows {
                        let mut v: serde_json::Value = serde_json::from_str(&row.json)?;
                        v["seq"] = row.seq.into();
                        v["received_at_ms"] = row.received_at_ms.into();
                        writeln!(out, "{v}")?;
                        at = row.seq;
                    }
                    out.flush()?;
                    drop(out);
                    if rows.is_empty() {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), BoxError>(())
            };
            tokio::select! {
                r = follow => r,
                () = shutdown_signal() => Ok(()),
            }
        }
        Command::Sandbox {
            listen,
            webhook_url,
            access_token,
            auto_reply,
            app_id,
        } => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            let app_secret = secret_env("WA_APP_SECRET")
                .map(|s| s.to_string())
                .unwrap_or_else(|| SandboxConfig::default().app_secret);
            eprintln!(
                "wa-host: Graph sandbox at http://{}",
                listener.local_addr()?
            );
            let config = SandboxConfig {
                app_secret,
                access_token: access_token.clone(),
                app_id: app_id.clone(),
                webhook_url: webhook_url.clone(),
                auto_reply: *auto_reply,
                ..SandboxConfig::default()
            };
            sandbox::serve(listener, config, shutdown_signal()).await?;
            Ok(())
        }
        Command::Tenant { command } => commands::tenant::run(&cli, command),
        Command::Events {
            command:
                EventsCommand::List {
                    tenant,
                    after,
                    limit,
                },
        } => {
            let data = data_dir(&cli)?;
            let mut out = std::io::stdout().lock();
            for row in data.db.events(tenant.as_deref(), *after, *limit)? {
                let mut v: serde_json::Value = serde_json::from_str(&row.json)?;
                v["seq"] = row.seq.into();
                v["received_at_ms"] = row.received_at_ms.into();
                writeln!(out, "{v}")?;
            }
            Ok(())
        }
        Command::Webhook {
            command:
                WebhookCommand::Parse {
                    app_secret,
                    signature,
                },
        } => {
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body)?;
            let services = Services {
                kv: Arc::new(Database::open_in_memory()?),
                vault: Arc::new(Vault::ephemeral()),
                egress: Arc::new(EgressPolicy::default()),
                recorder: Recorder::from_env()?.map(Arc::new),
                throughput: Default::default(),
                events: None,
            };
            let cache_dir = whatsapp_host::app::cache_dir();
            let wasm = component(&cli)?;
            let runtime = Runtime::new(
                wasm.as_deref().unwrap_or(COMPONENT),
                RuntimeConfig {
                    cache_dir,
                    ..RuntimeConfig::default()
                },
                services,
            )
            .map_err(|e| format!("loading the component: {e}"))?;
            let binding =
                TenantBinding::new("cli", [("app-secret".to_string(), app_secret.clone())]);
            let mut instance = runtime
                .instantiate(&binding)
                .await
                .map_err(|e| e.to_string())?;
            let result = match signature {
                Some(sig) => instance.receive(&body, Some(sig)).await,
                None => instance.parse(&body).await,
            }
            .map_err(|e| format!("the component failed: {e}"))?;
            let evs = result.map_err(|e| events::describe_error(&e))?;
            let mut out = std::io::stdout().lock();
            for e in &evs {
                writeln!(out, "{}", events::to_json(e, None))?;
            }
            Ok(())
        }
        Command::Templates { command } => commands::templates::run(&cli, command).await,
        Command::Media { command } => commands::media::run(&cli, command).await,
        Command::Flows { command } => commands::flows::run(&cli, command).await,
        Command::Catalog { command } => commands::catalog::run(&cli, command).await,
        Command::Send(args) => {
            let message = args.message()?;
            let (_runtime, mut instance) = commands::instance(&cli, &args.tenant).await?;
            let outcome = if args.dry_run {
                instance.preview(&message).await.map_err(|e| format!("the component failed: {e}"))?.map(|p| {
                    let body: serde_json::Value = serde_json::from_str(&p.body).unwrap_or(serde_json::Value::String(p.body));
                    serde_json::json!({ "method": p.method, "url": p.url,
                        "headers": { "authorization": "Bearer <redacted>", "content-type": "application/json" }, "body": body })
                })
            } else {
                instance.send(&message).await.map_err(|e| format!("the component failed: {e}"))?.map(|r| {
                    serde_json::json!({ "message_id": r.message_id, "wa_id": r.wa_id, "input": r.input, "message_status": r.message_status })
                })
            };
            match outcome {
                Ok(v) => {
                    println!("{v}");
                    Ok(())
                }
                Err(e) => commands::fail(&e),
            }
        }
    }
}

fn main() -> ExitCode {
    let level = match std::env::var("WA_LOG").as_deref() {
        Ok("debug") => tracing::Level::DEBUG,
        Ok("info") => tracing::Level::INFO,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::WARN,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wa-host: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`wa-host events list | head`): nothing more to say.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wa-host: {e}");
            ExitCode::FAILURE
        }
    }
}
