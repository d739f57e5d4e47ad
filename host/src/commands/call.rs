//! `wa-host call`: any operation the component exports, by name, with JSON arguments
//! (the mapping is `whatsapp_host::invoke`'s); `--list` prints them all.

use super::{Host, fail, instance, out};
use crate::{BoxError, Cli};
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub struct CallArgs {
    /// The tenant to call as.
    #[arg(long, required_unless_present = "list")]
    tenant: Option<String>,
    /// `interface.function`, e.g. `flows.get`.
    #[arg(required_unless_present = "list")]
    operation: Option<String>,
    /// The arguments: a JSON object keyed by parameter name (or an array in their
    /// order); `-` reads it from stdin. None for an operation without parameters.
    args: Option<String>,
    /// Print every operation with its parameters, one JSON line each.
    #[arg(long)]
    list: bool,
}

pub async fn run(cli: &Cli, a: &CallArgs) -> Result<(), BoxError> {
    if a.list {
        for op in Host::open(cli)?.runtime.operations() {
            let params: serde_json::Map<String, Value> =
                op.params.into_iter().map(|(n, t)| (n, json!(t))).collect();
            out(json!({ "operation": op.name, "params": params, "result": op.result }))?;
        }
        return Ok(());
    }
    let (Some(tenant), Some(operation)) = (&a.tenant, &a.operation) else {
        return Err("call needs --tenant and an operation (or --list)".into());
    };
    let args: Value = match a.args.as_deref() {
        None => Value::Null,
        Some("-") => serde_json::from_reader(std::io::stdin())
            .map_err(|e| format!("the arguments on stdin are not JSON: {e}"))?,
        Some(text) => {
            serde_json::from_str(text).map_err(|e| format!("the arguments are not JSON: {e}"))?
        }
    };
    let (_runtime, mut i) = instance(cli, tenant).await?;
    match i
        .invoke(operation, &args)
        .await
        .map_err(|e| format!("the component failed: {e}"))?
    {
        Err(e) => Err(e.to_string().into()),
        Ok(Ok(answer)) => out(answer),
        Ok(Err(e)) => fail(&e),
    }
}
