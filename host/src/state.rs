//! What the webhook server and the admin API share: the server's state, its counters
//! and the admin API's settings. Its own module so that the server (which routes to the
//! admin API) and the admin API (which reads the state) do not import each other.

use crate::directory::Directory;
use crate::runtime::Runtime;
use crate::storage::Database;
use crate::tenants::Defaults;
use std::sync::Arc;
use tokio::sync::broadcast;
use zeroize::Zeroizing;

/// The largest webhook body accepted; larger ones get 413.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// The admin API's settings.
#[derive(Clone)]
pub struct AdminConfig {
    /// The bearer token every `/admin` request must carry.
    pub token: Zeroizing<String>,
}

/// What the server needs.
pub struct ServerState {
    /// The component.
    pub runtime: Arc<Runtime>,
    /// Tenants and the event log.
    pub db: Arc<Database>,
    /// Host-wide app secret and verify token.
    pub defaults: Defaults,
    /// Body limit.
    pub max_body: usize,
    /// The endpoint's timeouts and connection cap (`net::Limits`).
    pub limits: crate::net::Limits,
    /// Each recorded event, after the commit, for in-process listeners (the demo).
    pub events: Option<broadcast::Sender<serde_json::Value>>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// The admin API (`/admin/…`), when a token is configured.
    pub admin: Option<AdminConfig>,
    /// Where this host is reached from outside (`https://wa.example.com`): the OAuth
    /// callback (`/oauth/callback`) is served and used as the redirect when set.
    pub public_url: Option<String>,
    /// The tenants webhooks name, kept for a second with their secrets opened.
    pub directory: Directory,
}

impl ServerState {
    /// A server over `runtime` and `db` with the default limits, no admin API and no
    /// OAuth callback.
    pub fn new(runtime: Arc<Runtime>, db: Arc<Database>, defaults: Defaults) -> Self {
        ServerState {
            runtime,
            db,
            defaults,
            max_body: DEFAULT_MAX_BODY,
            limits: crate::net::Limits::default(),
            events: None,
            metrics: Metrics::default(),
            admin: None,
            public_url: None,
            directory: Directory::default(),
        }
    }
}

/// A Prometheus label value (tenant ids are `[a-z0-9_-]`, but be safe).
fn label(s: &str) -> String {
    s.replace(['\\', '"', '\n'], "_")
}

/// Counters per tenant (the empty name counts what no tenant owns).
#[derive(Default)]
pub struct Metrics {
    counters: std::sync::Mutex<std::collections::BTreeMap<String, Counters>>,
}

/// One tenant's counters.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Events recorded.
    pub events: u64,
    /// Deliveries seen before and not recorded again.
    pub duplicates: u64,
    /// POSTs refused for their signature.
    pub signature_failures: u64,
    /// Changes no tenant owns, recorded as unroutable.
    pub unroutable: u64,
    /// Verified bodies that could not be read, recorded as rejected.
    pub rejected: u64,
}

impl Metrics {
    /// Add to a tenant's counters.
    pub fn add(&self, tenant: &str, f: impl FnOnce(&mut Counters)) {
        let mut m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        f(m.entry(tenant.to_string()).or_default());
    }

    /// A tenant's counters.
    pub fn get(&self, tenant: &str) -> Counters {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .copied()
            .unwrap_or_default()
    }

    /// The Prometheus text format, with the forwarding backlog when forwarding.
    pub fn render(&self, backlog: Option<Vec<(String, i64)>>) -> String {
        let m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        type Series = (&'static str, &'static str, fn(&Counters) -> u64);
        let series: [Series; 5] = [
            ("wa_webhook_events_total", "Events recorded.", |c| c.events),
            (
                "wa_webhook_duplicates_total",
                "Deliveries seen before, not recorded again.",
                |c| c.duplicates,
            ),
            (
                "wa_webhook_signature_failures_total",
                "POSTs refused for their signature.",
                |c| c.signature_failures,
            ),
            (
                "wa_webhook_unroutable_total",
                "Changes no tenant owns.",
                |c| c.unroutable,
            ),
            (
                "wa_webhook_rejected_total",
                "Verified bodies that could not be read, kept as rejected events.",
                |c| c.rejected,
            ),
        ];
        for (name, help, get) in series {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for (tenant, c) in m.iter() {
                out.push_str(&format!(
                    "{name}{{tenant=\"{}\"}} {}\n",
                    tenant.replace(['\\', '"', '\n'], "_"),
                    get(c)
                ));
            }
        }
        if let Some(b) = backlog {
            out.push_str("# HELP wa_forward_backlog Recorded events not yet forwarded.\n# TYPE wa_forward_backlog gauge\n");
            for (tenant, n) in b {
                out.push_str(&format!(
                    "wa_forward_backlog{{tenant=\"{}\"}} {n}\n",
                    label(&tenant)
                ));
            }
        }
        out
    }
}
