//! Every `wa-host` subcommand, one module each. Those that call the component as one
//! tenant open the data directory, instantiate the tenant and print JSON lines; a
//! component error is printed as JSON (`events::error_json`) and makes the command fail.

pub mod bench;
pub mod call;
pub mod catalog;
pub mod connect;
pub mod demo;
pub mod events;
pub mod flows;
pub mod groups;
pub mod insights;
pub mod keys;
pub mod media;
pub mod outbox;
pub mod sandbox;
pub mod send;
pub mod serve;
pub mod templates;
pub mod tenant;
pub mod webhook;

use crate::{BoxError, Cli, component, data_dir, defaults, egress};
use whatsapp_host::api::Error as PluginError;
use whatsapp_host::tenants::TenantExt;
use whatsapp_host::{CallResult, Instance, Runtime};

/// The data directory and the component, for commands that work on tenants through it.
pub struct Host {
    /// The data directory.
    pub data: whatsapp_host::app::DataDir,
    /// The component.
    pub runtime: Runtime,
    /// Host-wide settings.
    pub defaults: whatsapp_host::tenants::Defaults,
}

impl Host {
    /// Open the data directory and load the component.
    pub fn open(cli: &Cli) -> Result<Host, BoxError> {
        let data = data_dir(cli)?;
        let runtime = data.runtime(component(cli)?.as_deref(), egress(cli)?)?;
        Ok(Host {
            data,
            runtime,
            defaults: defaults(),
        })
    }

    /// What the library's tenant and connection operations take.
    pub fn cx(&self) -> whatsapp_host::connect::Context<'_> {
        whatsapp_host::connect::Context {
            runtime: &self.runtime,
            db: &self.data.db,
            vault: &self.data.vault,
            defaults: &self.defaults,
        }
    }
}

/// A fresh instance of `tenant`, with the runtime it came from (keep it for as long as
/// the instance: its epoch ticker enforces the deadline). The tenant's Graph origin is
/// not allowed implicitly: egress is the operator's call (`--allow-egress`).
pub async fn instance(cli: &Cli, tenant: &str) -> Result<(Runtime, Instance), BoxError> {
    let data = data_dir(cli)?;
    let record = data
        .db
        .tenant(tenant)?
        .ok_or_else(|| format!("no tenant named {tenant}"))?;
    let runtime = data.runtime(component(cli)?.as_deref(), egress(cli)?)?;
    let binding = record.binding(&data.vault, &defaults())?;
    let instance = runtime
        .instantiate(&binding)
        .await
        .map_err(|e| e.to_string())?;
    Ok((runtime, instance))
}

/// Print `ok` as JSON, or the component's error as JSON and fail.
pub fn print<T>(r: CallResult<T>, ok: impl FnOnce(T) -> serde_json::Value) -> Result<(), BoxError> {
    match r.map_err(|e| format!("the component failed: {e}"))? {
        Ok(v) => {
            out(ok(v))?;
            Ok(())
        }
        Err(e) => fail(&e),
    }
}

/// Print the component's error as JSON and fail with its description.
pub fn fail<T>(e: &PluginError) -> Result<T, BoxError> {
    out(whatsapp_host::events::error_json(e))?;
    Err(whatsapp_host::events::describe_error(e).into())
}

/// A file's text, or stdin's for `-`.
pub fn read_file(file: &std::path::Path) -> Result<String, BoxError> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()).into())
    }
}

/// Print one line to stdout; a reader that went away ends the command quietly
/// (`main` treats a broken pipe as success) instead of a panic.
pub fn out(v: impl std::fmt::Display) -> Result<(), BoxError> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{v}")?;
    Ok(())
}
