//! `wa-host bench`: every figure measured in the same run, printed as one JSON object.
//!
//! Timings are medians over rounds (each round a batch of calls, so that the clock's own
//! cost disappears). Everything listens on 127.0.0.1, and every load loop stops at a
//! count and at a deadline, whichever comes first.

use crate::builder::HostBuilder;
use crate::capabilities::crypto::Vault;
use crate::capabilities::http::EgressPolicy;
use crate::capabilities::throughput::Throughput;
use crate::journal::WriteSet;
use crate::runtime::Instance;
use crate::runtime::api::{Content, OutgoingMessage, Text};
use crate::sandbox::{self, SandboxConfig};
use crate::server::{self, ServerState};
use crate::signature::{self, sign};
use crate::storage::{Database, KvBackend};
use crate::tenants::{self, Defaults, NewTenant};
use crate::{COMPONENT, Runtime, RuntimeConfig, TenantBinding};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use whatsapp_bench_native as native;
use zeroize::Zeroizing;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What to measure and for how long.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Files of named payloads (`{"name": payload, …}`), as in pywa's `updates/`.
    pub fixtures: Option<PathBuf>,
    /// How long each load test runs at most.
    pub load_duration: Duration,
    /// How many requests each load test sends at most.
    pub load_max: u64,
    /// Concurrent connections of the webhook load generator.
    pub connections: usize,
    /// Where the load test's database lives (a fresh temporary directory inside).
    pub scratch: PathBuf,
    /// A Python with pywa installed: pywa's time per payload is then measured on the
    /// same fixtures in the same run (`host/bench/pywa.py`) instead of quoted.
    pub pywa_python: Option<PathBuf>,
    /// The component to measure instead of the one built into the binary.
    pub component: Option<Vec<u8>>,
    /// A Redis server (`redis://…`): the Redis Streams sink's throughput is measured on
    /// it (`sink_events_per_s`); without one, not.
    pub redis_url: Option<String>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            fixtures: None,
            load_duration: Duration::from_secs(3),
            load_max: 200_000,
            connections: 64,
            scratch: std::env::temp_dir(),
            pywa_python: None,
            component: None,
            redis_url: None,
        }
    }
}

/// The targets of issue 8, as `(key, bound, lower_is_better)`.
pub const TARGETS: &[(&str, f64, bool)] = &[
    ("component_native_parse_ratio", 1.5, true),
    ("instantiate_ns", 10_000.0, true),
    ("component_bytes", 1_048_576.0, true),
    ("webhook_server_rps", 10_000.0, false),
    ("send_per_s", 5_000.0, false),
    ("sink_events_per_s", 20_000.0, false),
    ("outbox_enqueue_per_s", 50_000.0, false),
    ("outbox_dispatch_per_s", 10_000.0, false),
    ("rss_per_instance_bytes", 102_400.0, true),
    ("fixtures_speedup_vs_pywa", 5.0, false),
];

/// pywa 4.5 on `shared/fixtures/pywa/updates`, as issue 8 quotes it for the machine it
/// was written on: used only when pywa is not measured in the run (`--pywa-python`).
pub const PYWA_NS_PER_PAYLOAD: f64 = 18_000.0;

/// The script that times pywa's parse of the same fixtures.
const PYWA_SCRIPT: &str = include_str!("../bench/pywa.py");

/// pywa's median time per payload on `dir`, measured by `python` running
/// [`PYWA_SCRIPT`], and its version.
fn measure_pywa(python: &Path, dir: &Path, scratch: &Path) -> Result<(f64, String), BoxError> {
    // Not named pywa.py: Python would import it in place of the library.
    let script = scratch.join("measure_pywa.py");
    std::fs::write(&script, PYWA_SCRIPT)?;
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "measuring pywa failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let ns = v["ns_per_payload"]
        .as_f64()
        .ok_or("the pywa script printed no ns_per_payload")?;
    Ok((ns, v["pywa_version"].as_str().unwrap_or("?").to_string()))
}

const APP_SECRET: &str = "bench-app-secret";
const TOKEN: &str = "bench-access-token";
const WABA: &str = "102290129340398";

/// The number `typical_webhook` is addressed to (tenant 0's in the load test).
const PHONE_NUMBER_ID: u64 = 106540352242922;

/// Tenants the second webhook load is spread over.
const SPREAD_TENANTS: usize = 16;

/// How a webhook load numbers its messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// Counting up: each tenant's new keys (events, statuses) land on the same few
    /// B-tree pages, which flatters one tenant over many.
    InOrder,
    /// Scattered, as Meta's ids are: the count through a bijection, never repeated.
    Scattered,
}

impl Ids {
    /// The 16 characters that stand for message `n` in `typical_webhook`'s ids.
    fn of(self, n: u64) -> String {
        match self {
            Ids::InOrder => format!("{n:016}"),
            Ids::Scattered => {
                // SplitMix64's finalizer: each step is invertible, so distinct counts
                // give distinct ids.
                let mut z = n;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                format!("{:016x}", z ^ (z >> 31))
            }
        }
    }
}

/// Nanoseconds per call over `batch` component calls of verify + parse of `body`.
async fn receive_ns(
    inst: &mut Instance,
    body: &[u8],
    sig: &str,
    batch: u32,
) -> Result<f64, BoxError> {
    let start = Instant::now();
    for _ in 0..batch {
        black_box(
            inst.receive(body, Some(sig))
                .await?
                .map_err(|e| format!("{e:?}"))?,
        );
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(batch))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A typical webhook of about 2 KB: an inbound text (a reply, from an ad) and a status.
pub fn typical_webhook(n: u64) -> Vec<u8> {
    let text = "Hi! I ordered the blue running shoes last week (order 48213) and the tracking page still says the parcel is at the depot. Could you tell me when it will be delivered, and whether I can pick it up myself from the shop on Main Street instead? I am free on Saturday morning. Thanks a lot for your help!";
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
                    "contacts": [{ "profile": { "name": "Ana Souza" }, "wa_id": "15551234567", "user_id": "US.13491208655302741918" }],
                    "messages": [{
                        "from": "15551234567",
                        "id": format!("wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUI{n:016}"),
                        "timestamp": "1764072000",
                        "type": "text",
                        "text": { "body": text },
                        "context": { "from": "15550783881", "id": "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA" },
                        "referral": {
                            "source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120201234567890123",
                            "source_type": "ad", "headline": "Spring sale: running shoes",
                            "body": "Up to 40% off this week only.", "media_type": "image",
                            "image_url": "https://scontent.xx.fbcdn.net/v/t45.1600-4/abc.jpg",
                            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"
                        }
                    }]
                }
            }, {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
                    "statuses": [{
                        "id": format!("wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI{n:016}"),
                        "status": "delivered", "timestamp": "1764072001", "recipient_id": "15551234567",
                        "conversation": { "id": "b1b1f0c6e0a6a3c2b0f4e5d6c7b8a9f0", "origin": { "type": "service" } },
                        "pricing": { "billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service" },
                        "biz_opaque_callback_data": "order-48213"
                    }]
                }
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// The process's proportional set size: each resident page divided by the number of
/// mappings that share it. An instance's linear memory maps the component's data image
/// copy-on-write from the compiled file; RSS counts those shared page-cache pages once
/// per instance (and the kernel's fault-around maps up to 64 KB of them on one read),
/// PSS once in all.
fn proportional_bytes() -> Option<u64> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let kb: u64 = rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The component measured: `--component`'s, or the one built into the binary.
fn component(opts: &BenchOptions) -> &[u8] {
    opts.component.as_deref().unwrap_or(COMPONENT)
}

/// A runtime as the bench measures it: nothing recorded, pacing wide enough not to be
/// measured (it is Meta's policy, not a cost of ours), `max_instances` pool slots, the
/// bench's own cache.
fn host(opts: &BenchOptions, max_instances: u32, cache: &Path) -> HostBuilder {
    HostBuilder::new()
        .without_recording()
        .without_connection_events()
        .throughput(Throughput::new(1000).with_pair_burst(1_000_000))
        .config(RuntimeConfig {
            max_instances,
            cache_dir: Some(cache.to_path_buf()),
            ..RuntimeConfig::default()
        })
        .component(opts.component.clone())
}

/// Run every measurement; the JSON object `wa-host bench --json` prints.
pub async fn run(opts: &BenchOptions) -> Result<Value, BoxError> {
    let scratch = opts.scratch.join(format!(
        "wa-bench-{}-{}",
        std::process::id(),
        crate::app::now_secs()
    ));
    std::fs::create_dir_all(&scratch)?;
    let result = measure(opts, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn measure(opts: &BenchOptions, scratch: &Path) -> Result<Value, BoxError> {
    let cache = scratch.join("cache");
    let mut out = serde_json::Map::new();
    out.insert("component_bytes".into(), component(opts).len().into());

    // Cold start: compile once (fills the cache), then load from the cache.
    let t = Instant::now();
    drop(host(opts, 16, &cache).build()?);
    out.insert("compile_ms".into(), json!(t.elapsed().as_secs_f64() * 1e3));
    let t = Instant::now();
    let rt = host(opts, 64, &cache).build()?;
    out.insert(
        "cold_start_cached_ms".into(),
        json!(t.elapsed().as_secs_f64() * 1e3),
    );

    // Verify + parse of a typical signed webhook, natively and through the component.
    let body = typical_webhook(1);
    let sig = sign(APP_SECRET.as_bytes(), &body);
    out.insert("webhook_bytes".into(), body.len().into());
    let binding = TenantBinding::new(
        "bench",
        [
            ("phone-number-id".into(), PHONE_NUMBER_ID.to_string()),
            ("waba-id".into(), WABA.into()),
            ("app-secret".into(), APP_SECRET.into()),
        ],
    );
    let mut inst = rt.instantiate(&binding).await?;
    // Native and component batches alternate, and the ratio is the median of each pair's:
    // a shared VM's speed drifts by tens of percent from one second to the next, and two
    // figures measured seconds apart would carry that drift into their ratio.
    let (mut native_ns, mut component_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..61 {
        let start = Instant::now();
        for _ in 0..500 {
            black_box(native::receive(APP_SECRET.as_bytes(), &body, &sig)?);
        }
        let n = start.elapsed().as_nanos() as f64 / 500.0;
        let c = receive_ns(&mut inst, &body, &sig, 500).await?;
        native_ns.push(n);
        component_ns.push(c);
        ratios.push(c / n);
    }
    out.insert(
        "parse_native_ns_per_payload".into(),
        json!(median(&mut native_ns)),
    );
    out.insert(
        "parse_component_ns_per_payload".into(),
        json!(median(&mut component_ns)),
    );
    out.insert(
        "component_native_parse_ratio".into(),
        json!(median(&mut ratios)),
    );

    // The webhook server's path: the host has checked the signature; the component
    // parses, keeps its state (staged, as the server stages it) and writes each event's
    // JSON (`webhooks.ingest`). Natively the same, over a database of the same kind.
    let (mut native_ns, mut component_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    inst.defer_writes();
    let db = Database::open_in_memory()?;
    let mut writes = WriteSet::new("bench");
    for _ in 0..61 {
        let start = Instant::now();
        for _ in 0..500 {
            let mut store = Staged {
                db: &db,
                tenant: "bench",
                writes: &mut writes,
            };
            black_box(native::ingest(&body, &mut store)?);
            writes = WriteSet::new("bench");
        }
        let n = start.elapsed().as_nanos() as f64 / 500.0;
        let start = Instant::now();
        for _ in 0..500 {
            black_box(inst.ingest(&body).await?.map_err(|e| format!("{e:?}"))?);
            inst.take_writes();
        }
        let c = start.elapsed().as_nanos() as f64 / 500.0;
        native_ns.push(n);
        component_ns.push(c);
        ratios.push(c / n);
    }
    out.insert(
        "ingest_native_ns_per_payload".into(),
        json!(median(&mut native_ns)),
    );
    out.insert(
        "ingest_component_ns_per_payload".into(),
        json!(median(&mut component_ns)),
    );
    out.insert(
        "component_native_ingest_ratio".into(),
        json!(median(&mut ratios)),
    );
    let mut inst = rt.instantiate(&binding).await?;

    // The fixed cost of a call: verify + parse of a webhook with no entry.
    let empty = br#"{"object":"whatsapp_business_account","entry":[]}"#.to_vec();
    let empty_sig = sign(APP_SECRET.as_bytes(), &empty);
    let mut per_call = Vec::new();
    for _ in 0..31 {
        per_call.push(receive_ns(&mut inst, &empty, &empty_sig, 2000).await?);
    }
    drop(inst);
    out.insert("empty_receive_ns".into(), json!(median(&mut per_call)));

    // A tenant instance from the InstancePre (pooling allocator).
    let mut per_call = Vec::new();
    for _ in 0..31 {
        let start = Instant::now();
        for _ in 0..1000 {
            black_box(rt.instantiate(&binding).await?);
        }
        per_call.push(start.elapsed().as_nanos() as f64 / 1000.0);
    }
    out.insert("instantiate_ns".into(), json!(median(&mut per_call)));

    if let Some(dir) = &opts.fixtures {
        let (n, component, native) = fixtures(&rt, &binding, dir).await?;
        out.insert("fixtures_payloads".into(), n.into());
        out.insert("fixtures_component_ns_per_payload".into(), json!(component));
        out.insert("fixtures_native_ns_per_payload".into(), json!(native));
        let pywa = match &opts.pywa_python {
            Some(python) => {
                let (ns, version) = measure_pywa(python, dir, scratch)?;
                out.insert("pywa_version".into(), json!(version));
                out.insert("pywa_measured".into(), json!(true));
                ns
            }
            None => {
                out.insert("pywa_measured".into(), json!(false));
                PYWA_NS_PER_PAYLOAD
            }
        };
        out.insert("pywa_ns_per_payload".into(), json!(pywa));
        out.insert("fixtures_speedup_vs_pywa".into(), json!(pywa / component));
    }
    drop(rt);

    // Memory per live instance, 1,000 of them live (each has answered one call).
    let rt = host(opts, 1024, &cache).build()?;
    drop(rt.instantiate(&binding).await?);
    let before = (resident_bytes(), proportional_bytes());
    let mut live = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let mut i = rt.instantiate(&binding).await?;
        black_box(i.info().await?.map_err(|e| format!("{e:?}"))?);
        live.push(i);
    }
    let after = (resident_bytes(), proportional_bytes());
    if let (Some(b), Some(a)) = (before.0, after.0) {
        out.insert(
            "rss_per_instance_bytes".into(),
            json!((a.saturating_sub(b)) / 1000),
        );
    }
    if let (Some(b), Some(a)) = (before.1, after.1) {
        out.insert(
            "pss_per_instance_bytes".into(),
            json!((a.saturating_sub(b)) / 1000),
        );
    }
    drop(live);
    drop(rt);

    // All of one tenant's POSTs (`webhook_server_*`): that tenant's calls run one at a
    // time, since their state changes depend on each other. Then the same load spread
    // over SPREAD_TENANTS tenants (`webhook_server_spread_*`), as a platform's endpoint
    // takes every tenant's webhooks (one app secret, as under one Meta app). Then both
    // again with message ids scattered as Meta's are (`webhook_server_random_ids*`).
    for (tenants, ids, prefix) in [
        (1, Ids::InOrder, "webhook_server"),
        (SPREAD_TENANTS, Ids::InOrder, "webhook_server_spread"),
        (1, Ids::Scattered, "webhook_server_random_ids"),
        (
            SPREAD_TENANTS,
            Ids::Scattered,
            "webhook_server_random_ids_spread",
        ),
    ] {
        let load = webhook_load(opts, scratch, &cache, tenants, ids).await?;
        out.insert(format!("{prefix}_tenants"), tenants.into());
        out.insert(format!("{prefix}_rps"), json!(load.rps));
        out.insert(format!("{prefix}_p99_ms"), json!(load.p99_ms));
        out.insert(format!("{prefix}_posts"), load.ok.into());
        out.insert(format!("{prefix}_lost_events"), load.lost.into());
        out.insert(format!("{prefix}_rps_by_second"), json!(load.by_second));
        if load.lost > 0 {
            // Not a figure to compare but a broken promise: fail the command.
            return Err(format!(
                "{} events answered 200 under load were not recorded",
                load.lost
            )
            .into());
        }
    }

    let (per_s, failed, sends) = send_load(opts, &cache).await?;
    out.insert("send_per_s".into(), json!(per_s));
    out.insert("send_count".into(), sends.into());
    out.insert("send_failures".into(), failed.into());

    let o = outbox_load(opts, scratch, &cache).await?;
    out.insert("outbox_enqueue_per_s".into(), json!(o.enqueue_per_s));
    out.insert("outbox_dispatch_per_s".into(), json!(o.dispatch_per_s));
    out.insert("outbox_entries".into(), o.entries.into());
    out.insert("outbox_sent".into(), o.sent.into());
    out.insert("outbox_throughput_refusals".into(), o.refusals.into());

    if let Some(url) = &opts.redis_url {
        let (per_s, n) = sink_load(url, opts).await?;
        out.insert("sink_events_per_s".into(), json!(per_s));
        out.insert("sink_events".into(), n.into());
    }

    let mut meets = serde_json::Map::new();
    for (key, bound, lower) in TARGETS {
        if let Some(v) = out.get(*key).and_then(Value::as_f64) {
            meets.insert(
                (*key).into(),
                json!(if *lower { v <= *bound } else { v >= *bound }),
            );
        }
    }
    out.insert(
        "targets".into(),
        TARGETS
            .iter()
            .map(|(k, b, lower)| ((*k).to_string(), json!({ "bound": b, "at_most": lower })))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    );
    out.insert("meets".into(), meets.into());
    Ok(Value::Object(out))
}

/// Verify + parse of every fixture payload, signed, through the component and natively:
/// `(payloads, component ns per payload, native ns per payload)`, medians over passes.
async fn fixtures(
    rt: &Runtime,
    binding: &TenantBinding,
    dir: &Path,
) -> Result<(usize, f64, f64), BoxError> {
    let mut payloads = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let v: Value = serde_json::from_slice(&std::fs::read(&f)?)?;
        for (_, payload) in v.as_object().into_iter().flatten() {
            let body = serde_json::to_vec(payload)?;
            let sig = sign(APP_SECRET.as_bytes(), &body);
            payloads.push((body, sig));
        }
    }
    if payloads.is_empty() {
        return Err(format!("no payloads in {}", dir.display()).into());
    }
    let mut inst = rt.instantiate(binding).await?;
    let (mut component, mut native) = (Vec::new(), Vec::new());
    for _ in 0..51 {
        let start = Instant::now();
        for (body, sig) in &payloads {
            black_box(
                inst.receive(body, Some(sig))
                    .await?
                    .map_err(|e| format!("{e:?}"))?,
            );
        }
        component.push(start.elapsed().as_nanos() as f64 / payloads.len() as f64);
        let start = Instant::now();
        for (body, sig) in &payloads {
            black_box(native::receive(APP_SECRET.as_bytes(), body, sig)?);
        }
        native.push(start.elapsed().as_nanos() as f64 / payloads.len() as f64);
    }
    Ok((payloads.len(), median(&mut component), median(&mut native)))
}

/// Signed POSTs through `serve` on loopback, with the durable database:
/// Signed POSTs through the webhook server with durable recording, from `connections`
/// keep-alive connections, bounded by `load_duration` and `load_max`.
async fn webhook_load(
    opts: &BenchOptions,
    scratch: &Path,
    cache: &Path,
    tenant_count: usize,
    ids: Ids,
) -> Result<WebhookLoad, BoxError> {
    let order = if ids == Ids::InOrder {
        ""
    } else {
        "-scattered"
    };
    let path = scratch.join(format!("webhooks-{tenant_count}{order}.db"));
    let db = Arc::new(Database::open(&path)?);
    let vault = Arc::new(Vault::ephemeral());
    // Tenant i owns the number `phone_number_id(i)`; tenant 0 the one of `typical_webhook`.
    let phone_number_id = |i: usize| format!("{}", PHONE_NUMBER_ID + i as u64);
    for i in 0..tenant_count {
        tenants::add(
            &db,
            &vault,
            NewTenant {
                id: format!("bench-{i}"),
                phone_number_id: phone_number_id(i),
                waba_id: WABA.into(),
                display_phone_number: Some("15550783881".into()),
                graph_origin: None,
                app_secret: Some(Zeroizing::new(APP_SECRET.into())),
                verify_token: None,
                settings: vec![],
                numbers: vec![],
            },
            0,
        )?;
    }
    let rt = Arc::new(
        host(opts, (opts.connections as u32 * 2).max(64), cache)
            .database(db.clone())
            .vault(vault)
            .build()?,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(ServerState::new(rt, db.clone(), Defaults::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let next = Arc::new(AtomicU64::new(0));
    // The generator's own cost kept small: a template with the message ids substituted.
    let template = Arc::new(String::from_utf8(typical_webhook(0))?);
    let deadline = Instant::now() + opts.load_duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.connections {
        let next = next.clone();
        let template = template.clone();
        let max = opts.load_max;
        tasks.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= max {
                    break;
                }
                let body = template.replace("0000000000000000", &ids.of(n)).replace(
                    &phone_number_id(0),
                    &phone_number_id(n as usize % tenant_count),
                );
                let sig = sign(APP_SECRET.as_bytes(), body.as_bytes());
                let req = hyper::Request::post("/webhook")
                    .header(hyper::header::HOST, "127.0.0.1")
                    .header(hyper::header::CONTENT_TYPE, "application/json")
                    .header(signature::META_HEADER, sig)
                    .body(Full::new(Bytes::from(body)))?;
                let t = Instant::now();
                sender.ready().await?;
                let res = sender.send_request(req).await?;
                let ok = res.status().is_success();
                res.into_body().collect().await?;
                if ok {
                    latencies.push((
                        start.elapsed().as_secs_f64(),
                        t.elapsed().as_secs_f64() * 1e3,
                    ));
                } else {
                    failures += 1;
                }
            }
            Ok::<_, BoxError>((latencies, failures))
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await??;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    if failures > 0 {
        return Err(format!("{failures} webhook POSTs were refused under load").into());
    }
    let ok = latencies.len() as u64;
    // Throughput second by second (the last, partial second left out), to show it holds.
    let mut by_second = vec![0u64; elapsed.floor() as usize];
    for (done, _) in &latencies {
        if let Some(n) = by_second.get_mut(*done as usize) {
            *n += 1;
        }
    }
    let mut latencies: Vec<f64> = latencies.into_iter().map(|(_, l)| l).collect();
    // Each POST carries two events; every one answered 200 must be recorded.
    let recorded = db
        .counts_after(0)?
        .iter()
        .map(|(_, n)| *n as u64)
        .sum::<u64>();
    let lost = (ok * 2).saturating_sub(recorded);
    let p99 = if latencies.is_empty() {
        0.0
    } else {
        latencies.sort_by(f64::total_cmp);
        latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]
    };
    Ok(WebhookLoad {
        rps: ok as f64 / elapsed,
        p99_ms: p99,
        lost,
        ok,
        by_second,
    })
}

/// What the webhook load test measured.
struct WebhookLoad {
    rps: f64,
    p99_ms: f64,
    /// Events answered 200 but not recorded.
    lost: u64,
    /// POSTs answered 200.
    ok: u64,
    /// POSTs answered 200 in each whole second of the run.
    by_second: Vec<u64>,
}

/// Text sends through the component to the loopback sandbox, from many tenants at once:
/// `(sends per second, failures, sends)`.
async fn send_load(opts: &BenchOptions, cache: &Path) -> Result<(f64, u64, u64), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let config = SandboxConfig {
        access_token: TOKEN.into(),
        ..SandboxConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sandbox::serve(listener, config, async {
        let _ = stopped.await;
    }));
    let db = Arc::new(Database::open_in_memory()?);
    let vault = Arc::new(Vault::ephemeral());
    let mut egress = EgressPolicy::default();
    egress.allow(&origin)?;
    let tenants: Vec<TenantBinding> = (0..16)
        .map(|i| {
            let id = format!("sender{i}");
            Ok(TenantBinding::new(
                &id,
                [
                    ("phone-number-id".into(), format!("1065403522429{i:02}")),
                    ("graph-origin".into(), origin.clone()),
                    ("window-policy".into(), "off".into()),
                ],
            ))
        })
        .collect::<Result<_, BoxError>>()?;
    let tasks_n = 32;
    let rt = Arc::new(
        host(opts, tasks_n as u32 * 2, cache)
            .database(db)
            .vault(vault)
            .egress(egress)
            .build()?,
    );
    // Each tenant's token, stored (sealed) by its component.
    for binding in &tenants {
        let mut i = rt.instantiate(binding).await?;
        i.set_access_token(TOKEN)
            .await?
            .map_err(|e| crate::events::describe_error(&e))?;
    }
    let tenants = Arc::new(tenants);
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + opts.load_duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..tasks_n {
        let (rt, tenants, next, max) = (rt.clone(), tenants.clone(), next.clone(), opts.load_max);
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= max {
                    break;
                }
                let binding = &tenants[n as usize % tenants.len()];
                let message = OutgoingMessage {
                    // Not the sandbox's throttled test numbers (+1555000xxxx).
                    to: format!("+4477{:08}", n % 100_000_000),
                    content: Content::Text(Text {
                        body: "Your order has shipped.".into(),
                        preview_url: false,
                    }),
                    reply_to: None,
                    biz_opaque_callback_data: None,
                };
                let mut inst = rt.instantiate(binding).await?;
                match inst.send(&message).await? {
                    Ok(_) => ok += 1,
                    Err(_) => failed += 1,
                }
            }
            Ok::<_, BoxError>((ok, failed))
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for t in tasks {
        let (o, f) = t.await??;
        ok += o;
        failed += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(());
    Ok((ok as f64 / elapsed, failed, ok + failed))
}

/// What the outbox load measured.
struct OutboxLoad {
    enqueue_per_s: f64,
    dispatch_per_s: f64,
    entries: u64,
    sent: u64,
    refusals: u64,
}

/// Numbers the outbox load sends from, and Meta's throughput it keeps on each.
const OUTBOX_NUMBERS: usize = 16;
const OUTBOX_MPS: u32 = 1000;

/// The outbox: a campaign enqueued through the component (`messages.enqueue`, batches of
/// 1,000, committed to a file database), then dispatched from 16 numbers at 1,000 a
/// second each to the loopback sandbox, which keeps that throughput too; each entry's
/// state durable as it moves. Entries per second enqueued, and sent.
async fn outbox_load(
    opts: &BenchOptions,
    scratch: &Path,
    cache: &Path,
) -> Result<OutboxLoad, BoxError> {
    use crate::runtime::api::outbox::{OutboxItem, Priority};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let config = SandboxConfig {
        access_token: TOKEN.into(),
        mps_per_number: Some(OUTBOX_MPS),
        enforce_window: false,
        ..SandboxConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sandbox_state = sandbox::Sandbox::new(config);
    tokio::spawn(sandbox::serve_state(
        listener,
        sandbox_state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let db = Arc::new(Database::open(&scratch.join("outbox.sqlite3"))?);
    let vault = Arc::new(Vault::ephemeral());
    let mut egress = EgressPolicy::default();
    egress.allow(&origin)?;
    let rt = Arc::new(
        host(opts, 256, cache)
            .database(db.clone())
            .vault(vault.clone())
            .egress(egress)
            .build()?,
    );
    let numbers: Vec<String> = (0..OUTBOX_NUMBERS)
        .map(|i| format!("1065403522430{i:02}"))
        .collect();
    let cx = crate::connect::Context {
        runtime: &rt,
        db: &db,
        vault: &vault,
        defaults: &Defaults::default(),
    };
    crate::connect::add_tenant(
        &cx,
        NewTenant {
            id: "outbox".into(),
            phone_number_id: numbers[0].clone(),
            numbers: numbers[1..].to_vec(),
            waba_id: "102290129340398".into(),
            display_phone_number: None,
            graph_origin: Some(origin.clone()),
            app_secret: None,
            verify_token: None,
            settings: vec![("window-policy".into(), "off".into())],
        },
        Some(TOKEN),
        0,
    )
    .await
    .map_err(|e| e.to_string())?;
    let record = db.tenant("outbox")?.ok_or("the bench tenant")?;
    let binding = {
        use crate::tenants::TenantExt;
        record.binding(&vault, &Defaults::default())?
    };
    // As many entries as the numbers send in the load's duration, at least 16,000.
    let per_number =
        (u64::from(OUTBOX_MPS) * opts.load_duration.as_secs().max(1)).clamp(1_000, 5_000);
    let entries = (per_number * OUTBOX_NUMBERS as u64).min(opts.load_max.max(1_000));
    let items: Vec<OutboxItem> = (0..entries)
        .map(|n| OutboxItem {
            message: OutgoingMessage {
                to: format!("+4478{:08}", n),
                content: Content::Text(Text {
                    body: "Your order has shipped.".into(),
                    preview_url: false,
                }),
                reply_to: None,
                biz_opaque_callback_data: None,
            },
            phone_number_id: Some(numbers[n as usize % OUTBOX_NUMBERS].clone()),
            key: Some(format!("bench:{n}")),
            not_before_ms: None,
            priority: Priority::Campaign,
            campaign: Some("bench".into()),
        })
        .collect();
    let started = Instant::now();
    let mut instance = rt.instantiate(&binding).await?;
    for chunk in items.chunks(1_000) {
        instance
            .enqueue(chunk)
            .await?
            .map_err(|e| crate::events::describe_error(&e))?;
    }
    let enqueue_per_s = entries as f64 / started.elapsed().as_secs_f64();
    drop(instance);

    let state = Arc::new(ServerState::new(
        rt.clone(),
        db.clone(),
        Defaults::default(),
    ));
    let dispatcher =
        crate::dispatch::Dispatcher::new(state, Default::default()).ok_or("no outbox")?;
    let (halt, halted) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(dispatcher.run(async {
        let _ = halted.await;
    }));
    let started = Instant::now();
    let deadline = started + opts.load_duration * 10 + Duration::from_secs(30);
    let sent = loop {
        let t = db.outbox()?.outbox_tally("outbox", "bench")?;
        let done = t.by_state[crate::storage::outbox::state::SENT as usize];
        if done >= entries || Instant::now() >= deadline {
            break done;
        }
        // Counting scans the campaign's entries: often enough to time the end well,
        // rarely enough to cost the dispatch nothing to speak of.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let dispatch_per_s = sent as f64 / started.elapsed().as_secs_f64();
    let _ = halt.send(());
    let _ = running.await;
    let refusals = sandbox_state.limits_refused();
    let _ = stop.send(());
    Ok(OutboxLoad {
        enqueue_per_s,
        dispatch_per_s,
        entries,
        sent,
        refusals,
    })
}

/// The Redis Streams sink: events recorded in a file database beforehand (32 tenants),
/// then published from its cursor in batches of 1,000 until none is left, each batch a
/// pipeline of `XADD`s and a cursor write. Events per second; how many.
async fn sink_load(url: &str, opts: &BenchOptions) -> Result<(f64, u64), BoxError> {
    use crate::broker::{BrokerSink, Redis, RedisConfig};
    let n = opts.load_max.clamp(1_000, 100_000);
    let dir = opts
        .scratch
        .join(format!("wa-bench-sink-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = Arc::new(Database::open(&dir.join("sink.sqlite3"))?);
    let body = String::from_utf8(typical_webhook(0))?;
    let mut batch = Vec::new();
    for i in 0..n {
        batch.push(crate::storage::NewEvent {
            tenant: Some(format!("t{}", i % 32)),
            kind: "message".into(),
            idempotency_key: format!("k{i}"),
            json: body.clone(),
        });
        if batch.len() == 1_000 {
            db.record_events(&batch, 0)?;
            batch.clear();
        }
    }
    db.record_events(&batch, 0)?;
    let prefix = format!("wa-bench-{}:", std::process::id());
    let sink = BrokerSink {
        db: db.clone(),
        config: RedisConfig::from_url(url, &prefix)?,
        batch: 1_000,
        poll: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
    };
    let mut redis = None;
    let start = Instant::now();
    let deadline = start + opts.load_duration * 10;
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let moved = sink.step(&mut redis).await?;
        if moved == 0 {
            break;
        }
        sent += moved as u64;
    }
    let per_s = sent as f64 / start.elapsed().as_secs_f64();
    // Leave nothing behind on the server.
    let mut r = Redis::connect(&sink.config).await?;
    for t in 0..32 {
        r.command(&[
            b"DEL",
            sink.config.stream(Some(&format!("t{t}"))).as_bytes(),
        ])
        .await?;
    }
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((per_s, sent))
}

/// The native baseline's key-value store: what the component's import does, natively.
/// Reads see the staged writes, then the database; writes are staged
/// (`runtime::Instance::defer_writes`). The baseline itself, the guest's core compiled
/// natively, is the `whatsapp-bench-native` crate (host/bench/native): the host's own code
/// does not link the core.
struct Staged<'a> {
    db: &'a dyn KvBackend,
    tenant: &'a str,
    writes: &'a mut WriteSet,
}

impl native::Kv for Staged<'_> {
    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, String> {
        match self.writes.get(bucket, key) {
            Some(v) => Ok(v.map(<[u8]>::to_vec)),
            None => self.db.get(self.tenant, bucket, key).map_err(|e| e.0),
        }
    }

    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), String> {
        self.writes.put(bucket, key, Some(value.to_vec()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scattered_ids_are_distinct_and_fill_the_template_slot() {
        let template = String::from_utf8(typical_webhook(0)).unwrap();
        assert_eq!(template.matches("0000000000000000").count(), 2);
        let mut seen = std::collections::HashSet::new();
        for n in 0..200_000 {
            let id = Ids::Scattered.of(n);
            assert_eq!(id.len(), 16);
            assert!(seen.insert(id), "message {n}'s id came before");
        }
        // Not in order: the point of them.
        let ids: Vec<String> = (0..1000).map(|n| Ids::Scattered.of(n)).collect();
        assert!(ids.windows(2).filter(|w| w[0] < w[1]).count() < 700);
        assert_eq!(Ids::InOrder.of(42), "0000000000000042");
    }
}
