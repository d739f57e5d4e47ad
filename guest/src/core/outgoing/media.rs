//! The media kinds: image, video, audio, document and sticker share one shape.

use super::fields::{optional, required, source};
use super::{Media, limits};
use crate::core::error::Error;
use serde_json::Value;

/// Meta's `image`, `video`, `audio`, `document` and `sticker` messages (`kind`).
pub(super) fn media(field: &str, kind: &str, m: &Media) -> Result<Value, Error> {
    let mut v = source(&format!("{field}.source"), &m.source)?;
    match (kind, &m.caption) {
        ("audio" | "sticker", Some(_)) => {
            return Err(Error::invalid(
                format!("{field}.caption"),
                format!("{kind} messages have no caption"),
            ));
        }
        (_, Some(c)) => {
            optional(&format!("{field}.caption"), Some(c), limits::CAPTION_MAX)?;
            v["caption"] = c.as_str().into();
        }
        _ => {}
    }
    match (kind, &m.filename) {
        ("document", Some(f)) => {
            required(&format!("{field}.filename"), f, limits::FILENAME_MAX)?;
            v["filename"] = f.as_str().into();
        }
        (_, Some(_)) => {
            return Err(Error::invalid(
                format!("{field}.filename"),
                "only documents have a file name",
            ));
        }
        _ => {}
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::super::tests::field_of;
    use super::super::*;
    use serde_json::json;

    #[test]
    fn media_rules() {
        let audio = Content::Audio(Media {
            source: MediaSource::Link("https://x/a.ogg".into()),
            caption: Some("c".into()),
            filename: None,
        });
        assert_eq!(field_of(build(&audio)), "content.audio.caption");
        let bad_link = Content::Image(Media {
            source: MediaSource::Link("ftp://x".into()),
            caption: None,
            filename: None,
        });
        assert_eq!(field_of(build(&bad_link)), "content.image.source");
        let img_filename = Content::Image(Media {
            source: MediaSource::Id("1".into()),
            caption: None,
            filename: Some("a.jpg".into()),
        });
        assert_eq!(field_of(build(&img_filename)), "content.image.filename");
        let doc = Content::Document(Media {
            source: MediaSource::Id("1".into()),
            caption: Some("c".into()),
            filename: Some("a.pdf".into()),
        });
        assert_eq!(
            build(&doc).unwrap().1,
            json!({ "id": "1", "caption": "c", "filename": "a.pdf" })
        );
    }
}
