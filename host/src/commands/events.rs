//! `wa-host events …`: the recorded webhook events, as JSON lines.

use crate::{BoxError, Cli, data_dir, secret_env, shutdown_signal};
use clap::Subcommand;
use std::io::Write;
use std::time::Duration;
use whatsapp_host::forward::Delivery;
use whatsapp_host::storage::EventRow;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Print recorded events as JSON lines, oldest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
    },
    /// The events forwarding put aside because the platform refused them for good, as
    /// JSON lines (seq, reason, when, the event); with --replay, send them again.
    DeadLetters {
        /// Send them again to --forward-url (signed with WA_FORWARD_SECRET); each one the
        /// platform takes is taken off the list.
        #[arg(long, requires = "forward_url")]
        replay: bool,
        /// The platform's URL, as `serve --forward-url`.
        #[arg(long)]
        forward_url: Option<String>,
        /// Only these sequence numbers (repeatable) [default: all].
        #[arg(long)]
        seq: Vec<i64>,
        /// Whose: `forward` (the platform's URL) or `redis` (the Redis Streams sink;
        /// listed only: its replay is a restart of the sink from an earlier cursor).
        #[arg(long, default_value = "forward")]
        sink: String,
    },
    /// Print the JSON Schema (draft 2020-12) every event listed, forwarded or published
    /// follows (host/schema/events.schema.json).
    Schema,
    /// Print events as they are recorded, until interrupted.
    Follow {
        #[arg(long)]
        tenant: Option<String>,
        /// Start after this sequence number [default: the newest event].
        #[arg(long)]
        after: Option<i64>,
    },
}

/// One recorded event as the line printed: its JSON with its sequence number and
/// arrival time.
fn line(row: &EventRow) -> Result<serde_json::Value, BoxError> {
    let mut v: serde_json::Value = serde_json::from_str(&row.json)?;
    v["seq"] = row.seq.into();
    v["received_at_ms"] = row.received_at_ms.into();
    Ok(v)
}

pub async fn run(cli: &Cli, command: &EventsCommand) -> Result<(), BoxError> {
    // Every command but `schema` reads the data directory.
    let data = match command {
        EventsCommand::Schema => {
            std::io::stdout().write_all(whatsapp_host::schema::EVENTS_SCHEMA.as_bytes())?;
            return Ok(());
        }
        _ => data_dir(cli)?,
    };
    match command {
        EventsCommand::Schema => Ok(()),
        EventsCommand::List {
            tenant,
            after,
            limit,
        } => {
            let mut out = std::io::stdout().lock();
            for row in data.db.events(tenant.as_deref(), *after, *limit)? {
                writeln!(out, "{}", line(&row)?)?;
            }
            Ok(())
        }
        EventsCommand::DeadLetters {
            replay,
            forward_url,
            seq,
            sink,
        } => {
            let sink = match sink.as_str() {
                "forward" => whatsapp_host::forward::CURSOR,
                "redis" if !replay => whatsapp_host::broker::CURSOR,
                "redis" => return Err("--replay is for --sink forward only".into()),
                other => return Err(format!("--sink {other}: forward or redis").into()),
            };
            let only = (!seq.is_empty()).then_some(seq.as_slice());
            let mut out = std::io::stdout().lock();
            if let (true, Some(url)) = (*replay, forward_url) {
                whatsapp_host::forward::check_url(url)?;
                let secret = secret_env("WA_FORWARD_SECRET")
                    .ok_or("--replay needs WA_FORWARD_SECRET to sign with")?;
                let sender = whatsapp_host::forward::Sender::new(url, secret);
                let mut left = 0;
                for (seq, outcome) in
                    whatsapp_host::forward::replay(&data.db, &sender, only).await?
                {
                    let (delivered, why) = match outcome {
                        Delivery::Delivered => (true, None),
                        Delivery::Later(why) | Delivery::Refused(why) => (false, Some(why)),
                    };
                    left += usize::from(!delivered);
                    let line =
                        serde_json::json!({ "seq": seq, "delivered": delivered, "reason": why });
                    writeln!(out, "{line}")?;
                }
                if left > 0 {
                    return Err(format!("{left} dead letters not delivered; still listed").into());
                }
                return Ok(());
            }
            for letter in data.db.dead_letters(sink)? {
                if only.is_some_and(|o| !o.contains(&letter.seq)) {
                    continue;
                }
                let event = whatsapp_host::forward::recorded(&data.db, letter.seq)?
                    .map(|r| line(&r))
                    .transpose()?;
                let v = serde_json::json!({
                    "seq": letter.seq,
                    "reason": letter.reason,
                    "dead_at_ms": letter.at_ms,
                    "event": event,
                });
                writeln!(out, "{v}")?;
            }
            Ok(())
        }
        EventsCommand::Follow { tenant, after } => {
            let mut at = match after {
                Some(a) => *a,
                None => data.db.last_seq()?,
            };
            let follow = async {
                loop {
                    let rows = data.db.events(tenant.as_deref(), at, 1000)?;
                    let mut out = std::io::stdout().lock();
                    for row in &rows {
                        writeln!(out, "{}", line(row)?)?;
                        at = row.seq;
                    }
                    out.flush()?;
                    drop(out);
                    if rows.is_empty() {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), BoxError>(())
            };
            tokio::select! {
                r = follow => r,
                () = shutdown_signal() => Ok(()),
            }
        }
    }
}
