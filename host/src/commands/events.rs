//! `wa-host events …`: the recorded webhook events, as JSON lines.

use crate::{BoxError, Cli, data_dir, shutdown_signal};
use clap::Subcommand;
use std::io::Write;
use std::time::Duration;
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
    let data = data_dir(cli)?;
    match command {
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
