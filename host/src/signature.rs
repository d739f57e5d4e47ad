//! HMAC-SHA256 body signatures, the transport's own: `X-Hub-Signature-256` on the POSTs
//! Meta sends (checked once, when one arrives, before any component sees the body) and
//! `X-WA-Signature-256` on the events the host forwards. Both are `sha256=<hex>` of the
//! exact raw body under a shared secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header Meta signs webhooks with.
pub const META_HEADER: &str = "x-hub-signature-256";

/// HMAC-SHA256 of `body` under `key`.
fn mac(key: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret, body)))
}

/// Why a signature was refused. Never holds the secret or the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No header.
    Missing,
    /// Not `sha256=` and 64 hex digits.
    Malformed,
    /// Well formed, but not the body's under this secret.
    Mismatch,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Missing => "the signature header is missing",
            Refused::Malformed => "the signature header must be sha256=<64 hex digits>",
            Refused::Mismatch => "the signature does not match the body under the secret",
        })
    }
}

/// The 32 bytes a header names, checked for form only (so that a body is hashed once
/// per secret, not once per malformed header).
pub fn parse(header: Option<&str>) -> Result<[u8; 32], Refused> {
    let hex_sig = header
        .ok_or(Refused::Missing)?
        .trim()
        .strip_prefix("sha256=")
        .ok_or(Refused::Malformed)?;
    let mut expected = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut expected).map_err(|_| Refused::Malformed)?;
    Ok(expected)
}

/// Whether `expected` (from [`parse`]) is `body`'s signature under `secret`, compared in
/// constant time.
pub fn holds(secret: &[u8], body: &[u8], expected: &[u8; 32]) -> bool {
    mac(secret, body).ct_eq(expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_over_the_exact_bytes_under_its_secret_only() {
        let body = br#"{"entry":[]}"#;
        let header = sign(b"secret", body);
        let expected = parse(Some(&header)).unwrap();
        assert!(holds(b"secret", body, &expected));
        assert!(!holds(b"other", body, &expected));
        assert!(!holds(b"secret", br#"{"entry": []}"#, &expected));
        assert_eq!(parse(None), Err(Refused::Missing));
        assert_eq!(parse(Some("sha1=00")), Err(Refused::Malformed));
        assert_eq!(parse(Some("sha256=zz")), Err(Refused::Malformed));
        // Meta's documented example shape: lower-case hex, any surrounding space ignored.
        assert_eq!(parse(Some(&format!(" {header} "))), Ok(expected));
    }
}
