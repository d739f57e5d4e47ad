//! Webhook verify + parse: an attacker controls the body and the signature header.
//! Whatever they send, verification refuses anything not signed with the app secret,
//! parsing returns events or a typed error (never a panic), every event maps to the
//! JSON the host forwards, and the state each event keeps is kept without a panic and
//! never under an empty contact.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use whatsapp_guest::core::Error;
use whatsapp_guest::core::webhook::{self, json, state};

/// The tenant's buckets, in memory.
#[derive(Default)]
struct Mem(std::collections::HashMap<(&'static str, String), Vec<u8>>);

impl state::Store for Mem {
    type Error = std::convert::Infallible;
    fn get(&mut self, b: &'static str, k: &str) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.0.get(&(b, k.to_string())).cloned())
    }
    fn set(&mut self, b: &'static str, k: &str, v: &[u8]) -> Result<(), Self::Error> {
        self.0.insert((b, k.to_string()), v.to_vec());
        Ok(())
    }
}

const SECRET: &[u8] = b"fuzz-app-secret";

#[derive(Arbitrary, Debug)]
enum Header {
    Missing,
    /// What the attacker wrote.
    Raw(String),
    /// A correct signature of the body, so the parser runs on signed input too.
    Signed,
    /// A correct signature with some whitespace or case change around it.
    SignedWith {
        prefix: String,
        upper: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    header: Header,
    body: Vec<u8>,
    /// Query components of the GET handshake.
    mode: String,
    token: String,
}

fuzz_target!(|input: Input| {
    let good = webhook::sign(SECRET, &input.body);
    let header = match &input.header {
        Header::Missing => None,
        Header::Raw(h) => Some(h.clone()),
        Header::Signed => Some(good.clone()),
        Header::SignedWith { prefix, upper } => Some(format!(
            "{prefix}{}",
            if *upper {
                good.to_uppercase()
            } else {
                good.clone()
            }
        )),
    };
    match webhook::verify_signature(SECRET, &input.body, header.as_deref()) {
        Ok(()) => {
            // Only the right MAC over these exact bytes gets through.
            let h = header.as_deref().unwrap().trim();
            let hex_part = h.strip_prefix("sha256=").expect("accepted without sha256=");
            assert!(
                hex_part.eq_ignore_ascii_case(&good["sha256=".len()..]),
                "accepted a signature that is not the body's: {h}"
            );
        }
        Err(Error::BadSignature(_)) => {
            assert!(
                !matches!(input.header, Header::Signed),
                "refused its own signature"
            );
        }
        Err(e) => panic!("verification failed with a non-signature error: {e:?}"),
    }

    match webhook::parse(&input.body) {
        Ok(events) => {
            let (out, inn) = (["stop".to_string()], ["start".to_string()]);
            let words = state::Keywords {
                opt_out: &out,
                opt_in: &inn,
            };
            let mut store = Mem::default();
            for e in &events {
                let Ok(()) = state::keep(&mut store, words, e, || 1);
                let text = json::to_json(e, Some("tenant"));
                assert!(!text.contains('\n'), "an event's JSON is one line");
                let v: serde_json::Value =
                    serde_json::from_str(&text).expect("an event's JSON parses");
                assert!(v.is_object(), "an event's JSON is an object");
                // Every contact is its wa_id or its BSUID: nothing shared under an empty one.
                let number = e.routing.phone_number_id.as_deref().unwrap_or_default();
                for key in [
                    state::last_inbound_key(number, ""),
                    state::consent_key(""),
                    state::bsuid_key(""),
                ] {
                    let k = (state::CONTACTS_BUCKET, key);
                    assert!(!store.0.contains_key(&k), "state kept under {:?}", k.1);
                }
            }
        }
        Err(Error::InvalidInput { .. }) => {}
        Err(e) => panic!("parse failed with something other than invalid input: {e:?}"),
    }

    // The GET handshake's query values, decoded as the server decodes them.
    let mode = webhook::form_decode(&input.mode);
    let token = webhook::form_decode(&input.token);
    let r = webhook::verify_subscription(Some("verify-me"), &mode, &token, "challenge");
    assert_eq!(
        r.is_ok(),
        mode == "subscribe" && token == "verify-me",
        "the handshake's answer"
    );
});
