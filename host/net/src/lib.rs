//! The host's HTTP plumbing: an accept loop over hyper's HTTP/1 connections, small
//! response builders, and form decoding. The webhook server, the admin API and the
//! OAuth callback run on it; the sandbox (Meta's double) uses it too.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// A response with a full body.
pub type Resp = Response<Full<Bytes>>;

/// A response of `content_type`.
pub fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A `text/plain` response.
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    respond(status, "text/plain; charset=utf-8", body)
}

/// An `application/json` response.
pub fn json(status: StatusCode, v: &serde_json::Value) -> Resp {
    respond(status, "application/json", v.to_string())
}

/// What the accept loop holds a connection to. The defaults are for a public endpoint
/// that Meta posts to: Meta sends a whole request at once and retries what is refused,
/// so a client that dribbles, idles or piles up connections loses them, not us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From a connection's opening, or the end of its last response, to the end of the
    /// next request's headers: one timer (hyper's) bounds both a slow header and an idle
    /// keep-alive connection. Past it the connection is closed.
    pub header_timeout: Duration,
    /// To read a request's whole body ([`read_body`]); past it, 408.
    pub body_timeout: Duration,
    /// Connections open at once. One more is answered 503 (`Connection: close`) and
    /// closed at once.
    pub max_connections: usize,
    /// How long a shutdown waits for the requests in flight to be answered.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// What answers a connection past [`Limits::max_connections`].
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 32\r\nretry-after: 1\r\n\r\ntoo many connections; try again\n";

/// Accept connections on `listener` and answer each request with `handle(state, req)`,
/// within `limits`, until `shutdown` resolves. A connection's error ends that connection
/// only. On shutdown the listener closes, every open connection finishes the request
/// it is in (an idle one closes at once), and this returns when all have, or when
/// [`Limits::drain_timeout`] has passed.
pub async fn serve<S, F, Fut>(
    listener: TcpListener,
    limits: Limits,
    state: Arc<S>,
    handle: F,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                // Out of file descriptors and the like: wait, do not spin or stop serving.
                Err(e) if is_transient(&e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let state = state.clone();
        let svc = hyper::service::service_fn(move |req| {
            let fut = handle(state.clone(), req);
            async move { Ok::<_, Infallible>(fut.await) }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        let conn = graceful.watch(http.serve_connection(io, svc));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown: requests still in flight after {:?}; leaving them",
            limits.drain_timeout
        );
    }
    Ok(())
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory
    ) || e.raw_os_error().is_some_and(|n| n == 23 || n == 24) // ENFILE, EMFILE
}

/// Answer a connection past the cap with 503 and close it, without waiting on the
/// client: one write, bounded in time.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the limit (bytes).
    TooLarge(usize),
    /// Not all there within the body timeout.
    TimedOut(Duration),
    /// The connection failed while it was read.
    Failed(String),
}

impl BodyError {
    /// The status that answers it: 413, 408 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Failed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(max) => write!(f, "the body exceeds {max} bytes"),
            BodyError::TimedOut(t) => write!(f, "the body did not arrive within {t:?}"),
            BodyError::Failed(e) => write!(f, "the body could not be read: {e}"),
        }
    }
}

/// A request's whole body, at most `max` bytes, read within `within`.
pub async fn read_body(body: Incoming, max: usize, within: Duration) -> Result<Bytes, BodyError> {
    use http_body_util::{BodyExt, Limited};
    match tokio::time::timeout(within, Limited::new(body, max).collect()).await {
        Err(_) => Err(BodyError::TimedOut(within)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(max)),
        Ok(Err(e)) => Err(BodyError::Failed(e.to_string())),
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// The field's name.
    pub name: String,
    /// The file's name, for a file.
    pub file_name: Option<String>,
    /// The content.
    pub data: &'a [u8],
}

/// The parts of a `multipart/form-data` body (its `Content-Type` names the boundary);
/// none when it is not well formed.
pub fn multipart<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let find = |hay: &[u8], from: usize, needle: &[u8]| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let mut out = Vec::new();
    let mut at = find(body, 0, d)? + d.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(out);
        }
        let head_start = at + 2; // CRLF after the delimiter
        let head_end = find(body, head_start, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(body.get(head_start..head_end)?).into_owned();
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?
            .to_string();
        let next = find(body, head_end + 4, d)?;
        let content = body.get(head_end + 4..next.checked_sub(2)?)?;
        let attr = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_string())
            })
        };
        out.push(Part {
            name: attr("name")?,
            file_name: attr("filename"),
            data: content,
        });
        at = next + d.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_read() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.png\"\r\nContent-Type: image/png\r\n\r\n\x00\x01--X\r\n--XX--\r\n";
        let p = multipart("multipart/form-data; boundary=XX", body).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].data), ("a", &b"1"[..]));
        assert_eq!(p[1].file_name.as_deref(), Some("f.png"));
        assert_eq!(p[1].data, b"\x00\x01--X");
        assert!(multipart("multipart/form-data; boundary=XX", b"junk").is_none());
    }
}

/// An `application/x-www-form-urlencoded` component decoded: `+` is a space, `%XX` a
/// byte; a `%` not followed by two hex digits stays as it is.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) << 4 | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query parameter, form-decoded (the first, when it repeats).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| form_decode(k) == name)
        .map(|(_, v)| form_decode(v))
}

#[cfg(test)]
mod form_tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
    }

    #[test]
    fn form_components_decode() {
        assert_eq!(form_decode("a+b%20c%2F"), "a b c/");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz"), "%zz");
        assert_eq!(
            query_param("hub.mode=subscribe&hub.challenge=a%2Bb", "hub.challenge").as_deref(),
            Some("a+b")
        );
    }
}
