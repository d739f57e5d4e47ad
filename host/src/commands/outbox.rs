//! `wa-host outbox`: a tenant's outbox from a shell. Messages and campaigns are enqueued
//! through the component (`messages.enqueue`, which checks and builds them); entries and
//! campaigns are read and steered through the host's outbox. `wa-host serve` sends them.

use super::{fail, out, read_file};
use crate::{BoxError, Cli};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use whatsapp_host::api::outbox::Tally;
use whatsapp_host::campaign::{self, Campaign};
use whatsapp_host::capabilities::outbox::OutboxService;
use whatsapp_host::capabilities::outbox::{entry_json, tally_json};
use whatsapp_host::connect::ConnectError;

#[derive(Args)]
pub struct OutboxArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Enqueue outbox items: JSON lines, or a JSON array, each an `outbox-item` in the
    /// component's JSON form (`wa-host call --list` shows it). One JSON line per entry.
    Enqueue {
        /// The file (`-`: stdin).
        file: PathBuf,
    },
    /// A campaign: one approved template to every recipient of a list, each entry keyed
    /// by campaign and recipient (enqueuing the same list again adds nothing).
    Campaign {
        /// The campaign's name.
        name: String,
        /// The template's name.
        #[arg(long)]
        template: String,
        /// The template's language code.
        #[arg(long, default_value = "en_US")]
        language: String,
        /// Recipients: CSV with a header (a `to` column; columns `1`, `2`, … are the
        /// body's positional parameters, any other column a named one), or JSON (an
        /// array, or lines) of objects with the same keys. `-`: stdin.
        #[arg(long)]
        recipients: PathBuf,
        /// Not sent before this time, Unix milliseconds.
        #[arg(long)]
        not_before_ms: Option<u64>,
    },
    /// An entry.
    Status { id: String },
    /// Cancel an entry not yet sent.
    Cancel { id: String },
    /// Hold a campaign (without one: the whole outbox) until resumed.
    Pause { campaign: Option<String> },
    /// Lift a hold.
    Resume { campaign: Option<String> },
    /// Cancel what a campaign has not sent.
    CancelCampaign { campaign: String },
    /// A campaign's entries by state: a progress bar on a terminal, JSON lines otherwise.
    Progress {
        campaign: String,
        /// Follow it until nothing waits (or a hold stops it).
        #[arg(long)]
        watch: bool,
    },
}

pub async fn run(cli: &Cli, a: &OutboxArgs) -> Result<(), BoxError> {
    let host = super::Host::open(cli)?;
    let tenant = &a.tenant;
    let outbox = host
        .runtime
        .services()
        .outbox
        .clone()
        .ok_or("this host keeps no outbox")?;
    let service = || -> &OutboxService { &outbox };
    let refused = |e: whatsapp_host::api::Error| fail::<()>(&e).unwrap_err();
    match &a.what {
        What::Enqueue { file } => {
            let items = campaign::json_objects(&read_file(file)?)?;
            enqueue(&host, tenant, items).await
        }
        What::Campaign {
            name,
            template,
            language,
            recipients,
            not_before_ms,
        } => {
            let rows = campaign::recipients(&read_file(recipients)?)?;
            let items = Campaign {
                name,
                template,
                language,
                not_before_ms: *not_before_ms,
            }
            .items(&rows)?;
            enqueue(&host, tenant, items).await
        }
        What::Status { id } => match service().status(tenant, id).map_err(refused)? {
            Some(e) => out(entry_json(&e)),
            None => Err(format!("tenant {tenant} has no outbox entry {id}").into()),
        },
        What::Cancel { id } => {
            let cancelled = service().cancel(tenant, id).map_err(refused)?;
            out(json!({ "id": id, "cancelled": cancelled }))
        }
        What::Pause { campaign } => {
            service()
                .pause(tenant, campaign.as_deref())
                .map_err(refused)?;
            out(json!({ "campaign": campaign, "paused": true }))
        }
        What::Resume { campaign } => {
            let lifted = service()
                .resume(tenant, campaign.as_deref())
                .map_err(refused)?;
            out(json!({ "campaign": campaign, "resumed": lifted }))
        }
        What::CancelCampaign { campaign } => {
            let n = service()
                .cancel_campaign(tenant, campaign)
                .map_err(refused)?;
            out(json!({ "campaign": campaign, "cancelled": n }))
        }
        What::Progress { campaign, watch } => {
            let terminal = std::io::stdout().is_terminal();
            let mut last = None;
            loop {
                let t = service().progress(tenant, campaign).map_err(refused)?;
                let line = tally_json(&t);
                if terminal {
                    print!("\r{}", bar(&t, 40));
                    use std::io::Write;
                    std::io::stdout().flush()?;
                } else if last.as_ref() != Some(&line) {
                    out(&line)?;
                }
                let waiting = t.queued + t.sending;
                if !*watch || waiting == 0 || t.held.is_some() {
                    if terminal {
                        println!();
                        if let Some(h) = &t.held {
                            println!("held ({}): {}", h.code, h.reason);
                        }
                    }
                    return Ok(());
                }
                last = Some(line);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Enqueue `items` through the component; one JSON line per entry.
async fn enqueue(host: &super::Host, tenant: &str, items: Vec<Value>) -> Result<(), BoxError> {
    if items.is_empty() {
        return Err("nothing to enqueue".into());
    }
    let record = host
        .data
        .db
        .tenant(tenant)?
        .ok_or_else(|| format!("no tenant named {tenant}"))?;
    use whatsapp_host::tenants::TenantExt;
    let binding = record.binding(&host.data.vault, &host.defaults)?;
    let mut instance = host
        .runtime
        .instantiate(&binding)
        .await
        .map_err(|e| e.to_string())?;
    match campaign::enqueue(&mut instance, &items).await {
        Ok(entries) => entries.iter().try_for_each(out),
        Err(ConnectError::Component(e)) => fail(&e),
        Err(e) => Err(e.to_string().into()),
    }
}

/// `[#######.......]  7,000/10,000 sent (3,100 read)  12 failed`.
fn bar(t: &Tally, width: usize) -> String {
    let total =
        t.queued + t.sending + t.unknown + t.sent + t.delivered + t.read + t.failed + t.cancelled;
    let done = total - t.queued - t.sending;
    let filled = if total == 0 {
        0
    } else {
        (done as usize * width) / total as usize
    };
    let mut line = format!(
        "[{}{}] {done}/{total} done: {} sent, {} delivered, {} read, {} failed, {} cancelled, {} unknown, {} replied",
        "#".repeat(filled),
        ".".repeat(width - filled),
        t.sent,
        t.delivered,
        t.read,
        t.failed,
        t.cancelled,
        t.unknown,
        t.replied
    );
    // A wait of Meta's limits (the messaging limit's lasts up to a day): until when.
    if let Some(next) = t.next_ms.filter(|_| t.queued > 0) {
        let secs = next.saturating_sub(whatsapp_host::storage::now_ms() as u64) / 1000;
        line.push_str(&format!(
            ", waiting {}h{:02}m",
            secs / 3600,
            secs % 3600 / 60
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_by_state_with_replies_and_how_long_it_waits() {
        let in_3h = whatsapp_host::storage::now_ms() as u64 + 3 * 3_600_000 + 30_000;
        let t = Tally {
            campaign: "spring".into(),
            queued: 2,
            sending: 0,
            unknown: 0,
            sent: 1,
            delivered: 1,
            read: 0,
            failed: 0,
            cancelled: 0,
            replied: 1,
            held: None,
            next_ms: Some(in_3h),
        };
        let line = bar(&t, 10);
        assert!(
            line.starts_with("[#####.....] 2/4 done: 1 sent, 1 delivered"),
            "{line}"
        );
        assert!(line.contains(", 1 replied, waiting 3h00m"), "{line}");
        // Nothing waiting: no wait shown.
        let done = Tally {
            queued: 0,
            read: 2,
            ..t
        };
        assert!(!bar(&done, 10).contains("waiting"));
    }
}
