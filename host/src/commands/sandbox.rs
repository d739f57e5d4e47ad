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
        ..SandboxConfig::default()
    };
    sandbox::serve(listener, config, shutdown_signal()).await?;
    Ok(())
}
