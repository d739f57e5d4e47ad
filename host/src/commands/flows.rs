//! `wa-host flows …`: a tenant's WhatsApp Flows through the component, and its
//! data-exchange key pair (the private key sealed where the component's
//! `decrypt-request` finds it; only the public key is printed).

use super::{instance, print};
use crate::{BoxError, Cli, data_dir};
use clap::Subcommand;
use serde_json::json;
use std::path::PathBuf;
use whatsapp_host::api::{FlowUpdate, NewFlow};
use whatsapp_host::capabilities::crypto::FLOW_KEY_PURPOSE;
use whatsapp_host::capabilities::flows_crypto;
use whatsapp_host::storage::KvBackend;

#[derive(Subcommand)]
pub enum FlowsCommand {
    /// List the flows, one JSON line each.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Create a DRAFT flow; prints its id.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US,
        /// CUSTOMER_SUPPORT, SURVEY or OTHER (repeatable or comma-separated).
        #[arg(long = "category", required = true, value_delimiter = ',')]
        categories: Vec<String>,
        #[arg(long)]
        clone_flow_id: Option<String>,
        #[arg(long)]
        endpoint_uri: Option<String>,
    },
    /// Print one flow, with its validation errors.
    Get {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Change a flow's name, categories or endpoint.
    Update {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "category", value_delimiter = ',')]
        categories: Vec<String>,
        #[arg(long)]
        endpoint_uri: Option<String>,
    },
    /// Upload the flow JSON (a file, or - for stdin); prints Meta's validation errors.
    UploadJson {
        #[arg(long)]
        tenant: String,
        id: String,
        file: PathBuf,
    },
    /// Publish a DRAFT flow.
    Publish {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Deprecate a published flow.
    Deprecate {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Delete a DRAFT flow.
    Delete {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// A preview link (--invalidate for a new one).
    Preview {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long)]
        invalidate: bool,
    },
    /// Make the tenant's data-exchange key pair (RSA-2048): the private key is sealed in
    /// its storage, the public key printed (PEM) to register with Meta.
    Keygen {
        #[arg(long)]
        tenant: String,
    },
    /// Use an existing private key (PKCS#8 PEM on stdin) for the tenant's data exchange.
    ImportKey {
        #[arg(long)]
        tenant: String,
    },
}

fn summary(d: &whatsapp_host::api::FlowDetails) -> serde_json::Value {
    let errors: Vec<_> = d
        .validation_errors
        .iter()
        .map(|e| json!({ "error": e.error, "message": e.message, "line_start": e.line_start, "column_start": e.column_start }))
        .collect();
    json!({ "id": d.id, "name": d.name, "status": d.status, "categories": d.categories,
        "validation_errors": errors, "json_version": d.json_version, "endpoint_uri": d.endpoint_uri })
}

/// Seal `der` for `tenant` where the component's `decrypt-request` reads it; print the
/// public key.
fn store_key(cli: &Cli, tenant: &str, der: &[u8], public_pem: &str) -> Result<(), BoxError> {
    let data = data_dir(cli)?;
    if data.db.tenant(tenant)?.is_none() {
        return Err(format!("no tenant named {tenant}").into());
    }
    let sealed = data.vault.seal_for(tenant, FLOW_KEY_PURPOSE, der);
    data.db
        .set(tenant, "secrets", "flow-private-key", &sealed)?;
    super::out(public_pem.trim_end())?;
    eprintln!(
        "wa-host: the private key is sealed in {tenant}'s storage; register the public key above with Meta"
    );
    Ok(())
}

pub async fn run(cli: &Cli, command: &FlowsCommand) -> Result<(), BoxError> {
    match command {
        FlowsCommand::List { tenant } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let mut after = None;
            loop {
                let page = match i
                    .list_flows(after.as_deref())
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Ok(p) => p,
                    Err(e) => return super::fail(&e),
                };
                for f in &page.flows {
                    super::out(
                        json!({ "id": f.id, "name": f.name, "status": f.status, "categories": f.categories }),
                    )?;
                }
                match page.next {
                    Some(n) if !page.flows.is_empty() => after = Some(n),
                    _ => return Ok(()),
                }
            }
        }
        FlowsCommand::Create {
            tenant,
            name,
            categories,
            clone_flow_id,
            endpoint_uri,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let flow = NewFlow {
                name: name.clone(),
                categories: categories.clone(),
                clone_flow_id: clone_flow_id.clone(),
                endpoint_uri: endpoint_uri.clone(),
            };
            print(i.create_flow(&flow).await, |id| json!({ "id": id }))
        }
        FlowsCommand::Get { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.get_flow(id).await, |d| summary(&d))
        }
        FlowsCommand::Update {
            tenant,
            id,
            name,
            categories,
            endpoint_uri,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let update = FlowUpdate {
                name: name.clone(),
                categories: (!categories.is_empty()).then(|| categories.clone()),
                endpoint_uri: endpoint_uri.clone(),
            };
            print(
                i.update_flow(id, &update).await,
                |()| json!({ "updated": id }),
            )
        }
        FlowsCommand::UploadJson { tenant, id, file } => {
            let text = super::read_file(file)?;
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.upload_flow_json(id, &text).await, |r| {
                let errors: Vec<_> = r
                    .validation_errors
                    .iter()
                    .map(|e| json!({ "error": e.error, "message": e.message, "line_start": e.line_start, "column_start": e.column_start }))
                    .collect();
                json!({ "success": r.success, "validation_errors": errors })
            })
        }
        FlowsCommand::Publish { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.publish_flow(id).await, |()| json!({ "published": id }))
        }
        FlowsCommand::Deprecate { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.deprecate_flow(id).await, |()| json!({ "deprecated": id }))
        }
        FlowsCommand::Delete { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.delete_flow(id).await, |()| json!({ "deleted": id }))
        }
        FlowsCommand::Preview {
            tenant,
            id,
            invalidate,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.preview_flow(id, *invalidate).await,
                |p| json!({ "url": p.url, "expires_at": p.expires_at }),
            )
        }
        FlowsCommand::Keygen { tenant } => {
            let (der, public) = flows_crypto::generate_key()?;
            store_key(cli, tenant, &der, &public)
        }
        FlowsCommand::ImportKey { tenant } => {
            let mut pem = zeroize::Zeroizing::new(Vec::new());
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut pem)?;
            let (der, public) = flows_crypto::import_key(&pem)?;
            store_key(cli, tenant, &der, &public)
        }
    }
}
