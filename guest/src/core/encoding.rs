//! Standard base64 (RFC 4648 §4, with padding) and `multipart/form-data` bodies: small
//! enough to write here rather than pull crates into the component.

use sha2::{Digest, Sha256};

/// A value the component defined as JSON bytes. Such values always serialize (no maps
/// with other than string keys); not `.expect()`: that would keep `serde_json::Error`'s
/// `Debug`, and with it std's I/O error names, in every instance's data image
/// (tests/footprint.rs).
pub fn json_bytes<T: serde::Serialize + ?Sized>(v: &T) -> Vec<u8> {
    match serde_json::to_vec(v) {
        Ok(b) => b,
        Err(_) => unreachable!("the component's own values serialize"),
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64-encode `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 (padding optional, whitespace refused); none if malformed.
pub fn from_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding of the last character.
    (acc == 0 && bits < 6).then_some(out)
}

/// Base64url without padding (RFC 4648 §5), as URLs and OAuth states take it.
pub fn to_base64url(bytes: &[u8]) -> String {
    base64(bytes)
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// Decode base64url (padding optional); none if malformed.
pub fn from_base64url(s: &str) -> Option<Vec<u8>> {
    if s.contains(['+', '/']) {
        return None;
    }
    from_base64(&s.replace('-', "+").replace('_', "/"))
}

/// A file part of a multipart body.
pub struct FilePart<'a> {
    /// The field's name (`file`).
    pub field: &'a str,
    /// The file's name.
    pub file_name: &'a str,
    /// Its MIME type.
    pub content_type: &'a str,
    /// Its bytes.
    pub data: &'a [u8],
}

fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '_' } else { c })
        .collect()
}

/// A `multipart/form-data` body of text `fields` only.
pub fn form(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    multipart_of(fields, None)
}

/// A `multipart/form-data` body of text `fields` and one file: (its `Content-Type`
/// with the boundary, the body). The boundary is derived from the content, so it does
/// not occur in it.
pub fn multipart(fields: &[(&str, &str)], file: &FilePart<'_>) -> (String, Vec<u8>) {
    multipart_of(fields, Some(file))
}

fn multipart_of(fields: &[(&str, &str)], file: Option<&FilePart<'_>>) -> (String, Vec<u8>) {
    let mut h = Sha256::new();
    for (k, v) in fields {
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    if let Some(f) = file {
        h.update(f.data);
    }
    let b = format!("----wa-{}", hex::encode(&h.finalize()[..12]));
    let mut body = Vec::with_capacity(file.map_or(0, |f| f.data.len()) + 512);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                quoted(name)
            )
            .as_bytes(),
        );
    }
    if let Some(file) = file {
        body.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                quoted(file.field),
                quoted(file.file_name),
                file.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_without_padding() {
        for n in 0..20u8 {
            let bytes: Vec<u8> = (0..n)
                .map(|i| i.wrapping_mul(97).wrapping_add(250))
                .collect();
            let e = to_base64url(&bytes);
            assert!(!e.contains(['+', '/', '=']), "{e}");
            assert_eq!(from_base64url(&e), Some(bytes));
        }
        assert_eq!(to_base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(from_base64url("a+b"), None);
    }

    #[test]
    fn base64_matches_rfc_4648_and_round_trips() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
            assert_eq!(from_base64(encoded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(from_base64(&base64(&all)).unwrap(), all);
        assert!(from_base64("Zm9v!").is_none());
        assert!(from_base64("Zh==").is_none(), "non-zero padding bits");
    }
}
