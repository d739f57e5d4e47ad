//! `whatsapp:cloud-api/crypto`: sealing with a per-tenant key the guest never sees.
//!
//! A master key (env `WA_MASTER_KEY`, or a 0600 key file created on first run; never
//! in the database) gives each tenant its own key by HKDF-SHA256. Envelopes are
//! ChaCha20-Poly1305 with the tenant id in the associated data, so a value sealed for
//! one tenant does not open for another even under the same master key.
//!
//! Envelope: `version (1) | key id (4) | nonce (12) | ciphertext + tag (16)`. The key id
//! names the master key that sealed it: the vault holds a ring of master keys (the
//! current one seals, every one opens), so that `wa-host rotate-key` can re-seal every
//! secret under a new key while hosts keep serving. A vault over a key file notices
//! when the file changes (a rotation) and reloads it.

use crate::bindings::whatsapp::cloud_api::crypto::{self as wit, OpenError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
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
/// Earlier master keys that still open (comma-separated, 64 hex digits each), while a
/// rotation with keys from the environment is under way.
pub const PREVIOUS_KEYS_ENV: &str = "WA_PREVIOUS_MASTER_KEYS";

/// Why a master key could not be had.
#[derive(Debug)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// One master key and its id.
struct MasterKey {
    id: [u8; 4],
    key: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    fn new(key: [u8; 32]) -> Self {
        let key = Zeroizing::new(key);
        let digest = Sha256::new_with_prefix(b"whatsapp-cloud-api key id\0")
            .chain_update(key.as_slice())
            .finalize();
        MasterKey {
            id: [digest[0], digest[1], digest[2], digest[3]],
            key,
        }
    }

    fn parse(hex_key: &str) -> Result<Self, String> {
        let mut k = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_key.trim(), k.as_mut_slice())
            .map_err(|_| "a master key must be 64 hex digits".to_string())?;
        Ok(MasterKey::new(*k))
    }

    fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut_slice()).expect("the OS random source");
        MasterKey::new(*k)
    }
}

/// The keys, the current (sealing) one first.
struct Ring {
    keys: Vec<MasterKey>,
    /// The key file's modification time when it was read.
    stamp: Option<std::time::SystemTime>,
}

/// The master keys and what they derive. Its `Debug` shows only key ids.
pub struct Vault {
    ring: RwLock<Ring>,
    /// The key file the ring was read from (none: from the environment, or in memory).
    file: Option<PathBuf>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.key_ids().iter().map(hex::encode).collect();
        write!(f, "Vault {{ key_ids: {ids:?} }}")
    }
}

fn read_ring(path: &Path) -> Result<Ring, KeyError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| KeyError(format!("cannot read the key file {}: {e}", path.display())))?,
    );
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(MasterKey::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| KeyError(format!("{}: {e}", path.display())))?;
    if keys.is_empty() {
        return Err(KeyError(format!("{} holds no key", path.display())));
    }
    let stamp = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Ok(Ring { keys, stamp })
}

impl Vault {
    fn with_ring(
        keys: Vec<MasterKey>,
        file: Option<PathBuf>,
        stamp: Option<std::time::SystemTime>,
    ) -> Self {
        Vault {
            ring: RwLock::new(Ring { keys, stamp }),
            file,
        }
    }

    /// A vault over one 32-byte master key.
    pub fn new(master: [u8; 32]) -> Self {
        Self::with_ring(vec![MasterKey::new(master)], None, None)
    }

    /// A vault with a fresh random key (for one-shot commands, the demo and tests).
    pub fn ephemeral() -> Self {
        Self::with_ring(vec![MasterKey::random()], None, None)
    }

    /// The master key from `WA_MASTER_KEY` (64 hex digits; earlier ones in
    /// `WA_PREVIOUS_MASTER_KEYS` still open), or else the keys in `key_file` (one per
    /// line, the current first), which is created with a random key and mode 0600 when
    /// missing.
    pub fn from_env_or_file(key_file: &Path) -> Result<Self, KeyError> {
        if let Ok(hex_key) = std::env::var(MASTER_KEY_ENV) {
            let mut keys = vec![
                MasterKey::parse(&hex_key)
                    .map_err(|e| KeyError(format!("{MASTER_KEY_ENV}: {e}")))?,
            ];
            if let Ok(previous) = std::env::var(PREVIOUS_KEYS_ENV) {
                for k in previous.split(',').filter(|k| !k.trim().is_empty()) {
                    keys.push(
                        MasterKey::parse(k)
                            .map_err(|e| KeyError(format!("{PREVIOUS_KEYS_ENV}: {e}")))?,
                    );
                }
            }
            return Ok(Self::with_ring(keys, None, None));
        }
        match std::fs::metadata(key_file) {
            Ok(_) => {
                let ring = read_ring(key_file)?;
                Ok(Self::with_ring(
                    ring.keys,
                    Some(key_file.to_path_buf()),
                    ring.stamp,
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::random();
                let mut line = Zeroizing::new(hex::encode(key.key.as_slice()));
                line.push('\n');
                write_private(key_file, line.as_bytes(), false).map_err(|e| {
                    KeyError(format!(
                        "cannot create the key file {}: {e}",
                        key_file.display()
                    ))
                })?;
                let stamp = std::fs::metadata(key_file).and_then(|m| m.modified()).ok();
                Ok(Self::with_ring(
                    vec![key],
                    Some(key_file.to_path_buf()),
                    stamp,
                ))
            }
            Err(e) => Err(KeyError(format!(
                "cannot read the key file {}: {e}",
                key_file.display()
            ))),
        }
    }

    /// The key file this vault reads, when it has one (not with `WA_MASTER_KEY`).
    pub fn key_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Re-read the key file if it changed since it was read (a rotation elsewhere).
    fn refresh(&self) {
        let Some(path) = &self.file else { return };
        let now = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if now == self.ring.read().unwrap_or_else(|p| p.into_inner()).stamp {
            return;
        }
        match read_ring(path) {
            Ok(ring) => *self.ring.write().unwrap_or_else(|p| p.into_inner()) = ring,
            Err(e) => tracing::error!("keeping the master keys in memory: {e}"),
        }
    }

    /// The id of the current master key, as written in every envelope it seals.
    pub fn key_id(&self) -> [u8; 4] {
        self.refresh();
        self.ring.read().unwrap_or_else(|p| p.into_inner()).keys[0].id
    }

    /// The ids of every master key held, the current first.
    pub fn key_ids(&self) -> Vec<[u8; 4]> {
        self.ring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .iter()
            .map(|k| k.id)
            .collect()
    }

    /// The id of the master key an envelope was sealed under.
    pub fn sealed_key_id(sealed: &[u8]) -> Option<[u8; 4]> {
        (sealed.len() >= HEADER + TAG && sealed[0] == VERSION)
            .then(|| [sealed[1], sealed[2], sealed[3], sealed[4]])
    }

    /// Start a rotation of the key file: a new random key becomes the current one, the
    /// others still open. Hosts over the same file pick it up at their next seal or at
    /// the first envelope they cannot open. The new key's id.
    pub fn rotate(&self) -> Result<[u8; 4], KeyError> {
        let path = self.file.as_ref().ok_or_else(|| {
            KeyError(format!("the master key comes from {MASTER_KEY_ENV}: give the new key there and the old one in {PREVIOUS_KEYS_ENV}, then run rotate-key again"))
        })?;
        self.refresh();
        let key = MasterKey::random();
        let id = key.id;
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        ring.keys.insert(0, key);
        write_ring(path, &ring.keys)?;
        ring.stamp = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(id)
    }

    /// End a rotation: keep only the current key (every envelope is sealed under it).
    /// The ids retired.
    pub fn retire_old_keys(&self) -> Result<Vec<[u8; 4]>, KeyError> {
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        let retired: Vec<[u8; 4]> = ring.keys.iter().skip(1).map(|k| k.id).collect();
        ring.keys.truncate(1);
        if let Some(path) = &self.file {
            write_ring(path, &ring.keys)?;
            ring.stamp = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        }
        Ok(retired)
    }

    /// `sealed` (for `tenant`, and `purpose` when given) sealed afresh under the current
    /// key; none when it already is.
    pub fn reseal(
        &self,
        tenant: &str,
        purpose: Option<&str>,
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, OpenError> {
        if Self::sealed_key_id(sealed) == Some(self.key_id()) {
            return Ok(None);
        }
        let plain = self.open_with(tenant, purpose, sealed)?;
        Ok(Some(self.seal_with(tenant, purpose, &plain)))
    }

    fn cipher(master: &MasterKey, tenant: &str) -> ChaCha20Poly1305 {
        let hk = Hkdf::<Sha256>::new(
            Some(b"whatsapp-cloud-api/tenant-key/v1"),
            master.key.as_slice(),
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
        self.refresh();
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let aad = Self::aad(tenant, purpose);
        let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let current = &ring.keys[0];
        let ct = Self::cipher(current, tenant)
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
        out.extend_from_slice(&current.id);
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
        let Some(id) = Self::sealed_key_id(sealed) else {
            return Err(OpenError::Malformed);
        };
        let aad = Self::aad(tenant, purpose);
        let attempt = || {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            let key = ring.keys.iter().find(|k| k.id == id)?;
            Some(
                Self::cipher(key, tenant)
                    .decrypt(
                        Nonce::from_slice(&sealed[5..HEADER]),
                        Payload {
                            msg: &sealed[HEADER..],
                            aad: &aad,
                        },
                    )
                    .map(Zeroizing::new)
                    .map_err(|_| OpenError::Rejected),
            )
        };
        if let Some(r) = attempt() {
            return r;
        }
        // Sealed under a key this vault has not seen: a rotation may have added it.
        self.refresh();
        attempt().unwrap_or(Err(OpenError::UnknownKey))
    }
}

/// Write the ring to `path` (the current key first), replacing it in one rename.
fn write_ring(path: &Path, keys: &[MasterKey]) -> Result<(), KeyError> {
    let mut text = Zeroizing::new(String::new());
    for k in keys {
        text.push_str(&hex::encode(k.key.as_slice()));
        text.push('\n');
    }
    write_private(path, text.as_bytes(), true)
        .map_err(|e| KeyError(format!("cannot write the key file {}: {e}", path.display())))
}

/// Write a private (0600) file; `replace` writes a sibling and renames it over `path`.
fn write_private(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let target = if replace {
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
        path.with_extension(format!("tmp-{}", hex::encode(nonce)))
    } else {
        path.to_path_buf()
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(&target)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    if replace {
        std::fs::rename(&target, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
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
    fn a_rotated_ring_opens_old_envelopes_seals_new_ones_and_reaches_other_hosts() {
        if std::env::var(MASTER_KEY_ENV).is_ok() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("wa-vault-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("master.key");
        let here = Vault::from_env_or_file(&path).unwrap();
        let elsewhere = Vault::from_env_or_file(&path).unwrap();
        let old = here.seal("t", b"EAAG-old");
        let old_id = here.key_id();
        // File times can be coarse: make sure the rotation looks like a change.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let new_id = here.rotate().unwrap();
        assert_ne!(old_id, new_id);
        assert_eq!(&**here.open("t", &old).unwrap(), b"EAAG-old");
        let fresh = here.reseal("t", None, &old).unwrap().unwrap();
        assert_eq!(Vault::sealed_key_id(&fresh), Some(new_id));
        assert_eq!(
            here.reseal("t", None, &fresh).unwrap(),
            None,
            "already current"
        );
        // Another host on the same file opens the new envelope and seals with the new key.
        assert_eq!(&**elsewhere.open("t", &fresh).unwrap(), b"EAAG-old");
        assert_eq!(
            Vault::sealed_key_id(&elsewhere.seal("t", b"x")),
            Some(new_id)
        );
        assert_eq!(here.retire_old_keys().unwrap(), vec![old_id]);
        assert_eq!(here.open("t", &old).unwrap_err(), OpenError::UnknownKey);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(!format!("{here:?}").contains(text.trim()));
        std::fs::remove_dir_all(&dir).unwrap();
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
