//! `wa-host tenant …`: add, list, show and remove tenants, and store their tokens.
//! Secrets are read from stdin and sealed; nothing printed ever holds one.

use super::{Host, out};
use crate::{BoxError, Cli};
use clap::Subcommand;
use std::io::BufRead;
use whatsapp_host::app::now_secs;
use whatsapp_host::connect;
use whatsapp_host::tenants::{self, NewTenant};
use zeroize::Zeroizing;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Add a tenant. Secrets are read from stdin, one per line, and sealed. A tenant
    /// that will connect through OAuth (`wa-host connect`) needs no number, WABA or token
    /// yet: it learns them when it connects.
    Add {
        /// The tenant id ([a-z0-9_-]).
        name: String,
        /// The default sending number's id.
        #[arg(long)]
        phone_number_id: Option<String>,
        /// Another number the tenant sends from (repeatable).
        #[arg(long = "number")]
        numbers: Vec<String>,
        /// The WhatsApp Business Account id.
        #[arg(long)]
        waba_id: Option<String>,
        #[arg(long)]
        display_phone_number: Option<String>,
        /// A Graph origin other than Meta's (a sandbox).
        #[arg(long)]
        graph_origin: Option<String>,
        /// Read the access token from the first line of stdin.
        #[arg(long)]
        token_stdin: bool,
        /// Read the tenant's own app secret from the next line of stdin.
        #[arg(long)]
        app_secret_stdin: bool,
        /// The tenant's own webhook verify token.
        #[arg(long)]
        verify_token: Option<String>,
        /// A component setting, KEY=VALUE (repeatable): window-policy=enforce|off,
        /// opt-out-keywords=STOP,UNSUBSCRIBE, opt-in-keywords=START, api-version=v23.0,
        /// app-id=… (the Meta app it connects through, if not WA_APP_ID),
        /// business-app-numbers=ID,… (numbers shared with the WhatsApp Business app),
        /// marketing-messages=lite (marketing templates through Meta's Marketing Messages
        /// API once the WABA is onboarded).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// List tenants (never their secrets).
    List,
    /// Show one tenant (never its secrets).
    Show { name: String },
    /// Remove a tenant: its record, numbers and storage, its sealed secrets with them.
    /// Its recorded events stay.
    Remove { name: String },
    /// Replace a tenant's access token (read from the first line of stdin and sealed; the
    /// old ciphertext is scrubbed): reconnecting with a token made elsewhere.
    SetToken { name: String },
    /// Store a catalog token (connected separately from the WhatsApp token), read from
    /// the first line of stdin and sealed; catalog calls use it.
    SetCatalogToken { name: String },
}

/// A secret from the next line of stdin, held zeroizing.
pub fn stdin_secret(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    what: &str,
) -> Result<Zeroizing<String>, BoxError> {
    let line = Zeroizing::new(
        lines
            .next()
            .ok_or_else(|| format!("expected the {what} on stdin"))??,
    );
    let s = Zeroizing::new(line.trim().to_string());
    if s.is_empty() {
        return Err(format!("the {what} on stdin is empty").into());
    }
    Ok(s)
}

pub async fn run(cli: &Cli, command: &TenantCommand) -> Result<(), BoxError> {
    // Tokens are stored, and credentials described, by the tenant's component.
    let host = Host::open(cli)?;
    let (data, cx) = (&host.data, host.cx());
    match command {
        TenantCommand::Add {
            name,
            phone_number_id,
            numbers,
            waba_id,
            display_phone_number,
            graph_origin,
            token_stdin,
            app_secret_stdin,
            verify_token,
            settings,
        } => {
            let stdin = std::io::stdin();
            let mut lines = stdin.lock().lines();
            let access_token = match token_stdin {
                true => Some(stdin_secret(&mut lines, "access token")?),
                false => None,
            };
            let app_secret = match app_secret_stdin {
                true => Some(stdin_secret(&mut lines, "app secret")?),
                false => None,
            };
            let record = connect::add_tenant(
                &cx,
                NewTenant {
                    id: name.clone(),
                    phone_number_id: phone_number_id.clone().unwrap_or_default(),
                    numbers: numbers.clone(),
                    waba_id: waba_id.clone().unwrap_or_default(),
                    display_phone_number: display_phone_number.clone(),
                    graph_origin: graph_origin.clone(),
                    app_secret,
                    verify_token: verify_token.clone().map(Zeroizing::new),
                    settings: settings
                        .iter()
                        .map(|kv| {
                            kv.split_once('=')
                                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                                .ok_or_else(|| format!("--set {kv:?}: expected KEY=VALUE"))
                        })
                        .collect::<Result<_, _>>()?,
                },
                access_token.as_deref().map(|t| t.as_str()),
                now_secs(),
            )
            .await?;
            out(connect::describe(&cx, &record).await)?;
        }
        TenantCommand::List => {
            for t in data.db.tenants()? {
                out(connect::describe(&cx, &t).await)?;
            }
        }
        TenantCommand::Show { name } => {
            let t = tenants::get(&data.db, name)?;
            out(serde_json::to_string_pretty(
                &connect::describe(&cx, &t).await,
            )?)?;
        }
        TenantCommand::Remove { name } => {
            if !tenants::remove(&data.db, name)? {
                return Err(format!("no tenant named {name}").into());
            }
            out(serde_json::json!({ "removed": name }))?;
        }
        TenantCommand::SetToken { name } => {
            tenants::get(&data.db, name)?;
            let token = stdin_secret(&mut std::io::stdin().lock().lines(), "access token")?;
            let generation = connect::set_access_token(&cx, name, &token).await?;
            out(
                serde_json::json!({ "tenant": name, "credential": "connected", "generation": generation }),
            )?;
        }
        TenantCommand::SetCatalogToken { name } => {
            let token = stdin_secret(&mut std::io::stdin().lock().lines(), "catalog token")?;
            connect::set_catalog_token(&cx, name, &token).await?;
            eprintln!("wa-host: {name}'s catalog token is stored (sealed)");
        }
    }
    Ok(())
}
