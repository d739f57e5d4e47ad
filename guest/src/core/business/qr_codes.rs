//! QR codes with a prefilled message (`/{phone-number-id}/message_qrdls`): scanned, they
//! open a chat with the number with the message typed in.

use crate::core::error::Error;
use crate::core::graph::{Request, encode_query, read_json};
use crate::core::settings::Settings;
use serde_json::{Value, json};

/// One QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    /// Meta's code (14 capital letters and digits).
    pub code: String,
    /// The message typed in for the user.
    pub prefilled_message: String,
    /// `https://wa.me/message/{code}`.
    pub deep_link_url: String,
    /// The image, when one was asked for (a signed URL on Meta's CDN).
    pub image_url: Option<String>,
}

/// At most 140 characters (`CreateQrCodeRequest`).
pub const MESSAGE_CHARS: usize = 140;

fn check_message(m: &str) -> Result<(), Error> {
    let n = m.chars().count();
    if n == 0 || n > MESSAGE_CHARS || m.trim().is_empty() {
        return Err(Error::invalid(
            "prefilled-message",
            format!("must be 1 to {MESSAGE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A code as Meta makes them: 14 capital letters and digits. (The spec's pattern says
/// `A-Z2-7`, but its own examples, `5QBPAD2DC6L5A1`, hold 1s: the examples are followed.)
pub fn check_code(code: &str) -> Result<&str, Error> {
    if code.len() == 14
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(code)
    } else {
        Err(Error::invalid("code", "14 capitals and digits"))
    }
}

fn format_name(png: bool) -> &'static str {
    if png { "PNG" } else { "SVG" }
}

/// `POST /{phone-number-id}/message_qrdls`: a new code, with an image (`png` or SVG) when
/// `image` is given.
pub fn create_request(s: &Settings, message: &str, image: Option<bool>) -> Result<Request, Error> {
    check_message(message)?;
    let mut body = json!({ "prefilled_message": message });
    if let Some(png) = image {
        body["generate_qr_image"] = format_name(png).into();
    }
    Ok(Request::post_json(
        s.url(&format!("{}/message_qrdls", s.phone_number_id()?)),
        &body,
    ))
}

/// `POST /{phone-number-id}/message_qrdls` with the `code`: a new message for it.
pub fn update_request(s: &Settings, code: &str, message: &str) -> Result<Request, Error> {
    check_message(message)?;
    let body = json!({ "code": check_code(code)?, "prefilled_message": message });
    Ok(Request::post_json(
        s.url(&format!("{}/message_qrdls", s.phone_number_id()?)),
        &body,
    ))
}

/// `GET /{phone-number-id}/message_qrdls`, a page from `after`, with image URLs when
/// `image` is given.
pub fn list_request(
    s: &Settings,
    image: Option<bool>,
    after: Option<&str>,
) -> Result<Request, Error> {
    let mut path = format!("{}/message_qrdls?limit=25", s.phone_number_id()?);
    if let Some(png) = image {
        path.push_str(&format!(
            "&fields=code,prefilled_message,deep_link_url,qr_image_url.format({})",
            format_name(png)
        ));
    }
    if let Some(a) = after {
        path.push_str(&format!("&after={}", encode_query(a)));
    }
    Ok(Request::get(s.url(&path)))
}

/// `DELETE /{phone-number-id}/message_qrdls/{code}`.
pub fn delete_request(s: &Settings, code: &str) -> Result<Request, Error> {
    Ok(Request::delete(s.url(&format!(
        "{}/message_qrdls/{}",
        s.phone_number_id()?,
        check_code(code)?
    ))))
}

fn code_of(v: &Value) -> QrCode {
    QrCode {
        code: super::text(&v["code"]),
        prefilled_message: super::text(&v["prefilled_message"]),
        deep_link_url: super::text(&v["deep_link_url"]),
        image_url: v["qr_image_url"].as_str().map(str::to_string),
    }
}

/// Read a created or updated code.
pub fn read_one(status: u16, body: &[u8]) -> Result<QrCode, Error> {
    let v: Value = read_json(status, body)?;
    let c = code_of(&v);
    if c.code.is_empty() {
        return Err(Error::Other(format!(
            "no code: {}",
            crate::core::error::excerpt(body)
        )));
    }
    Ok(c)
}

/// Read a page of codes and the cursor of the next.
pub fn read_page(status: u16, body: &[u8]) -> Result<(Vec<QrCode>, Option<String>), Error> {
    let v: Value = read_json(status, body)?;
    let next = crate::core::graph::next_after(&v);
    Ok((super::items(&v).iter().map(code_of).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::from_pairs([("phone-number-id".to_string(), "106540352242922".to_string())])
    }

    #[test]
    fn codes_and_messages_are_checked_before_sending() {
        let r = create_request(&s(), "Show me Cyber Monday deals!", Some(true)).unwrap();
        assert!(
            String::from_utf8_lossy(r.body.as_ref().unwrap())
                .contains(r#""generate_qr_image":"PNG""#)
        );
        assert!(create_request(&s(), &"x".repeat(141), None).is_err());
        assert!(create_request(&s(), " ", None).is_err());
        assert!(update_request(&s(), "ANED2T5QRU7HG1", "Hi").is_ok());
        for bad in [
            "aned2t5qru7hg1",
            "ANED2T5QRU7HG",
            "ANED2T5QRU7HG1X",
            "../../x",
            "ANED2T5QRU7H/1",
        ] {
            assert!(update_request(&s(), bad, "Hi").is_err(), "{bad}");
            assert!(delete_request(&s(), bad).is_err(), "{bad}");
        }
        let l = list_request(&s(), Some(false), Some("QVFI=")).unwrap();
        assert!(
            l.url.contains("qr_image_url.format(SVG)") && l.url.ends_with("&after=QVFI%3D"),
            "{}",
            l.url
        );
        let (codes, next) = read_page(200, br#"{"data":[{"code":"ANED2T5QRU7HG1","prefilled_message":"Hi","deep_link_url":"https://wa.me/message/ANED2T5QRU7HG1"}],"paging":{"cursors":{"after":"A"}}}"#).unwrap();
        assert_eq!(
            (codes.len(), codes[0].image_url.clone(), next),
            (1, None, None)
        );
    }
}
