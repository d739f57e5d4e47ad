//! A loopback emulation of the Graph API endpoints the component uses, so that anything
//! can be tried with no Meta account. It checks the bearer token and the body, answers
//! with Meta's shapes and Graph error objects, and posts webhooks signed with the app
//! secret exactly as Meta does: `sent`, `delivered`, `read` for each accepted message,
//! an inbound reply when asked (`POST /sandbox/inbound`, or `auto_reply`). Businesses
//! connect through its OAuth dialog and code exchange ([`connection`]); templates, media,
//! flows and catalogs keep their state as Meta's do.

pub mod business;
mod calling;
mod catalog;
mod coexistence;
pub mod connection;
mod flows;
pub mod groups;
mod insights;
mod limits;
mod media;
use whatsapp_net as net;
mod templates;

use crate::net::Resp;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use whatsapp_guest::core::webhook::{SIGNATURE_HEADER, sign};

/// How the sandbox behaves.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The app secret webhooks are signed with.
    pub app_secret: String,
    /// A bearer token always accepted (as a system user's would be); tokens issued
    /// through the OAuth dialog are accepted too, until revoked.
    pub access_token: String,
    /// The Meta app's id: the OAuth dialog and code exchange take only this one, with
    /// `app_secret` as its client secret.
    pub app_id: String,
    /// Where webhooks go (`http://127.0.0.1:PORT/webhook`); none sends none.
    pub webhook_url: Option<String>,
    /// The WABA id in webhooks.
    pub waba_id: String,
    /// The business's display number in webhooks.
    pub display_phone_number: String,
    /// After `read`, the recipient answers each text with an inbound reply.
    pub auto_reply: bool,
    /// The pause between a message's status webhooks.
    pub status_delay: Duration,
    /// Like Meta, accept a free-form message to a customer who has not written in 24
    /// hours (through `/sandbox/inbound`), then fail it with a 131047 status webhook.
    pub enforce_window: bool,
    /// How long a submitted or edited template stays `PENDING` before its verdict (a
    /// name containing `reject` is rejected) and the status webhook.
    pub template_review: Duration,
    /// How long a media URL (from `GET /{media-id}`) can be fetched.
    pub media_url_ttl: Duration,
    /// The token catalog endpoints take instead of `access_token` (a catalog connected
    /// with its own token); none: `access_token`.
    pub catalog_token: Option<String>,
    /// Check an override callback with Meta's GET handshake before subscribing it (off
    /// only where the sandbox must not make requests, as under a fuzzer).
    pub check_callbacks: bool,
    /// Meta's throughput per number, messages a second (a second's worth may come at
    /// once): a send past it is refused with 130429. None: no limit.
    pub mps_per_number: Option<u32>,
    /// Meta's pair rate, a burst and then one message per interval to the same user: a
    /// send past it is refused with 131056. None: no limit.
    pub pair_limit: Option<(u32, Duration)>,
    /// One user in this many (by their number's value) has reached Meta's per-user
    /// marketing limit: a marketing template to them is accepted, then fails with a
    /// 131049 status webhook. None: nobody.
    pub marketing_limited_one_in: Option<u64>,
    /// The business portfolio's messaging limit: unique users its numbers may reach
    /// outside a customer-service window in a moving 24 hours (the numbers'
    /// `whatsapp_business_manager_messaging_limit`). A send past it is refused (the
    /// sandbox's own error, counted in `GET /sandbox/limits`). None: unlimited.
    pub messaging_limit: Option<u32>,
    /// Meta pauses the named template after this many accepted sends of it (with the
    /// webhook); later sends of it are refused with 132015.
    pub pause_template_after: Option<(String, u64)>,
    /// Statuses arrive late, twice and out of order: each message's in a shuffled order,
    /// one of them twice, each after up to ten `status_delay`s.
    pub chaotic_statuses: bool,
    /// How long a webhook the endpoint refused is tried again (Meta keeps trying for
    /// days), doubling the pause from 50 ms up to a second; at least five tries.
    pub webhook_retry_for: Duration,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("webhook_url", &self.webhook_url)
            .field("waba_id", &self.waba_id)
            .finish_non_exhaustive()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            app_secret: "sandbox-app-secret".into(),
            access_token: "sandbox-access-token".into(),
            app_id: SANDBOX_APP_ID.into(),
            webhook_url: None,
            waba_id: "102290129340398".into(),
            display_phone_number: "15550783881".into(),
            auto_reply: false,
            status_delay: Duration::from_millis(20),
            enforce_window: true,
            template_review: Duration::from_millis(50),
            media_url_ttl: Duration::from_secs(300),
            catalog_token: None,
            check_callbacks: true,
            mps_per_number: None,
            pair_limit: None,
            marketing_limited_one_in: None,
            messaging_limit: None,
            pause_template_after: None,
            chaotic_statuses: false,
            webhook_retry_for: Duration::from_millis(1_550),
        }
    }
}

/// The sandbox app's id.
pub const SANDBOX_APP_ID: &str = "740271835411211";
/// The sandbox WABA's registered phone number (what webhooks and the demo use).
pub const DEFAULT_PHONE_NUMBER_ID: &str = "106540352242922";
/// The permissions a connection gets with an Embedded Signup configuration.
const REQUIRED_SCOPES: [&str; 2] = [
    "whatsapp_business_management",
    "whatsapp_business_messaging",
];

/// Largest request body the sandbox reads (Meta takes documents of 100 MB).
const MAX_BODY: usize = 110 << 20;
/// Meta's text limit.
const TEXT_MAX: usize = 4096;

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// The sandbox's state: its configuration and what it remembers between requests.
/// [`serve`] puts one behind a listener; [`Sandbox::answer`] takes a request's parts directly.
pub struct Sandbox {
    config: SandboxConfig,
    client: Client,
    /// Sends seen per throttled test recipient.
    throttled: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// When each (phone number id, customer) last wrote, for the 24-hour window.
    last_inbound: std::sync::Mutex<std::collections::HashMap<(String, String), u64>>,
    /// Meta's limits as kept here, and each message's history.
    limits: std::sync::Mutex<limits::Limits>,
    /// The users each phone number id blocked.
    blocked:
        std::sync::Mutex<std::collections::HashMap<String, std::collections::BTreeSet<String>>>,
    /// The message templates.
    templates: std::sync::Mutex<Vec<templates::Stored>>,
    /// Sends counted for analytics; WABAs with analytics on, or onboarded to MM Lite.
    insights: std::sync::Mutex<insights::Insights>,
    /// WhatsApp Flows.
    flows: std::sync::Mutex<Vec<flows::Stored>>,
    /// Call permissions and calls.
    calls: std::sync::Mutex<calling::Calls>,
    /// Each phone number id's automation, QR codes, commerce and other settings.
    business: std::sync::Mutex<business::Numbers>,
    /// Each phone number id's data-exchange public key (PEM).
    encryption_keys: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Catalogs, by id.
    catalogs: std::sync::Mutex<std::collections::HashMap<String, catalog::Catalog>>,
    /// Uploaded media, by id.
    media: std::sync::Mutex<std::collections::HashMap<String, media::Stored>>,
    /// Resumable uploads in progress, by session id.
    uploads: std::sync::Mutex<std::collections::HashMap<String, media::Upload>>,
    /// `http://host:port` the sandbox serves on (media URLs point there).
    origin: std::sync::OnceLock<String>,
    /// Media URLs still to be handed out already expired (`POST /sandbox/media-expiry`).
    expire_next: std::sync::atomic::AtomicU32,
    /// OAuth codes and tokens, the WABA's numbers and subscriptions.
    connections: std::sync::Mutex<connection::Connections>,
    /// Groups, by id.
    groups: std::sync::Mutex<groups::Groups>,
    /// The (phone number id, sync type) syncs requested of the WhatsApp Business app.
    syncs: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
}

/// A test recipient throttled (130429) on its first two sends, then accepted.
pub const THROTTLED_TWICE: &str = "15550001429";
/// A test recipient always throttled (130429).
pub const ALWAYS_THROTTLED: &str = "15550009429";

/// Meta's window: free-form messages within 24 hours of the customer's last message.
const WINDOW_SECS: u64 = 24 * 3600;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source");
    b
}

/// An `fbtrace_id` shaped like Meta's.
fn fbtrace_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<9>())
}

/// A `wamid.` id shaped like Meta's (base64 of the recipient and random bytes).
pub fn new_wamid(wa_id: &str) -> String {
    let mut raw = vec![0x1c, 0x18, wa_id.len() as u8];
    raw.extend_from_slice(wa_id.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    raw.extend(hex::encode_upper(random_bytes::<9>()).into_bytes());
    raw.push(0);
    format!(
        "wamid.{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A Graph error object (`{"error": {...}}`).
pub fn graph_error_json(code: i32, subcode: Option<i32>, message: &str) -> Value {
    let mut e = json!({ "message": message, "type": "OAuthException", "code": code, "fbtrace_id": fbtrace_id() });
    if let Some(s) = subcode {
        e["error_subcode"] = s.into();
    }
    json!({ "error": e })
}

/// A Graph error response.
pub fn graph_error(status: StatusCode, code: i32, subcode: Option<i32>, message: &str) -> Resp {
    net::json(status, &graph_error_json(code, subcode, message))
}

fn invalid(message: &str) -> Resp {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        None,
        &format!("(#100) {message}"),
    )
}

/// Serve the sandbox on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: SandboxConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_state(listener, Sandbox::new(config), shutdown).await
}

/// [`serve`] a sandbox made beforehand (to read its counts while it serves).
pub async fn serve_state(
    listener: TcpListener,
    sandbox: Arc<Sandbox>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let _ = sandbox
        .origin
        .set(format!("http://{}", listener.local_addr()?));
    net::serve(listener, net::Limits::default(), sandbox, handle, shutdown).await
}

impl Sandbox {
    /// Sends refused for Meta's throughput or pair rate so far (`GET /sandbox/limits`).
    pub fn limits_refused(&self) -> u64 {
        limits::refused(self)
    }

    /// A sandbox that answers as `config` says (call from within a tokio runtime when
    /// `config.webhook_url` is set: webhooks are sent from spawned tasks).
    pub fn new(config: SandboxConfig) -> Arc<Self> {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Arc::new(Sandbox {
            connections: std::sync::Mutex::new(connection::seed(&config.display_phone_number)),
            templates: std::sync::Mutex::new(templates::seed(&config.waba_id)),
            config,
            client,
            last_inbound: Default::default(),
            throttled: Default::default(),
            blocked: Default::default(),
            limits: Default::default(),
            insights: Default::default(),
            flows: Default::default(),
            encryption_keys: Default::default(),
            business: Default::default(),
            calls: Default::default(),
            catalogs: Default::default(),
            media: Default::default(),
            uploads: Default::default(),
            origin: std::sync::OnceLock::new(),
            expire_next: Default::default(),
            groups: Default::default(),
            syncs: Default::default(),
        })
    }
}

impl Sandbox {
    /// Where the sandbox serves (`http://127.0.0.1` until [`serve`] knows its port).
    fn origin(&self) -> &str {
        self.origin.get().map_or("http://127.0.0.1", String::as_str)
    }
}

fn unknown_object(verb: &str, id: &str) -> Resp {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        ),
    )
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .and_then(|r| r.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

async fn handle(state: Arc<Sandbox>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return graph_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                100,
                None,
                "(#100) Request body too large",
            );
        }
    };
    let headers: Vec<(&str, &str)> = ["authorization", "content-type", "file_offset"]
        .into_iter()
        .filter_map(|n| Some((n, parts.headers.get(n)?.to_str().ok()?)))
        .collect();
    state
        .answer(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &headers,
            &body,
        )
        .await
}

impl Sandbox {
    /// Answer one request from its parts, as [`serve`] does once it has read the body:
    /// a Graph response or a Graph error object, never a server error. `headers` are
    /// (lowercase name, value): `authorization`, `content-type`, `file_offset`.
    pub async fn answer(
        self: &Arc<Self>,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let state = self;
        let header = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        // Resumable uploads take `OAuth {token}`; everything else `Bearer {token}`.
        let upload = segments.len() == 2 && segments[1].starts_with("upload:");
        let scheme = if upload { "OAuth " } else { "Bearer " };
        let catalog_call = segments.len() == 3
            && ["items_batch", "products", "check_batch_request_status"].contains(&segments[2]);
        let token = match (&state.config.catalog_token, catalog_call) {
            (Some(t), true) => t,
            _ => &state.config.access_token,
        };
        let presented = header("authorization").and_then(|v| v.strip_prefix(scheme));
        let issued = presented.and_then(|t| connection::issued_ok(state, t));
        let authorized = presented.is_some_and(|t| t == token) || issued == Some(true);
        if method == "POST" && segments == ["sandbox", "revoke-tokens"] {
            return connection::revoke_all(state);
        }
        if method == "GET" && segments == ["dialog", "oauth"] {
            return connection::dialog(state, query);
        }
        if method == "POST" && segments == ["sandbox", "inbound"] {
            return control_inbound(state, body).await;
        }
        if method == "POST" && segments == ["sandbox", "token-expiry"] {
            return connection::set_expiry(state, body);
        }
        if method == "POST" && segments == ["sandbox", "group-join"] {
            return groups::join(state, body);
        }
        if method == "POST" && segments == ["sandbox", "media-expiry"] {
            return media::expire_next(state, body);
        }
        if let (true, ["sandbox", "media", id]) = (method == "GET", segments.as_slice()) {
            return media::download(state, id, query, authorized);
        }
        if method == "POST" && segments == ["sandbox", "template-pause"] {
            return templates::pause(state, body).await;
        }
        if method == "POST" && segments == ["sandbox", "mm-lite-terms"] {
            return insights::sign_terms(state, body).await;
        }
        if method == "GET" && segments == ["sandbox", "sends"] {
            return insights::sends(state);
        }
        if method == "GET" && segments == ["sandbox", "limits"] {
            return limits::counts(state);
        }
        if method == "POST" && segments == ["sandbox", "incoming-call"] {
            return calling::incoming(state, body);
        }
        if let (true, ["sandbox", "profile-picture", _]) = (method == "GET", segments.as_slice()) {
            return business::picture(header("authorization").is_some());
        }
        if let (true, ["sandbox", "flow-assets", id]) = (method == "GET", segments.as_slice()) {
            return flows::download(state, id, query, header("authorization").is_some());
        }
        let Some((version, rest)) = segments.split_first().filter(|(v, _)| is_version(v)) else {
            return graph_error(
                StatusCode::BAD_REQUEST,
                2500,
                None,
                &format!("Unknown path components: {path}"),
            );
        };
        let _ = version;
        // OAuth and token inspection carry their own credentials.
        match (method, rest) {
            ("GET", ["dialog", "oauth"]) => return connection::dialog(state, query),
            ("GET", ["oauth", "access_token"]) => return connection::exchange(state, query),
            ("GET", ["debug_token"]) => {
                return connection::debug_token(state, query, header("authorization"));
            }
            _ => {}
        }
        if issued == Some(false) {
            // A token the sandbox issued, since revoked or expired.
            if let Some(r) = presented.and_then(|t| connection::refusal(state, t)) {
                return r;
            }
        }
        if !authorized {
            return graph_error(
                StatusCode::UNAUTHORIZED,
                190,
                None,
                "Invalid OAuth access token - Cannot parse access token",
            );
        }
        match (method, rest) {
            ("POST", [pnid, "messages"]) => messages(state, pnid, body),
            ("POST", [_pnid, "media"]) => media::upload(state, header("content-type"), body),
            ("POST", [_app, "uploads"]) => media::start(state, query),
            ("POST", [id]) if id.starts_with("upload:") => {
                media::chunk(state, id, header("file_offset"), body)
            }
            ("GET", [id]) if id.starts_with("upload:") => media::status(state, id),
            ("DELETE", [id]) => media::delete(state, id)
                .or_else(|| flows::delete(state, id))
                .or_else(|| groups::delete(state, id))
                .unwrap_or_else(|| unknown_object("delete", id)),
            ("POST", [pnid, "marketing_messages"]) => {
                insights::marketing_messages(state, pnid, body)
            }
            ("GET", ["message_template_library"]) => templates::library(query),
            ("GET", [pnid, "message_history"]) => limits::history(state, pnid, query),
            ("GET", [waba, "message_templates"]) => templates::list(state, waba, query),
            ("POST", [waba, "message_templates"]) => templates::create(state, waba, body),
            ("DELETE", [waba, "message_templates"]) => templates::delete(state, waba, query),
            ("POST", [waba, "upsert_message_templates"]) => templates::upsert(state, waba, body),
            ("POST", [waba, "migrate_message_templates"]) => templates::migrate(state, waba, query),
            ("GET", [waba, "template_analytics"]) => {
                insights::template_analytics(state, waba, query)
            }
            ("GET", [id, "compare"]) => {
                insights::compare(state, id, query).unwrap_or_else(|| unknown_object("get", id))
            }
            ("POST", [id, "unpause"]) => {
                templates::unpause(state, id).unwrap_or_else(|| unknown_object("post", id))
            }
            ("GET", [waba, "flows"]) => flows::list(state, waba),
            ("POST", [waba, "flows"]) => flows::create(state, waba, header("content-type"), body),
            ("POST", [waba, "migrate_flows"]) => {
                flows::migrate(state, waba, header("content-type"), body)
            }
            ("GET", [id, "assets"]) => {
                flows::assets(state, id).unwrap_or_else(|| unknown_object("get", id))
            }
            ("GET", [pnid, "whatsapp_business_encryption"]) => flows::get_key(state, pnid),
            ("POST", [pnid, "whatsapp_business_encryption"]) => {
                flows::set_key(state, pnid, header("content-type"), body)
            }
            ("POST", [id, "assets"]) => flows::asset(state, id, header("content-type"), body)
                .unwrap_or_else(|| unknown_object("post", id)),
            ("POST", [id, to @ ("publish" | "deprecate")]) => {
                flows::transition(state, id, to).unwrap_or_else(|| unknown_object("post", id))
            }
            ("GET", [waba, "phone_numbers"]) => connection::numbers(state, waba, query),
            ("POST", [waba, "phone_numbers"]) => connection::add_number(state, waba, body),
            ("GET", [waba, "product_catalogs"]) => business::catalogs(state, waba),
            ("POST", [pnid, "conversational_automation"]) => {
                business::set_automation(state, pnid, body)
            }
            ("GET", [pnid, "message_qrdls"]) => business::list_qr(state, pnid, query),
            ("POST", [pnid, "message_qrdls"]) => business::put_qr(state, pnid, body),
            ("DELETE", [pnid, "message_qrdls", code]) => business::delete_qr(state, pnid, code),
            ("GET", [pnid, "whatsapp_commerce_settings"]) => business::get_commerce(state, pnid),
            ("POST", [pnid, "whatsapp_commerce_settings"]) => {
                business::set_commerce(state, pnid, query)
            }
            ("GET", [pnid, "settings"]) => business::get_settings(state, pnid),
            ("GET", [pnid, "call_permissions"]) => calling::permission(state, pnid, query),
            ("POST", [pnid, "calls"]) => calling::calls(state, pnid, body),
            ("POST", [pnid, "settings"]) => business::set_settings(state, pnid, body),
            ("POST", [id, "register"]) => connection::register(state, id, body),
            ("POST", [id, "deregister"]) => connection::deregister(state, id),
            ("POST", [id, "request_code"]) => connection::request_code(state, id, body),
            ("POST", [id, "verify_code"]) => connection::verify_code(state, id, body),
            ("GET", [id, "whatsapp_business_profile"]) => connection::profile(state, id),
            ("POST", [id, "whatsapp_business_profile"]) => {
                connection::update_profile(state, id, body)
            }
            ("POST", [pnid, "smb_app_data"]) => coexistence::sync(state, pnid, body),
            ("POST", [pnid, "groups"]) => groups::create(state, pnid, body),
            ("GET", [pnid, "groups"]) => groups::list(state, pnid),
            ("GET", [id, "invite_link"]) => groups::invite_link(state, id, false),
            ("POST", [id, "invite_link"]) => groups::invite_link(state, id, true),
            ("DELETE", [id, "participants"]) => groups::remove(state, id, body),
            ("GET", [id, "join_requests"]) => groups::join_requests(state, id),
            ("POST", [id, "join_requests"]) => groups::answer(state, id, body, true),
            ("DELETE", [id, "join_requests"]) => groups::answer(state, id, body, false),
            ("GET", [id, "block_users"]) => blocked_users(state, id),
            ("POST", [id, "block_users"]) => block_users(state, id, body, true),
            ("DELETE", [id, "block_users"]) => block_users(state, id, body, false),
            ("GET", [id, "username"]) => connection::username(state, id),
            ("POST", [id, "username"]) => connection::set_username(state, id, body),
            ("DELETE", [id, "username"]) => connection::delete_username(state, id),
            ("GET", [waba, "subscribed_apps"]) => connection::subscriptions(state, waba),
            ("POST", [waba, "subscribed_apps"]) => connection::subscribe(state, waba, body).await,
            ("DELETE", [waba, "subscribed_apps"]) => connection::unsubscribe(state, waba),
            ("GET", [catalog, "products"]) => catalog::list(state, catalog),
            ("POST", [catalog, "products"]) => catalog::create(state, catalog, body),
            ("POST", [catalog, "items_batch"]) => catalog::items_batch(state, catalog, body),
            ("GET", [catalog, "check_batch_request_status"]) => {
                catalog::batch_status(state, catalog, query)
            }
            ("GET", [id]) => business::get_automation(state, id, query)
                .or_else(|| insights::fields(state, id, query))
                .or_else(|| templates::get(state, id))
                .or_else(|| media::info(state, id))
                .or_else(|| flows::get(state, id, query))
                .or_else(|| groups::get(state, id))
                .unwrap_or_else(|| unknown_object("get", id)),
            ("POST", [id]) => connection::set_pin(state, id, body)
                .or_else(|| insights::enable(state, id, body))
                .or_else(|| templates::edit(state, id, body))
                .or_else(|| flows::update(state, id, header("content-type"), body))
                .or_else(|| groups::update(state, id, body))
                .unwrap_or_else(|| unknown_object("post", id)),
            _ => graph_error(
                StatusCode::BAD_REQUEST,
                2500,
                None,
                &format!("Unknown path components: {path}"),
            ),
        }
    }
}

pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

fn digits_of(to: &str) -> Option<String> {
    let d = to.strip_prefix('+').unwrap_or(to);
    (d.len() >= 7 && d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
        .then(|| d.to_string())
}

/// `s` when it has the form of a business-scoped user id (`US.1349…`, or a parent BSUID
/// `US.ENT.1181…`): a country code, a dot, up to 128 alphanumerics.
fn bsuid_of(s: &str) -> Option<String> {
    let (country, rest) = s.split_once('.')?;
    let id = rest.strip_prefix("ENT.").unwrap_or(rest);
    (country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then(|| s.to_string())
}

/// The members that name a user in a webhook: the number, or the BSUID of a user who
/// shows a username instead (`user` is one or the other).
fn user_fields(user: &str, number_key: &str, bsuid_key: &str) -> serde_json::Map<String, Value> {
    let key = if bsuid_of(user).is_some() {
        bsuid_key
    } else {
        number_key
    };
    serde_json::Map::from_iter([(key.to_string(), Value::from(user))])
}

fn messages(state: &Arc<Sandbox>, pnid: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["messaging_product"] != "whatsapp" {
        return invalid("The parameter messaging_product is required.");
    }
    if v["recipient_type"] == "group" {
        return groups::message(state, pnid, &v);
    }
    if v["status"] == "read" {
        return match v["message_id"].as_str() {
            Some(id) if !id.is_empty() => net::json(StatusCode::OK, &json!({ "success": true })),
            _ => invalid("The parameter message_id is required."),
        };
    }
    send(state, pnid, &v, false)
}

/// Accept a message to one user (through `/messages`, or `/marketing_messages` when
/// `lite`), and count it.
fn send(state: &Arc<Sandbox>, pnid: &str, v: &Value, lite: bool) -> Resp {
    // `to` names a number, `recipient` a business-scoped user id; `to` wins when both are
    // there (Meta, "Business-scoped user IDs"). `wa_id` is whichever the user is here.
    let (wa_id, contact) = match (v["to"].as_str(), v["recipient"].as_str()) {
        (Some(to), _) => match digits_of(to) {
            Some(w) => (w.clone(), json!({ "input": to, "wa_id": w })),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131009,
                    None,
                    "(#131009) Parameter value is not valid: to",
                );
            }
        },
        (None, Some(r)) => match bsuid_of(r) {
            Some(u) => (u.clone(), json!({ "input": r, "user_id": u })),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131009,
                    None,
                    "(#131009) Parameter value is not valid: recipient",
                );
            }
        },
        (None, None) => return invalid("The parameter to is required."),
    };
    if let Some(resp) = rejection(v) {
        return resp;
    }
    if let Some(resp) = limits::check(state, pnid, &wa_id, v) {
        return resp;
    }
    if wa_id == THROTTLED_TWICE || wa_id == ALWAYS_THROTTLED {
        let mut seen = state.throttled.lock().unwrap_or_else(|p| p.into_inner());
        let n = seen.entry(wa_id.clone()).or_insert(0);
        *n += 1;
        if wa_id == ALWAYS_THROTTLED || !n.is_multiple_of(3) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                130429,
                None,
                "(#130429) Rate limit hit",
            );
        }
    }
    let window_open = state
        .last_inbound
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(pnid.to_string(), wa_id.clone()))
        .is_some_and(|t| now_secs() < t + WINDOW_SECS);
    if let Some(resp) = limits::reach(state, &wa_id, window_open) {
        return resp;
    }
    if v["interactive"]["type"] == "call_permission_request" {
        calling::granted(state, pnid, &wa_id);
    }
    let wamid = new_wamid(&wa_id);
    let outside_window = state.config.enforce_window && v["type"] != "template" && {
        let last = state
            .last_inbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(pnid.to_string(), wa_id.clone()))
            .copied();
        last.is_none_or(|t| now_secs() >= t + WINDOW_SECS)
    };
    if let (true, Some(url)) = (outside_window, state.config.webhook_url.clone()) {
        let state = state.clone();
        let (pnid, wamid, wa_id) = (pnid.to_string(), wamid.clone(), wa_id.clone());
        tokio::spawn(async move { deliver_failure(&state, &url, &pnid, &wamid, &wa_id).await });
    } else if let Some(url) = state.config.webhook_url.clone() {
        let state = state.clone();
        let (pnid, wamid, wa_id, cb) = (
            pnid.to_string(),
            wamid.clone(),
            wa_id.clone(),
            v["biz_opaque_callback_data"].as_str().map(str::to_string),
        );
        let limited = limits::marketing_limited(&state, &wa_id, v);
        tokio::spawn(async move {
            deliver_statuses(&state, &url, &pnid, &wamid, &wa_id, cb, limited).await
        });
    }
    if let Some(name) = limits::sent_template(state, v) {
        let state = state.clone();
        tokio::spawn(async move { templates::pause_named(&state, &name).await });
    }
    insights::record(state, v, &wa_id, lite);
    limits::record_message(state, pnid, &wamid);
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "contacts": [contact], "messages": [{ "id": wamid }] }),
    )
}

/// `POST` (block) or `DELETE` (unblock) `/{phone-number-id}/block_users`, as Meta: each
/// user on its own; a block needs the user to have written in the last 24 hours
/// (131047); when some fail, 400 with code 139100 and the per-user lists.
fn block_users(state: &Arc<Sandbox>, pnid: &str, body: &[u8], block: bool) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["messaging_product"] != "whatsapp" {
        return invalid("The parameter messaging_product is required.");
    }
    let Some(users) = v["block_users"].as_array().filter(|u| !u.is_empty()) else {
        return invalid("The parameter block_users is required.");
    };
    let last_inbound = state
        .last_inbound
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut blocked = state.blocked.lock().unwrap_or_else(|p| p.into_inner());
    let list = blocked.entry(pnid.to_string()).or_default();
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for u in users {
        let input = u["user"].as_str().unwrap_or_default();
        let Some(id) = digits_of(input).or_else(|| bsuid_of(input)) else {
            failed.push(json!({ "input": input, "errors": [{ "message": "Invalid parameter", "code": 131009,
                "error_data": { "details": "The user is not a valid phone number, WhatsApp ID or business-scoped user ID" } }] }));
            continue;
        };
        let wrote = last_inbound
            .get(&(pnid.to_string(), id.clone()))
            .is_some_and(|t| now_secs() < t + WINDOW_SECS);
        // A user is named back as Meta names them: `wa_id`, or `user_id` for a BSUID.
        let mut named = json!({ "input": input });
        named
            .as_object_mut()
            .expect("an object")
            .extend(user_fields(&id, "wa_id", "user_id"));
        if block && !wrote {
            named["errors"] = json!([{ "message": "Re-engagement required", "code": 131047,
                "error_data": { "details": "User has not messaged in the last 24 hours" } }]);
            failed.push(named);
            continue;
        }
        if block {
            list.insert(id.clone());
        } else {
            list.remove(&id);
        }
        done.push(named);
    }
    let key = if block {
        "added_users"
    } else {
        "removed_users"
    };
    let mut lists = json!({ key: done });
    if failed.is_empty() {
        return net::json(
            StatusCode::OK,
            &json!({ "messaging_product": "whatsapp", "block_users": lists }),
        );
    }
    lists["failed_users"] = failed.into();
    let mut answer = graph_error_json(139100, None, "(#139100) Failed to block/unblock users");
    answer["error"]["error_data"] = json!({ "details": "Failed to block some users, see the block_users response list for details" });
    answer["messaging_product"] = "whatsapp".into();
    answer["block_users"] = lists;
    net::json(StatusCode::BAD_REQUEST, &answer)
}

/// `GET /{phone-number-id}/block_users`: every blocked user on one page.
fn blocked_users(state: &Arc<Sandbox>, pnid: &str) -> Resp {
    let blocked = state.blocked.lock().unwrap_or_else(|p| p.into_inner());
    let data: Vec<Value> = blocked
        .get(pnid)
        .into_iter()
        .flatten()
        .map(|u| {
            let mut v = json!({ "messaging_product": "whatsapp" });
            v.as_object_mut()
                .expect("an object")
                .extend(user_fields(u, "wa_id", "user_id"));
            v
        })
        .collect();
    net::json(
        StatusCode::OK,
        &json!({ "data": data, "paging": { "cursors": { "before": "QVFI", "after": "QVFJ" } } }),
    )
}

/// The message types Meta accepts, and the interactive types.
const TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "template",
];
const INTERACTIVE: &[&str] = &[
    "button",
    "list",
    "cta_url",
    "flow",
    "location_request_message",
    "call_permission_request",
    "product",
    "product_list",
    "catalog_message",
];

/// What Meta would reject outright, answered with its error shapes (the component's own
/// validation is stricter; this keeps the sandbox honest for other clients).
fn rejection(v: &Value) -> Option<Resp> {
    let Some(kind) = v["type"].as_str() else {
        return Some(invalid("The parameter type is required."));
    };
    if !TYPES.contains(&kind) {
        return Some(invalid(&format!(
            "Param type must be one of {{{}}} - got \"{kind}\".",
            TYPES.join(", ")
        )));
    }
    let part = &v[kind];
    if part.is_null() {
        return Some(invalid(&format!("The parameter {kind} is required.")));
    }
    let chars = |x: &Value| x.as_str().map(|t| t.chars().count()).unwrap_or(0);
    let coord =
        |x: &Value, r: std::ops::RangeInclusive<f64>| x.as_f64().is_some_and(|f| r.contains(&f));
    let itype = part["type"].as_str().unwrap_or("");
    let buttons = part["action"]["buttons"].as_array().map_or(0, Vec::len);
    Some(match kind {
        "text" if !(1..=TEXT_MAX).contains(&chars(&part["body"])) => invalid(&format!(
            "Param text['body'] must be between 1 and {TEXT_MAX} characters long."
        )),
        "image" | "video" | "audio" | "document" | "sticker"
            if part["id"].is_string() == part["link"].is_string() =>
        {
            invalid(&format!(
                "Param {kind} must have exactly one of id and link."
            ))
        }
        "location"
            if !coord(&part["latitude"], -90.0..=90.0)
                || !coord(&part["longitude"], -180.0..=180.0) =>
        {
            invalid("Param location must have a valid latitude and longitude.")
        }
        "contacts"
            if !part.as_array().is_some_and(|a| {
                !a.is_empty() && a.iter().all(|c| c["name"]["formatted_name"].is_string())
            }) =>
        {
            invalid("Param contacts[0]['name']['formatted_name'] is required.")
        }
        "reaction" if !part["message_id"].is_string() || !part["emoji"].is_string() => {
            invalid("Param reaction must have message_id and emoji.")
        }
        "interactive" if !INTERACTIVE.contains(&itype) => invalid(&format!(
            "Param interactive['type'] must be one of {{{}}}.",
            INTERACTIVE.join(", ")
        )),
        "interactive" if !part["action"].is_object() => {
            invalid("The parameter interactive['action'] is required.")
        }
        "interactive" if itype == "button" && !(1..=3).contains(&buttons) => {
            invalid("Param interactive['action']['buttons'] must have 1 to 3 buttons.")
        }
        "template" if !part["name"].is_string() || !part["language"]["code"].is_string() => {
            graph_error(
                StatusCode::BAD_REQUEST,
                132001,
                None,
                "(#132001) Template name does not exist in the translation",
            )
        }
        _ => return None,
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn envelope(config: &SandboxConfig, pnid: &str, value: Value) -> Value {
    envelope_of(config, pnid, "messages", value)
}

/// A webhook body of one change to `field` on the number `pnid`.
fn envelope_of(config: &SandboxConfig, pnid: &str, field: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = "whatsapp".into();
    value["metadata"] =
        json!({ "display_phone_number": config.display_phone_number, "phone_number_id": pnid });
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": config.waba_id, "changes": [{ "value": value, "field": field }] }] })
}

/// A message's statuses: sent, delivered and read; or sent, then failed with 131049
/// when the user reached Meta's per-user marketing limit (`limited`).
async fn deliver_statuses(
    state: &Sandbox,
    url: &str,
    pnid: &str,
    wamid: &str,
    wa_id: &str,
    callback: Option<String>,
    limited: bool,
) {
    let conversation = hex::encode(random_bytes::<16>());
    let statuses: &[&'static str] = if limited {
        &["sent", "failed"]
    } else {
        &["sent", "delivered", "read"]
    };
    for (status, pause) in limits::schedule(state, statuses) {
        tokio::time::sleep(pause).await;
        let mut s = json!({ "id": wamid, "status": status, "timestamp": now_secs().to_string() });
        s.as_object_mut().expect("an object").extend(user_fields(
            wa_id,
            "recipient_id",
            "recipient_user_id",
        ));
        if status == "failed" {
            s["errors"] = json!([{ "code": 131049,
                "title": "This message was not delivered to maintain healthy ecosystem engagement.",
                "message": "This message was not delivered to maintain healthy ecosystem engagement.",
                "error_data": { "details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered." },
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" }]);
        } else if status != "read" {
            s["conversation"] = json!({ "id": conversation, "origin": { "type": "service" } });
            s["pricing"] = json!({ "billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service" });
        }
        if let Some(cb) = &callback {
            s["biz_opaque_callback_data"] = cb.as_str().into();
        }
        let at = limits::record_status(state, wamid, status);
        let payload = envelope(&state.config, pnid, json!({ "statuses": [s] }));
        let delivered = post_webhook(state, url, &payload).await;
        limits::posted(state, wamid, at, delivered);
        if !delivered {
            return;
        }
    }
    if state.config.auto_reply && !limited {
        tokio::time::sleep(state.config.status_delay).await;
        inbound(state, url, pnid, wa_id, "Thanks, got it!", Some(wamid)).await;
    }
}

async fn deliver_failure(state: &Sandbox, url: &str, pnid: &str, wamid: &str, wa_id: &str) {
    tokio::time::sleep(state.config.status_delay).await;
    let mut s = json!({ "id": wamid, "status": "failed", "timestamp": now_secs().to_string(),
        "errors": [{ "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
            "error_data": { "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" }] });
    s.as_object_mut().expect("an object").extend(user_fields(
        wa_id,
        "recipient_id",
        "recipient_user_id",
    ));
    post_webhook(
        state,
        url,
        &envelope(&state.config, pnid, json!({ "statuses": [s] })),
    )
    .await;
}

async fn inbound(
    state: &Sandbox,
    url: &str,
    pnid: &str,
    from: &str,
    text: &str,
    reply_to: Option<&str>,
) -> (String, bool) {
    let id = new_wamid(from);
    state
        .last_inbound
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert((pnid.to_string(), from.to_string()), now_secs());
    let mut m = json!({ "id": id, "timestamp": now_secs().to_string(), "type": "text", "text": { "body": text } });
    let m_fields = user_fields(from, "from", "from_user_id");
    m.as_object_mut().expect("an object").extend(m_fields);
    // A user known by BSUID shows a username, not a number.
    let mut contact = json!({ "profile": { "name": "Sandbox Customer" } });
    if bsuid_of(from).is_some() {
        contact["profile"]["username"] = "@sandbox.customer".into();
    }
    contact
        .as_object_mut()
        .expect("an object")
        .extend(user_fields(from, "wa_id", "user_id"));
    if let Some(r) = reply_to {
        m["context"] = json!({ "from": state.config.display_phone_number, "id": r });
    }
    let payload = envelope(
        &state.config,
        pnid,
        json!({ "contacts": [contact], "messages": [m] }),
    );
    let ok = post_webhook(state, url, &payload).await;
    (id, ok)
}

async fn control_inbound(state: &Arc<Sandbox>, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    let (Some(pnid), Some(from), Some(text)) = (
        v["phone_number_id"].as_str(),
        v["from"].as_str(),
        v["text"].as_str(),
    ) else {
        return invalid("phone_number_id, from and text are required");
    };
    let Some(url) = state.config.webhook_url.clone() else {
        return invalid("the sandbox has no webhook URL");
    };
    let (id, delivered) = inbound(state, &url, pnid, from, text, v["reply_to"].as_str()).await;
    net::json(
        StatusCode::OK,
        &json!({ "message_id": id, "delivered": delivered }),
    )
}

/// POST a signed webhook; retried with backoff like Meta, up to 5 times. True when 2xx.
async fn post_webhook(state: &Sandbox, url: &str, payload: &Value) -> bool {
    let body = Bytes::from(payload.to_string());
    let signature = sign(state.config.app_secret.as_bytes(), &body);
    let mut delay = Duration::from_millis(50);
    let started = std::time::Instant::now();
    for attempt in 1.. {
        if attempt > 5 && started.elapsed() >= state.config.webhook_retry_for {
            break;
        }
        let req = Request::post(url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .body(Full::new(body.clone()));
        let Ok(req) = req else {
            tracing::error!("sandbox: bad webhook URL {url}");
            return false;
        };
        match state.client.request(req).await {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => tracing::warn!("sandbox: webhook attempt {attempt} got {}", r.status()),
            Err(e) => tracing::warn!("sandbox: webhook attempt {attempt} failed: {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
    false
}
