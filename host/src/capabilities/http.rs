//! Outbound HTTP: wasmtime-wasi-http with an egress allow-list and request recording.
//!
//! Every request a tenant instance makes passes [`EgressHooks::send_request`]: a
//! destination not on the allow-list is refused with `HttpRequestDenied` (a typed error
//! in the guest, not a trap); an allowed one is appended to the `WA_RECORD_REQUESTS`
//! file when set, with tokens left out, then sent over a pooled keep-alive connection
//! ([`super::pool`]).

use super::pool::Pool;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tracing::Instrument;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Largest request body a guest may send (media uploads included).
pub const MAX_REQUEST_BODY: usize = 128 << 20;
/// The environment variable naming the request recording file.
pub const RECORD_ENV: &str = "WA_RECORD_REQUESTS";

/// One allowed destination: scheme, host and port. A host written `*.example.net` allows
/// every host under `example.net` (not `example.net` itself): Meta's CDNs name a host per
/// region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
    subdomains: bool,
}

impl Origin {
    /// Parse `https://graph.facebook.com`, `http://127.0.0.1:8080` or `https://*.fbcdn.net`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (text, subdomains) = match s.split_once("://*.") {
            Some((scheme, rest)) => (format!("{scheme}://{rest}"), true),
            None => (s.to_string(), false),
        };
        let uri: http::Uri = text.parse().map_err(|e| format!("{s}: {e}"))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| format!("{s}: an origin needs a scheme"))?
            .to_string();
        let host = uri
            .host()
            .ok_or_else(|| format!("{s}: an origin needs a host"))?
            .to_ascii_lowercase();
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(p), _) => p,
            (None, "https") => 443,
            (None, "http") => 80,
            _ => return Err(format!("{s}: only http and https origins")),
        };
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(format!("{s}: an origin has no path"));
        }
        if subdomains && !host.contains('.') {
            return Err(format!("{s}: a wildcard covers the hosts under a domain"));
        }
        Ok(Origin {
            scheme,
            host,
            port,
            subdomains,
        })
    }

    fn matches(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let default_port = if scheme == "http" { 80 } else { 443 };
        scheme == self.scheme
            && uri.host().is_some_and(|h| {
                let h = h.to_ascii_lowercase();
                if self.subdomains {
                    h.strip_suffix(&self.host)
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
                } else {
                    h == self.host
                }
            })
            && uri.port_u16().unwrap_or(default_port) == self.port
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wildcard = if self.subdomains { "*." } else { "" };
        write!(f, "{}://{wildcard}{}:{}", self.scheme, self.host, self.port)
    }
}

/// Where Meta serves media files (the URLs `GET /{media-id}` gives).
pub const MEDIA_ORIGIN: &str = "https://lookaside.fbsbx.com";

/// Where Meta serves a flow's JSON and business profile pictures (signed URLs; no token
/// goes there).
pub const CDN_ORIGINS: [&str; 2] = ["https://*.fbcdn.net", "https://pps.whatsapp.net"];

/// Where tenant instances may send requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    allowed: Vec<Origin>,
}

impl Default for EgressPolicy {
    /// Only Meta: the Graph API, the host its media files are downloaded from, and its
    /// CDNs (flow JSON, profile pictures).
    fn default() -> Self {
        EgressPolicy {
            allowed: ["https://graph.facebook.com", MEDIA_ORIGIN]
                .iter()
                .chain(CDN_ORIGINS.iter())
                .map(|o| Origin::parse(o).expect("a valid origin"))
                .collect(),
        }
    }
}

impl EgressPolicy {
    /// Also allow `origin` (for example the sandbox's loopback origin).
    pub fn allow(&mut self, origin: &str) -> Result<(), String> {
        self.allowed.push(Origin::parse(origin)?);
        Ok(())
    }

    /// Whether a request to `uri` may leave.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        self.allowed.iter().any(|o| o.matches(uri))
    }

    /// The allowed origins.
    pub fn origins(&self) -> &[Origin] {
        &self.allowed
    }
}

/// Appends every outgoing request to a file as one JSON line `{"method","url","body"}`.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

/// What a recorded two-step verification PIN reads.
pub const REDACTED_PIN: &str = "000000";

/// Query parameters whose values are secrets and are never written.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "input_token",
    "client_secret",
    "code",
    "appsecret_proof",
    "fb_exchange_token",
];

impl Recorder {
    /// A recorder appending to `path`.
    pub fn open(path: PathBuf) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Recorder {
            path,
            file: Mutex::new(file),
        })
    }

    /// A recorder for `WA_RECORD_REQUESTS`, when set.
    pub fn from_env() -> std::io::Result<Option<Self>> {
        match std::env::var_os(RECORD_ENV) {
            Some(p) if !p.is_empty() => Self::open(PathBuf::from(p)).map(Some),
            _ => Ok(None),
        }
    }

    /// The file it appends to.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Append one request. Headers (and so the bearer token) are never written. A
    /// multipart body is written as its fields (a file as its size), other binary
    /// bodies as their size.
    pub fn record(&self, method: &str, uri: &http::Uri, content_type: Option<&str>, body: &[u8]) {
        use serde_json::Value;
        let mut line = serde_json::json!({ "method": method, "url": redact_url(uri) });
        let ct = content_type.unwrap_or("application/json");
        line["body"] = if body.is_empty() {
            Value::Null
        } else if ct.starts_with("multipart/form-data") {
            line["content_type"] = "multipart/form-data".into();
            match crate::net::multipart(ct, body) {
                Some(parts) => parts
                    .into_iter()
                    .map(|p| {
                        let v = match p.file_name {
                            Some(_) => format!("<{} bytes>", p.data.len()),
                            None => String::from_utf8_lossy(p.data).into_owned(),
                        };
                        (p.name, Value::String(v))
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
                None => Value::String(format!("<malformed multipart, {} bytes>", body.len())),
            }
        } else if ct.starts_with("application/json") {
            let mut v: Value = serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
            // Credentials in a body (a number's two-step PIN, a callback's verify token)
            // are written as placeholders of the same shape, which Meta's spec still checks.
            for (field, placeholder) in [("pin", REDACTED_PIN), ("verify_token", "REDACTED")] {
                if let Some(secret) = v.get_mut(field).filter(|p| p.is_string()) {
                    *secret = Value::String(placeholder.into());
                }
            }
            v
        } else {
            line["content_type"] = ct.into();
            Value::String(format!("<{} bytes>", body.len()))
        };
        if let Some(op) = operation(method, uri.path(), &line["body"]) {
            line["op"] = op.into();
        }
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per line so that concurrent processes appending to the file interleave whole lines.
        let mut bytes = serde_json::to_vec(&line).expect("a JSON value serializes");
        bytes.push(b'\n');
        if let Err(e) = f.write_all(&bytes) {
            tracing::warn!("cannot record a request to {}: {e}", self.path.display());
        }
    }
}

/// The operation of Meta's spec a request is, where its path alone matches several
/// (a phone number's `request_code` is also a pre-verified number's; `POST /{id}` with a
/// PIN is one of six): so that the spec check checks it rather than calling it unknown.
fn operation(method: &str, path: &str, body: &serde_json::Value) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", [_, _, "request_code"]) => Some("requestVerificationCode"),
        ("POST", [_, _, "verify_code"]) => Some("verifyPhoneNumberCode"),
        ("POST", [_, _]) if body.get("pin").is_some() => Some("updatePhoneNumberStatus"),
        _ => None,
    }
}

/// The URL with the values of secret query parameters replaced.
pub fn redact_url(uri: &http::Uri) -> String {
    let s = uri.to_string();
    let Some((base, query)) = s.split_once('?') else {
        return s;
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k) => format!("{k}=REDACTED"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", redacted.join("&"))
}

/// The wasi:http hooks of one tenant instance.
#[derive(Clone)]
pub struct EgressHooks {
    /// The allow-list.
    pub policy: Arc<EgressPolicy>,
    /// The recorder, when recording.
    pub recorder: Option<Arc<Recorder>>,
    /// Keep-alive connections, shared by all instances.
    pub pool: Arc<Pool>,
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send> {
        drop(fut);
        // Called from within the component's call: its span is the request's parent,
        // though the request runs on a task of its own.
        let parent = tracing::Span::current();
        let policy = self.policy.clone();
        let recorder = self.recorder.clone();
        let pool = self.pool.clone();
        Box::new(async move {
            if !policy.allows(request.uri()) {
                tracing::info!("egress denied: {}", redact_url(request.uri()));
                return Err(Error::HttpRequestDenied);
            }
            let (parts, body) = request.into_parts();
            // The guest writes the whole body before it waits for the answer; holding it
            // lets the recorder see it.
            let bytes: Bytes = Limited::new(body, MAX_REQUEST_BODY)
                .collect()
                .await
                .map_err(|_| Error::HttpRequestBodySize(None))?
                .to_bytes();
            if let Some(r) = &recorder {
                let ct = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                r.record(parts.method.as_str(), &parts.uri, ct, &bytes);
            }
            let mut request = http::Request::new(Full::new(bytes));
            *request.method_mut() = parts.method;
            *request.uri_mut() = parts.uri;
            *request.headers_mut() = parts.headers;
            *request.version_mut() = parts.version;
            // The path names ids, never a secret; the query may (an OAuth code), so it
            // is left out.
            let span = tracing::debug_span!(
                parent: &parent,
                "graph",
                method = %request.method(),
                path = request.uri().path()
            );
            let (method, path) = (request.method().clone(), request.uri().path().to_string());
            let started = std::time::Instant::now();
            let res = pool.send(request, options).instrument(span.clone()).await;
            let status = res.as_ref().map_or(0, |r| r.status().as_u16());
            crate::telemetry::histograms().graph(method.as_str(), &path, status, started.elapsed());
            span.in_scope(|| match &res {
                Ok(r) => tracing::debug!(
                    status = r.status().as_u16(),
                    us = started.elapsed().as_micros() as u64,
                    "graph answered"
                ),
                Err(e) => tracing::debug!(error = ?e, "graph request failed"),
            });
            let res = res?;
            let done: IoFuture = Box::new(async { Ok(()) });
            let res = res.map(|b| Full::new(b).map_err(|never| match never {}).boxed_unsync());
            Ok((res, done))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_are_allowed() {
        let mut p = EgressPolicy::default();
        assert!(
            p.allows(
                &"https://graph.facebook.com/v23.0/1/messages"
                    .parse()
                    .unwrap()
            )
        );
        assert!(p.allows(&"https://GRAPH.facebook.com:443/x".parse().unwrap()));
        for denied in [
            "http://graph.facebook.com/x",
            "https://graph.facebook.com:8443/x",
            "https://evil.example/x",
            "http://127.0.0.1:9/x",
        ] {
            assert!(!p.allows(&denied.parse().unwrap()), "{denied}");
        }
        assert!(p.allows(&"https://scontent.xx.fbcdn.net/m1/v/t0".parse().unwrap()));
        for denied in [
            "https://fbcdn.net/x",
            "https://evilfbcdn.net/x",
            "https://fbcdn.net.evil.example/x",
            "http://scontent.xx.fbcdn.net/x",
        ] {
            assert!(!p.allows(&denied.parse().unwrap()), "{denied}");
        }
        assert!(p.allow("https://*.net").is_err());
        p.allow("http://127.0.0.1:9").unwrap();
        assert!(p.allows(&"http://127.0.0.1:9/x".parse().unwrap()));
        assert!(!p.allows(&"http://127.0.0.1:10/x".parse().unwrap()));
        assert!(p.allow("ftp://x").is_err());
        assert!(p.allow("http://x/path").is_err());
    }

    #[test]
    fn secret_query_values_are_redacted() {
        let u: http::Uri = "https://graph.facebook.com/v23.0/oauth/access_token?client_id=1&client_secret=s3&code=c0de".parse().unwrap();
        let r = redact_url(&u);
        assert!(!r.contains("s3") && !r.contains("c0de"), "{r}");
        assert!(r.contains("client_id=1"));
    }

    #[test]
    fn a_recorded_pin_is_zeros_and_the_rest_of_the_body_stays() {
        let dir = std::env::temp_dir().join(format!("wa-recorder-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        let rec = Recorder::open(path.clone()).unwrap();
        let uri: http::Uri = "https://graph.facebook.com/v23.0/1/register"
            .parse()
            .unwrap();
        rec.record(
            "POST",
            &uri,
            Some("application/json"),
            br#"{"messaging_product":"whatsapp","pin":"246813"}"#,
        );
        rec.record(
            "POST",
            &uri,
            Some("application/json"),
            br#"{"override_callback_uri":"https://a","verify_token":"vt-s3cret"}"#,
        );
        let line = std::fs::read_to_string(&path).unwrap();
        assert!(
            !line.contains("246813") && !line.contains("vt-s3cret"),
            "{line}"
        );
        assert!(
            line.contains(r#""pin":"000000""#) && line.contains("messaging_product"),
            "{line}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
