//! The business profile picture itself (`profile_picture_url`, then the picture from Meta's
//! CDN, fetched without the token).

use crate::core::error::Error;
#[cfg(test)]
use crate::core::graph::Credential;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde_json::Value;

/// Where Meta serves profile pictures.
pub const PICTURE_ORIGIN: &str = "https://pps.whatsapp.net";
/// The largest picture taken (Meta's profile pictures are at most 5 MB).
pub const MAX_BYTES: usize = 5 << 20;

/// `GET /{phone-number-id}/whatsapp_business_profile` (the profile's fields, which hold
/// `profile_picture_url`).
pub fn url_request(s: &Settings) -> Result<Request, Error> {
    crate::core::connection::profile_request(s, None)
}

/// Read the picture's URL: its download request (no token), or none without a picture.
/// The URL must be on Meta's picture host, its CDN or the tenant's Graph origin (the
/// sandbox), over https unless it is that origin.
pub fn read_url(s: &Settings, status: u16, body: &[u8]) -> Result<Option<Request>, Error> {
    let v: Value = read_json(status, body)?;
    let Some(url) = super::items(&v)
        .first()
        .and_then(|p| p["profile_picture_url"].as_str())
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    crate::core::graph::signed_download(s, url, Some(PICTURE_ORIGIN)).map(Some)
}

/// Read the picture: its bytes and their type, by its first bytes (JPEG or PNG).
pub fn read_picture(status: u16, body: Vec<u8>) -> Result<(String, Vec<u8>), Error> {
    crate::core::graph::check_download(status)?;
    if body.len() > MAX_BYTES {
        return Err(Error::Other("picture: over 5 MB".into()));
    }
    let mime = if body.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if body.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else {
        return Err(Error::Other("picture: not JPEG or PNG".into()));
    };
    Ok((mime.into(), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_is_fetched_only_from_meta_without_the_token() {
        let s = Settings::from_pairs([("phone-number-id".to_string(), "1".to_string())]);
        let answer = |u: &str| {
            format!(
                r#"{{"data":[{{"profile_picture_url":"{u}","messaging_product":"whatsapp"}}]}}"#
            )
        };
        let r = read_url(
            &s,
            200,
            answer("https://pps.whatsapp.net/v/t61/x.jpg?oh=1").as_bytes(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.credential, Credential::None);
        for bad in [
            "https://pps.whatsapp.net.evil.example/x",
            "http://pps.whatsapp.net/x",
            "https://evil.example/x",
        ] {
            assert!(read_url(&s, 200, answer(bad).as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(
            read_url(&s, 200, br#"{"data":[{"messaging_product":"whatsapp"}]}"#).unwrap(),
            None
        );
        assert_eq!(
            read_picture(200, vec![0xFF, 0xD8, 0xFF, 0]).unwrap().0,
            "image/jpeg"
        );
        assert!(read_picture(200, b"<html>".to_vec()).is_err());
    }
}
