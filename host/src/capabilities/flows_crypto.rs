//! The WhatsApp Flows data-exchange encryption, on the host's side of `crypto`: the
//! request's AES-128 key arrives encrypted with RSA-OAEP (SHA-256, MGF1-SHA-256) under
//! the business's public key; the request and the response are AES-128-GCM with a
//! 16-byte IV, the response's IV being the request's with every bit flipped (Meta's
//! "Implementing endpoints for Flows"). The private key stays here, sealed at rest.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, aes::Aes128};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Oaep, RsaPrivateKey};
use sha2::Sha256;
use zeroize::Zeroizing;

type Aes128Gcm16 = AesGcm<Aes128, U16>;

/// Why a Flows request or response could not be processed (deliberately vague: Meta's
/// client is told 421 and fetches the public key again).
#[derive(Debug, PartialEq, Eq)]
pub struct FlowCryptoError;

/// A new RSA-2048 key pair: the private key as PKCS#8 DER (seal it), the public key as
/// PEM (upload it to Meta).
pub fn generate_key() -> Result<(Zeroizing<Vec<u8>>, String), String> {
    let key = RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok((Zeroizing::new(der.as_bytes().to_vec()), public))
}

/// A private key given as PKCS#8 PEM or DER, as PKCS#8 DER (what is sealed).
pub fn import_key(pem_or_der: &[u8]) -> Result<(Zeroizing<Vec<u8>>, String), String> {
    let key = match std::str::from_utf8(pem_or_der) {
        Ok(pem) if pem.contains("-----BEGIN") => {
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?
        }
        _ => RsaPrivateKey::from_pkcs8_der(pem_or_der).map_err(|e| e.to_string())?,
    };
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok((Zeroizing::new(der.as_bytes().to_vec()), public))
}

/// Open a request: (its JSON, its AES key).
pub fn decrypt(
    private_key_der: &[u8],
    encrypted_aes_key: &[u8],
    iv: &[u8],
    encrypted_data: &[u8],
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), FlowCryptoError> {
    let key = RsaPrivateKey::from_pkcs8_der(private_key_der).map_err(|_| FlowCryptoError)?;
    // Blinded (a fresh random factor per decryption): the time the modular
    // exponentiation takes does not follow the ciphertext an attacker chose. The `rsa`
    // crate's arithmetic is still not constant-time (RUSTSEC-2023-0071; host/README.md,
    // "Supply chain").
    let aes_key = Zeroizing::new(
        key.decrypt_blinded(
            &mut rand_core::OsRng,
            Oaep::new::<Sha256>(),
            encrypted_aes_key,
        )
        .map_err(|_| FlowCryptoError)?,
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
    use rsa::RsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;

    /// A fixed 2048-bit test key (generated once with Python's `cryptography`).
    fn key() -> (Zeroizing<Vec<u8>>, String) {
        import_key(include_bytes!("../../../tests/data/flow-test-key.pem")).unwrap()
    }

    #[test]
    fn a_request_sealed_with_the_public_key_opens_and_the_response_uses_the_flipped_iv() {
        let (der, public_pem) = key();
        let public = RsaPublicKey::from_public_key_pem(&public_pem).unwrap();
        let aes_key = [7u8; 16];
        let iv = [0x0fu8; 16];
        let enc_key = public
            .encrypt(&mut rand_core::OsRng, Oaep::new::<Sha256>(), &aes_key)
            .unwrap();
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
}
