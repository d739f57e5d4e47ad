//! What the stock `wasmtime` CLI does not provide to the WhatsApp component, as a
//! component of its own (world `cli-provider`), to be composed with `wac plug`:
//!
//! - `whatsapp:cloud-api/crypto`: the same envelope as the reference host's vault
//!   (version 1, key id, nonce, ChaCha20-Poly1305 with an HKDF-derived per-tenant key and
//!   the tenant in the associated data), keyed by the `crypto-key` config variable (64 hex
//!   digits) and the `tenant-id` one. `open` also takes the envelope as hex text, the form
//!   `seal-text` prints, because the CLI's `--keyvalue-in-memory-data` takes only text.
//! - `wasi:keyvalue/{store,atomics}` with named buckets: the CLI has a single unnamed
//!   store, so bucket `b`'s key `k` lives there as `b/k`. The store is opened once per
//!   instance, so what the plugin writes stays for the instance's life.
//!
//! - `whatsapp:cloud-api/pacing`: one process serves one instance, so there is nothing to
//!   share: every slot is granted at once, a throttled send is not tried again, and no
//!   reach is counted toward the messaging limit (Meta keeps it; the reference host
//!   keeps Meta's rates and the limit across instances).
//!
//! - `whatsapp:cloud-api/outbox`: a process that ends with its one call has no dispatcher
//!   to send what it would keep, so every call is refused as `not-configured` (the
//!   reference host keeps the outbox).
//!
//! Under the CLI the plugin and this provider share one config store: the component can
//! read `crypto-key`. The reference host is the place where the key stays out of reach.
#![cfg(target_arch = "wasm32")]

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "cli-provider",
        generate_all,
    });
}

use bindings::exports::wasi::keyvalue::{atomics as x_atomics, store as x_store};
use bindings::exports::whatsapp::cloud_api::crypto::{self, OpenError};
use bindings::exports::whatsapp::cloud_api::{outbox, pacing};
use bindings::wasi::config::store as config;
use bindings::wasi::keyvalue::{atomics, store};
use bindings::wasi::random::random;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use std::cell::OnceCell;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 12;
const TAG: usize = 16;

struct Provider;
bindings::export!(Provider with_types_in bindings);

/// The master key and the bound tenant, from config. A missing or malformed key traps:
/// nothing can be sealed or opened without it, and the message says which variable.
fn keys() -> ([u8; 32], String) {
    let hexkey = config::get("crypto-key").ok().flatten().unwrap_or_default();
    let mut master = [0u8; 32];
    if hex::decode_to_slice(hexkey.trim(), &mut master).is_err() {
        panic!("the config variable crypto-key must be 64 hex digits");
    }
    let tenant = config::get("tenant-id").ok().flatten().unwrap_or_default();
    (master, tenant)
}

fn key_id(master: &[u8; 32]) -> [u8; 4] {
    let d = Sha256::new_with_prefix(b"whatsapp-cloud-api key id\0")
        .chain_update(master)
        .finalize();
    [d[0], d[1], d[2], d[3]]
}

fn cipher(master: &[u8; 32], tenant: &str) -> ChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(b"whatsapp-cloud-api/tenant-key/v1"), master);
    let mut key = [0u8; 32];
    hk.expand(tenant.as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF length");
    let c = ChaCha20Poly1305::new(Key::from_slice(&key));
    key.fill(0);
    c
}

fn aad(tenant: &str) -> Vec<u8> {
    let mut aad = b"whatsapp-cloud-api/v1\0tenant\0".to_vec();
    aad.extend_from_slice(tenant.as_bytes());
    aad
}

fn seal(plaintext: &[u8]) -> Vec<u8> {
    let (mut master, tenant) = keys();
    let nonce = random::get_random_bytes(12);
    let ct = cipher(&master, &tenant)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad(&tenant),
            },
        )
        .expect("ChaCha20-Poly1305 encryption does not fail for in-memory sizes");
    let mut out = Vec::with_capacity(HEADER + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&key_id(&master));
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    master.fill(0);
    out
}

impl crypto::Guest for Provider {
    fn seal(plaintext: Vec<u8>) -> Vec<u8> {
        seal(&plaintext)
    }

    fn open(sealed: Vec<u8>) -> Result<Vec<u8>, OpenError> {
        // The text form (hex) starts with '0'; the binary one with the version byte.
        let sealed = match sealed.first() {
            Some(b'0'..=b'9' | b'a'..=b'f') => {
                hex::decode(sealed.trim_ascii()).map_err(|_| OpenError::Malformed)?
            }
            _ => sealed,
        };
        if sealed.len() < HEADER + TAG || sealed[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        let (mut master, tenant) = keys();
        if sealed[1..5] != key_id(&master) {
            master.fill(0);
            return Err(OpenError::UnknownKey);
        }
        let plain = cipher(&master, &tenant)
            .decrypt(
                Nonce::from_slice(&sealed[5..HEADER]),
                Payload {
                    msg: &sealed[HEADER..],
                    aad: &aad(&tenant),
                },
            )
            .map_err(|_| OpenError::Rejected);
        master.fill(0);
        plain
    }

    fn hmac_sha256(key: Vec<u8>, message: Vec<u8>) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(&message);
        mac.finalize().into_bytes().to_vec()
    }

    /// Flows data exchange needs RSA: not provided under the CLI (the reference host does it).
    fn flow_decrypt(
        _: Vec<u8>,
        _: Vec<u8>,
        _: Vec<u8>,
        _: Vec<u8>,
    ) -> Result<crypto::FlowRequest, OpenError> {
        Err(OpenError::UnknownKey)
    }

    fn flow_encrypt(_: Vec<u8>, _: Vec<u8>, _: Vec<u8>) -> Result<Vec<u8>, OpenError> {
        Err(OpenError::UnknownKey)
    }
}

impl pacing::Guest for Provider {
    fn reserve(_: String, _: String, _: u32) -> u64 {
        0
    }

    fn retry(_: u32) -> Option<u64> {
        None
    }

    fn reach(_: String, _: String, _: u32, _: u64) -> Result<Option<u64>, String> {
        Ok(None)
    }
}

/// The refusal of every `outbox` call.
fn no_outbox() -> outbox::OutboxError {
    outbox::OutboxError::NotConfigured(
        "the wasmtime CLI keeps no outbox: use the reference host (wa-host)".into(),
    )
}

impl outbox::Guest for Provider {
    fn enqueue(_: Vec<outbox::Queued>) -> Result<Vec<outbox::Enqueued>, outbox::OutboxError> {
        Err(no_outbox())
    }

    fn cancel(_: String) -> Result<bool, outbox::OutboxError> {
        Err(no_outbox())
    }

    fn status(_: String) -> Result<Option<outbox::Entry>, outbox::OutboxError> {
        Err(no_outbox())
    }

    fn pause(_: Option<String>) -> Result<(), outbox::OutboxError> {
        Err(no_outbox())
    }

    fn resume(_: Option<String>) -> Result<bool, outbox::OutboxError> {
        Err(no_outbox())
    }

    fn cancel_campaign(_: String) -> Result<u64, outbox::OutboxError> {
        Err(no_outbox())
    }

    fn progress(_: String) -> Result<outbox::Tally, outbox::OutboxError> {
        Err(no_outbox())
    }
}

impl bindings::Guest for Provider {
    fn seal_text(plaintext: String) -> String {
        hex::encode(seal(plaintext.as_bytes()))
    }
}

thread_local! {
    /// The CLI's one store, opened once for the instance's life.
    static STORE: OnceCell<Result<store::Bucket, store::Error>> = const { OnceCell::new() };
}

fn with_store<T>(
    f: impl FnOnce(&store::Bucket) -> Result<T, store::Error>,
) -> Result<T, x_store::Error> {
    STORE.with(|cell| match cell.get_or_init(|| store::open("")) {
        Ok(b) => f(b).map_err(convert),
        Err(e) => Err(convert(clone_error(e))),
    })
}

fn clone_error(e: &store::Error) -> store::Error {
    match e {
        store::Error::NoSuchStore => store::Error::NoSuchStore,
        store::Error::AccessDenied => store::Error::AccessDenied,
        store::Error::Other(s) => store::Error::Other(s.clone()),
    }
}

fn convert(e: store::Error) -> x_store::Error {
    match e {
        store::Error::NoSuchStore => x_store::Error::NoSuchStore,
        store::Error::AccessDenied => x_store::Error::AccessDenied,
        store::Error::Other(s) => x_store::Error::Other(s),
    }
}

/// A named bucket: a prefix in the CLI's store.
pub struct Bucket {
    prefix: String,
}

impl Bucket {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl x_store::Guest for Provider {
    type Bucket = Bucket;

    fn open(identifier: String) -> Result<x_store::Bucket, x_store::Error> {
        let prefix = if identifier.is_empty() {
            String::new()
        } else {
            format!("{identifier}/")
        };
        Ok(x_store::Bucket::new(Bucket { prefix }))
    }
}

impl x_store::GuestBucket for Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, x_store::Error> {
        with_store(|s| s.get(&self.key(&key)))
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), x_store::Error> {
        with_store(|s| s.set(&self.key(&key), &value))
    }

    fn delete(&self, key: String) -> Result<(), x_store::Error> {
        with_store(|s| s.delete(&self.key(&key)))
    }

    fn exists(&self, key: String) -> Result<bool, x_store::Error> {
        with_store(|s| s.exists(&self.key(&key)))
    }

    fn list_keys(&self, cursor: Option<u64>) -> Result<x_store::KeyResponse, x_store::Error> {
        // The CLI lists its whole store at once; ours follows suit, filtered to the bucket.
        if cursor.is_some_and(|c| c > 0) {
            return Ok(x_store::KeyResponse {
                keys: Vec::new(),
                cursor: None,
            });
        }
        let mut keys = Vec::new();
        let mut next = None;
        loop {
            let page = with_store(|s| s.list_keys(next))?;
            keys.extend(
                page.keys
                    .iter()
                    .filter_map(|k| k.strip_prefix(self.prefix.as_str()))
                    .filter(|k| self.prefix.is_empty() || !k.is_empty())
                    .map(str::to_string),
            );
            match page.cursor {
                Some(c) => next = Some(c),
                None => break,
            }
        }
        Ok(x_store::KeyResponse { keys, cursor: None })
    }
}

impl x_atomics::Guest for Provider {
    fn increment(
        bucket: x_store::BucketBorrow<'_>,
        key: String,
        delta: u64,
    ) -> Result<u64, x_store::Error> {
        let key = bucket.get::<Bucket>().key(&key);
        with_store(|s| atomics::increment(s, &key, delta))
    }
}
