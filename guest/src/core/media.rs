//! Media: Meta's types and size limits per kind (refused locally), the multipart upload
//! to `/{phone-number-id}/media`, resumable uploads (`/{app-id}/uploads`, then
//! `/upload:{id}` chunks at a `file_offset`, resumable after an interruption), downloads
//! checked against the SHA-256 Meta announced, and deletion.

use super::error::Error;
use super::graph::{Auth, Request, encode_query, read_json};
use super::ids::check_node_id;
use super::settings::Settings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A kind of media, as a message carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JPEG or PNG, 5 MB.
    Image,
    /// MP4 or 3GPP, 16 MB.
    Video,
    /// AAC, AMR, MP3, MP4 audio or OGG (Opus), 16 MB.
    Audio,
    /// Text, PDF and Office documents, 100 MB.
    Document,
    /// WebP, 100 KB static or 500 KB animated.
    Sticker,
}

const MB: u64 = 1024 * 1024;
const KB: u64 = 1024;

/// The MIME types Meta accepts per kind (media reference, "Supported media types").
pub fn accepted(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Image => &["image/jpeg", "image/png"],
        Kind::Video => &["video/mp4", "video/3gpp"],
        Kind::Audio => &[
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
        ],
        Kind::Document => &[
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ],
        Kind::Sticker => &["image/webp"],
    }
}

impl Kind {
    /// The kind as Meta names it (`image`, …).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Audio => "audio",
            Kind::Document => "document",
            Kind::Sticker => "sticker",
        }
    }
}

/// The largest file of a kind (for stickers, static or animated).
pub fn max_bytes(kind: Kind, animated: bool) -> u64 {
    match kind {
        Kind::Image => 5 * MB,
        Kind::Video | Kind::Audio => 16 * MB,
        Kind::Document => 100 * MB,
        Kind::Sticker if animated => 500 * KB,
        Kind::Sticker => 100 * KB,
    }
}

/// Refuse locally what Meta would refuse for its type or size.
pub fn check(kind: Kind, mime_type: &str, size: u64, animated: bool) -> Result<(), Error> {
    let mime = mime_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !accepted(kind).contains(&mime.as_str()) {
        return Err(Error::invalid(
            "mime-type",
            format!(
                "{} must be one of {}, not {mime_type:?}",
                kind.name(),
                accepted(kind).join(", ")
            ),
        ));
    }
    let max = max_bytes(kind, animated);
    if size == 0 || size > max {
        return Err(Error::invalid(
            "size",
            format!(
                "a {} file must be 1 to {max} bytes; this one is {size}",
                kind.name()
            ),
        ));
    }
    Ok(())
}

/// `POST /{phone-number-id}/media` as `multipart/form-data` (`messaging_product`,
/// `type`, `file`), after [`check`].
pub fn upload_request(
    s: &Settings,
    kind: Kind,
    mime_type: &str,
    file_name: &str,
    data: &[u8],
) -> Result<Request, Error> {
    check(kind, mime_type, data.len() as u64, false).or_else(|e| match kind {
        // An animated sticker may be up to 500 KB: WebP animation is in its header.
        Kind::Sticker if is_animated_webp(data) => check(kind, mime_type, data.len() as u64, true),
        _ => Err(e),
    })?;
    let (content_type, body) = super::encoding::multipart(
        &[("messaging_product", "whatsapp"), ("type", mime_type)],
        &super::encoding::FilePart {
            field: "file",
            file_name,
            content_type: mime_type,
            data,
        },
    );
    let url = s.url(&format!("{}/media", s.phone_number_id()?));
    Ok(Request::post(url, content_type, body))
}

/// A multipart upload sent in pieces: the request (headers only), what comes before
/// the file's bytes, and what comes after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedUpload {
    /// `POST /{phone-number-id}/media`, with its `Content-Length` and no body.
    pub request: Request,
    /// The form fields and the file part's header.
    pub head: Vec<u8>,
    /// The closing boundary.
    pub tail: Vec<u8>,
    /// The file's size.
    pub size: u64,
}

/// [`upload_request`] for a file of `size` bytes that is written in pieces (so that it
/// is never whole in memory). A sticker may be up to the animated limit: its bytes are
/// not seen before it is sent.
pub fn streamed_upload(
    s: &Settings,
    kind: Kind,
    mime_type: &str,
    file_name: &str,
    size: u64,
) -> Result<StreamedUpload, Error> {
    check(kind, mime_type, size, kind == Kind::Sticker)?;
    // A boundary from the upload's own particulars: 96 bits, so that the file holding it
    // by chance is not a concern.
    let seed = format!("{file_name}\u{0}{mime_type}\u{0}{size}\u{0}stream");
    let marker = super::encoding::FilePart {
        field: "file",
        file_name,
        content_type: mime_type,
        data: seed.as_bytes(),
    };
    let (content_type, whole) = super::encoding::multipart(
        &[("messaging_product", "whatsapp"), ("type", mime_type)],
        &marker,
    );
    // Split the one-part body around the placeholder content: head | content | tail.
    let at = whole
        .windows(seed.len())
        .rposition(|w| w == seed.as_bytes())
        .ok_or_else(|| Error::Other("multipart layout".into()))?;
    let head = whole[..at].to_vec();
    let tail = whole[at + seed.len()..].to_vec();
    let length = head.len() as u64 + size + tail.len() as u64;
    let mut request = Request::new(
        super::graph::Method::Post,
        s.url(&format!("{}/media", s.phone_number_id()?)),
    );
    request.content_type = Some(content_type);
    request
        .headers
        .push(("content-length".into(), length.to_string()));
    Ok(StreamedUpload {
        request,
        head,
        tail,
        size,
    })
}

/// A WebP with the animation flag (`VP8X` chunk, bit 1 of its flags).
fn is_animated_webp(data: &[u8]) -> bool {
    data.len() > 21
        && &data[0..4] == b"RIFF"
        && &data[8..12] == b"WEBP"
        && &data[12..16] == b"VP8X"
        && data[20] & 0x02 != 0
}

/// Meta's answer to an upload: the media id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Uploaded {
    /// The media id.
    pub id: String,
}

/// Read an upload's answer.
pub fn read_uploaded(status: u16, body: &[u8]) -> Result<Uploaded, Error> {
    read_json(status, body)
}

/// `DELETE /{media-id}`.
pub fn delete_request(s: &Settings, media_id: &str) -> Result<Request, Error> {
    let id = check_node_id("media-id", media_id)?;
    let mut url = s.url(id);
    if let Some(p) = &s.phone_number_id {
        url.push_str(&format!("?phone_number_id={}", encode_query(p)));
    }
    Ok(Request::delete(url))
}

/// The app id resumable uploads need (`app-id` setting).
fn app_id(s: &Settings) -> Result<&str, Error> {
    s.app_id.as_deref().ok_or_else(|| {
        Error::NotConfigured("the tenant has no app-id (resumable uploads need it)".into())
    })
}

/// A resumable upload, as kept in the tenant's `uploads` bucket between calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `upload:…`
    pub id: String,
    /// The file's name.
    pub file_name: String,
    /// Its size in bytes.
    pub file_length: u64,
    /// Its MIME type.
    pub mime_type: String,
    /// Bytes Meta has.
    pub offset: u64,
    /// The handle, once the whole file is there.
    pub handle: Option<String>,
}

/// The largest file a resumable upload takes (the largest media kind).
pub const RESUMABLE_MAX: u64 = 100 * MB;

/// `POST /{app-id}/uploads?file_name=…&file_length=…&file_type=…`.
pub fn session_request(
    s: &Settings,
    file_name: &str,
    file_length: u64,
    mime_type: &str,
) -> Result<Request, Error> {
    if file_name.trim().is_empty() {
        return Err(Error::invalid("file-name", "must not be empty"));
    }
    if file_length == 0 || file_length > RESUMABLE_MAX {
        return Err(Error::invalid(
            "file-length",
            format!("must be 1 to {RESUMABLE_MAX} bytes"),
        ));
    }
    if !["image/jpeg", "image/png", "video/mp4", "application/pdf"].contains(&mime_type) {
        return Err(Error::invalid(
            "mime-type",
            "resumable uploads take image/jpeg, image/png, video/mp4 or application/pdf",
        ));
    }
    let url = s.url(&format!(
        "{}/uploads?file_name={}&file_length={file_length}&file_type={}",
        check_node_id("app-id", app_id(s)?)?,
        encode_query(file_name),
        encode_query(mime_type)
    ));
    Ok(Request::post(url, "application/json".into(), Vec::new()))
}

#[derive(Deserialize)]
struct SessionId {
    id: String,
}

/// Read the new session's id.
pub fn read_session(status: u16, body: &[u8]) -> Result<String, Error> {
    let r: SessionId = read_json(status, body)?;
    if !r.id.starts_with("upload:") {
        return Err(Error::Other(format!(
            "an upload session id without upload: ({})",
            r.id
        )));
    }
    Ok(r.id)
}

/// `POST /upload:{id}` with `file_offset` and the bytes from there (OAuth).
pub fn chunk_request(
    s: &Settings,
    session: &Session,
    offset: u64,
    data: &[u8],
) -> Result<Request, Error> {
    if offset != session.offset {
        return Err(Error::invalid(
            "offset",
            format!(
                "Meta has {} bytes of this file; send from there",
                session.offset
            ),
        ));
    }
    if data.is_empty() || offset + data.len() as u64 > session.file_length {
        return Err(Error::invalid(
            "data",
            format!(
                "must be 1 to {} bytes (the rest of the file)",
                session.file_length - offset
            ),
        ));
    }
    let mut r = Request::post(
        s.url(check_node_id("session-id", &session.id)?),
        "application/octet-stream".into(),
        data.to_vec(),
    );
    r.auth = Auth::OAuth;
    r.headers.push(("file_offset".into(), offset.to_string()));
    Ok(r)
}

/// `GET /upload:{id}`: how many bytes Meta has (OAuth).
pub fn status_request(s: &Settings, session_id: &str) -> Result<Request, Error> {
    let mut r = Request::get(s.url(check_node_id("session-id", session_id)?));
    r.auth = Auth::OAuth;
    Ok(r)
}

#[derive(Deserialize)]
struct Progress {
    #[serde(default)]
    h: Option<String>,
    #[serde(default)]
    file_offset: Option<u64>,
}

/// Read a chunk's or a status query's answer into `session`.
pub fn read_progress(
    session: &mut Session,
    sent: u64,
    status: u16,
    body: &[u8],
) -> Result<(), Error> {
    let p: Progress = read_json(status, body)?;
    if let Some(h) = p.h {
        session.offset = session.file_length;
        session.handle = Some(h);
    } else {
        session.offset = p
            .file_offset
            .unwrap_or(session.offset + sent)
            .min(session.file_length);
    }
    Ok(())
}

/// Check downloaded bytes against the SHA-256 (hex) that the webhook or Meta gave.
pub fn check_sha256(data: &[u8], expected: &str) -> Result<String, Error> {
    let actual = hex::encode(Sha256::digest(data));
    if expected.trim().is_empty() {
        return Err(Error::Other(
            "no SHA-256 to check the file against (Meta gave none)".into(),
        ));
    }
    if !actual.eq_ignore_ascii_case(expected.trim()) {
        return Err(Error::Other(format!(
            "the downloaded file's SHA-256 is {actual}, not the {expected} announced: refused"
        )));
    }
    Ok(actual)
}

/// Where Meta serves media files.
pub const MEDIA_ORIGIN: &str = "https://lookaside.fbsbx.com";

/// `GET {url}` of a media file (the URL `GET /{media-id}` gave; it needs the token). The
/// token goes only to Meta's media host or the tenant's own Graph origin (the sandbox).
pub fn download_request(s: &Settings, url: &str) -> Result<Request, Error> {
    let trusted = [MEDIA_ORIGIN, s.graph_origin.as_str()].iter().any(|o| {
        url.strip_prefix(o)
            .is_some_and(|rest| rest.starts_with('/'))
    });
    if !trusted {
        return Err(Error::Other(format!(
            "the media URL is not on {MEDIA_ORIGIN} or the Graph origin: the token is not sent there ({})",
            url.split('?').next().unwrap_or("")
        )));
    }
    Ok(Request::get(url.to_string()))
}

/// Whether a download's status means the URL expired (fetch a fresh one and try again).
pub fn url_expired(status: u16) -> bool {
    matches!(status, 401 | 403 | 404 | 410)
}

/// Which kind a MIME type is, when it is one Meta takes.
pub fn kind_of(mime_type: &str) -> Option<Kind> {
    [
        Kind::Image,
        Kind::Video,
        Kind::Audio,
        Kind::Document,
        Kind::Sticker,
    ]
    .into_iter()
    .find(|k| accepted(*k).contains(&mime_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_pairs([
            ("phone-number-id".to_string(), "106540352242922".to_string()),
            ("app-id".to_string(), "1234567890".to_string()),
        ])
    }

    #[test]
    fn types_and_sizes_are_refused_locally_per_kind() {
        assert!(check(Kind::Image, "image/jpeg", 5 * MB, false).is_ok());
        assert!(check(Kind::Image, "image/jpeg", 5 * MB + 1, false).is_err());
        assert!(check(Kind::Image, "image/gif", 10, false).is_err());
        assert!(check(Kind::Video, "video/mp4", 16 * MB, false).is_ok());
        assert!(check(Kind::Audio, "audio/ogg; codecs=opus", 1000, false).is_ok());
        assert!(check(Kind::Document, "application/pdf", 100 * MB, false).is_ok());
        assert!(check(Kind::Document, "application/pdf", 100 * MB + 1, false).is_err());
        assert!(check(Kind::Sticker, "image/webp", 100 * KB + 1, false).is_err());
        assert!(check(Kind::Sticker, "image/webp", 100 * KB + 1, true).is_ok());
        assert!(check(Kind::Sticker, "image/webp", 500 * KB + 1, true).is_err());
        assert!(check(Kind::Image, "image/png", 0, false).is_err());
    }

    #[test]
    fn the_multipart_body_holds_the_fields_and_the_file() {
        let r = upload_request(
            &settings(),
            Kind::Image,
            "image/png",
            "a\"b.png",
            b"\x89PNG data",
        )
        .unwrap();
        let ct = r.content_type.unwrap();
        let b = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let body = String::from_utf8_lossy(r.body.as_ref().unwrap()).into_owned();
        assert!(body.starts_with(&format!("--{b}\r\n")));
        assert!(body.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
        assert!(body.contains("name=\"type\"\r\n\r\nimage/png\r\n"));
        assert!(body.contains(
            "filename=\"a_b.png\"\r\nContent-Type: image/png\r\n\r\n\u{fffd}PNG data\r\n"
        ));
        assert!(body.ends_with(&format!("--{b}--\r\n")));
        assert!(r.url.ends_with("/106540352242922/media"));
    }

    #[test]
    fn a_streamed_upload_is_the_same_body_in_pieces() {
        let data = b"\x89PNG streamed bytes";
        let st = streamed_upload(
            &settings(),
            Kind::Image,
            "image/png",
            "s.png",
            data.len() as u64,
        )
        .unwrap();
        let mut body = st.head.clone();
        body.extend_from_slice(data);
        body.extend_from_slice(&st.tail);
        let ct = st.request.content_type.clone().unwrap();
        let text = String::from_utf8_lossy(&body).into_owned();
        let b = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        assert!(text.starts_with(&format!("--{b}\r\n")) && text.ends_with(&format!("--{b}--\r\n")));
        assert!(text.contains(
            "filename=\"s.png\"\r\nContent-Type: image/png\r\n\r\n\u{fffd}PNG streamed bytes\r\n--"
        ));
        assert_eq!(
            st.request.headers,
            vec![("content-length".to_string(), body.len().to_string())]
        );
        assert!(
            streamed_upload(
                &settings(),
                Kind::Document,
                "application/pdf",
                "big.pdf",
                101 * MB
            )
            .is_err()
        );
    }

    #[test]
    fn chunks_go_from_metas_offset_with_oauth() {
        let mut s = Session {
            id: "upload:MTphd".into(),
            file_name: "f.pdf".into(),
            file_length: 10,
            mime_type: "application/pdf".into(),
            offset: 4,
            handle: None,
        };
        assert!(
            chunk_request(&settings(), &s, 0, b"abcd").is_err(),
            "not from Meta's offset"
        );
        assert!(
            chunk_request(&settings(), &s, 4, b"abcdefg").is_err(),
            "past the end"
        );
        let r = chunk_request(&settings(), &s, 4, b"abc").unwrap();
        assert_eq!(r.auth, Auth::OAuth);
        assert_eq!(
            r.headers,
            vec![("file_offset".to_string(), "4".to_string())]
        );
        read_progress(&mut s, 3, 200, br#"{"id":"upload:MTphd","file_offset":7}"#).unwrap();
        assert_eq!((s.offset, s.handle.as_deref()), (7, None));
        read_progress(&mut s, 3, 200, br#"{"h":"4::aW1h"}"#).unwrap();
        assert_eq!((s.offset, s.handle.as_deref()), (10, Some("4::aW1h")));
        assert!(
            session_request(&Settings::default(), "f.pdf", 10, "application/pdf").is_err(),
            "no app id"
        );
    }

    #[test]
    fn the_token_goes_only_to_metas_media_host_or_the_graph_origin() {
        let s = settings();
        assert!(
            download_request(
                &s,
                "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
            )
            .is_ok()
        );
        assert!(download_request(&s, "https://graph.facebook.com/v23.0/1").is_ok());
        assert!(download_request(&s, "https://lookaside.fbsbx.com.evil.example/x").is_err());
        assert!(download_request(&s, "http://lookaside.fbsbx.com/x").is_err());
        assert!(download_request(&s, "https://evil.example/x").is_err());
    }

    #[test]
    fn a_download_must_match_the_announced_digest() {
        let sha = hex::encode(Sha256::digest(b"file"));
        assert!(check_sha256(b"file", &sha).is_ok());
        assert!(check_sha256(b"file", &sha.to_uppercase()).is_ok());
        assert!(check_sha256(b"filf", &sha).is_err());
    }
}
