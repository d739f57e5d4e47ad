//! `wa-host`: the reference host's command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use whatsapp_host::app::{DataDir, default_data_dir};
use whatsapp_host::capabilities::http::EgressPolicy;
use whatsapp_host::tenants::Defaults;
use zeroize::Zeroizing;

mod commands;
mod otlp;

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
    /// processes share, TLS as libpq's `sslmode` says (`?sslmode=verify-full&sslrootcert=CA.pem`)
    /// [default: wa-host.sqlite3 in the data directory].
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
    /// How log lines on stderr are written: `text`, or `json` (one object a line, with
    /// the spans it happened in: `webhook`, `component`, `graph`) for a log collector.
    /// What is logged is `WA_LOG` (or `RUST_LOG`), a filter in tracing's syntax:
    /// `warn` (the default), `info`, `debug`, or per module (`warn,whatsapp_host=debug`).
    #[arg(long, global = true, env = "WA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Log to stderr as `WA_LOG` (else `RUST_LOG`) filters, `warn` by default. A filter
/// that does not parse is said once and `warn` is used: a typo never silences errors.
/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are exported too, through a filter of
/// their own (see `otlp`); the guard returned flushes them when dropped.
fn init_logging(format: LogFormat) -> Option<otlp::Traces> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let spec = std::env::var("WA_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let filter = match spec.trim() {
        "" => EnvFilter::new("warn"),
        spec => EnvFilter::try_new(spec).unwrap_or_else(|e| {
            eprintln!("wa-host: the log filter {spec:?} does not parse ({e}); logging warnings");
            EnvFilter::new("warn")
        }),
    };
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    // Each layer filters for itself: the log's filter does not hide spans from the
    // exporter.
    let (traces, guard) = otlp::layer().unzip();
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .init();
    guard
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
    Serve(commands::serve::ServeArgs),
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
        /// First refresh the token if it is a person's and expires within the tenant's
        /// warning period (what `serve` does on its own every few hours).
        #[arg(long)]
        refresh: bool,
    },
    /// Re-seal every tenant's secrets under a new master key, then retire the old one
    /// (hosts serving from the same data directory keep going).
    RotateKey,
    /// Run the Graph API sandbox.
    Sandbox(commands::sandbox::SandboxArgs),
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: commands::tenant::TenantCommand,
    },
    /// The recorded webhook events.
    Events {
        #[command(subcommand)]
        command: commands::events::EventsCommand,
    },
    /// Webhook tools.
    Webhook {
        #[command(subcommand)]
        command: commands::webhook::WebhookCommand,
    },
    /// Send a message of any kind as a tenant (or print its Graph request).
    Send(Box<commands::send::SendArgs>),
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
    /// The groups a tenant's number owns: create, list, get, update, delete, invite
    /// link, remove participants, join requests.
    Groups {
        #[command(subcommand)]
        command: commands::groups::GroupsCommand,
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
    /// A tenant's template analytics, pricing and conversation analytics: JSON lines, or
    /// a table on a terminal.
    Insights(commands::insights::InsightsArgs),
    /// A tenant's outbox: enqueue messages or a campaign, an entry's status, cancel,
    /// pause and resume, a campaign's progress (`serve` sends what waits).
    Outbox(commands::outbox::OutboxArgs),
    /// Call any operation of the component by name with JSON arguments
    /// (`--list` prints them all with their parameters).
    Call(commands::call::CallArgs),
    /// Measure: parse natively and through the component, instantiation, memory per
    /// instance, webhook server and send throughput on loopback (build with --release).
    Bench(commands::bench::BenchArgs),
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

/// SIGTERM (systemd, Kubernetes, `docker stop`) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => eprintln!("wa-host: SIGTERM; draining"),
                    _ = tokio::signal::ctrl_c() => eprintln!("wa-host: interrupted; draining"),
                }
                return;
            }
            Err(e) => eprintln!("wa-host: no SIGTERM handler ({e}); Ctrl-C only"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match &cli.command {
        Command::Bench(args) => commands::bench::run(&cli, args).await,
        Command::Demo { timeout_secs } => commands::demo::run(&cli, *timeout_secs).await,
        Command::Serve(args) => commands::serve::run(&cli, args).await,
        Command::Sandbox(args) => commands::sandbox::run(args).await,
        Command::Events { command } => commands::events::run(&cli, command).await,
        Command::Webhook { command } => commands::webhook::run(&cli, command).await,
        Command::Send(args) => commands::send::run(&cli, args).await,
        Command::Connect(args) => commands::connect::connect(&cli, args).await,
        Command::Numbers { command } => commands::connect::numbers(&cli, command).await,
        Command::Health { tenant, refresh } => {
            commands::connect::health(&cli, tenant, *refresh).await
        }
        Command::RotateKey => commands::keys::rotate(&cli),
        Command::Tenant { command } => commands::tenant::run(&cli, command).await,
        Command::Templates { command } => commands::templates::run(&cli, command).await,
        Command::Media { command } => commands::media::run(&cli, command).await,
        Command::Flows { command } => commands::flows::run(&cli, command).await,
        Command::Call(args) => commands::call::run(&cli, args).await,
        Command::Insights(args) => commands::insights::run(&cli, args).await,
        Command::Outbox(args) => commands::outbox::run(&cli, args).await,
        Command::Catalog { command } => commands::catalog::run(&cli, command).await,
        Command::Groups { command } => commands::groups::run(&cli, command).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Dropped when `main` returns, after the runtime: the last spans are sent then.
    let _traces = init_logging(cli.log_format);
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
