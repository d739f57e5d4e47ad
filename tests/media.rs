//! Media end to end through component, host and sandbox: upload and read back, the
//! digest checked on download (the webhook's or Meta's), an expired URL fetched afresh,
//! types and sizes refused locally, delete; a resumable upload interrupted and resumed
//! from Meta's offset by a new instance, its handle used as a template's header example.

use whatsapp_host::api::templates::{
    NewTemplate, TemplateBody, TemplateCategory, TemplateHeader, TextWithExamples,
};
use whatsapp_host::api::{Error, ErrorKind, MediaKind};
use whatsapp_tests::{Harness, http, quiet};

/// A small PNG-looking file of `n` bytes.
fn png(n: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend((0..n.saturating_sub(8)).map(|i| (i * 31 % 251) as u8));
    v
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[tokio::test]
async fn an_upload_is_read_back_checked_and_deleted() {
    let h = Harness::start(quiet()).await;
    let file = png(40_000);
    let id = h
        .instance()
        .await
        .upload_media(MediaKind::Image, "image/png", "photo.png", &file)
        .await
        .unwrap()
        .unwrap();
    let info = h.instance().await.media_info(&id).await.unwrap().unwrap();
    assert_eq!(
        (info.mime_type.as_str(), info.file_size, info.sha256.clone()),
        ("image/png", 40_000, sha256(&file))
    );
    // Downloaded with the token, checked against Meta's digest and against the webhook's.
    let got = h
        .instance()
        .await
        .download_media(&id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data, file);
    let got = h
        .instance()
        .await
        .download_media(&id, Some(&sha256(&file)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.sha256, sha256(&file));
    let wrong = h
        .instance()
        .await
        .download_media(&id, Some(&sha256(b"other")))
        .await
        .unwrap();
    assert!(
        matches!(wrong, Err(Error { kind: ErrorKind::Other, ref message, .. }) if message.contains("SHA-256")),
        "{wrong:?}"
    );
    // Deleted: Meta no longer knows it.
    h.instance().await.delete_media(&id).await.unwrap().unwrap();
    let gone = h.instance().await.media_info(&id).await.unwrap();
    assert!(
        matches!(gone, Err(Error { kind: ErrorKind::Meta, graph: Some(ref g), .. }) if g.code == 100),
        "{gone:?}"
    );
}

#[tokio::test]
async fn an_expired_url_is_fetched_afresh_once() {
    let h = Harness::start(quiet()).await;
    let file = png(1000);
    let id = h
        .instance()
        .await
        .upload_media(MediaKind::Image, "image/png", "p.png", &file)
        .await
        .unwrap()
        .unwrap();
    let expire = |n: u32| {
        let url = format!("{}/sandbox/media-expiry", h.sandbox_origin);
        async move {
            let body = format!("{{\"expire_next\":{n}}}").into_bytes();
            assert_eq!(
                http("POST", &url, &[("content-type", "application/json")], body)
                    .await
                    .0,
                200
            );
        }
    };
    expire(1).await;
    let got = h
        .instance()
        .await
        .download_media(&id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data, file, "the second URL worked");
    expire(2).await;
    let r = h.instance().await.download_media(&id, None).await.unwrap();
    assert!(r.is_err(), "two expired URLs in a row: {r:?}");
}

#[tokio::test]
async fn types_and_sizes_are_refused_before_anything_is_sent() {
    let h = Harness::start(quiet()).await;
    let mut i = h.instance().await;
    for (kind, mime, size, field) in [
        (MediaKind::Image, "image/gif", 100, "mime-type"),
        (MediaKind::Image, "image/jpeg", 5 * 1024 * 1024 + 1, "size"),
        (MediaKind::Sticker, "image/webp", 150 * 1024, "size"),
        (MediaKind::Audio, "audio/wav", 100, "mime-type"),
        (MediaKind::Document, "application/pdf", 0, "size"),
    ] {
        let r = i
            .upload_media(kind, mime, "f", &vec![7u8; size])
            .await
            .unwrap();
        assert!(
            matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == field),
            "{mime} {size}: {r:?}"
        );
    }
}

#[tokio::test]
async fn a_resumable_upload_resumes_from_metas_offset_and_its_handle_makes_a_template() {
    let h = Harness::start(quiet()).await;
    let file = png(10_000);
    let started = h
        .instance()
        .await
        .start_upload("header.png", file.len() as u64, "image/png")
        .await
        .unwrap()
        .unwrap();
    assert!(started.session_id.starts_with("upload:"));
    let first = h
        .instance()
        .await
        .upload_chunk(&started.session_id, 0, &file[..4096])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.offset, first.handle.as_deref()), (4096, None));
    // The process died here. A new instance asks Meta where it stands…
    let status = h
        .instance()
        .await
        .upload_status(&started.session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.offset, 4096);
    // …a chunk from the wrong place is refused locally…
    let wrong = h
        .instance()
        .await
        .upload_chunk(&started.session_id, 0, &file[..10])
        .await
        .unwrap();
    assert!(
        matches!(wrong, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "offset"),
        "{wrong:?}"
    );
    // …and the rest completes it.
    let done = h
        .instance()
        .await
        .upload_chunk(&started.session_id, 4096, &file[4096..])
        .await
        .unwrap()
        .unwrap();
    let handle = done.handle.expect("the whole file is there");
    assert!(handle.starts_with("4::"));
    let template = NewTemplate {
        name: "photo_header".into(),
        language: "en_US".into(),
        category: TemplateCategory::Marketing,
        named_parameters: false,
        message_send_ttl_seconds: None,
        header: Some(TemplateHeader::Image(handle)),
        limited_time_offer: None,
        body: Some(TemplateBody {
            text: Some(TextWithExamples {
                text: "New in store, {{1}}!".into(),
                examples: vec!["Ana".into()],
                named_examples: vec![],
            }),
            add_security_recommendation: None,
        }),
        footer: None,
        buttons: vec![],
        carousel: vec![],
    };
    let created = h
        .instance()
        .await
        .create_template(&template)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.status, "PENDING");
}

#[tokio::test]
async fn a_large_upload_is_streamed_in_pieces_on_one_instance() {
    let h = Harness::start(quiet()).await;
    // A 20 MB document: written and read 1 MB at a time, never whole in the component's
    // memory (past the 16 MB a single-call download takes).
    let piece: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let size = 20 * piece.len() as u64;
    let mut i = h.instance().await;
    let up = i
        .begin_upload(MediaKind::Document, "application/pdf", "big.pdf", size)
        .await
        .unwrap()
        .unwrap();
    for n in 1..=20u64 {
        let written = i.write_upload(up, &piece).await.unwrap().unwrap();
        assert_eq!(written, n * piece.len() as u64);
    }
    let id = i.finish_upload(up).await.unwrap().unwrap();
    let info = h.instance().await.media_info(&id).await.unwrap().unwrap();
    assert_eq!(
        (info.file_size, info.mime_type.as_str()),
        (size, "application/pdf")
    );
    let whole_call = h.instance().await.download_media(&id, None).await.unwrap();
    assert!(
        whole_call.is_err(),
        "20 MB is past the single-call download"
    );
    let whole: Vec<u8> = piece.iter().copied().cycle().take(size as usize).collect();
    assert_eq!(info.sha256, sha256(&whole));
    // Read back in pieces the same way, its digest checked at the end.
    let d = i
        .begin_download(&id, Some(&sha256(&whole)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.file_size, size);
    let mut back = Vec::new();
    loop {
        let chunk = i.read_download(d.download, 1 << 20).await.unwrap().unwrap();
        if chunk.is_empty() {
            break;
        }
        assert!(chunk.len() <= 1 << 20);
        back.extend(chunk);
    }
    assert!(back == whole, "the download is the upload");
    let d = i
        .begin_download(&id, Some(&sha256(b"not it")))
        .await
        .unwrap()
        .unwrap();
    let end = loop {
        let r = i.read_download(d.download, 4 << 20).await.unwrap();
        if !matches!(r, Ok(ref c) if !c.is_empty()) {
            break r;
        }
    };
    assert!(
        matches!(end, Err(Error { kind: ErrorKind::Other, ref message, .. }) if message.contains("SHA-256")),
        "{end:?}"
    );
    // Too much, or too little: abandoned with a typed error, nothing stored.
    let up = i
        .begin_upload(MediaKind::Image, "image/png", "p.png", 10)
        .await
        .unwrap()
        .unwrap();
    let r = i.write_upload(up, &[0u8; 11]).await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "data"),
        "{r:?}"
    );
    let up = i
        .begin_upload(MediaKind::Image, "image/png", "p.png", 10)
        .await
        .unwrap()
        .unwrap();
    i.write_upload(up, &[0u8; 4]).await.unwrap().unwrap();
    let r = i.finish_upload(up).await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "upload"),
        "{r:?}"
    );
    let r = i.write_upload(9999, &[1]).await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "upload"),
        "{r:?}"
    );
    // Over the kind's limit: refused before anything is sent.
    let r = i
        .begin_upload(MediaKind::Video, "video/mp4", "huge.mp4", 17 << 20)
        .await
        .unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "size"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_thousand_streamed_uploads_and_resumable_chunks_see_no_false_failure() {
    // waki 0.5.1 reported 1–4 % of POSTs with a `content-length` as failed although the
    // server had them (guest/README.md). Both upload paths send one: the streamed upload
    // (written in pieces) and the resumable upload's chunk. Every call must come back with
    // Meta's answer, and every answer must be distinct.
    let h = Harness::start(quiet()).await;
    let (mut media_ids, mut handles) = (
        std::collections::HashSet::new(),
        std::collections::HashSet::new(),
    );
    let mut failures = Vec::new();
    for n in 0..1000u32 {
        // A file of its own each time: the sandbox's handle, like Meta's, names the content.
        let mut file = png(3_000);
        file[8..12].copy_from_slice(&n.to_be_bytes());
        let mut i = h.instance().await;
        let streamed = async {
            let up = i
                .begin_upload(MediaKind::Image, "image/png", "p.png", file.len() as u64)
                .await
                .unwrap()?;
            i.write_upload(up, &file[..1000]).await.unwrap()?;
            i.write_upload(up, &file[1000..]).await.unwrap()?;
            i.finish_upload(up).await.unwrap()
        }
        .await;
        match streamed {
            Ok(id) => assert!(media_ids.insert(id), "upload {n}: an id seen before"),
            Err(e) => failures.push((n, "streamed", e)),
        }
        let chunked = async {
            let s = i
                .start_upload("h.png", file.len() as u64, "image/png")
                .await
                .unwrap()?;
            i.upload_chunk(&s.session_id, 0, &file).await.unwrap()
        }
        .await;
        match chunked {
            Ok(done) => assert!(
                handles.insert(done.handle.expect("a whole file gives its handle")),
                "chunk {n}: a handle seen before"
            ),
            Err(e) => failures.push((n, "resumable", e)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} false failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!((media_ids.len(), handles.len()), (1000, 1000));
}
