//! `wa-host sandbox`: the Graph API sandbox on loopback, until Ctrl-C.

use crate::{BoxError, secret_env, shutdown_signal};
use whatsapp_host::sandbox::{self, SandboxConfig};

/// Where the sandbox listens, what it accepts and where it posts webhooks.
#[derive(clap::Args)]
pub struct SandboxArgs {
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
    /// Meta's throughput per number, messages a second: sends past it get 130429.
    #[arg(long)]
    mps_per_number: Option<u32>,
    /// One recipient in N (by number) has reached Meta's per-user marketing limit: their
    /// marketing templates fail with a 131049 status.
    #[arg(long)]
    marketing_limited_one_in: Option<u64>,
    /// The business portfolio's messaging limit: unique users reached outside the window
    /// in 24 hours (250, 2000, 10000, 100000); unlimited when not given.
    #[arg(long)]
    messaging_limit: Option<u32>,
    /// Meta pauses a template after this many sends of it: NAME=COUNT.
    #[arg(long, value_parser = name_count)]
    pause_template_after: Option<(String, u64)>,
    /// Statuses arrive late, twice and out of order.
    #[arg(long)]
    chaotic_statuses: bool,
    /// Seconds a refused webhook is tried again (Meta: days).
    #[arg(long, default_value_t = 2)]
    webhook_retry_secs: u64,
}

fn name_count(s: &str) -> Result<(String, u64), String> {
    let (name, n) = s.split_once('=').ok_or("expected NAME=COUNT")?;
    Ok((
        name.to_string(),
        n.parse().map_err(|e| format!("{n}: {e}"))?,
    ))
}

pub async fn run(a: &SandboxArgs) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind(&a.listen).await?;
    let app_secret = secret_env("WA_APP_SECRET")
        .map(|s| s.to_string())
        .unwrap_or_else(|| SandboxConfig::default().app_secret);
    eprintln!(
        "wa-host: Graph sandbox at http://{}",
        listener.local_addr()?
    );
    let config = SandboxConfig {
        app_secret,
        access_token: a.access_token.clone(),
        app_id: a.app_id.clone(),
        webhook_url: a.webhook_url.clone(),
        auto_reply: a.auto_reply,
        mps_per_number: a.mps_per_number,
        marketing_limited_one_in: a.marketing_limited_one_in,
        messaging_limit: a.messaging_limit,
        pause_template_after: a.pause_template_after.clone(),
        chaotic_statuses: a.chaotic_statuses,
        webhook_retry_for: std::time::Duration::from_secs(a.webhook_retry_secs),
        ..SandboxConfig::default()
    };
    sandbox::serve(listener, config, shutdown_signal()).await?;
    Ok(())
}
