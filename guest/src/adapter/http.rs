//! A small blocking client over `wasi:http/outgoing-handler`.
//!
//! It replaces waki (DESIGN.md): waki reported `StreamError::Closed` for 1–4 % of POSTs
//! the server had in fact received, and it hid why a request failed. Here a write error
//! never decides the outcome on its own: the response future does. A request that got
//! an answer is a success whatever the body stream said; a failure is classified as
//! not sent (`network`, `egress-denied`, safe to retry) or possibly sent (`ambiguous`).

use super::bindings::wasi::http::outgoing_handler;
use super::bindings::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse,
    Method as WasiMethod, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use super::bindings::wasi::io::streams::{InputStream, OutputStream, StreamError};
use crate::core::Error;
use crate::core::graph::{Auth, Method, Request};

/// Largest write the output stream accepts in one blocking call.
const WRITE_CHUNK: usize = 4096;
/// Largest response body read into memory (Graph JSON answers are far smaller).
const MAX_RESPONSE: usize = 16 << 20;
const SECOND_NS: u64 = 1_000_000_000;
const CONNECT_TIMEOUT_NS: u64 = 10 * SECOND_NS;
const FIRST_BYTE_TIMEOUT_NS: u64 = 30 * SECOND_NS;
const BETWEEN_BYTES_TIMEOUT_NS: u64 = 30 * SECOND_NS;

struct Url<'a> {
    scheme: Scheme,
    authority: &'a str,
    path_and_query: &'a str,
}

fn split_url(url: &str) -> Result<Url<'_>, Error> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else {
        return Err(Error::Other(format!(
            "unsupported URL scheme in {}",
            without_query(url)
        )));
    };
    let (authority, path_and_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok(Url {
        scheme,
        authority,
        path_and_query,
    })
}

/// `url` up to its query, which may hold secrets (`client_secret`, `input_token`).
fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A request whose body is being written: [`start`] it, [`InFlight::write`] its body
/// (in as many pieces as the caller likes: a large upload never sits whole in memory),
/// then [`InFlight::finish`] it for the answer.
pub struct InFlight {
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
    future: FutureIncomingResponse,
    /// Every write so far went through.
    intact: bool,
}

/// Send `req` with the token (`Authorization: Bearer …`, or `OAuth …` for uploads);
/// the status and body of the answer.
pub fn send(req: &Request, token: &str) -> Result<(u16, Vec<u8>), Error> {
    let mut flight = start(req, token)?;
    flight.write(req.body.as_deref().unwrap_or_default());
    flight.finish()
}

/// Start `req` (its headers, not its body) with the token; an empty token sends no
/// `Authorization` header (the request carries its credentials itself).
pub fn start(req: &Request, token: &str) -> Result<InFlight, Error> {
    let url = split_url(&req.url)?;
    // Sized once, so that no reallocation leaves a copy of the token behind.
    let scheme: &[u8] = match req.auth {
        Auth::Bearer => b"Bearer ",
        Auth::OAuth => b"OAuth ",
    };
    let mut authorization = Vec::with_capacity(scheme.len() + token.len());
    authorization.extend_from_slice(scheme);
    authorization.extend_from_slice(token.as_bytes());
    let mut headers: Vec<(String, Vec<u8>)> = if token.is_empty() {
        Vec::new()
    } else {
        vec![("authorization".into(), authorization)]
    };
    if req.body.is_some() || req.content_type.is_some() {
        let ct = req.content_type.as_deref().unwrap_or("application/json");
        headers.push(("content-type".into(), ct.as_bytes().to_vec()));
    }
    for (k, v) in &req.headers {
        headers.push((k.clone(), v.as_bytes().to_vec()));
    }
    let fields = Fields::from_list(&headers);
    // The host has its copy of the header now; this one goes.
    if let Some((_, auth)) = headers.first_mut().filter(|(k, _)| k == "authorization") {
        crate::core::secret::wipe(auth);
    }
    let fields = fields.map_err(|_| Error::Other("bad header".into()))?;
    let request = OutgoingRequest::new(fields);
    let method = match req.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Delete => WasiMethod::Delete,
    };
    let ok = request.set_method(&method).is_ok()
        && request.set_scheme(Some(&url.scheme)).is_ok()
        && request.set_authority(Some(url.authority)).is_ok()
        && request
            .set_path_with_query(Some(url.path_and_query))
            .is_ok();
    if !ok {
        // Without the query: OAuth and debug_token calls carry secrets there.
        return Err(Error::Other(format!(
            "the host refused the request line for {}",
            without_query(&req.url)
        )));
    }
    let body = request
        .body()
        .map_err(|_| Error::Other("request body unavailable".into()))?;
    let options = RequestOptions::new();
    // Hosts may not support every timeout; the defaults then apply.
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT_NS));
    let _ = options.set_first_byte_timeout(Some(FIRST_BYTE_TIMEOUT_NS));
    let _ = options.set_between_bytes_timeout(Some(BETWEEN_BYTES_TIMEOUT_NS));
    let future = outgoing_handler::handle(request, Some(options)).map_err(|e| classify(&e))?;
    let stream = body.write().ok();
    Ok(InFlight {
        intact: stream.is_some(),
        stream,
        body: Some(body),
        future,
    })
}

impl InFlight {
    /// Write the next piece of the body. A failure here is not the outcome (the response
    /// decides); it only keeps the body from being finished.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        if let (true, Some(stream)) = (self.intact, &self.stream) {
            self.intact = bytes
                .chunks(WRITE_CHUNK)
                .all(|chunk| stream.blocking_write_and_flush(chunk).is_ok());
        }
        self.intact
    }

    /// Finish the body (only if every write went through: the host then aborts rather
    /// than send a truncated body) and wait for the answer.
    pub fn finish(self) -> Result<(u16, Vec<u8>), Error> {
        read_response(self.response()?)
    }

    /// [`InFlight::finish`], with the answer's body left to read in pieces.
    pub fn finish_streaming(self) -> Result<(u16, BodyReader), Error> {
        let response = self.response()?;
        let status = response.status();
        let body = response
            .consume()
            .map_err(|_| Error::Ambiguous("response body unavailable".into()))?;
        let stream = body
            .stream()
            .map_err(|_| Error::Ambiguous("response body unavailable".into()))?;
        Ok((
            status,
            BodyReader {
                stream,
                _body: body,
            },
        ))
    }

    fn response(mut self) -> Result<IncomingResponse, Error> {
        drop(self.stream.take());
        // Dropped unfinished when a write failed: the host aborts the request.
        if let Some(body) = self.body.take()
            && self.intact
        {
            let _ = OutgoingBody::finish(body, None);
        }
        self.future.subscribe().block();
        let response = match self.future.get() {
            Some(Ok(Ok(r))) => r,
            Some(Ok(Err(code))) => return Err(classify(&code)),
            Some(Err(())) | None => {
                return Err(Error::Ambiguous("the response was lost by the host".into()));
            }
        };
        Ok(response)
    }
}

/// A response body read in pieces (the stream is dropped before its body).
pub struct BodyReader {
    stream: InputStream,
    _body: IncomingBody,
}

impl BodyReader {
    /// Up to `max` more bytes; empty at the end.
    pub fn read(&self, max: u64) -> Result<Vec<u8>, Error> {
        loop {
            match self.stream.blocking_read(max) {
                Ok(chunk) if chunk.is_empty() => continue,
                Ok(chunk) => return Ok(chunk),
                Err(StreamError::Closed) => return Ok(Vec::new()),
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(Error::Ambiguous(format!(
                        "the response broke off: {}",
                        e.to_debug_string()
                    )));
                }
            }
        }
    }
}

fn read_response(response: IncomingResponse) -> Result<(u16, Vec<u8>), Error> {
    let status = response.status();
    let incoming = response
        .consume()
        .map_err(|_| Error::Ambiguous("response body unavailable".into()))?;
    let stream = incoming
        .stream()
        .map_err(|_| Error::Ambiguous("response body unavailable".into()))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                if out.len() + chunk.len() > MAX_RESPONSE {
                    return Err(Error::Other(format!(
                        "the response exceeds {MAX_RESPONSE} bytes"
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Error::Ambiguous(format!(
                    "the response broke off: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
    Ok((status, out))
}

/// Whether an error code means the request cannot have reached the server.
fn classify(code: &ErrorCode) -> Error {
    match code {
        ErrorCode::HttpRequestDenied => {
            Error::EgressDenied("the host's egress policy does not allow this destination".into())
        }
        ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_)
        | ErrorCode::HttpRequestMethodInvalid
        | ErrorCode::HttpRequestUriInvalid
        | ErrorCode::HttpRequestUriTooLong => Error::Network(format!("not sent: {}", name(code))),
        other => Error::Ambiguous(format!("no answer after the request left: {}", name(other))),
    }
}

/// The error code as `wasi:http` names it, with the host's own text for an internal
/// error. (Not its derived `Debug`: that one's names of every case and payload weigh
/// 5 KB of the data every instance maps; the shared prefixes are stored once.)
fn name(code: &ErrorCode) -> String {
    use ErrorCode as E;
    const DEST: &str = "destination-";
    const CONN: &str = "connection-";
    const REQ: &str = "HTTP-request-";
    const RESP: &str = "HTTP-response-";
    let (prefix, rest) = match code {
        E::DnsTimeout => ("DNS-", "timeout"),
        E::DnsError(_) => ("DNS-", "error"),
        E::DestinationNotFound => (DEST, "not-found"),
        E::DestinationUnavailable => (DEST, "unavailable"),
        E::DestinationIpProhibited => (DEST, "IP-prohibited"),
        E::DestinationIpUnroutable => (DEST, "IP-unroutable"),
        E::ConnectionRefused => (CONN, "refused"),
        E::ConnectionTerminated => (CONN, "terminated"),
        E::ConnectionTimeout => (CONN, "timeout"),
        E::ConnectionReadTimeout => (CONN, "read-timeout"),
        E::ConnectionWriteTimeout => (CONN, "write-timeout"),
        E::ConnectionLimitReached => (CONN, "limit-reached"),
        E::TlsProtocolError => ("TLS-", "protocol-error"),
        E::TlsCertificateError => ("TLS-", "certificate-error"),
        E::TlsAlertReceived(_) => ("TLS-", "alert-received"),
        E::HttpRequestDenied => (REQ, "denied"),
        E::HttpRequestLengthRequired => (REQ, "length-required"),
        E::HttpRequestBodySize(_) => (REQ, "body-size"),
        E::HttpRequestMethodInvalid => (REQ, "method-invalid"),
        E::HttpRequestUriInvalid => (REQ, "URI-invalid"),
        E::HttpRequestUriTooLong => (REQ, "URI-too-long"),
        E::HttpRequestHeaderSectionSize(_) => (REQ, "header-section-size"),
        E::HttpRequestHeaderSize(_) => (REQ, "header-size"),
        E::HttpRequestTrailerSectionSize(_) => (REQ, "trailer-section-size"),
        E::HttpRequestTrailerSize(_) => (REQ, "trailer-size"),
        E::HttpResponseIncomplete => (RESP, "incomplete"),
        E::HttpResponseHeaderSectionSize(_) => (RESP, "header-section-size"),
        E::HttpResponseHeaderSize(_) => (RESP, "header-size"),
        E::HttpResponseBodySize(_) => (RESP, "body-size"),
        E::HttpResponseTrailerSectionSize(_) => (RESP, "trailer-section-size"),
        E::HttpResponseTrailerSize(_) => (RESP, "trailer-size"),
        E::HttpResponseTransferCoding(_) => (RESP, "transfer-coding"),
        E::HttpResponseContentCoding(_) => (RESP, "content-coding"),
        E::HttpResponseTimeout => (RESP, "timeout"),
        E::HttpUpgradeFailed => ("HTTP-", "upgrade-failed"),
        E::HttpProtocolError => ("HTTP-", "protocol-error"),
        E::LoopDetected => ("loop-", "detected"),
        E::ConfigurationError => ("configuration-", "error"),
        E::InternalError(Some(text)) => return format!("internal-error: {text}"),
        E::InternalError(None) => ("internal-", "error"),
    };
    format!("{prefix}{rest}")
}
