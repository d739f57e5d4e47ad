//! `wa-host templates …`: list, get, create, edit, delete and sync a tenant's message
//! templates through the component. Definitions are files in Meta's JSON (`-` reads
//! stdin), as the templates guide writes them; the component checks them first.

use super::{fail, instance, print};
use crate::{BoxError, Cli};
use clap::Subcommand;
use serde_json::json;
use std::path::PathBuf;
use whatsapp_host::api::ListQuery;

#[derive(Subcommand)]
pub enum TemplatesCommand {
    /// List templates, one JSON line each (every page with --all).
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: Option<String>,
        /// APPROVED, PENDING, REJECTED, PAUSED, …
        #[arg(long)]
        status: Option<String>,
        /// MARKETING, UTILITY or AUTHENTICATION.
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        language: Option<String>,
        /// Per page (1 to 100).
        #[arg(long)]
        limit: Option<u32>,
        /// The cursor a previous page printed.
        #[arg(long)]
        after: Option<String>,
        /// Follow the cursors to the last page.
        #[arg(long)]
        all: bool,
    },
    /// Print one template whole.
    Get {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Submit a template (a file in Meta's JSON, or - for stdin) for review.
    Create {
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
    /// Replace a template's category and components (Meta's JSON; same name and language).
    Edit {
        #[arg(long)]
        tenant: String,
        id: String,
        file: PathBuf,
    },
    /// Delete a template by name (every language), or only the one with --id.
    Delete {
        #[arg(long)]
        tenant: String,
        name: String,
        #[arg(long)]
        id: Option<String>,
    },
    /// Fetch every template into the tenant's cache (what the send pre-flight reads).
    Sync {
        #[arg(long)]
        tenant: String,
    },
}

pub async fn run(cli: &Cli, command: &TemplatesCommand) -> Result<(), BoxError> {
    match command {
        TemplatesCommand::List {
            tenant,
            name,
            status,
            category,
            language,
            limit,
            after,
            all,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let mut q = ListQuery {
                name: name.clone(),
                status: status.clone(),
                category: category.clone(),
                language: language.clone(),
                limit: *limit,
                after: after.clone(),
            };
            loop {
                let page = match i.list_templates(&q).await.map_err(|e| e.to_string())? {
                    Ok(p) => p,
                    Err(e) => return fail(&e),
                };
                for t in &page.templates {
                    super::out(
                        json!({ "id": t.id, "name": t.name, "language": t.language, "status": t.status, "category": t.category }),
                    )?;
                }
                match (page.next, *all) {
                    (Some(n), true) => q.after = Some(n),
                    (Some(n), false) => {
                        eprintln!("wa-host: more with --after {n}");
                        return Ok(());
                    }
                    (None, _) => return Ok(()),
                }
            }
        }
        TemplatesCommand::Get { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.get_template(id).await, |d| {
                json!({ "id": d.id, "name": d.name, "language": d.language, "status": d.status,
                    "category": d.category, "parameter_format": d.parameter_format,
                    "components": serde_json::from_str::<serde_json::Value>(&d.components_json).unwrap_or_default(),
                    "rejected_reason": d.rejected_reason })
            })
        }
        TemplatesCommand::Create { tenant, file } => {
            let definition = super::read_file(file)?;
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.create_template_json(&definition).await,
                |c| json!({ "id": c.id, "status": c.status, "category": c.category }),
            )
        }
        TemplatesCommand::Edit { tenant, id, file } => {
            let definition = super::read_file(file)?;
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.edit_template_json(id, &definition).await,
                |()| json!({ "edited": id }),
            )
        }
        TemplatesCommand::Delete { tenant, name, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.delete_template(name, id.as_deref()).await,
                |()| json!({ "deleted": name, "id": id }),
            )
        }
        TemplatesCommand::Sync { tenant } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.sync_templates().await,
                |r| json!({ "templates": r.templates, "removed": r.removed }),
            )
        }
    }
}
