//! The shape of a Graph API request, with the helpers every operation uses to build one
//! and to read Meta's answer. The tenant's settings are in `settings`, node ids are
//! checked in `ids`.

use super::error::{Error, from_response};
use serde::Deserialize;

/// HTTP methods the Graph API is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// DELETE
    Delete,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Which of the tenant's tokens authorizes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The WhatsApp access token.
    Access,
    /// The catalog token, falling back to the access token.
    Catalog,
    /// The app's own token, `{app-id}|{app-secret}` (`debug_token`).
    App,
    /// None: the request carries its credentials itself (the OAuth code exchange).
    None,
}

/// How the token is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer {token}` (the Graph API).
    Bearer,
    /// `Authorization: OAuth {token}` (resumable uploads, `/upload:{id}`).
    OAuth,
}

/// A request to make: what the adapter sends, with the token it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// The body, for POST.
    pub body: Option<Vec<u8>>,
    /// The body's `Content-Type` (`application/json` unless said otherwise).
    pub content_type: Option<String>,
    /// Other headers (`file_offset` for upload chunks).
    pub headers: Vec<(String, String)>,
    /// Which of the tenant's tokens authorizes it.
    pub credential: Credential,
    /// How the token is presented.
    pub auth: Auth,
}

impl Request {
    /// A `method` request of `url` with no body.
    pub fn new(method: Method, url: String) -> Self {
        Request {
            method,
            url,
            body: None,
            content_type: None,
            headers: Vec::new(),
            credential: Credential::Access,
            auth: Auth::Bearer,
        }
    }

    /// A GET of `url`.
    pub fn get(url: String) -> Self {
        Request::new(Method::Get, url)
    }

    /// A DELETE of `url`.
    pub fn delete(url: String) -> Self {
        Request::new(Method::Delete, url)
    }

    /// A POST of a JSON value to `url`.
    pub fn post_json(url: String, body: &serde_json::Value) -> Self {
        let json = super::encoding::json_bytes(body);
        Request::post(url, "application/json".into(), json)
    }

    /// A POST of `body` (of `content_type`) to `url`.
    pub fn post(url: String, content_type: String, body: Vec<u8>) -> Self {
        Request {
            body: Some(body),
            content_type: Some(content_type),
            ..Request::new(Method::Post, url)
        }
    }
}

/// Percent-encode a query component (RFC 3986 unreserved characters stay).
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Read a Graph response: a 2xx body as `T`, anything else as the classified error.
pub fn read_json<T: for<'de> Deserialize<'de>>(status: u16, body: &[u8]) -> Result<T, Error> {
    if !(200..300).contains(&status) {
        return Err(from_response(status, body));
    }
    serde_json::from_slice(body).map_err(|e| {
        Error::Other(format!(
            "unexpected Graph response ({e}): {}",
            super::error::excerpt(body)
        ))
    })
}

/// Check a paging cursor a caller hands back (`after`): only what Meta's cursors hold, so
/// that it cannot change the request's path or query.
pub fn check_cursor(field: &str, cursor: &str) -> Result<(), Error> {
    if cursor.is_empty()
        || cursor.len() > 1024
        || !cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b))
    {
        return Err(Error::invalid(field, "not a cursor Meta gave"));
    }
    Ok(())
}

/// Graph's `paging` object: only the `after` cursor matters, and only when a `next`
/// page exists.
#[derive(Debug, Deserialize, Default)]
pub struct Paging {
    cursors: Option<Cursors>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cursors {
    after: Option<String>,
}

impl Paging {
    /// The cursor of the next page, if there is a next page.
    pub fn next_cursor(self) -> Option<String> {
        self.next.as_ref()?;
        self.cursors.and_then(|c| c.after)
    }
}

/// A JSON value as text (`null` as empty): Meta sends some ids and codes as numbers.
pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The items of an answer's `data` list (none when it has none).
pub fn data_items(v: &serde_json::Value) -> &[serde_json::Value] {
    v["data"].as_array().map_or(&[][..], Vec::as_slice)
}

/// The `after` cursor of an answer's next page (none on the last), read through `Value`.
pub fn next_after(v: &serde_json::Value) -> Option<String> {
    v["paging"]["next"].as_str()?;
    v["paging"]["cursors"]["after"].as_str().map(str::to_string)
}

/// A number in an answer as `u64`, whether Meta wrote it as a number or as text.
pub fn json_u64(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        .unwrap_or(0)
}

/// Where Meta serves signed files (a flow's JSON, QR images; `*.fbcdn.net`).
pub const CDN_SUFFIX: &str = ".fbcdn.net";

/// A GET of a signed file URL Meta gave: on its CDN, on `also` (an origin such as the
/// profile picture host) or the tenant's Graph origin (the sandbox). It carries no token:
/// the URL is its own credential, and the token goes only to Meta's Graph origin.
pub fn signed_download(
    s: &super::settings::Settings,
    url: &str,
    also: Option<&str>,
) -> Result<Request, Error> {
    let at = |origin: &str| url.strip_prefix(origin).is_some_and(|r| r.starts_with('/'));
    let on_cdn = url.strip_prefix("https://").is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.contains(['@', ':']) && host.ends_with(CDN_SUFFIX)
    });
    if !(on_cdn || also.is_some_and(at) || at(&s.graph_origin)) {
        return Err(Error::Other(format!(
            "not fetched: {} is not Meta's",
            url.split('?').next().unwrap_or("")
        )));
    }
    let mut req = Request::get(url.to_string());
    req.credential = Credential::None;
    Ok(req)
}

/// A signed download's status: an error unless 2xx (the URL may have expired).
pub fn check_download(status: u16) -> Result<(), Error> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Error::Other(format!("download: HTTP {status} (try again)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode_query("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn paging_has_a_cursor_only_when_there_is_a_next_page() {
        let p: Paging = serde_json::from_str(r#"{"cursors":{"before":"b","after":"a"}}"#).unwrap();
        assert_eq!(p.next_cursor(), None);
        let p: Paging =
            serde_json::from_str(r#"{"cursors":{"after":"a"},"next":"https://x"}"#).unwrap();
        assert_eq!(p.next_cursor(), Some("a".into()));
    }
}
