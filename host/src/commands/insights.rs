//! `wa-host insights`: a tenant's template analytics (every page), pricing and
//! conversation analytics, one JSON line per point, or a table on a terminal.

use super::{fail, instance, out};
use crate::{BoxError, Cli};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::io::IsTerminal;

#[derive(Args)]
pub struct InsightsArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The last this many days, up to now (or `--end`).
    #[arg(long, default_value_t = 7)]
    days: u64,
    /// The end of the range, Unix seconds (now when not given).
    #[arg(long)]
    end: Option<u64>,
    /// JSON lines or a table; a table when stdout is a terminal, JSON lines otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
    #[command(subcommand)]
    what: What,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Table,
}

#[derive(Clone, Copy, ValueEnum)]
enum Granularity {
    HalfHour,
    Daily,
    Monthly,
}

#[derive(Subcommand)]
enum What {
    /// Turn template analytics on for the tenant's WABA (once).
    Enable,
    /// Sent, delivered, read, clicks and cost of up to 10 templates, by day.
    Templates {
        /// Template ids.
        #[arg(required = true, num_args = 1..=10)]
        ids: Vec<String>,
    },
    /// Messages charged and their cost, by period, number, country, category and type.
    Pricing(Usage),
    /// Conversations and their cost (before per-message pricing), broken down the same way.
    Conversations(Usage),
}

#[derive(Args)]
struct Usage {
    /// How finely.
    #[arg(long, value_enum, default_value = "daily")]
    granularity: Granularity,
    /// Only this display number (repeatable).
    #[arg(long = "number")]
    numbers: Vec<String>,
    /// Only this country, an ISO code (repeatable).
    #[arg(long = "country")]
    countries: Vec<String>,
}

const TEMPLATE_COLUMNS: &[&str] = &[
    "template_id",
    "start",
    "sent",
    "delivered",
    "read",
    "clicks",
    "cost",
];
const USAGE_COLUMNS: &[&str] = &[
    "start",
    "phone_number",
    "country",
    "category",
    "kind",
    "count",
    "cost",
];

pub async fn run(cli: &Cli, a: &InsightsArgs) -> Result<(), BoxError> {
    let end = a.end.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    let start = end.saturating_sub(a.days.saturating_mul(86_400));
    let (_runtime, mut i) = instance(cli, &a.tenant).await?;
    let mut call = async |op: &str, args: Value| -> Result<Value, BoxError> {
        match i
            .invoke(op, &args)
            .await
            .map_err(|e| format!("the component failed: {e}"))?
        {
            Err(e) => Err(e.to_string().into()),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => fail(&e),
        }
    };
    let (mut rows, columns) = match &a.what {
        What::Enable => {
            call("insights.enable-template-analytics", json!({})).await?;
            return out(json!({ "enabled": true }));
        }
        What::Templates { ids } => {
            let mut rows = Vec::new();
            let mut after = Value::Null;
            loop {
                let page = call(
                    "insights.template-analytics",
                    json!({ "template_ids": ids, "start": start, "end": end, "after": after }),
                )
                .await?;
                rows.extend(page["days"].as_array().into_iter().flatten().cloned());
                match &page["next"] {
                    Value::String(n) => after = n.as_str().into(),
                    _ => break,
                }
            }
            (rows, TEMPLATE_COLUMNS)
        }
        What::Pricing(u) | What::Conversations(u) => {
            let op = match a.what {
                What::Pricing(_) => "insights.pricing",
                _ => "insights.conversations",
            };
            let granularity = match u.granularity {
                Granularity::HalfHour => "half-hour",
                Granularity::Daily => "daily",
                Granularity::Monthly => "monthly",
            };
            let points = call(
                op,
                json!({ "query": { "start": start, "end": end, "granularity": granularity,
                    "phone_numbers": u.numbers, "country_codes": u.countries } }),
            )
            .await?;
            (
                points.as_array().cloned().unwrap_or_default(),
                USAGE_COLUMNS,
            )
        }
    };
    let table = match a.format {
        Some(Format::Table) => true,
        Some(Format::Json) => false,
        None => std::io::stdout().is_terminal(),
    };
    if !table {
        for r in rows {
            out(r)?;
        }
        return Ok(());
    }
    if columns == TEMPLATE_COLUMNS {
        rows = rows.iter().map(template_row).collect();
    }
    for line in render(&rows, columns) {
        out(line)?;
    }
    Ok(())
}

/// A template's day as the table shows it: clicks summed over its buttons, the amount
/// spent as its cost (the JSON line keeps each button and each cost).
fn template_row(d: &Value) -> Value {
    let mut row = d.clone();
    row["clicks"] = d["clicked"]
        .as_array()
        .map(|c| c.iter().filter_map(|b| b["count"].as_u64()).sum::<u64>())
        .unwrap_or(0)
        .into();
    row["cost"] = d["cost"]
        .as_array()
        .and_then(|c| c.iter().find(|p| p[0] == "amount_spent"))
        .map_or(Value::Null, |p| p[1].clone());
    row
}

/// Rows under a header, each column as wide as its widest cell; numbers to the right.
fn render(rows: &[Value], columns: &[&str]) -> Vec<String> {
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) if n.is_f64() => format!("{:.4}", n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cell(&r[*c])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = columns
        .iter()
        .map(|c| rows.iter().all(|r| r[*c].is_number() || r[*c].is_null()))
        .collect();
    let line = |values: Vec<String>| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if numeric[i] {
                    format!("{v:>w$}", w = widths[i])
                } else {
                    format!("{v:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(columns.iter().map(|c| c.to_string()).collect())];
    out.extend(cells.into_iter().map(line));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_day_shows_its_clicks_summed_and_the_amount_spent() {
        let day = json!({ "template_id": "1", "clicked": [{ "count": 2 }, { "count": 3 }],
            "cost": [["cost_per_delivered", 0.01], ["amount_spent", 0.25]] });
        let row = template_row(&day);
        assert_eq!((&row["clicks"], &row["cost"]), (&json!(5), &json!(0.25)));
    }

    #[test]
    fn a_table_aligns_text_left_and_numbers_right() {
        let rows = vec![
            json!({ "start": 1, "phone_number": "15550783881", "country": "US", "category": "UTILITY",
                "kind": "REGULAR", "count": 3, "cost": 0.012 }),
            json!({ "start": 86401, "phone_number": "15550783881", "country": "BR", "category": "MARKETING",
                "kind": "REGULAR", "count": 12, "cost": 0.3 }),
        ];
        let lines = render(&rows, USAGE_COLUMNS);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            "    1  15550783881   US       UTILITY    REGULAR      3  0.0120"
        );
        assert!(lines[0].starts_with("start  phone_number"), "{}", lines[0]);
        assert!(lines[2].ends_with("12  0.3000"), "{}", lines[2]);
    }
}
