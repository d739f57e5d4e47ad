//! The native baseline `wa-host bench` measures the component against: the guest's
//! webhook core compiled into the host's binary, only to time it.
//!
//! The host's own code never links the core: the WIT is the only contract between them
//! (issue 18). This crate is the one door through which the core reaches the host
//! binary, and what it exposes speaks only bytes, strings and a key-value trait, so no
//! guest type crosses into `host/src`.

#![forbid(unsafe_code)]

use whatsapp_guest::core::webhook::{self, state};

/// Verify and parse, as the component's typed `receive` does: the number of events.
pub fn receive(secret: &[u8], body: &[u8], signature: &str) -> Result<usize, String> {
    webhook::verify_signature(secret, body, Some(signature))
        .and_then(|()| webhook::parse(body))
        .map(|events| events.len())
        .map_err(|e| e.to_string())
}

/// A tenant's key-value buckets, as the component's `wasi:keyvalue` import serves them.
pub trait Kv {
    /// The value under `key` in `bucket`.
    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Store `value` under `key` in `bucket`.
    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), String>;
}

/// The core's state store over a [`Kv`].
struct Store<'a, K>(&'a mut K);

impl<K: Kv> state::Store for Store<'_, K> {
    type Error = String;

    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.get(bucket, key)
    }

    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), String> {
        self.0.set(bucket, key, value)
    }
}

/// What the component's `webhooks.ingest` does with a verified body: parse, keep each
/// event's state in `kv`, and write each event's JSON. The bytes of JSON written.
pub fn ingest<K: Kv>(body: &[u8], kv: &mut K) -> Result<usize, String> {
    let keywords: [Vec<String>; 2] = [state::DEFAULT_OPT_OUT, state::DEFAULT_OPT_IN]
        .map(|k| k.iter().map(|w| w.to_string()).collect());
    let keywords = state::Keywords {
        opt_out: &keywords[0],
        opt_in: &keywords[1],
    };
    let mut store = Store(kv);
    let mut written = 0;
    for e in webhook::parse(body).map_err(|e| format!("{e:?}"))? {
        state::keep(&mut store, keywords, &e, || 0)?;
        written += webhook::json::to_json(&e, Some("bench")).len();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Mem(HashMap<(String, String), Vec<u8>>);

    impl Kv for Mem {
        fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(self.0.get(&(bucket.into(), key.into())).cloned())
        }
        fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), String> {
            self.0.insert((bucket.into(), key.into()), value.to_vec());
            Ok(())
        }
    }

    const STATUS: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA","status":"delivered","timestamp":"1764072001","recipient_id":"15551234567"}]}}]}]}"#;

    #[test]
    fn ingest_keeps_the_state_and_writes_the_json() {
        let mut kv = Mem::default();
        let written = ingest(STATUS, &mut kv).unwrap();
        assert!(written > 0, "no event JSON written");
        assert_eq!(
            kv.0.len(),
            1,
            "the status's delivery state is kept: {:?}",
            kv.0.keys()
        );
        assert!(ingest(b"{not json", &mut kv).is_err());
    }

    #[test]
    fn receive_checks_the_signature() {
        let sig = webhook::sign(b"s3cret", STATUS);
        assert_eq!(receive(b"s3cret", STATUS, &sig), Ok(1));
        assert!(receive(b"other", STATUS, &sig).is_err());
    }
}
