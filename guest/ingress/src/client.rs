//! One signed JSON POST over `wasi:http/outgoing-handler`: the status of the answer.

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};

const SECOND_NS: u64 = 1_000_000_000;

/// POST `body` to `url` with `content-type: application/json` and `header: value`.
pub fn post_json(url: &str, body: &[u8], header: &str, value: &str) -> Result<u16, String> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else {
        return Err("forward-url must start with http:// or https://".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let headers = Fields::from_list(&[
        ("content-type".to_string(), b"application/json".to_vec()),
        // A length rather than chunks: not every platform's server reads chunked bodies.
        (
            "content-length".to_string(),
            body.len().to_string().into_bytes(),
        ),
        (header.to_string(), value.as_bytes().to_vec()),
    ])
    .map_err(|e| format!("bad header: {e:?}"))?;
    let request = OutgoingRequest::new(headers);
    let ok = request.set_method(&Method::Post).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request.set_path_with_query(Some(path)).is_ok();
    if !ok {
        return Err(format!("the host refused the request line for {url}"));
    }
    let outgoing = request
        .body()
        .map_err(|_| "request body unavailable".to_string())?;
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(5 * SECOND_NS));
    let _ = options.set_first_byte_timeout(Some(10 * SECOND_NS));
    let future = outgoing_handler::handle(request, Some(options)).map_err(|e| format!("{e:?}"))?;
    let mut written = false;
    if let Ok(stream) = outgoing.write() {
        written = body
            .chunks(4096)
            .all(|c| stream.blocking_write_and_flush(c).is_ok());
    }
    if written {
        let _ = OutgoingBody::finish(outgoing, None);
    } else {
        drop(outgoing);
    }
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response.status()),
        Some(Ok(Err(code))) => Err(format!("{code:?}")),
        Some(Err(())) | None => Err("the response was lost by the host".into()),
    }
}
