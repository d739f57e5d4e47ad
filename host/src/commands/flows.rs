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
    /// Print the flow's JSON as last uploaded (downloaded from Meta's CDN).
    Download {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// A flow's endpoint metric, one JSON line per point.
    Metrics {
        #[arg(long)]
        tenant: String,
        id: String,
        /// endpoint-request-count, endpoint-request-error, endpoint-request-error-rate,
        /// endpoint-request-latency-seconds-ceil or endpoint-availability.
        #[arg(long, default_value = "endpoint-request-count")]
        metric: String,
        /// day, hour or lifetime.
        #[arg(long, default_value = "day")]
        granularity: String,
        /// From this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// To this day (YYYY-MM-DD).
        #[arg(long)]
        until: Option<String>,
    },
    /// Copy flows of another WABA into the tenant's, by name (all of them without --name).
    Migrate {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        source_waba_id: String,
        #[arg(long = "name", value_delimiter = ',')]
        names: Vec<String>,
    },
    /// Make the tenant's data-exchange key pair (RSA-2048): the private key is sealed in
    /// its storage, the public key printed (PEM) and, with --register, registered with
    /// Meta for the number.
    Keygen {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        register: Register,
    },
    /// Use an existing private key (PKCS#8 PEM on stdin) for the tenant's data exchange.
    ImportKey {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        register: Register,
    },
    /// Register a public key (a PEM file, or - for stdin) with Meta for a number.
    RegisterKey {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        phone_number_id: Option<String>,
        file: PathBuf,
    },
    /// The data-exchange public key Meta holds for a number.
    PublicKey {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        phone_number_id: Option<String>,
    },
}

/// Whether to register a new key's public half with Meta, and for which number.
#[derive(clap::Args)]
pub struct Register {
    /// Also register the public key with Meta (`whatsapp_business_encryption`).
    #[arg(long)]
    register: bool,
    /// The number to register it for (the tenant's default number when left out).
    #[arg(long, requires = "register")]
    phone_number_id: Option<String>,
}

/// Register `public_pem` for the number, when asked.
async fn register(
    cli: &Cli,
    tenant: &str,
    how: &Register,
    public_pem: &str,
) -> Result<(), BoxError> {
    if !how.register {
        return Ok(());
    }
    let (_runtime, mut i) = instance(cli, tenant).await?;
    match i
        .set_flow_public_key(how.phone_number_id.as_deref(), public_pem)
        .await
        .map_err(|e| format!("the component failed: {e}"))?
    {
        Ok(()) => {
            eprintln!("wa-host: the public key is registered with Meta");
            Ok(())
        }
        Err(e) => super::fail(&e),
    }
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
        FlowsCommand::Keygen {
            tenant,
            register: how,
        } => {
            let (der, public) = flows_crypto::generate_key()?;
            store_key(cli, tenant, &der, &public)?;
            register(cli, tenant, how, &public).await
        }
        FlowsCommand::ImportKey {
            tenant,
            register: how,
        } => {
            let mut pem = zeroize::Zeroizing::new(Vec::new());
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut pem)?;
            let (der, public) = flows_crypto::import_key(&pem)?;
            store_key(cli, tenant, &der, &public)?;
            register(cli, tenant, how, &public).await
        }
        FlowsCommand::RegisterKey {
            tenant,
            phone_number_id,
            file,
        } => {
            let pem = super::read_file(file)?;
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.set_flow_public_key(phone_number_id.as_deref(), &pem)
                    .await,
                |()| json!({ "registered": true }),
            )
        }
        FlowsCommand::PublicKey {
            tenant,
            phone_number_id,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.get_flow_public_key(phone_number_id.as_deref()).await,
                |k| match k {
                    Some(k) => {
                        json!({ "public_key": k.pem, "signature_status": k.signature_status })
                    }
                    None => json!({ "public_key": null }),
                },
            )
        }
        FlowsCommand::Download { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            match i
                .download_flow_json(id)
                .await
                .map_err(|e| format!("the component failed: {e}"))?
            {
                Ok(text) => super::out(text.trim_end()),
                Err(e) => super::fail(&e),
            }
        }
        FlowsCommand::Metrics {
            tenant,
            id,
            metric,
            granularity,
            since,
            until,
        } => {
            use whatsapp_host::api::flows::{FlowMetric as M, MetricGranularity as G, MetricQuery};
            let metric = match metric.replace('_', "-").to_ascii_lowercase().as_str() {
                "endpoint-request-count" => M::EndpointRequestCount,
                "endpoint-request-error" => M::EndpointRequestError,
                "endpoint-request-error-rate" => M::EndpointRequestErrorRate,
                "endpoint-request-latency-seconds-ceil" => M::EndpointRequestLatencySecondsCeil,
                "endpoint-availability" => M::EndpointAvailability,
                other => return Err(format!("--metric: no metric {other:?}").into()),
            };
            let granularity = match granularity.to_ascii_lowercase().as_str() {
                "day" => G::Day,
                "hour" => G::Hour,
                "lifetime" => G::Lifetime,
                other => {
                    return Err(
                        format!("--granularity: {other:?} is not day, hour or lifetime").into(),
                    );
                }
            };
            let query = MetricQuery {
                metric,
                granularity,
                since: since.clone(),
                until: until.clone(),
            };
            let (_runtime, mut i) = instance(cli, tenant).await?;
            match i
                .flow_metrics(id, &query)
                .await
                .map_err(|e| format!("the component failed: {e}"))?
            {
                Ok(points) => {
                    for p in points {
                        let values: serde_json::Map<String, serde_json::Value> = p
                            .values
                            .into_iter()
                            .map(|v| (v.key, json!(v.value)))
                            .collect();
                        super::out(json!({ "timestamp": p.timestamp, "values": values }))?;
                    }
                    Ok(())
                }
                Err(e) => super::fail(&e),
            }
        }
        FlowsCommand::Migrate {
            tenant,
            source_waba_id,
            names,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let names = (!names.is_empty()).then_some(names.as_slice());
            print(i.migrate_flows(source_waba_id, names).await, |m| {
                json!({
                    "migrated": m.migrated.iter().map(|f| json!({ "name": f.source_name, "source_id": f.source_id, "id": f.migrated_id })).collect::<Vec<_>>(),
                    "failed": m.failed.iter().map(|f| json!({ "name": f.source_name, "code": f.error_code, "message": f.error_message })).collect::<Vec<_>>(),
                })
            })
        }
    }
}
