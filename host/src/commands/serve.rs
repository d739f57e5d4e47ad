//! `wa-host serve`: the shared webhook endpoint for every tenant, with forwarding, the
//! admin API and the OAuth callback when configured, and tenants' expiring tokens
//! refreshed, until SIGTERM or Ctrl-C; then the requests in flight are answered and
//! their events committed before it exits.

use crate::{BoxError, Cli, component, data_dir, defaults, egress, secret_env, shutdown_signal};
use std::sync::Arc;
use std::time::Duration;
use whatsapp_host::forward::Forwarder;
use whatsapp_host::net::Limits;
use whatsapp_host::server::{self, ServerState};

/// Where to listen and what to do with what arrives.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Address of the operator's listener: the admin API (with `WA_ADMIN_TOKEN`),
    /// /metrics, /readyz and /livez. Loopback unless you mean otherwise.
    #[arg(long, default_value = "127.0.0.1:8081")]
    admin_listen: String,
    /// Largest body accepted (bytes); larger ones get 413.
    #[arg(long, default_value_t = server::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Seconds a connection may take, from opening or from its last response, to send
    /// a request's headers (so also how long an idle keep-alive connection is kept).
    #[arg(long, default_value_t = Limits::default().header_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Seconds to receive a request's whole body; past it, 408.
    #[arg(long, default_value_t = Limits::default().body_timeout.as_secs())]
    body_timeout_secs: u64,
    /// Connections open at once on each listener; past it, 503 and closed.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Seconds a shutdown waits for requests in flight.
    #[arg(long, default_value_t = Limits::default().drain_timeout.as_secs())]
    drain_timeout_secs: u64,
    /// Forward every recorded event to this platform URL (https://, or http://), signed
    /// with `WA_FORWARD_SECRET` in `X-WA-Signature-256` and as Standard Webhooks do
    /// (`webhook-signature`; a `whsec_…` secret is used as they encode it); retried
    /// with backoff until acknowledged. Hosts sharing a database share the forwarding
    /// (by tenant partitions, under leases): each event is sent by one of them.
    #[arg(long)]
    forward_url: Option<String>,
    /// Events per forwarded POST: 1 sends each alone (a JSON object); more sends JSON
    /// arrays of up to that many, in order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    forward_batch: u16,
    /// Also publish every recorded event to Redis Streams, a stream per tenant
    /// (`redis://[:password@]host[:port][/db]`): see `--redis-stream-prefix`.
    #[arg(long, env = "WA_SINK_REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// The tenant's stream is this followed by its id (`_unroutable` for events no
    /// tenant owns).
    #[arg(long, default_value = "wa:events:")]
    redis_stream_prefix: String,
    /// Each stream keeps about this many entries (`MAXLEN ~`).
    #[arg(long, default_value_t = 1_000_000)]
    redis_max_len: u64,
    /// Where this host is reached from outside (https://wa.example.com): serves
    /// Meta's OAuth redirect at /oauth/callback and uses it as the redirect URI.
    #[arg(long, env = "WA_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds between sweeps that refresh tenants' expiring tokens (a person's token,
    /// within the tenant's `token-warning-days` of expiry, while Meta allows); 0: none.
    #[arg(long, default_value_t = 6 * 3600)]
    token_sweep_secs: u64,
    /// Keep the outbox but send nothing from it (other hosts sharing the database do).
    #[arg(long)]
    no_dispatch: bool,
    /// Seconds a dispatching host's leases last unless renewed: a stopped host's numbers
    /// are taken over, and what it was sending settled, after this.
    #[arg(long, default_value_t = 10)]
    outbox_lease_secs: u64,
}

pub async fn run(cli: &Cli, a: &ServeArgs) -> Result<(), BoxError> {
    let data = data_dir(cli)?;
    let runtime = Arc::new(data.runtime(component(cli)?.as_deref(), egress(cli)?)?);
    let listener = tokio::net::TcpListener::bind(&a.listen).await?;
    eprintln!(
        "wa-host: webhook endpoint at http://{}/webhook",
        listener.local_addr()?
    );
    let admin_listener = tokio::net::TcpListener::bind(&a.admin_listen)
        .await
        .map_err(|e| format!("--admin-listen {}: {e}", a.admin_listen))?;
    eprintln!(
        "wa-host: metrics and readiness at http://{}/metrics and /readyz",
        admin_listener.local_addr()?
    );
    let secs = |n: u64| Duration::from_secs(n.max(1));
    let limits = Limits {
        header_timeout: secs(a.header_timeout_secs),
        body_timeout: secs(a.body_timeout_secs),
        max_connections: a.max_connections.max(1),
        drain_timeout: secs(a.drain_timeout_secs),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = Vec::new();
    if let Some(url) = &a.forward_url {
        whatsapp_host::forward::check_url(url)?;
        let secret = secret_env("WA_FORWARD_SECRET")
            .ok_or("--forward-url needs WA_FORWARD_SECRET to sign with")?;
        eprintln!("wa-host: forwarding recorded events to {url}");
        let f = Forwarder {
            db: data.db.clone(),
            url: url.clone(),
            secret,
            poll: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            batch: usize::from(a.forward_batch),
            holder: whatsapp_host::forward::holder_id(),
        };
        tasks.push(tokio::spawn(f.run(stopped(stop_rx.clone()))));
    }
    if let Some(url) = &a.redis_url {
        let mut config = whatsapp_host::broker::RedisConfig::from_url(url, &a.redis_stream_prefix)?;
        config.max_len = a.redis_max_len;
        eprintln!(
            "wa-host: publishing recorded events to Redis Streams at {} ({}<tenant>)",
            config.addr, config.prefix
        );
        let sink = whatsapp_host::broker::BrokerSink {
            db: data.db.clone(),
            config,
            batch: 500,
            poll: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
        };
        tasks.push(tokio::spawn(sink.run(stopped(stop_rx.clone()))));
    }
    if a.token_sweep_secs > 0 {
        let keeper = whatsapp_host::connect::TokenKeeper {
            runtime: runtime.clone(),
            db: data.db.clone(),
            vault: data.vault.clone(),
            defaults: defaults(),
            every: Duration::from_secs(a.token_sweep_secs),
        };
        tasks.push(tokio::spawn(keeper.run(stopped(stop_rx.clone()))));
    }
    let state = Arc::new(ServerState {
        runtime,
        db: data.db.clone(),
        defaults: defaults(),
        max_body: a.max_body,
        limits,
        events: None,
        metrics: Default::default(),
        admin: secret_env("WA_ADMIN_TOKEN").map(|token| {
            eprintln!("wa-host: admin API at /admin on the admin listener (bearer WA_ADMIN_TOKEN)");
            whatsapp_host::admin::AdminConfig { token }
        }),
        public_url: a.public_url.clone().inspect(|u| {
            eprintln!(
                "wa-host: OAuth callback at {}",
                whatsapp_host::admin::callback_url(u)
            );
        }),
        directory: Default::default(),
    });
    if !a.no_dispatch
        && let Some(d) = whatsapp_host::dispatch::Dispatcher::new(
            state.clone(),
            whatsapp_host::dispatch::Options {
                lease: Duration::from_secs(a.outbox_lease_secs.max(1)),
                ..Default::default()
            },
        )
    {
        eprintln!("wa-host: dispatching the outbox as {}", d.holder());
        tasks.push(tokio::spawn(d.run(stopped(stop_rx.clone()))));
    }
    // One signal stops both listeners; each drains what it has in flight.
    let admin = tokio::spawn(server::serve_admin(
        admin_listener,
        state.clone(),
        stopped(stop_rx.clone()),
    ));
    let served = server::serve(listener, state, shutdown_signal()).await;
    eprintln!("wa-host: stopped");
    let _ = stop_tx.send(true);
    let _ = admin.await;
    for t in tasks {
        let _ = t.await;
    }
    served?;
    Ok(())
}
