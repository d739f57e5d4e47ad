//! Meta's webhooks: the subscription handshake, `X-Hub-Signature-256`, parsing a POST
//! body into events ([`parse`]), and the state the events keep ([`state`]).

pub mod json;
mod parse;
#[cfg(not(target_arch = "wasm32"))]
pub mod schema;
pub mod state;
mod tree;
mod types;

pub use parse::parse;
pub use types::*;

use super::error::Error;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The header Meta signs webhooks with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Check `sha256=<hex>` over the exact raw body, in constant time.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Error> {
    verify_signature_with(header, || hmac_sha256(app_secret, body))
}

/// [`verify_signature`] with the HMAC computed by `mac` (the component asks its host,
/// whose SHA-256 is hardware-accelerated). The header is checked before `mac` runs.
pub fn verify_signature_with(
    header: Option<&str>,
    mac: impl FnOnce() -> [u8; 32],
) -> Result<(), Error> {
    let header = header
        .ok_or_else(|| Error::BadSignature("the X-Hub-Signature-256 header is missing".into()))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| Error::BadSignature("the header must be sha256=<64 hex digits>".into()))?;
    let mut expected = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut expected)
        .map_err(|_| Error::BadSignature("the header must be sha256=<64 hex digits>".into()))?;
    let actual = mac();
    // Constant time: every byte is compared whatever the first difference.
    let diff = actual
        .iter()
        .zip(expected.iter())
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff != 0 {
        return Err(Error::BadSignature(
            "the signature does not match the body under the app secret".into(),
        ));
    }
    Ok(())
}

/// HMAC-SHA256 of `body` under `key`.
pub fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// `sha256=<hex>` for a body, as Meta computes it.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(app_secret, body)))
}

/// Answer the subscription handshake: the challenge, if the mode and token match.
pub fn verify_subscription(
    expected_token: Option<&str>,
    mode: &str,
    token: &str,
    challenge: &str,
) -> Result<String, Error> {
    let expected = expected_token
        .ok_or_else(|| Error::NotConfigured("the tenant has no verify-token".into()))?;
    if mode != "subscribe" {
        return Err(Error::invalid("hub.mode", "must be subscribe"));
    }
    // Compare digests so that the comparison takes the same time wherever they differ.
    if Sha256::digest(expected.as_bytes()) != Sha256::digest(token.as_bytes()) {
        return Err(Error::invalid("hub.verify_token", "does not match"));
    }
    Ok(challenge.to_string())
}

/// Decode one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a
/// byte; a `%` not followed by two hex digits stays as it is).
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) << 4 | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        let body = br#"{"entry":[]}"#;
        let sig = sign(b"secret", body);
        assert!(verify_signature(b"secret", body, Some(&sig)).is_ok());
        assert!(
            verify_signature(
                b"secret",
                body,
                Some(&sig.to_uppercase().replace("SHA256=", "sha256="))
            )
            .is_ok()
        );
        for bad in [
            None,
            Some(""),
            Some("sha1=00"),
            Some("sha256=zz"),
            Some("sha256=00"),
        ] {
            assert!(
                matches!(
                    verify_signature(b"secret", body, bad),
                    Err(Error::BadSignature(_))
                ),
                "{bad:?}"
            );
        }
        assert!(verify_signature(b"other", body, Some(&sig)).is_err());
        assert!(verify_signature(b"secret", br#"{"entry": []}"#, Some(&sig)).is_err());
    }

    #[test]
    fn the_handshake_needs_subscribe_and_the_token() {
        assert_eq!(
            verify_subscription(Some("t"), "subscribe", "t", "123").unwrap(),
            "123"
        );
        assert!(verify_subscription(Some("t"), "subscribe", "u", "123").is_err());
        assert!(verify_subscription(Some("t"), "unsubscribe", "t", "123").is_err());
        assert!(matches!(
            verify_subscription(None, "subscribe", "t", "1"),
            Err(Error::NotConfigured(_))
        ));
    }

    #[test]
    fn junk_is_invalid_input_not_a_panic() {
        for junk in [
            &b""[..],
            b"null",
            b"[1,2]",
            b"{\"entry\":5}",
            b"\xff\xfe",
            b"{\"entry\":[{\"changes\":",
        ] {
            assert!(
                matches!(parse(junk), Err(Error::InvalidInput { .. })),
                "{junk:?}"
            );
        }
        assert_eq!(parse(b"{}").unwrap(), vec![]);
    }

    #[test]
    fn a_change_that_is_not_an_object_is_kept_as_unknown() {
        let ev = parse(br#"{"entry":[{"id":"1","changes":[42,{"field":"messages","value":{"statuses":[{"bogus":1}]}}]}]}"#).unwrap();
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[0].body, EventBody::Unknown(s) if s == "42"));
        assert!(matches!(&ev[1].body, EventBody::Unknown(s) if s.contains("bogus")));
    }
}
