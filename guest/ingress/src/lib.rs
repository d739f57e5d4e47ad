//! A stateless webhook endpoint as a component (world `webhook-ingress`): it exports
//! `wasi:http/incoming-handler`, so `wasmtime serve` or an edge runtime can serve it.
//!
//! - `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` answers the challenge
//!   when the token is the `verify-token` config variable (403 otherwise).
//! - `POST` checks `X-Hub-Signature-256` against `app-secret` (401 when it does not
//!   match), parses the body with the component's own parser and posts each event, as the
//!   JSON the reference host forwards, to `forward-url`, signed with `forward-secret` in
//!   `x-wa-signature-256`. Meta gets 200 only when the platform took every event; otherwise
//!   503, and Meta delivers the POST again (the events' `idempotency_key` is the same on
//!   every delivery, so the platform drops what it already has).
//!
//! Nothing is kept between requests: deduplication is the platform's, by idempotency key.
#![cfg(target_arch = "wasm32")]

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "webhook-ingress",
        generate_all,
    });
}

mod client;

use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::config::store as config;
use bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use bindings::wasi::io::streams::StreamError;
use whatsapp_guest::core::webhook::{self, SIGNATURE_HEADER, json};

/// Meta's payloads are small; the reference host's limit, too.
const MAX_BODY: usize = 4 << 20;
/// The header the platform checks forwarded events with (as the reference host's forwarder).
const FORWARD_SIGNATURE_HEADER: &str = "x-wa-signature-256";

struct Ingress;
bindings::export!(Ingress with_types_in bindings);

impl Guest for Ingress {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let (status, body) = match request.method() {
            Method::Get => handshake(&request),
            Method::Post => receive(request),
            _ => (405, "GET (subscription) or POST (events)\n".to_string()),
        };
        respond(out, status, &body);
    }
}

fn setting(key: &str) -> Option<String> {
    config::get(key).ok().flatten().filter(|v| !v.is_empty())
}

fn handshake(request: &IncomingRequest) -> (u16, String) {
    let pq = request.path_with_query().unwrap_or_default();
    let query = pq.split_once('?').map(|(_, q)| q).unwrap_or("");
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            let v = webhook::form_decode(v);
            match webhook::form_decode(k).as_str() {
                "hub.mode" => mode = Some(v),
                "hub.verify_token" => token = Some(v),
                "hub.challenge" => challenge = Some(v),
                _ => {}
            }
        }
    }
    let (Some(mode), Some(token), Some(challenge)) = (mode, token, challenge) else {
        return (
            400,
            "hub.mode, hub.verify_token and hub.challenge are required\n".into(),
        );
    };
    match webhook::verify_subscription(
        setting("verify-token").as_deref(),
        &mode,
        &token,
        &challenge,
    ) {
        Ok(challenge) => (200, challenge),
        Err(e) => (403, format!("{e}\n")),
    }
}

fn receive(request: IncomingRequest) -> (u16, String) {
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .into_iter()
        .next()
        .and_then(|v| String::from_utf8(v).ok());
    let body = match read_body(request) {
        Ok(b) => b,
        Err(status) => return (status, "the body is too large or broke off\n".into()),
    };
    let (Some(app_secret), Some(forward_url)) = (setting("app-secret"), setting("forward-url"))
    else {
        // Meta keeps the POST and tries again once the endpoint is configured.
        return (
            503,
            "app-secret and forward-url must be configured\n".into(),
        );
    };
    if let Err(e) = webhook::verify_signature(app_secret.as_bytes(), &body, signature.as_deref()) {
        return (401, format!("{e}\n"));
    }
    let tenant = setting("tenant-id");
    // Signed yet unreadable: forwarded whole as one `rejected` event, so that it is not
    // lost and Meta does not retry it for days.
    let payloads: Vec<String> = match webhook::parse(&body) {
        Ok(events) => events
            .iter()
            .map(|e| json::to_json(e, tenant.as_deref()))
            .collect(),
        Err(e) => vec![json::rejected(tenant.as_deref(), &e.to_string(), &body)],
    };
    let secret = setting("forward-secret").unwrap_or_default();
    for payload in &payloads {
        let payload = payload.as_bytes();
        let signature = webhook::sign(secret.as_bytes(), payload);
        match client::post_json(&forward_url, payload, FORWARD_SIGNATURE_HEADER, &signature) {
            Ok(status) if (200..300).contains(&status) => {}
            Ok(status) => {
                return (
                    503,
                    format!("the platform answered {status}; send again later\n"),
                );
            }
            Err(e) => {
                return (
                    503,
                    format!("the platform is unreachable ({e}); send again later\n"),
                );
            }
        }
    }
    (200, format!("{} events forwarded\n", payloads.len()))
}

/// The whole body, at most [`MAX_BODY`] bytes: 413 past that, 400 when it broke off.
fn read_body(request: IncomingRequest) -> Result<Vec<u8>, u16> {
    let incoming = request.consume().map_err(|_| 400u16)?;
    let stream = incoming.stream().map_err(|_| 400u16)?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                if out.len() + chunk.len() > MAX_BODY {
                    return Err(413);
                }
                out.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(out),
            Err(StreamError::LastOperationFailed(_)) => return Err(400),
        }
    }
}

fn respond(out: ResponseOutparam, status: u16, body: &str) {
    let headers = Fields::from_list(&[(
        "content-type".to_string(),
        b"text/plain; charset=utf-8".to_vec(),
    )])
    .unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        ResponseOutparam::set(out, Ok(response));
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing.write() {
        for chunk in body.as_bytes().chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
