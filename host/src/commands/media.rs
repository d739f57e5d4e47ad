//! `wa-host media …`: upload, resumable upload (in chunks, resumable with --session),
//! get, download (digest checked) and delete a tenant's media through the component.

use super::{instance, print};
use crate::{BoxError, Cli};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use whatsapp_host::api::MediaKind;

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl From<Kind> for MediaKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Image => MediaKind::Image,
            Kind::Video => MediaKind::Video,
            Kind::Audio => MediaKind::Audio,
            Kind::Document => MediaKind::Document,
            Kind::Sticker => MediaKind::Sticker,
        }
    }
}

#[derive(Subcommand)]
pub enum MediaCommand {
    /// Upload a file for sending (streamed); prints its media id.
    Upload {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum)]
        kind: Kind,
        /// The MIME type (image/jpeg, video/mp4, application/pdf, …).
        #[arg(long)]
        mime_type: String,
        file: PathBuf,
    },
    /// Upload through a resumable session (template examples); prints the handle. With
    /// --session, resume that session from where Meta stands.
    UploadResumable {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        mime_type: String,
        /// Resume this session (`upload:…`, printed when it started).
        #[arg(long)]
        session: Option<String>,
        /// Bytes per chunk.
        #[arg(long, default_value_t = 4 << 20)]
        chunk_size: usize,
        file: PathBuf,
    },
    /// What Meta knows of a media id (its URL lives for minutes).
    Get {
        #[arg(long)]
        tenant: String,
        id: String,
    },
    /// Download a media file, checking its SHA-256 (the webhook's, or Meta's).
    Download {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long)]
        sha256: Option<String>,
        /// Where to write it.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Delete an uploaded file.
    Delete {
        #[arg(long)]
        tenant: String,
        id: String,
    },
}

pub async fn run(cli: &Cli, command: &MediaCommand) -> Result<(), BoxError> {
    match command {
        MediaCommand::Upload {
            tenant,
            kind,
            mime_type,
            file,
        } => {
            // Streamed a megabyte at a time: the file is never whole in memory.
            let mut f =
                std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let size = f.metadata()?.len();
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let up = i
                .begin_upload((*kind).into(), mime_type, name, size)
                .await
                .map_err(|e| e.to_string())?
                .or_else(|e| super::fail(&e))?;
            let mut piece = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut piece)?;
                if n == 0 {
                    break;
                }
                i.write_upload(up, &piece[..n])
                    .await
                    .map_err(|e| e.to_string())?
                    .or_else(|e| super::fail(&e))?;
            }
            print(i.finish_upload(up).await, |id| json!({ "id": id }))
        }
        MediaCommand::UploadResumable {
            tenant,
            mime_type,
            session,
            chunk_size,
            file,
        } => {
            let mut f =
                std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let length = f.metadata()?.len();
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
            let (_runtime, mut i) = instance(cli, tenant).await?;
            let mut progress = match session {
                Some(s) => i.upload_status(s).await,
                None => i.start_upload(name, length, mime_type).await,
            }
            .map_err(|e| e.to_string())?
            .or_else(|e| super::fail(&e))?;
            eprintln!(
                "wa-host: session {} at {} of {length} bytes",
                progress.session_id, progress.offset
            );
            let mut chunk = vec![0u8; (*chunk_size).clamp(1, 16 << 20)];
            while progress.handle.is_none() {
                // Read from Meta's offset: one chunk in memory at a time.
                f.seek(SeekFrom::Start(progress.offset))?;
                let n = f.read(&mut chunk)?;
                if n == 0 {
                    return Err("the file is shorter than the session's length".into());
                }
                progress = i
                    .upload_chunk(&progress.session_id, progress.offset, &chunk[..n])
                    .await
                    .map_err(|e| e.to_string())?
                    .or_else(|e| super::fail(&e))?;
                eprintln!("wa-host: {} of {length} bytes", progress.offset);
            }
            super::out(json!({ "session_id": progress.session_id, "handle": progress.handle }))?;
            Ok(())
        }
        MediaCommand::Get { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(
                i.media_info(id).await,
                |m| json!({ "id": m.id, "url": m.url, "mime_type": m.mime_type, "sha256": m.sha256, "file_size": m.file_size }),
            )
        }
        MediaCommand::Download {
            tenant,
            id,
            sha256,
            output,
        } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            match i
                .download_media(id, sha256.as_deref())
                .await
                .map_err(|e| e.to_string())?
            {
                Ok(m) => {
                    std::fs::write(output, &m.data)
                        .map_err(|e| format!("{}: {e}", output.display()))?;
                    super::out(
                        json!({ "file": output, "mime_type": m.mime_type, "sha256": m.sha256, "bytes": m.data.len() }),
                    )?;
                    Ok(())
                }
                Err(e) => super::fail(&e),
            }
        }
        MediaCommand::Delete { tenant, id } => {
            let (_runtime, mut i) = instance(cli, tenant).await?;
            print(i.delete_media(id).await, |()| json!({ "deleted": id }))
        }
    }
}
