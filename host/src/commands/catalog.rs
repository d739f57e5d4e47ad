//! `wa-host catalog …`: push products from a JSON or CSV file (a progress bar on
//! stderr, then one JSON line per item that failed and why, locally or at Meta), list,
//! delete, and follow a batch.

use super::{instance, print};
use crate::{BoxError, Cli};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use whatsapp_host::Instance;
use whatsapp_host::api::ProductInput;

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Upsert the products of FILE (JSON: a list of objects; CSV: a header row) with
    /// columns retailer_id, name, description, price (12.99) or price_minor (1299),
    /// currency, availability, condition, image_url, url, brand.
    Push {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        catalog: String,
        file: PathBuf,
        /// Products per component call (the component splits at Meta's 5,000).
        #[arg(long, default_value_t = 500)]
        chunk: usize,
    },
    /// List the catalog's products, one JSON line each.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        catalog: String,
    },
    /// Delete products by retailer id.
    Delete {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        catalog: String,
        retailer_ids: Vec<String>,
    },
    /// Where a batch stands.
    Status {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        catalog: String,
        handle: String,
    },
}

/// A product row as files write it.
#[derive(Deserialize)]
struct Row {
    retailer_id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    price: Option<serde_json::Value>,
    #[serde(default)]
    price_minor: Option<u64>,
    currency: String,
    availability: String,
    #[serde(default)]
    condition: Option<String>,
    image_url: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    brand: Option<String>,
}

/// A price as written in the file (`12.99`, `1500`), as text; the component turns it
/// into minor units of the currency (`catalog.minor-units`).
fn price_text(price: &serde_json::Value) -> Option<String> {
    match price {
        serde_json::Value::String(s) => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn empty_none(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl Row {
    async fn input(self, i: &mut Instance) -> Result<ProductInput, BoxError> {
        let price_minor = match (self.price_minor, &self.price) {
            (Some(m), _) => m,
            (None, Some(p)) => {
                let minor = match price_text(p) {
                    Some(text) => i.minor_units(&text, &self.currency).await?.ok(),
                    None => None,
                };
                minor.ok_or_else(|| {
                    format!(
                        "price {p} is not an amount in {} with its decimals",
                        self.currency
                    )
                })?
            }
            (None, None) => return Err("price or price_minor is required".into()),
        };
        Ok(ProductInput {
            retailer_id: self.retailer_id,
            name: self.name,
            description: empty_none(self.description),
            price_minor,
            currency: self.currency,
            availability: self.availability,
            condition: empty_none(self.condition),
            image_url: self.image_url,
            url: empty_none(self.url),
            brand: empty_none(self.brand),
        })
    }
}

/// A row of a file: its retailer id (when it has one) and the row, or why it is not one.
type FileRow = (String, Result<Row, String>);

/// The rows of a JSON or CSV file.
fn rows(file: &Path) -> Result<Vec<FileRow>, BoxError> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rows: Vec<Result<Row, String>> = if text.trim_start().starts_with('[') {
        let values: Vec<serde_json::Value> = serde_json::from_str(&text)?;
        values
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
            .collect()
    } else {
        csv::Reader::from_reader(text.as_bytes())
            .deserialize::<Row>()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| match r {
            Ok(row) => (row.retailer_id.clone(), Ok(row)),
            Err(e) => (String::new(), Err(e)),
        })
        .collect())
}

fn bar(done: usize, total: usize) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        ".".repeat(width - filled)
    );
    let _ = std::io::stderr().flush();
}

pub async fn run(cli: &Cli, command: &CatalogCommand) -> Result<(), BoxError> {
    match command {
        CatalogCommand::Push {
            tenant,
            catalog,
            file,
            chunk,
        } => {
            let rows = rows(file)?;
            let total = rows.len();
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let mut failed = 0usize;
            let mut report = |line: usize, retailer_id: &str, reason: &str| {
                failed += 1;
                super::out(json!({ "line": line, "retailer_id": retailer_id, "error": reason }))
            };
            // Rows that are not products are reported; the others go in chunks.
            let mut products = Vec::new();
            let mut lines = Vec::new();
            for (n, (rid, r)) in rows.into_iter().enumerate() {
                let r = match r {
                    Ok(row) => row.input(&mut i).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                match r {
                    Ok(p) => {
                        products.push(p);
                        lines.push(n + 1);
                    }
                    Err(e) => report(n + 1, &rid, &e)?,
                }
            }
            let mut handles = Vec::new();
            let mut done = total - products.len();
            bar(done, total);
            for (part, part_lines) in products
                .chunks((*chunk).max(1))
                .zip(lines.chunks((*chunk).max(1)))
            {
                let r = match i
                    .upsert_products(catalog, part)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!();
                        return super::fail(&e);
                    }
                };
                for refused in &r.refused {
                    let line = refused
                        .index
                        .and_then(|x| part_lines.get(x as usize).copied())
                        .unwrap_or(0);
                    report(
                        line,
                        refused.retailer_id.as_deref().unwrap_or(""),
                        &refused.reason,
                    )?;
                }
                handles.extend(r.handles);
                done += part.len();
                bar(done, total);
            }
            eprintln!();
            // Follow every batch to its end: Meta's own refusals, item by item.
            for handle in &handles {
                for attempt in 0..120 {
                    let s = match i
                        .check_batch(catalog, handle)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        Ok(s) => s,
                        Err(e) => return super::fail(&e),
                    };
                    if s.status == "finished" {
                        for e in &s.errors {
                            report(0, e.retailer_id.as_deref().unwrap_or(""), &e.reason)?;
                        }
                        break;
                    }
                    if attempt == 119 {
                        eprintln!(
                            "wa-host: batch {handle} still {}; follow it with `catalog status`",
                            s.status
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            eprintln!(
                "wa-host: {} of {total} products pushed, {failed} failed",
                total - failed
            );
            if failed > 0 {
                return Err(format!("{failed} products failed (listed above)").into());
            }
            Ok(())
        }
        CatalogCommand::List { tenant, catalog } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let mut after = None;
            loop {
                let page = match i
                    .list_products(catalog, after.as_deref())
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Ok(p) => p,
                    Err(e) => return super::fail(&e),
                };
                for p in &page.products {
                    super::out(
                        json!({ "id": p.id, "retailer_id": p.retailer_id, "name": p.name, "price": p.price, "availability": p.availability }),
                    )?;
                }
                match page.next {
                    Some(n) if !page.products.is_empty() => after = Some(n),
                    _ => return Ok(()),
                }
            }
        }
        CatalogCommand::Delete {
            tenant,
            catalog,
            retailer_ids,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.delete_products(catalog, retailer_ids).await,
                |r| json!({ "handles": r.handles, "sent": r.sent }),
            )
        }
        CatalogCommand::Status {
            tenant,
            catalog,
            handle,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.check_batch(catalog, handle).await, |s| {
                let errors: Vec<_> = s
                    .errors
                    .iter()
                    .map(|e| json!({ "retailer_id": e.retailer_id, "error": e.reason }))
                    .collect();
                json!({ "handle": s.handle, "status": s.status, "errors": errors })
            })
        }
    }
}
