//! `whatsapp:cloud-api/crypto`: sealing with a per-tenant key the guest never sees.
//!
//! One master key (env `WA_MASTER_KEY`, or a 0600 key file created on first run) gives
//! each tenant its own key by HKDF-SHA256. Envelopes are ChaCha20-Poly1305 with the
//! tenant id in the associated data, so a value sealed for one tenant does not open for
//! another even under the same master key.
//!
//! Envelope: `version (1) | key id (4) | nonce (12) | ciphertext + tag (16)`.

use crate::bindings::whatsapp::cloud_api::crypto::{self as wit, OpenError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 12;
const TAG: usize = 16;
/// The purpose the flow private key is sealed for ([`Vault::seal_for`]): the guest's
/// `crypto.open` cannot open it, only the host's `flow-decrypt`.
pub const FLOW_KEY_PURPOSE: &str = "flow-private-key";
/// The environment variable holding the master key (64 hex digits).
pub const MASTER_KEY_ENV: &str = "WA_MASTER_KEY";

/// Why a master key could not be had.
#[derive(Debug)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// The master key and what it derives. Its `Debug` shows only the key id.
pub struct Vault {
    master: Zeroizing<[u8; 32]>,
    key_id: [u8; 4],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault {{ key_id: {} }}", hex::encode(self.key_id))
    }
}

impl Vault {
    /// A vault over a 32-byte master key.
    pub fn new(master: [u8; 32]) -> Self {
        let master = Zeroizing::new(master);
        let digest = Sha256::new_with_prefix(b"whatsapp-cloud-api key id\0")
            .chain_update(master.as_slice())
            .finalize();
        let key_id = [digest[0], digest[1], digest[2], digest[3]];
        Vault { master, key_id }
    }

    /// A vault with a fresh random key (for one-shot commands, the demo and tests).
    pub fn ephemeral() -> Self {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("the OS random source");
        Vault::new(k)
    }

    /// The master key from `WA_MASTER_KEY` (64 hex digits) or else from `key_file`,
    /// which is created with a random key and mode 0600 when missing.
    pub fn from_env_or_file(key_file: &Path) -> Result<Self, KeyError> {
        if let Ok(hex_key) = std::env::var(MASTER_KEY_ENV) {
            return Self::parse_hex(hex_key.trim())
                .map_err(|e| KeyError(format!("{MASTER_KEY_ENV}: {e}")));
        }
        match std::fs::read_to_string(key_file) {
            Ok(s) => Self::parse_hex(s.trim())
                .map_err(|e| KeyError(format!("{}: {e}", key_file.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let vault = Self::ephemeral();
                write_private(key_file, hex::encode(vault.master.as_slice()).as_bytes()).map_err(
                    |e| {
                        KeyError(format!(
                            "cannot create the key file {}: {e}",
                            key_file.display()
                        ))
                    },
                )?;
                Ok(vault)
            }
            Err(e) => Err(KeyError(format!(
                "cannot read the key file {}: {e}",
                key_file.display()
            ))),
        }
    }

    fn parse_hex(s: &str) -> Result<Self, String> {
        let mut k = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s, k.as_mut_slice())
            .map_err(|_| "the master key must be 64 hex digits".to_string())?;
        Ok(Vault::new(*k))
    }

    /// The id of the master key, as written in every envelope.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    fn cipher(&self, tenant: &str) -> ChaCha20Poly1305 {
        let hk = Hkdf::<Sha256>::new(
            Some(b"whatsapp-cloud-api/tenant-key/v1"),
            self.master.as_slice(),
        );
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(tenant.as_bytes(), key.as_mut_slice())
            .expect("32 bytes is a valid HKDF length");
        ChaCha20Poly1305::new(Key::from_slice(key.as_slice()))
    }

    fn aad(tenant: &str, purpose: Option<&str>) -> Vec<u8> {
        let mut aad = b"whatsapp-cloud-api/v1\0tenant\0".to_vec();
        aad.extend_from_slice(tenant.as_bytes());
        if let Some(p) = purpose {
            aad.extend_from_slice(b"\0purpose\0");
            aad.extend_from_slice(p.as_bytes());
        }
        aad
    }

    /// Seal `plaintext` for `tenant`.
    pub fn seal(&self, tenant: &str, plaintext: &[u8]) -> Vec<u8> {
        self.seal_with(tenant, None, plaintext)
    }

    /// Seal `plaintext` for `tenant` and one `purpose` only: [`Vault::open`] (and so the
    /// component's `crypto.open`) refuses it; only [`Vault::open_for`] with the same
    /// purpose opens it. For keys the host uses on the guest's behalf (the flow key).
    pub fn seal_for(&self, tenant: &str, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        self.seal_with(tenant, Some(purpose), plaintext)
    }

    fn seal_with(&self, tenant: &str, purpose: Option<&str>, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let aad = Self::aad(tenant, purpose);
        let ct = self
            .cipher(tenant)
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("ChaCha20-Poly1305 encryption does not fail for in-memory sizes");
        let mut out = Vec::with_capacity(HEADER + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Open what [`Vault::seal`] produced for `tenant`.
    pub fn open(&self, tenant: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        self.open_with(tenant, None, sealed)
    }

    /// Open what [`Vault::seal_for`] produced for `tenant` and `purpose`.
    pub fn open_for(
        &self,
        tenant: &str,
        purpose: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        self.open_with(tenant, Some(purpose), sealed)
    }

    fn open_with(
        &self,
        tenant: &str,
        purpose: Option<&str>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if sealed.len() < HEADER + TAG || sealed[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        if sealed[1..5] != self.key_id {
            return Err(OpenError::UnknownKey);
        }
        let aad = Self::aad(tenant, purpose);
        self.cipher(tenant)
            .decrypt(
                Nonce::from_slice(&sealed[5..HEADER]),
                Payload {
                    msg: &sealed[HEADER..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Rejected)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The view a tenant instance sees: its own tenant id and the vault.
pub struct Crypto<'a> {
    /// The bound tenant.
    pub tenant: &'a str,
    /// The host's vault.
    pub vault: &'a Arc<Vault>,
}

impl wit::Host for Crypto<'_> {
    fn seal(&mut self, plaintext: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        let plaintext = Zeroizing::new(plaintext);
        Ok(self.vault.seal(self.tenant, &plaintext))
    }

    fn open(&mut self, sealed: Vec<u8>) -> wasmtime::Result<Result<Vec<u8>, OpenError>> {
        // The guest asked for the plaintext, so it leaves the zeroizing wrapper here.
        Ok(self.vault.open(self.tenant, &sealed).map(|p| p.to_vec()))
    }

    fn hmac_sha256(&mut self, key: Vec<u8>, message: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        use hmac::{Hmac, Mac};
        let key = Zeroizing::new(key);
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(&message);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    fn flow_decrypt(
        &mut self,
        sealed_private_key: Vec<u8>,
        encrypted_aes_key: Vec<u8>,
        iv: Vec<u8>,
        encrypted_data: Vec<u8>,
    ) -> wasmtime::Result<Result<wit::FlowRequest, OpenError>> {
        let key = match self
            .vault
            .open_for(self.tenant, FLOW_KEY_PURPOSE, &sealed_private_key)
        {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        Ok(
            super::flows_crypto::decrypt(&key, &encrypted_aes_key, &iv, &encrypted_data)
                .map(|(data, aes_key)| wit::FlowRequest {
                    data,
                    aes_key: aes_key.to_vec(),
                })
                .map_err(|_| OpenError::Rejected),
        )
    }

    fn flow_encrypt(
        &mut self,
        aes_key: Vec<u8>,
        iv: Vec<u8>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, OpenError>> {
        let aes_key = Zeroizing::new(aes_key);
        Ok(super::flows_crypto::encrypt(&aes_key, &iv, &data).map_err(|_| OpenError::Malformed))
    }
}

struct CryptoCap;

impl HasData for CryptoCap {
    type Data<'a> = Crypto<'a>;
}

/// Add the crypto import to a linker.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Crypto<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, CryptoCap>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_sealed_for_a_purpose_opens_only_for_it() {
        let v = Vault::ephemeral();
        let sealed = v.seal_for("t", FLOW_KEY_PURPOSE, b"private key");
        assert_eq!(v.open("t", &sealed).unwrap_err(), OpenError::Rejected);
        assert_eq!(
            v.open_for("t", "other", &sealed).unwrap_err(),
            OpenError::Rejected
        );
        assert_eq!(
            v.open_for("u", FLOW_KEY_PURPOSE, &sealed).unwrap_err(),
            OpenError::Rejected
        );
        assert_eq!(
            &**v.open_for("t", FLOW_KEY_PURPOSE, &sealed).unwrap(),
            b"private key"
        );
    }

    #[test]
    fn a_value_sealed_for_one_tenant_does_not_open_for_another() {
        let v = Vault::ephemeral();
        let sealed = v.seal("tenant-a", b"EAAG-token");
        assert_eq!(
            v.open("tenant-a", &sealed).unwrap().as_slice(),
            b"EAAG-token"
        );
        assert_eq!(
            v.open("tenant-b", &sealed).unwrap_err(),
            OpenError::Rejected
        );
        assert!(!sealed.windows(10).any(|w| w == b"EAAG-token"));
    }

    #[test]
    fn tampering_truncation_and_other_keys_are_refused() {
        let v = Vault::ephemeral();
        let mut sealed = v.seal("t", b"secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(v.open("t", &sealed).unwrap_err(), OpenError::Rejected);
        assert_eq!(
            v.open("t", &sealed[..10]).unwrap_err(),
            OpenError::Malformed
        );
        let other = Vault::ephemeral().seal("t", b"secret");
        assert_eq!(v.open("t", &other).unwrap_err(), OpenError::UnknownKey);
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("wa-vault-test-{}", std::process::id()));
        let path = dir.join("master.key");
        let _ = std::fs::remove_dir_all(&dir);
        // SAFETY of the test: the variable is not set in this test process.
        if std::env::var(MASTER_KEY_ENV).is_ok() {
            return;
        }
        let a = Vault::from_env_or_file(&path).unwrap();
        let b = Vault::from_env_or_file(&path).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(!format!("{a:?}").contains(&std::fs::read_to_string(&path).unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
