//! `wa-host outbox`: a tenant's outbox from a shell. Messages and campaigns are enqueued
//! through the component (`messages.enqueue`, which checks and builds them); entries and
//! campaigns are read and steered through the host's outbox. `wa-host serve` sends them.

use super::{fail, out, read_file};
use crate::{BoxError, Cli};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use whatsapp_host::api::outbox::Tally;
use whatsapp_host::capabilities::outbox::OutboxService;
use whatsapp_host::capabilities::outbox::{entry_json, tally_json};

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

/// Items per `messages.enqueue` call.
const CHUNK: usize = 1000;

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
            let items = json_objects(&read_file(file)?)?;
            enqueue(&host, tenant, items).await
        }
        What::Campaign {
            name,
            template,
            language,
            recipients,
            not_before_ms,
        } => {
            let text = read_file(recipients)?;
            let rows = if looks_like_json(&text) {
                json_objects(&text)?
            } else {
                csv_objects(&text)?
            };
            let items = rows
                .iter()
                .enumerate()
                .map(|(i, r)| campaign_item(name, template, language, *not_before_ms, r, i))
                .collect::<Result<Vec<_>, _>>()?;
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

/// Enqueue `items` through the component in chunks; one JSON line per entry.
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
    for (n, chunk) in items.chunks(CHUNK).enumerate() {
        let answer = instance
            .invoke("messages.enqueue", &json!({ "items": chunk }))
            .await
            .map_err(|e| format!("the component failed: {e}"))?;
        match answer {
            Err(e) => return Err(e.to_string().into()),
            Ok(Err(mut e)) => {
                // Name the item within the whole input, not within its chunk.
                if let Some(f) = &e.field
                    && let Some(rest) = f.strip_prefix("items[")
                    && let Some((i, tail)) = rest.split_once(']')
                    && let Ok(i) = i.parse::<usize>()
                {
                    e.field = Some(format!("items[{}]{tail}", n * CHUNK + i));
                }
                return fail(&e);
            }
            Ok(Ok(v)) => {
                for e in v.as_array().into_iter().flatten() {
                    out(e)?;
                }
            }
        }
    }
    Ok(())
}

fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'[' | b'{'))
}

/// A JSON array of objects, or one object per line.
fn json_objects(text: &str) -> Result<Vec<Value>, BoxError> {
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| format!("not a JSON array: {e}"))?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l).map_err(|e| format!("line {}: not JSON: {e}", n + 1))
            })
            .collect::<Result<_, _>>()?
    };
    for (i, v) in values.iter().enumerate() {
        if !v.is_object() {
            return Err(format!("item {i} is not a JSON object").into());
        }
    }
    Ok(values)
}

/// CSV (RFC 4180: quoted fields, `""` inside quotes, CRLF or LF) with a header row, as
/// one object per row keyed by the header.
fn csv_objects(text: &str) -> Result<Vec<Value>, BoxError> {
    let mut rows = csv_rows(text)?.into_iter();
    let header = rows.next().ok_or("the CSV is empty")?;
    rows.enumerate()
        .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
        .map(|(n, r)| {
            if r.len() != header.len() {
                return Err(format!(
                    "CSV row {}: {} fields where the header has {}",
                    n + 2,
                    r.len(),
                    header.len()
                )
                .into());
            }
            Ok(Value::Object(
                header
                    .iter()
                    .cloned()
                    .zip(r.into_iter().map(Value::String))
                    .collect::<Map<_, _>>(),
            ))
        })
        .collect()
}

fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, BoxError> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("the CSV ends inside a quoted field".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// The outbox item of one recipient of a campaign: `to`, and the template's body
/// parameters from the other keys (`1`, `2`, … positional, in order; others named).
fn campaign_item(
    campaign: &str,
    template: &str,
    language: &str,
    not_before_ms: Option<u64>,
    row: &Value,
    i: usize,
) -> Result<Value, BoxError> {
    let to = row["to"]
        .as_str()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| format!("recipient {i} has no `to`"))?;
    let mut positional: Vec<(usize, String)> = Vec::new();
    let mut named: Vec<(String, String)> = Vec::new();
    for (k, v) in row.as_object().into_iter().flatten() {
        if k == "to" {
            continue;
        }
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match k.parse::<usize>() {
            Ok(n) => positional.push((n, v)),
            Err(_) => named.push((k.clone(), v)),
        }
    }
    positional.sort();
    let body: Vec<Value> = positional
        .into_iter()
        .map(|(_, v)| json!({ "name": null, "value": { "text": v } }))
        .chain(
            named
                .into_iter()
                .map(|(k, v)| json!({ "name": k, "value": { "text": v } })),
        )
        .collect();
    Ok(json!({
        "message": { "to": to.trim(), "content": { "template": { "name": template, "language": language,
            "header": null, "body": body, "buttons": [], "carousel": [], "offer_expires_at_ms": null } },
            "reply_to": null, "biz_opaque_callback_data": null },
        "phone_number_id": null,
        "key": format!("{campaign}:{}", to.trim()),
        "not_before_ms": not_before_ms,
        "priority": "campaign",
        "campaign": campaign,
    }))
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
    fn csv_rows_take_quotes_commas_and_crlf() {
        let rows =
            csv_objects("to,1,name\r\n+1555,\"Ann, Jr.\",\"say \"\"hi\"\"\"\r\n+1556,Bo,x\n")
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["1"], "Ann, Jr.");
        assert_eq!(rows[0]["name"], "say \"hi\"");
        assert_eq!(rows[1]["to"], "+1556");
        assert!(csv_objects("to,1\n+1555\n").is_err(), "a short row");
        assert!(csv_objects("to\n\"open\n").is_err(), "an open quote");
    }

    #[test]
    fn a_recipient_becomes_a_keyed_template_item() {
        let row = json!({ "to": " +15550001 ", "2": "B", "1": "A", "city": "Lyon" });
        let item = campaign_item("spring", "sale", "en_US", Some(5), &row, 0).unwrap();
        assert_eq!(item["key"], "spring:+15550001");
        assert_eq!(item["message"]["to"], "+15550001");
        let body = &item["message"]["content"]["template"]["body"];
        assert_eq!(body[0]["value"]["text"], "A");
        assert_eq!(body[1]["value"]["text"], "B");
        assert_eq!(body[2]["name"], "city");
        assert_eq!(item["not_before_ms"], 5);
        assert!(campaign_item("s", "t", "en", None, &json!({ "1": "x" }), 3).is_err());
    }
}
