//! The sandbox's media: multipart uploads to `/{phone-number-id}/media`, media ids whose
//! URLs expire after `SandboxConfig::media_url_ttl` (fetching them needs the token),
//! deletion, and resumable upload sessions (`/{app-id}/uploads`, `/upload:{id}` with
//! `file_offset`, OAuth) that end in a `4::…` handle.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, query_param, random_bytes};
use base64::Engine as _;
use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

/// A stored file.
pub(crate) struct Stored {
    data: Bytes,
    mime_type: String,
    sha256: String,
}

/// A resumable upload in progress.
pub(crate) struct Upload {
    file_length: u64,
    data: Vec<u8>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

fn new_id() -> String {
    let b = random_bytes::<7>();
    let n = b.iter().fold(0u64, |n, &x| n * 256 + u64::from(x));
    format!("{}", 1_000_000_000_000_000 + n % 8_999_999_999_999_999)
}

/// `POST /{phone-number-id}/media`.
pub(crate) fn upload(s: &Sandbox, content_type: Option<&str>, body: &[u8]) -> Resp {
    let Some(parts) = content_type
        .filter(|c| c.starts_with("multipart/form-data"))
        .and_then(|c| net::multipart(c, body))
    else {
        return invalid(
            "The request must be multipart/form-data with messaging_product, type and file",
        );
    };
    let field = |n: &str| parts.iter().find(|p| p.name == n);
    let (Some(product), Some(kind), Some(file)) =
        (field("messaging_product"), field("type"), field("file"))
    else {
        return invalid("Param messaging_product, type and file are required");
    };
    if product.data != b"whatsapp" {
        return invalid("Param messaging_product must be whatsapp");
    }
    if file.data.is_empty() {
        return invalid("Param file must not be empty");
    }
    let id = new_id();
    let stored = Stored {
        data: Bytes::copy_from_slice(file.data),
        mime_type: String::from_utf8_lossy(kind.data).into_owned(),
        sha256: sha256_hex(file.data),
    };
    s.media
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), stored);
    net::json(StatusCode::OK, &json!({ "id": id }))
}

/// `GET /{media-id}`, when it is a media id: a URL valid for `media_url_ttl`.
pub(crate) fn info(s: &Sandbox, id: &str) -> Option<Resp> {
    let media = s.media.lock().unwrap_or_else(|p| p.into_inner());
    let m = media.get(id)?;
    let expired = s
        .expire_next
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    let expires = if expired {
        now_ms().saturating_sub(1)
    } else {
        now_ms() + s.config.media_url_ttl.as_millis() as u64
    };
    let url = format!("{}/sandbox/media/{id}?expires={expires}", s.origin());
    Some(net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "url": url, "mime_type": m.mime_type,
            "sha256": m.sha256, "file_size": m.data.len(), "id": id }),
    ))
}

/// `GET /sandbox/media/{id}?expires=…` (the URL `info` gave): the bytes, with the token,
/// until the URL expires.
pub(crate) fn download(s: &Sandbox, id: &str, query: &str, authorized: bool) -> Resp {
    if !authorized {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            None,
            "Invalid OAuth access token",
        );
    }
    let expires = query_param(query, "expires")
        .and_then(|e| e.parse::<u64>().ok())
        .unwrap_or(0);
    let media = s.media.lock().unwrap_or_else(|p| p.into_inner());
    match media.get(id) {
        Some(m) if now_ms() <= expires => {
            let mut r = net::respond(StatusCode::OK, "application/octet-stream", m.data.clone());
            if let Ok(v) = m.mime_type.parse() {
                r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
            }
            r
        }
        // Meta's expired media URLs answer 404.
        _ => net::text(StatusCode::NOT_FOUND, "URL signature expired\n"),
    }
}

/// `POST /sandbox/media-expiry` `{"expire_next": N}`: the next N media URLs handed out
/// are already expired (to try a client's refresh).
pub(crate) fn expire_next(s: &Sandbox, body: &[u8]) -> Resp {
    let n = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["expire_next"].as_u64())
        .and_then(|n| u32::try_from(n).ok());
    let Some(n) = n else {
        return invalid("expire_next (a count) is required");
    };
    s.expire_next.store(n, Ordering::Relaxed);
    net::json(StatusCode::OK, &json!({ "expire_next": n }))
}

/// `DELETE /{media-id}`.
pub(crate) fn delete(s: &Sandbox, id: &str) -> Option<Resp> {
    s.media
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id)?;
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

/// `POST /{app-id}/uploads?file_name=…&file_length=…&file_type=…`.
pub(crate) fn start(s: &Sandbox, query: &str) -> Resp {
    let (Some(_name), Some(length), Some(_kind)) = (
        query_param(query, "file_name"),
        query_param(query, "file_length").and_then(|l| l.parse::<u64>().ok()),
        query_param(query, "file_type"),
    ) else {
        return invalid("Param file_name, file_length and file_type are required");
    };
    let id = format!(
        "upload:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<12>())
    );
    s.uploads.lock().unwrap_or_else(|p| p.into_inner()).insert(
        id.clone(),
        Upload {
            file_length: length,
            data: Vec::new(),
        },
    );
    net::json(StatusCode::OK, &json!({ "id": id }))
}

/// `POST /upload:{id}` with `file_offset`: the bytes from there; the handle when whole.
pub(crate) fn chunk(s: &Sandbox, id: &str, file_offset: Option<&str>, body: &[u8]) -> Resp {
    let mut uploads = s.uploads.lock().unwrap_or_else(|p| p.into_inner());
    let Some(u) = uploads.get_mut(id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(33),
            "Upload session not found",
        );
    };
    let Some(offset) = file_offset.and_then(|o| o.trim().parse::<u64>().ok()) else {
        return invalid("The file_offset header is required");
    };
    if offset != u.data.len() as u64 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            &format!(
                "(#100) file_offset {offset} does not match the {} bytes received",
                u.data.len()
            ),
        );
    }
    if offset + body.len() as u64 > u.file_length {
        return invalid("The upload is longer than file_length");
    }
    u.data.extend_from_slice(body);
    if u.data.len() as u64 == u.file_length {
        let handle = format!(
            "4::{}",
            base64::engine::general_purpose::STANDARD.encode(&sha256_hex(&u.data).as_bytes()[..24])
        );
        return net::json(StatusCode::OK, &json!({ "h": handle }));
    }
    net::json(
        StatusCode::OK,
        &json!({ "id": id, "file_offset": u.data.len() }),
    )
}

/// `GET /upload:{id}`: how many bytes have arrived.
pub(crate) fn status(s: &Sandbox, id: &str) -> Resp {
    match s.uploads.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
        Some(u) => net::json(
            StatusCode::OK,
            &json!({ "id": id, "file_offset": u.data.len() }),
        ),
        None => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(33),
            "Upload session not found",
        ),
    }
}
