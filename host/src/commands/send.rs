//! `wa-host send`: any kind of message as a tenant, from flags or the WIT's
//! `outgoing-message` as JSON; `--dry-run` prints the Graph request instead.

use crate::{BoxError, Cli};
use std::io::Read;
use std::path::PathBuf;
use whatsapp_host::runtime::api::{Content, OutgoingMessage, Text};

/// What to send: one of the content flags, or `--json`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The recipient (E.164, wa_id, or a business-scoped user id); overrides the one in --json.
    #[arg(long)]
    to: Option<String>,
    /// A text message.
    #[arg(long, group = "kind")]
    text: Option<String>,
    /// Render a link preview (with --text).
    #[arg(long)]
    preview_url: bool,
    /// An image: a media id, or an http(s) link.
    #[arg(long, group = "kind")]
    image: Option<String>,
    /// A video: a media id or link.
    #[arg(long, group = "kind")]
    video: Option<String>,
    /// An audio file or voice note: a media id or link.
    #[arg(long, group = "kind")]
    audio: Option<String>,
    /// A document: a media id or link.
    #[arg(long, group = "kind")]
    document: Option<String>,
    /// A sticker: a media id or link.
    #[arg(long, group = "kind")]
    sticker: Option<String>,
    /// The caption (image, video, document).
    #[arg(long)]
    caption: Option<String>,
    /// The file name (document).
    #[arg(long)]
    filename: Option<String>,
    /// A reaction: the wamid reacted to (with --emoji; an empty emoji removes it).
    #[arg(long, group = "kind")]
    react_to: Option<String>,
    /// The reaction's emoji.
    #[arg(long, default_value = "")]
    emoji: String,
    /// A template, by name (with --language and --param).
    #[arg(long, group = "kind")]
    template: Option<String>,
    /// The template's language code.
    #[arg(long, default_value = "en_US")]
    language: String,
    /// A body parameter: VALUE (positional, in order) or name=VALUE (NAMED); repeatable.
    #[arg(long = "param")]
    params: Vec<String>,
    /// The full message as JSON, in the shape of the WIT's `outgoing-message` (see
    /// examples/messages/); `-` reads stdin.
    #[arg(long, group = "kind", value_name = "FILE")]
    json: Option<PathBuf>,
    /// The wamid this replies to.
    #[arg(long)]
    reply_to: Option<String>,
    /// Data echoed back in status webhooks.
    #[arg(long)]
    callback_data: Option<String>,
    /// Validate and print the Graph request instead of sending it (no token in it).
    #[arg(long)]
    dry_run: bool,
}

impl SendArgs {
    fn message(&self) -> Result<OutgoingMessage, BoxError> {
        use whatsapp_host::api::outgoing as o;
        let source = |s: &str| {
            if s.starts_with("http://") || s.starts_with("https://") {
                o::MediaSource::Link(s.into())
            } else {
                o::MediaSource::Id(s.into())
            }
        };
        let media = |s: &str| o::Media {
            source: source(s),
            caption: self.caption.clone(),
            filename: self.filename.clone(),
        };
        let mut m = if let Some(path) = &self.json {
            let text = if path.as_os_str() == "-" {
                let mut t = String::new();
                std::io::stdin().read_to_string(&mut t)?;
                t
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            };
            serde_json::from_str::<OutgoingMessage>(&text)
                .map_err(|e| format!("{}: not an outgoing-message: {e}", path.display()))?
        } else {
            let content = if let Some(t) = &self.text {
                Content::Text(Text {
                    body: t.clone(),
                    preview_url: self.preview_url,
                })
            } else if let Some(s) = &self.image {
                Content::Image(media(s))
            } else if let Some(s) = &self.video {
                Content::Video(media(s))
            } else if let Some(s) = &self.audio {
                Content::Audio(media(s))
            } else if let Some(s) = &self.document {
                Content::Document(media(s))
            } else if let Some(s) = &self.sticker {
                Content::Sticker(media(s))
            } else if let Some(id) = &self.react_to {
                Content::Reaction(o::Reaction {
                    message_id: id.clone(),
                    emoji: self.emoji.clone(),
                })
            } else if let Some(name) = &self.template {
                let body = self
                    .params
                    .iter()
                    .map(|p| {
                        let (name, value) = match p.split_once('=') {
                            Some((n, v))
                                if !n.is_empty()
                                    && n.bytes().all(|b| {
                                        b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()
                                    }) =>
                            {
                                (Some(n.to_string()), v.to_string())
                            }
                            _ => (None, p.clone()),
                        };
                        o::TemplateParameter {
                            name,
                            value: o::ParameterValue::Text(value),
                        }
                    })
                    .collect();
                Content::Template(o::TemplateMessage {
                    name: name.clone(),
                    language: self.language.clone(),
                    header: None,
                    body,
                    buttons: vec![],
                    carousel: vec![],
                    offer_expires_at_ms: None,
                })
            } else {
                return Err("say what to send: --text, --image, --video, --audio, --document, --sticker, --react-to, --template or --json".into());
            };
            OutgoingMessage {
                to: String::new(),
                content,
                reply_to: None,
                biz_opaque_callback_data: None,
            }
        };
        if let Some(to) = &self.to {
            m.to = to.clone();
        }
        if m.to.is_empty() {
            return Err("--to is required (or a \"to\" in --json)".into());
        }
        if self.reply_to.is_some() {
            m.reply_to = self.reply_to.clone();
        }
        if self.callback_data.is_some() {
            m.biz_opaque_callback_data = self.callback_data.clone();
        }
        Ok(m)
    }
}

pub async fn run(cli: &Cli, args: &SendArgs) -> Result<(), BoxError> {
    let message = args.message()?;
    let (_runtime, mut instance) = super::instance(cli, &args.tenant).await?;
    let outcome = if args.dry_run {
        instance.preview(&message).await.map_err(|e| format!("the component failed: {e}"))?.map(|p| {
            let body: serde_json::Value = serde_json::from_str(&p.body).unwrap_or(serde_json::Value::String(p.body));
            serde_json::json!({ "method": p.method, "url": p.url,
                "headers": { "authorization": "Bearer <redacted>", "content-type": "application/json" }, "body": body })
        })
    } else {
        instance.send(&message).await.map_err(|e| format!("the component failed: {e}"))?.map(|r| {
            serde_json::json!({ "message_id": r.message_id, "wa_id": r.wa_id, "user_id": r.user_id, "input": r.input, "message_status": r.message_status })
        })
    };
    match outcome {
        Ok(v) => {
            println!("{v}");
            Ok(())
        }
        Err(e) => super::fail(&e),
    }
}
