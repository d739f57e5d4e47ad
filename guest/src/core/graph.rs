//! The tenant's settings and the shape of a Graph API request, with the helpers every
//! operation uses to build one and to read Meta's answer.

use super::error::{Error, from_response};
use serde::Deserialize;

/// The Graph origin used unless the host configures another (the sandbox).
pub const DEFAULT_ORIGIN: &str = "https://graph.facebook.com";
/// The Graph API version this component speaks.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// The tenant's settings, as the host binds them (`wasi:config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The tenant id the host bound.
    pub tenant_id: String,
    /// The sending number's id.
    pub phone_number_id: Option<String>,
    /// The WABA id.
    pub waba_id: Option<String>,
    /// The Meta app's id (OAuth, `debug_token`, resumable uploads).
    pub app_id: Option<String>,
    /// Every number the tenant sends from, the default first (`phone-number-ids`,
    /// comma-separated; the default `phone-number-id` is always one of them).
    pub phone_number_ids: Vec<String>,
    /// Where Meta's OAuth dialog is, when not derived from the Graph origin.
    pub oauth_dialog_origin: Option<String>,
    /// The display number.
    pub display_phone_number: Option<String>,
    /// `https://graph.facebook.com`, or the sandbox's origin.
    pub graph_origin: String,
    /// `v23.0`.
    pub api_version: String,
    /// The Meta app secret that signs webhooks.
    pub app_secret: Option<String>,
    /// The webhook subscription verify token.
    pub verify_token: Option<String>,
    /// Inbound texts that stop marketing messages (whole text, any case).
    pub opt_out_keywords: Vec<String>,
    /// Inbound texts that lift a stop.
    pub opt_in_keywords: Vec<String>,
    /// The 24-hour window policy (`window-policy`: `enforce` or `off`).
    pub window_policy: super::policy::WindowPolicy,
}

fn keywords(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

impl Settings {
    /// Settings from `wasi:config` pairs; unknown keys are ignored, empty values unset.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut s = Settings {
            graph_origin: DEFAULT_ORIGIN.into(),
            api_version: DEFAULT_API_VERSION.into(),
            opt_out_keywords: super::webhook::state::DEFAULT_OPT_OUT
                .iter()
                .map(|k| k.to_string())
                .collect(),
            opt_in_keywords: super::webhook::state::DEFAULT_OPT_IN
                .iter()
                .map(|k| k.to_string())
                .collect(),
            ..Settings::default()
        };
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "tenant-id" => s.tenant_id = v,
                "phone-number-id" => s.phone_number_id = Some(v),
                "waba-id" => s.waba_id = Some(v),
                "app-id" => s.app_id = Some(v),
                "phone-number-ids" => s.phone_number_ids = keywords(&v),
                "oauth-dialog-origin" => {
                    s.oauth_dialog_origin = Some(v.trim_end_matches('/').to_string())
                }
                "display-phone-number" => s.display_phone_number = Some(v),
                "graph-origin" => s.graph_origin = v.trim_end_matches('/').to_string(),
                "api-version" => s.api_version = v,
                "app-secret" => s.app_secret = Some(v),
                "verify-token" => s.verify_token = Some(v),
                "opt-out-keywords" => s.opt_out_keywords = keywords(&v),
                "opt-in-keywords" => s.opt_in_keywords = keywords(&v),
                "window-policy" => s.window_policy = super::policy::WindowPolicy::parse(&v),
                _ => {}
            }
        }
        if let Some(d) = &s.phone_number_id {
            s.phone_number_ids.retain(|n| n != d);
            s.phone_number_ids.insert(0, d.clone());
        } else if let Some(first) = s.phone_number_ids.first() {
            s.phone_number_id = Some(first.clone());
        }
        s
    }

    /// The full URL of a Graph path (`{origin}/{version}/{path}`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.graph_origin, self.api_version, path)
    }

    /// The phone number id, or `NotConfigured`.
    pub fn phone_number_id(&self) -> Result<&str, Error> {
        self.phone_number_id
            .as_deref()
            .ok_or_else(|| Error::NotConfigured("the tenant has no phone-number-id".into()))
    }

    /// Whether an event with these routing keys belongs to this tenant: one of its phone
    /// numbers, or (for changes without one, like template updates) its WABA. A tenant
    /// bound to neither (a bare parser) takes everything.
    pub fn owns(&self, waba_id: &str, phone_number_id: Option<&str>) -> bool {
        match (
            self.phone_number_ids.is_empty(),
            &self.waba_id,
            phone_number_id,
        ) {
            (true, None, _) => true,
            (false, _, Some(p)) => self.phone_number_ids.iter().any(|mine| mine == p),
            (true, Some(_), Some(_)) => false,
            (_, Some(w), None) => w == waba_id,
            (false, None, None) => false,
        }
    }

    /// These settings with `phone_number_id` as the sending number; it must be one of the
    /// tenant's own (the host binds them), else `InvalidInput`.
    pub fn sending_from(&self, phone_number_id: &str) -> Result<Settings, Error> {
        if !self.phone_number_ids.iter().any(|n| n == phone_number_id) {
            return Err(Error::invalid(
                "from",
                format!(
                    "{phone_number_id:?} is not one of the tenant's numbers ({})",
                    self.phone_number_ids.join(", ")
                ),
            ));
        }
        Ok(Settings {
            phone_number_id: Some(phone_number_id.to_string()),
            ..self.clone()
        })
    }

    /// The app id, or `NotConfigured`.
    pub fn app_id(&self) -> Result<&str, Error> {
        self.app_id
            .as_deref()
            .ok_or_else(|| Error::NotConfigured("the tenant has no app-id".into()))
    }

    /// The WABA id, or `NotConfigured`.
    pub fn waba_id(&self) -> Result<&str, Error> {
        self.waba_id
            .as_deref()
            .ok_or_else(|| Error::NotConfigured("the tenant has no waba-id".into()))
    }
}

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
        let json = serde_json::to_vec(body).expect("a serde_json::Value always serializes");
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

/// Check a Graph node id that goes into a URL path: guest callers control it, so it
/// must not be able to change the path (`/`, `?`, `#`, `..`).
pub fn check_node_id<'a>(field: &str, id: &'a str) -> Result<&'a str, Error> {
    if id.is_empty() || id.len() > 128 {
        return Err(Error::invalid(field, "must be 1 to 128 characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b == b':')
        || id.contains("..")
    {
        return Err(Error::invalid(
            field,
            "may hold only letters, digits, '_', '-', '.' and ':'",
        ));
    }
    Ok(id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_meta_and_ignore_empty_values() {
        let s = Settings::from_pairs([
            ("tenant-id".to_string(), "acme".to_string()),
            (
                "graph-origin".to_string(),
                "http://127.0.0.1:9/".to_string(),
            ),
            ("waba-id".to_string(), String::new()),
        ]);
        assert_eq!(s.url("1/messages"), "http://127.0.0.1:9/v23.0/1/messages");
        assert_eq!(s.waba_id, None);
        assert!(matches!(s.waba_id(), Err(Error::NotConfigured(_))));
        assert_eq!(
            Settings::from_pairs([]).url("x"),
            "https://graph.facebook.com/v23.0/x"
        );
    }

    #[test]
    fn node_ids_cannot_escape_their_path_segment() {
        for bad in [
            "",
            "1/messages",
            "..",
            "a?b",
            "a#b",
            "a b",
            &"9".repeat(129),
        ] {
            assert!(check_node_id("media-id", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(check_node_id("id", "upload:MTIz").unwrap(), "upload:MTIz");
    }

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
