//! The WhatsApp Flows data-exchange encryption, on the host's side of `crypto`: the
//! request's AES-128 key arrives encrypted with RSA-OAEP (SHA-256, MGF1-SHA-256) under
//! the business's public key; the request and the response are AES-128-GCM with a
//! 16-byte IV, the response's IV being the request's with every bit flipped (Meta's
//! "Implementing endpoints for Flows"). The private key stays here, sealed at rest.
//!
//! RSA is AWS-LC's (aws-lc-rs), whose private-key operations are constant-time and
//! blinded: the time a decryption takes does not tell an attacker who chose the
//! ciphertext anything about the key (the "Marvin" attack, RUSTSEC-2023-0071, that the
//! pure-Rust `rsa` crate this replaced is open to).

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, aes::Aes128};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey,
};
use base64::Engine;
use zeroize::Zeroizing;

type Aes128Gcm16 = AesGcm<Aes128, U16>;

/// Why a Flows request or response could not be processed (deliberately vague: Meta's
/// client is told 421 and fetches the public key again).
#[derive(Debug, PartialEq, Eq)]
pub struct FlowCryptoError;

/// A new RSA-2048 key pair: the private key as PKCS#8 DER (seal it), the public key as
/// PEM (upload it to Meta).
pub fn generate_key() -> Result<(Zeroizing<Vec<u8>>, String), String> {
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)
        .map_err(|_| "the RSA key could not be generated".to_string())?;
    with_public(&key)
}

/// A private key given as PKCS#8 PEM (`BEGIN PRIVATE KEY`) or DER, as PKCS#8 DER (what is
/// sealed), with its public key as PEM.
pub fn import_key(pem_or_der: &[u8]) -> Result<(Zeroizing<Vec<u8>>, String), String> {
    let der = match std::str::from_utf8(pem_or_der) {
        Ok(pem) if pem.contains("-----BEGIN") => pem_body(pem, "PRIVATE KEY")?,
        _ => Zeroizing::new(pem_or_der.to_vec()),
    };
    let key = PrivateDecryptingKey::from_pkcs8(&der)
        .map_err(|e| format!("not an RSA private key in PKCS#8: {e}"))?;
    with_public(&key)
}

/// The key as PKCS#8 DER, and its public key as PEM (`BEGIN PUBLIC KEY`, SubjectPublicKeyInfo).
fn with_public(key: &PrivateDecryptingKey) -> Result<(Zeroizing<Vec<u8>>, String), String> {
    let der = key
        .as_der()
        .map_err(|_| "the key could not be encoded".to_string())?;
    let public = key
        .public_key()
        .as_der()
        .map_err(|_| "the public key could not be encoded".to_string())?;
    Ok((
        Zeroizing::new(der.as_ref().to_vec()),
        pem("PUBLIC KEY", public.as_ref()),
    ))
}

/// `der` in PEM: base64 in lines of 64 between the label's lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the PEM block labelled `label`.
fn pem_body(pem: &str, label: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let (begin, end) = (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    );
    let Some(start) = pem.find(&begin) else {
        let other = if pem.contains("BEGIN RSA PRIVATE KEY") {
            " (this is PKCS#1: convert it with `openssl pkcs8 -topk8 -nocrypt`)"
        } else if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
            " (this one is encrypted: decrypt it with `openssl pkcs8 -topk8 -nocrypt`)"
        } else {
            ""
        };
        return Err(format!("no {begin} block{other}"));
    };
    let rest = &pem[start + begin.len()..];
    let stop = rest.find(&end).ok_or_else(|| format!("no {end} line"))?;
    let b64: Zeroizing<String> = Zeroizing::new(
        rest[..stop]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| format!("the {label} block is not base64"))
}

/// Open a request: (its JSON, its AES key).
pub fn decrypt(
    private_key_der: &[u8],
    encrypted_aes_key: &[u8],
    iv: &[u8],
    encrypted_data: &[u8],
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), FlowCryptoError> {
    let key = PrivateDecryptingKey::from_pkcs8(private_key_der)
        .ok()
        .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
        .ok_or(FlowCryptoError)?;
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let aes_key = Zeroizing::new(
        key.decrypt(&OAEP_SHA256_MGF1SHA256, encrypted_aes_key, &mut out, None)
            .map_err(|_| FlowCryptoError)?
            .to_vec(),
    );
    if aes_key.len() != 16 || iv.len() != 16 {
        return Err(FlowCryptoError);
    }
    let cipher = Aes128Gcm16::new_from_slice(&aes_key).map_err(|_| FlowCryptoError)?;
    let data = cipher
        .decrypt(iv.into(), encrypted_data)
        .map_err(|_| FlowCryptoError)?;
    Ok((data, aes_key))
}

/// Encrypt a response under the request's key and flipped IV: ciphertext then tag.
pub fn encrypt(aes_key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, FlowCryptoError> {
    if aes_key.len() != 16 || iv.len() != 16 {
        return Err(FlowCryptoError);
    }
    let flipped: Vec<u8> = iv.iter().map(|b| !b).collect();
    let cipher = Aes128Gcm16::new_from_slice(aes_key).map_err(|_| FlowCryptoError)?;
    cipher
        .encrypt(flipped.as_slice().into(), data)
        .map_err(|_| FlowCryptoError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey};

    /// A fixed 2048-bit test key (generated once with Python's `cryptography`).
    fn key() -> (Zeroizing<Vec<u8>>, String) {
        import_key(include_bytes!("../../../tests/data/flow-test-key.pem")).unwrap()
    }

    #[test]
    fn a_request_sealed_with_the_public_key_opens_and_the_response_uses_the_flipped_iv() {
        let (der, public_pem) = key();
        let public = OaepPublicEncryptingKey::new(
            PublicEncryptingKey::from_der(&pem_body(&public_pem, "PUBLIC KEY").unwrap()).unwrap(),
        )
        .unwrap();
        let aes_key = [7u8; 16];
        let iv = [0x0fu8; 16];
        let mut enc_key = vec![0u8; public.ciphertext_size()];
        let enc_key = public
            .encrypt(&OAEP_SHA256_MGF1SHA256, &aes_key, &mut enc_key, None)
            .unwrap()
            .to_vec();
        let cipher = Aes128Gcm16::new_from_slice(&aes_key).unwrap();
        let enc = cipher
            .encrypt((&iv).into(), &b"{\"action\":\"ping\"}"[..])
            .unwrap();
        let (data, k) = decrypt(&der, &enc_key, &iv, &enc).unwrap();
        assert_eq!(
            (data.as_slice(), k.as_slice()),
            (&b"{\"action\":\"ping\"}"[..], &aes_key[..])
        );
        let resp = encrypt(&k, &iv, b"{\"data\":{}}").unwrap();
        let flipped = [0xf0u8; 16];
        assert_eq!(
            cipher.decrypt((&flipped).into(), resp.as_slice()).unwrap(),
            b"{\"data\":{}}"
        );
        // Tampered data, a wrong key: refused.
        let mut bad = enc.clone();
        bad[0] ^= 1;
        assert_eq!(
            decrypt(&der, &enc_key, &iv, &bad).unwrap_err(),
            FlowCryptoError
        );
        assert_eq!(decrypt(&der, &enc, &iv, &enc).unwrap_err(), FlowCryptoError);
    }

    #[test]
    fn a_generated_key_imports_back_to_the_same_public_key() {
        let (der, public) = generate_key().unwrap();
        assert!(
            public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
            "{public}"
        );
        assert!(public.lines().all(|l| l.len() <= 64));
        let pem = pem("PRIVATE KEY", &der);
        let (der2, public2) = import_key(pem.as_bytes()).unwrap();
        assert_eq!(
            (der2.as_slice(), public2.as_str()),
            (der.as_slice(), public.as_str())
        );
        let (der3, _) = import_key(&der).unwrap();
        assert_eq!(der3.as_slice(), der.as_slice(), "DER is taken as it is");
    }

    #[test]
    fn keys_that_are_not_pkcs8_are_refused_with_what_to_do() {
        let pkcs1 = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";
        let err = import_key(pkcs1.as_bytes()).unwrap_err();
        assert!(err.contains("openssl pkcs8 -topk8"), "{err}");
        let garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
        assert!(import_key(garbage.as_bytes()).is_err());
        assert!(import_key(b"\x30\x03\x02\x01\x00").is_err());
        assert_eq!(
            decrypt(b"not a key", &[0; 256], &[0; 16], &[0; 32]).unwrap_err(),
            FlowCryptoError
        );
    }
}
