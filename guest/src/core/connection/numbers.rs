//! The WABA's phone numbers: listing them, adding one, registering and deregistering
//! them, their two-step verification PIN and their verification code.

use crate::core::error::Error;
use crate::core::graph::{Paging, Request, encode_query, read_json};
use crate::core::ids::check_node_id;
use crate::core::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// The fields asked for when listing numbers, then [`LIMIT_FIELD`].
pub const NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,quality_rating,throughput,status,code_verification_status,name_status,platform_type,";

/// The business portfolio's messaging limit, as a number reads it (`TIER_2K`); once in
/// the image, for the request and the read.
pub const LIMIT_FIELD: &str = "whatsapp_business_manager_messaging_limit";

/// One phone number of the WABA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Its id.
    pub id: String,
    /// As displayed.
    pub display_phone_number: String,
    /// The verified business name.
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `UNKNOWN`.
    pub quality_rating: Option<String>,
    /// `TIER_250` … `TIER_UNLIMITED`.
    pub messaging_limit_tier: Option<String>,
    /// `STANDARD`, `HIGH`, …
    pub throughput: Option<String>,
    /// `CONNECTED`, `PENDING`, …
    pub status: Option<String>,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    pub code_verification_status: Option<String>,
    /// `APPROVED`, `PENDING_REVIEW`, `DECLINED`, …
    pub name_status: Option<String>,
    /// `CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE`.
    pub platform_type: Option<String>,
}

/// `GET /{waba-id}/phone_numbers`, from `after` when given.
pub fn numbers_request(s: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut path = format!(
        "{}/phone_numbers?fields={NUMBER_FIELDS}{LIMIT_FIELD}&limit=100",
        s.waba_id()?,
    );
    if let Some(a) = after {
        path.push_str(&format!("&after={}", encode_query(a)));
    }
    Ok(Request::get(s.url(&path)))
}

/// One page of numbers, and the cursor of the next.
pub fn read_numbers(status: u16, body: &[u8]) -> Result<(Vec<PhoneNumber>, Option<String>), Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
        #[serde(default)]
        paging: Paging,
    }
    let page: Page = read_json(status, body)?;
    let text = |v: &Value, k: &str| -> Option<String> {
        match &v[k] {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let mut numbers = Vec::with_capacity(page.data.len());
    for v in &page.data {
        let Some(id) = text(v, "id") else { continue };
        numbers.push(PhoneNumber {
            id,
            display_phone_number: text(v, "display_phone_number").unwrap_or_default(),
            verified_name: text(v, "verified_name"),
            quality_rating: text(v, "quality_rating"),
            messaging_limit_tier: text(v, LIMIT_FIELD),
            // `throughput` is an object: `{"level": "STANDARD"}`.
            throughput: v["throughput"]["level"]
                .as_str()
                .map(str::to_string)
                .or_else(|| text(v, "throughput")),
            status: text(v, "status"),
            code_verification_status: text(v, "code_verification_status"),
            name_status: text(v, "name_status"),
            platform_type: text(v, "platform_type"),
        });
    }
    Ok((numbers, page.paging.next_cursor()))
}

/// A two-step verification PIN: six digits.
pub fn check_pin(pin: &str) -> Result<(), Error> {
    if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("pin", "must be six digits"));
    }
    Ok(())
}

/// `POST /{phone-number-id}/register`.
pub fn register_request(s: &Settings, phone_number_id: &str, pin: &str) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    check_pin(pin)?;
    Ok(Request::post_json(
        s.url(&format!("{id}/register")),
        &json!({ "messaging_product": "whatsapp", "pin": pin }),
    ))
}

/// `POST /{phone-number-id}/deregister`.
pub fn deregister_request(s: &Settings, phone_number_id: &str) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    Ok(Request::post_json(
        s.url(&format!("{id}/deregister")),
        &json!({}),
    ))
}

/// `POST /{phone-number-id}` with a new two-step verification PIN.
pub fn set_pin_request(s: &Settings, phone_number_id: &str, pin: &str) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    check_pin(pin)?;
    Ok(Request::post_json(s.url(id), &json!({ "pin": pin })))
}

/// How a verification code is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMethod {
    /// A text message.
    Sms,
    /// A call.
    Voice,
}

/// Meta's spec: `^[a-z]{2}_[A-Z]{2}$`.
fn check_language(language: &str) -> Result<(), Error> {
    let b = language.as_bytes();
    let ok = b.len() == 5
        && b[..2].iter().all(u8::is_ascii_lowercase)
        && b[2] == b'_'
        && b[3..].iter().all(u8::is_ascii_uppercase);
    if !ok {
        return Err(Error::invalid("language", "a language code like en_US"));
    }
    Ok(())
}

/// `POST /{waba-id}/phone_numbers`: add a number to the WABA (the "add sender" step;
/// then `request-code`, `verify-code` and `register`). `country_code` is the calling code
/// (`1`, `49`), `number` the rest of the number in digits, `verified_name` the display name
/// Meta reviews.
pub fn add_number_request(
    s: &Settings,
    country_code: &str,
    number: &str,
    verified_name: &str,
) -> Result<Request, Error> {
    let digits = |t: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0')
    };
    if !digits(country_code, 1, 3) {
        return Err(Error::invalid("country-code", "1 to 3 digits (1, 49)"));
    }
    if !digits(number, 7, 15) {
        return Err(Error::invalid(
            "phone-number",
            "7 to 15 digits, no country code",
        ));
    }
    let n = verified_name.trim().chars().count();
    if !(2..=75).contains(&n) {
        return Err(Error::invalid(
            "verified-name",
            format!("must be 2 to {} characters", 75),
        ));
    }
    Ok(Request::post_json(
        s.url(&format!("{}/phone_numbers", s.waba_id()?)),
        &json!({ "cc": country_code, "phone_number": number, "verified_name": verified_name.trim() }),
    ))
}

/// Read the added number's id.
pub fn read_added(status: u16, body: &[u8]) -> Result<String, Error> {
    let v: Value = read_json(status, body)?;
    match &v["id"] {
        Value::String(id) if !id.is_empty() => Ok(id.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(Error::Other(format!(
            "no id: {}",
            crate::core::error::excerpt(body)
        ))),
    }
}

/// `POST /{phone-number-id}/request_code`.
pub fn request_code_request(
    s: &Settings,
    phone_number_id: &str,
    method: CodeMethod,
    language: &str,
) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    check_language(language)?;
    let method = match method {
        CodeMethod::Sms => "SMS",
        CodeMethod::Voice => "VOICE",
    };
    Ok(Request::post_json(
        s.url(&format!("{id}/request_code")),
        &json!({ "code_method": method, "language": language }),
    ))
}

/// `POST /{phone-number-id}/verify_code`.
pub fn verify_code_request(
    s: &Settings,
    phone_number_id: &str,
    code: &str,
) -> Result<Request, Error> {
    let id = check_node_id("phone-number-id", phone_number_id)?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("code", "must be the six digits Meta sent"));
    }
    Ok(Request::post_json(
        s.url(&format!("{id}/verify_code")),
        &json!({ "code": code }),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use super::*;

    #[test]
    fn a_number_to_add_is_checked_before_sending() {
        let r = add_number_request(&settings(), "1", "6315555555", "Jasper's Market").unwrap();
        assert!(r.url.ends_with("/phone_numbers"), "{}", r.url);
        assert!(add_number_request(&settings(), "+1", "6315555555", "Jasper's").is_err());
        assert!(add_number_request(&settings(), "1", "0631555", "Jasper's").is_err());
        assert!(add_number_request(&settings(), "1", "6315555555", "J").is_err());
        assert_eq!(
            read_added(200, br#"{"id":"1906385232743451"}"#).unwrap(),
            "1906385232743451"
        );
        assert!(read_added(200, br#"{}"#).is_err());
    }

    #[test]
    fn numbers_are_read_with_paging() {
        let body = br#"{"data":[{"verified_name":"Acme","code_verification_status":"VERIFIED","display_phone_number":"+1 555-078-3881","quality_rating":"GREEN","platform_type":"CLOUD_API","throughput":{"level":"STANDARD"},"whatsapp_business_manager_messaging_limit":"TIER_1K","status":"CONNECTED","id":"777"},{"display_phone_number":"x"}],"paging":{"cursors":{"before":"b","after":"a"},"next":"https://n"}}"#;
        let (n, next) = read_numbers(200, body).unwrap();
        assert_eq!(n.len(), 1, "an entry without an id is skipped");
        assert_eq!(n[0].throughput.as_deref(), Some("STANDARD"));
        assert_eq!(n[0].platform_type.as_deref(), Some("CLOUD_API"));
        assert_eq!(next.as_deref(), Some("a"));
        let r = numbers_request(&settings(), Some("a b")).unwrap();
        assert!(r.url.ends_with("&after=a%20b"), "{}", r.url);
    }

    #[test]
    fn registration_requests_check_their_inputs() {
        let s = settings();
        let r = register_request(&s, "777", "123456").unwrap();
        assert!(r.url.ends_with("/777/register"));
        assert_eq!(
            serde_json::from_slice::<Value>(r.body.as_deref().unwrap()).unwrap(),
            json!({"messaging_product":"whatsapp","pin":"123456"})
        );
        for bad in ["12345", "1234567", "12a456", ""] {
            assert!(register_request(&s, "777", bad).is_err(), "{bad}");
        }
        assert!(register_request(&s, "7/7", "123456").is_err());
        assert!(request_code_request(&s, "777", CodeMethod::Voice, "en_US").is_ok());
        assert!(request_code_request(&s, "777", CodeMethod::Sms, "en US").is_err());
        assert!(request_code_request(&s, "777", CodeMethod::Sms, "en").is_err());
        assert!(verify_code_request(&s, "777", "123456").is_ok());
        assert!(verify_code_request(&s, "777", "12").is_err());
        assert!(
            set_pin_request(&s, "777", "654321")
                .unwrap()
                .url
                .ends_with("/v23.0/777")
        );
    }
}
