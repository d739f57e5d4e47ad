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
use tokio::net::TcpListener;

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

/// Accept connections on `listener` and answer each request with `handle(state, req)`,
/// until `shutdown` resolves. A connection's error ends that connection only.
pub async fn serve<S, F, Fut>(
    listener: TcpListener,
    state: Arc<S>,
    handle: F,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => r?,
            () = &mut shutdown => return Ok(()),
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let fut = handle(state.clone(), req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await
            {
                tracing::debug!("connection: {e}");
            }
        });
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
