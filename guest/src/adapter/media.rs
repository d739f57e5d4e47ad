//! `media`: the WIT operations onto `core::media`; resumable uploads remembered in the
//! tenant's `uploads` bucket so that any instance can resume them.

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::media as wit;
use super::bindings::wasi::keyvalue::store as kv;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::convert::storage;
use super::tenant::Tenant;
use crate::core::listing;
use crate::core::media::{self as m, Kind, Session};

type Result<T> = std::result::Result<T, Error>;

/// Where resumable uploads are remembered, by session id.
const UPLOADS_BUCKET: &str = "uploads";

fn kind(k: wit::MediaKind) -> Kind {
    match k {
        wit::MediaKind::Image => Kind::Image,
        wit::MediaKind::Video => Kind::Video,
        wit::MediaKind::Audio => Kind::Audio,
        wit::MediaKind::Document => Kind::Document,
        wit::MediaKind::Sticker => Kind::Sticker,
    }
}

fn progress(s: &Session) -> wit::UploadProgress {
    wit::UploadProgress {
        session_id: s.id.clone(),
        offset: s.offset,
        file_length: s.file_length,
        handle: s.handle.clone(),
    }
}

fn load(id: &str) -> Result<Session> {
    let bucket = kv::open(UPLOADS_BUCKET).map_err(storage)?;
    bucket
        .get(id)
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .ok_or_else(|| {
            err(crate::core::Error::invalid(
                "session-id",
                "no such upload: start-upload first",
            ))
        })
}

fn save(s: &Session) -> Result<()> {
    let bucket = kv::open(UPLOADS_BUCKET).map_err(storage)?;
    bucket
        .set(&s.id, &crate::core::encoding::json_bytes(s))
        .map_err(storage)
}

fn info(tenant: &Tenant, media_id: &str) -> Result<listing::MediaInfo> {
    let req = listing::media_info_request(&tenant.settings, media_id).map_err(err)?;
    let (status, body) = tenant.call(&req)?;
    listing::read_media_info(status, &body).map_err(err)
}

/// A streamed upload in progress on this instance.
struct Streaming {
    flight: super::http::InFlight,
    written: u64,
    size: u64,
    tail: Vec<u8>,
}

/// A download being read on this instance.
struct Reading {
    body: super::http::BodyReader,
    hasher: sha2::Sha256,
    expected: String,
}

// BTreeMap, not HashMap: a HashMap's random seed would import `wasi:random`, which the
// `plugin` world does not promise its hosts.
thread_local! {
    static DOWNLOADS: std::cell::RefCell<std::collections::BTreeMap<u32, Reading>> =
        Default::default();
    static STREAMS: std::cell::RefCell<std::collections::BTreeMap<u32, Streaming>> =
        Default::default();
    static NEXT_STREAM: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// Uploads, and downloads, open at once on one instance (each may hold a large body).
const MAX_OPEN: usize = 4;

fn too_many(what: &str) -> Error {
    err(crate::core::Error::invalid(
        what,
        format!("at most {MAX_OPEN} open at once on an instance; finish one first"),
    ))
}

fn next_id() -> u32 {
    NEXT_STREAM.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    })
}

fn no_stream(stream: u32) -> Error {
    err(crate::core::Error::invalid(
        "upload",
        format!("no upload {stream} in progress on this instance (begin-upload first)"),
    ))
}

impl wit::Guest for Component {
    fn begin_upload(
        k: wit::MediaKind,
        mime_type: String,
        file_name: String,
        size: u64,
    ) -> Result<u32> {
        if STREAMS.with(|s| s.borrow().len()) >= MAX_OPEN {
            return Err(too_many("upload"));
        }
        let tenant = Tenant::bind();
        let up = m::streamed_upload(&tenant.settings, kind(k), &mime_type, &file_name, size)
            .map_err(err)?;
        let mut flight = tenant.start(&up.request)?;
        flight.write(&up.head);
        let id = next_id();
        STREAMS.with(|s| {
            s.borrow_mut().insert(
                id,
                Streaming {
                    flight,
                    written: 0,
                    size,
                    tail: up.tail,
                },
            )
        });
        Ok(id)
    }

    fn write_upload(upload: u32, data: Vec<u8>) -> Result<u64> {
        let stream = upload;
        STREAMS.with(|s| {
            let mut streams = s.borrow_mut();
            let up = streams.get_mut(&stream).ok_or_else(|| no_stream(stream))?;
            if up.written + data.len() as u64 > up.size {
                let size = up.size;
                streams.remove(&stream); // dropped unfinished: the host aborts it
                return Err(err(crate::core::Error::invalid(
                    "data",
                    format!("more than the {size} bytes announced; the upload is abandoned"),
                )));
            }
            up.flight.write(&data);
            up.written += data.len() as u64;
            Ok(up.written)
        })
    }

    fn finish_upload(upload: u32) -> Result<String> {
        let stream = upload;
        let mut up = STREAMS
            .with(|s| s.borrow_mut().remove(&stream))
            .ok_or_else(|| no_stream(stream))?;
        if up.written != up.size {
            return Err(err(crate::core::Error::invalid(
                "upload",
                format!(
                    "{} of the {} bytes announced were written; the upload is abandoned",
                    up.written, up.size
                ),
            )));
        }
        up.flight.write(&up.tail);
        let (status, body) = up.flight.finish().map_err(err)?;
        Tenant::bind().check_answer(true, status, &body);
        Ok(m::read_uploaded(status, &body).map_err(err)?.id)
    }

    fn get(media_id: String) -> Result<wit::MediaInfo> {
        let i = info(&Tenant::bind(), &media_id)?;
        Ok(wit::MediaInfo {
            id: i.id,
            url: i.url,
            mime_type: i.mime_type,
            sha256: i.sha256,
            file_size: i.file_size,
        })
    }

    fn upload(
        k: wit::MediaKind,
        mime_type: String,
        file_name: String,
        data: Vec<u8>,
    ) -> Result<String> {
        let tenant = Tenant::bind();
        let req = m::upload_request(&tenant.settings, kind(k), &mime_type, &file_name, &data)
            .map_err(err)?;
        drop(data);
        let (status, body) = tenant.call(&req)?;
        Ok(m::read_uploaded(status, &body).map_err(err)?.id)
    }

    fn start_upload(
        file_name: String,
        file_length: u64,
        mime_type: String,
    ) -> Result<wit::UploadProgress> {
        let tenant = Tenant::bind();
        let req = m::session_request(&tenant.settings, &file_name, file_length, &mime_type)
            .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let session = Session {
            id: m::read_session(status, &body).map_err(err)?,
            file_name,
            file_length,
            mime_type,
            offset: 0,
            handle: None,
        };
        save(&session)?;
        Ok(progress(&session))
    }

    fn upload_chunk(session_id: String, offset: u64, data: Vec<u8>) -> Result<wit::UploadProgress> {
        let tenant = Tenant::bind();
        let mut session = load(&session_id)?;
        let req = m::chunk_request(&tenant.settings, &session, offset, &data).map_err(err)?;
        let sent = data.len() as u64;
        drop(data);
        let (status, body) = tenant.call(&req)?;
        m::read_progress(&mut session, sent, status, &body).map_err(err)?;
        save(&session)?;
        Ok(progress(&session))
    }

    fn upload_status(session_id: String) -> Result<wit::UploadProgress> {
        let tenant = Tenant::bind();
        let mut session = load(&session_id)?;
        let req = m::status_request(&tenant.settings, &session_id).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        m::read_progress(&mut session, 0, status, &body).map_err(err)?;
        save(&session)?;
        Ok(progress(&session))
    }

    fn download(media_id: String, expected_sha256: Option<String>) -> Result<wit::DownloadedMedia> {
        let tenant = Tenant::bind();
        let mut refreshed = false;
        loop {
            let i = info(&tenant, &media_id)?;
            let req = m::download_request(&tenant.settings, &i.url).map_err(err)?;
            let (status, data) = tenant.call(&req)?;
            if m::url_expired(status) && !refreshed {
                // Media URLs live for minutes: ask for a fresh one, once.
                refreshed = true;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(err(crate::core::error::from_response(status, &data)));
            }
            let expected = expected_sha256.as_deref().unwrap_or(&i.sha256);
            let sha256 = m::check_sha256(&data, expected).map_err(err)?;
            return Ok(wit::DownloadedMedia {
                mime_type: i.mime_type,
                sha256,
                data,
            });
        }
    }

    fn begin_download(
        media_id: String,
        expected_sha256: Option<String>,
    ) -> Result<wit::DownloadInfo> {
        if DOWNLOADS.with(|d| d.borrow().len()) >= MAX_OPEN {
            return Err(too_many("download"));
        }
        let tenant = Tenant::bind();
        let mut refreshed = false;
        loop {
            let i = info(&tenant, &media_id)?;
            let expected = expected_sha256.clone().unwrap_or(i.sha256.clone());
            if expected.trim().is_empty() {
                return Err(Error::other(
                    "no SHA-256 to check the file against (Meta gave none)".into(),
                ));
            }
            let req = m::download_request(&tenant.settings, &i.url).map_err(err)?;
            let (status, body) = tenant.start(&req)?.finish_streaming().map_err(err)?;
            if m::url_expired(status) && !refreshed {
                refreshed = true;
                continue;
            }
            if !(200..300).contains(&status) {
                let text = body.read(64 * 1024).unwrap_or_default();
                return Err(err(crate::core::error::from_response(status, &text)));
            }
            let id = next_id();
            DOWNLOADS.with(|d| {
                d.borrow_mut().insert(
                    id,
                    Reading {
                        body,
                        hasher: sha2::Digest::new(),
                        expected,
                    },
                )
            });
            return Ok(wit::DownloadInfo {
                download: id,
                mime_type: i.mime_type,
                file_size: i.file_size,
            });
        }
    }

    fn read_download(download: u32, max_bytes: u32) -> Result<Vec<u8>> {
        DOWNLOADS.with(|d| {
            let mut downloads = d.borrow_mut();
            let r = downloads.get_mut(&download).ok_or_else(|| {
                err(crate::core::Error::invalid(
                    "download",
                    format!("no download {download} in progress on this instance"),
                ))
            })?;
            let chunk = match r.body.read(u64::from(max_bytes.clamp(1, 4 << 20))) {
                Ok(c) => c,
                Err(e) => {
                    downloads.remove(&download);
                    return Err(err(e));
                }
            };
            if chunk.is_empty() {
                let r = downloads.remove(&download).expect("looked up above");
                let actual = hex::encode(sha2::Digest::finalize(r.hasher));
                if !actual.eq_ignore_ascii_case(r.expected.trim()) {
                    return Err(Error::other(format!(
                        "the downloaded file's SHA-256 is {actual}, not the {} announced: refused",
                        r.expected
                    )));
                }
                return Ok(chunk);
            }
            sha2::Digest::update(&mut r.hasher, &chunk);
            Ok(chunk)
        })
    }

    fn delete(media_id: String) -> Result<()> {
        let tenant = Tenant::bind();
        let req = m::delete_request(&tenant.settings, &media_id).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        crate::core::messages::read_success(status, &body).map_err(err)
    }
}
