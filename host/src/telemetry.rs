//! Latency histograms for `/metrics`, through prometheus-client: each webhook POST (by
//! status), each component call (by export), each group commit as a POST waits for it,
//! and each Graph request (by method, endpoint and status; the endpoint is the path with
//! its ids and version taken out, so that series stay few). One set per process: the
//! runtime, the HTTP capability and the server all observe into it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Call {
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Endpoint {
    method: String,
    endpoint: String,
    status: u16,
}

type Buckets = fn() -> Histogram;

/// 50 µs to about 6.5 s, doubling: a component call takes microseconds, a Graph request
/// across the internet hundreds of milliseconds.
fn buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

/// The process's histograms.
pub struct Histograms {
    registry: Registry,
    webhook: Family<Status, Histogram, Buckets>,
    component: Family<Call, Histogram, Buckets>,
    commit: Histogram,
    graph: Family<Endpoint, Histogram, Buckets>,
}

/// The histograms of this process.
pub fn histograms() -> &'static Histograms {
    static H: OnceLock<Histograms> = OnceLock::new();
    H.get_or_init(|| {
        let mut registry = Registry::default();
        let webhook =
            Family::<Status, Histogram, Buckets>::new_with_constructor(buckets as Buckets);
        let component =
            Family::<Call, Histogram, Buckets>::new_with_constructor(buckets as Buckets);
        let commit = buckets();
        let graph =
            Family::<Endpoint, Histogram, Buckets>::new_with_constructor(buckets as Buckets);
        registry.register(
            "wa_webhook_request_seconds",
            "Webhook POSTs, from the headers read to the answer, by status.",
            webhook.clone(),
        );
        registry.register(
            "wa_component_call_seconds",
            "Calls into a tenant's component, by export.",
            component.clone(),
        );
        registry.register(
            "wa_commit_seconds",
            "How long a webhook POST waited for the group commit that made its events durable.",
            commit.clone(),
        );
        registry.register(
            "wa_graph_request_seconds",
            "Graph API requests the component made, by method, endpoint and status.",
            graph.clone(),
        );
        Histograms {
            registry,
            webhook,
            component,
            commit,
            graph,
        }
    })
}

impl Histograms {
    /// A webhook POST answered with `status`.
    pub fn webhook(&self, status: u16, took: Duration) {
        self.webhook
            .get_or_create(&Status { status })
            .observe(took.as_secs_f64());
    }

    /// A call of export `call` returned (or trapped). The name is static: no allocation
    /// on a call's path.
    pub fn component_call(&self, call: &'static str, took: Duration) {
        self.component
            .get_or_create(&Call { call })
            .observe(took.as_secs_f64());
    }

    /// A POST's wait for its commit.
    pub fn commit(&self, took: Duration) {
        self.commit.observe(took.as_secs_f64());
    }

    /// A Graph request to `path`, answered with `status` (0 when it failed on the way).
    pub fn graph(&self, method: &str, path: &str, status: u16, took: Duration) {
        let labels = Endpoint {
            method: method.into(),
            endpoint: endpoint(path),
            status,
        };
        self.graph
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// The histograms in the text exposition format (without OpenMetrics' closing
    /// `# EOF`, so that they follow the counters on one `/metrics` page).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            return String::new();
        }
        match out.strip_suffix("# EOF\n") {
            Some(s) => s.to_string(),
            None => out,
        }
    }
}

/// A Graph path as one series: the version is `{version}`, and every segment that is not
/// an edge's name (lowercase letters and `_`) is `{id}`.
/// `/v23.0/106540352242922/messages` is `/{version}/{id}/messages`.
pub fn endpoint(path: &str) -> String {
    let mut out = String::new();
    for (i, seg) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
        out.push('/');
        let version = i == 0
            && seg.len() > 1
            && seg.starts_with('v')
            && seg[1..].bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if version {
            out.push_str("{version}");
        } else if seg.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            out.push_str(seg);
        } else {
            out.push_str("{id}");
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_paths_lose_their_ids() {
        for (path, want) in [
            (
                "/v23.0/106540352242922/messages",
                "/{version}/{id}/messages",
            ),
            ("/v23.0/oauth/access_token", "/{version}/oauth/access_token"),
            ("/v23.0/upload:MTphdHRhY2g=", "/{version}/{id}"),
            ("/1234/message_templates", "/{id}/message_templates"),
            ("/", "/"),
        ] {
            assert_eq!(endpoint(path), want, "{path}");
        }
    }

    #[test]
    fn observations_are_rendered_as_histograms() {
        let h = histograms();
        h.component_call("render-test", Duration::from_micros(120));
        let text = h.render();
        assert!(
            text.contains("# TYPE wa_component_call_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("wa_component_call_seconds_count{call=\"render-test\"} 1"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
    }
}
