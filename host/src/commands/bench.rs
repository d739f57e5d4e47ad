//! `wa-host bench`: every figure of host/bench/README.md in one run.

use crate::{BoxError, Cli, component};
use std::path::PathBuf;
use std::time::Duration;

/// What to measure on, and how hard.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Print one JSON object (otherwise one `key: value` line each).
    #[arg(long)]
    json: bool,
    /// Also time verify + parse of every payload in these files of named payloads
    /// (e.g. tests/data/webhooks, or ../shared/fixtures/pywa/updates).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Seconds each load test runs at most.
    #[arg(long, default_value_t = 3)]
    load_secs: u64,
    /// Requests each load test sends at most.
    #[arg(long, default_value_t = 200_000)]
    load_max: u64,
    /// Concurrent connections of the webhook load generator.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// A Python with pywa installed (`pip install pywa`): pywa's parse of the same
    /// fixtures is timed in this run and compared (otherwise its quoted 18 µs is).
    #[arg(long, env = "WA_PYWA_PYTHON")]
    pywa_python: Option<PathBuf>,
    /// A Redis server (`redis://[:password@]host:port`): the Redis Streams sink's
    /// throughput is measured on it too (`sink_events_per_s`).
    #[arg(long)]
    redis_url: Option<String>,
}

pub async fn run(cli: &Cli, a: &BenchArgs) -> Result<(), BoxError> {
    let opts = whatsapp_host::bench::BenchOptions {
        fixtures: a.fixtures.clone(),
        load_duration: Duration::from_secs(a.load_secs.clamp(1, 60)),
        load_max: a.load_max,
        connections: a.connections.clamp(1, 1024),
        pywa_python: a.pywa_python.clone(),
        component: component(cli)?,
        redis_url: a.redis_url.clone(),
        ..Default::default()
    };
    let v = whatsapp_host::bench::run(&opts).await?;
    if a.json {
        println!("{v}");
    } else if let Some(o) = v.as_object() {
        for (k, v) in o.iter().filter(|(k, _)| *k != "targets") {
            println!("{k}: {v}");
        }
    }
    Ok(())
}
