//! `wa-host webhook parse`: a raw webhook body from stdin, its signature verified when
//! given, taken in by the component as the webhook server would (in a throwaway store),
//! one JSON object per event on stdout: what the server would record.

use crate::{BoxError, Cli, component};
use clap::Subcommand;
use std::io::{Read, Write};
use whatsapp_host::builder::HostBuilder;
use whatsapp_host::{TenantBinding, events, wasmtime};

#[derive(Subcommand)]
pub enum WebhookCommand {
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

pub async fn run(cli: &Cli, command: &WebhookCommand) -> Result<(), BoxError> {
    let WebhookCommand::Parse {
        app_secret,
        signature,
    } = command;
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body)?;
    // No data directory: nothing is kept but the compiled component, in the cache.
    let runtime = HostBuilder::new()
        .without_connection_events()
        .component(component(cli)?)
        .build()?;
    let binding = TenantBinding::new("cli", [("app-secret".to_string(), app_secret.clone())]);
    let mut instance = runtime
        .instantiate(&binding)
        .await
        .map_err(|e| e.to_string())?;
    let failed = |e: wasmtime::Error| format!("the component failed: {e}");
    if let Some(sig) = signature {
        instance
            .verify_signature(&body, Some(sig))
            .await
            .map_err(failed)?
            .map_err(|e| events::describe_error(&e))?;
    }
    let ingested = instance
        .ingest(&body)
        .await
        .map_err(failed)?
        .map_err(|e| events::describe_error(&e))?;
    let mut out = std::io::stdout().lock();
    for e in &ingested.events {
        writeln!(out, "{}", e.json)?;
    }
    Ok(())
}
