//! Spans over OTLP/HTTP, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: one `webhook` span per POST, a
//! `component` span per call into a tenant's instance, a `graph` span per request it
//! makes, with their debug-level events, sent in batches to a collector.
//!
//! What is exported does not follow `WA_LOG`: the layer has a filter of its own, the
//! host's spans and events down to `debug` ([`exported`]), so that a quiet log still
//! gives complete traces. Their fields are the logs' fields, which never hold a secret
//! (a Graph span has the method and the path, never the query).
//!
//! The requests go out on the host's own connection pool (the Graph egress's: hyper,
//! rustls, the webpki roots), driven by a small runtime of the exporter's own: the batch
//! processor exports from a thread of its own, and the last flush runs once `main`'s
//! runtime is gone. A collector that does not answer costs a warning, never the process.

use bytes::Bytes;
use http_body_util::Full;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use wasmtime_wasi_http::RequestOptions;
use whatsapp_host::capabilities::pool::Pool;

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES`
/// gives one.
const SERVICE_NAME: &str = "wa-host";
/// One export's bound when `OTEL_EXPORTER_OTLP_TIMEOUT` gives none (the OTLP default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the process waits at exit for the last spans to be sent.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// What is exported: the host's spans and events down to `debug` (the `component` and
/// `graph` spans are `debug`), whatever `WA_LOG` shows.
fn exported() -> Targets {
    Targets::new()
        .with_target("whatsapp_host", tracing::Level::DEBUG)
        .with_target("wa_host", tracing::Level::DEBUG)
}

/// Keeps the exporter; dropping it sends the spans not yet sent and stops it.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Drop for Traces {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            eprintln!("wa-host: traces: the last spans may be lost: {e}");
        }
    }
}

/// The exporting layer and its guard, when an OTLP endpoint is configured and the
/// exporter can be built; otherwise `None`, with a line on stderr saying why.
pub fn layer<S>() -> Option<(Box<dyn Layer<S> + Send + Sync>, Traces)>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let configured = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()));
    let disabled =
        std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !configured || disabled {
        return None;
    }
    let provider = match provider() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("wa-host: traces are not exported: {e}");
            return None;
        }
    };
    let tracer = provider.tracer("wa-host");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(exported())
        .boxed();
    Some((layer, Traces { provider }))
}

fn provider() -> Result<SdkTracerProvider, String> {
    let protocol = protocol()?;
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_http_client(Client::new(timeout())?)
        .build()
        .map_err(|e| e.to_string())?;
    // `builder()` reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, and falls back
    // on `unknown_service:<executable>`; ours is `wa-host`.
    let resource = Resource::builder().build();
    let named = resource
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|n| !n.as_str().starts_with("unknown_service"));
    let mut resource = Resource::builder();
    if !named {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    let resource = resource
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        // On a thread of its own: OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, ...
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .build())
}

/// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`:
/// `http/protobuf` (the default) or `http/json`; gRPC is not built in.
fn protocol() -> Result<Protocol, String> {
    let named = [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok().filter(|p| !p.trim().is_empty()));
    match named.as_deref().map(str::trim) {
        None | Some("http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some(other) => Err(format!(
            "the OTLP protocol {other:?} is not supported (http/protobuf or http/json)"
        )),
    }
}

/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, in
/// milliseconds.
fn timeout() -> Duration {
    [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.trim().parse::<u64>().ok())
    .filter(|&ms| ms > 0)
    .map_or(EXPORT_TIMEOUT, Duration::from_millis)
}

/// The exporter's HTTP client: the host's pool on a current-thread runtime. It is only
/// called from the batch processor's thread, which is no runtime's.
struct Client {
    pool: Pool,
    rt: tokio::runtime::Runtime,
    timeout: Duration,
    /// Whether the last export failed: a failure is said once, not every batch.
    failing: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    fn new(timeout: Duration) -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the exporter's runtime: {e}"))?;
        Ok(Self {
            pool: Pool::default(),
            rt,
            timeout,
            failing: AtomicBool::new(false),
        })
    }

    fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, HttpError> {
        // Where, for a warning: no user info, no query.
        let to = match request.uri().host() {
            Some(host) => format!(
                "{}://{host}{}{}",
                request.uri().scheme_str().unwrap_or("http"),
                request
                    .uri()
                    .port_u16()
                    .map_or(String::new(), |p| format!(":{p}")),
                request.uri().path()
            ),
            None => "the OTLP endpoint".into(),
        };
        let options = RequestOptions {
            connect_timeout: Some(self.timeout),
            first_byte_timeout: Some(self.timeout),
            between_bytes_timeout: Some(self.timeout),
        };
        // Made inside the runtime: a timer needs one.
        let sent = self.rt.block_on(async {
            let send = self.pool.send(request.map(Full::new), Some(options));
            tokio::time::timeout(self.timeout, send).await
        });
        let sent = match sent {
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            Ok(sent) => sent.map_err(|e| e.to_string()),
        };
        let failure = match &sent {
            Err(why) => Some(why.clone()),
            // The exporter reads the status too: the response is handed on as it is.
            Ok(r) if !r.status().is_success() => Some(format!("answered {}", r.status())),
            Ok(_) => None,
        };
        match failure {
            Some(why) if !self.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!("traces: cannot export to {to}: {why}; spans are dropped");
            }
            None if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("traces: {to} takes spans again");
            }
            _ => {}
        }
        sent.map_err(HttpError::from)
    }
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        self.send(request)
    }
}
