//! Every send builder: whatever a platform passes (any content kind, any strings,
//! numbers and lists), `send_request` returns a typed invalid-input error or a request
//! that Meta's rules (as the sandbox enforces them) accept. The sandbox is a second,
//! independent reading of the same limits, so the two must agree on what they pass.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use whatsapp_guest::core::Error;
use whatsapp_guest::core::messages::{Outgoing, send_request};
use whatsapp_guest::core::settings::Settings;
use whatsapp_sandbox::{Sandbox, SandboxConfig};

fn env() -> &'static (tokio::runtime::Runtime, Arc<Sandbox>, Settings) {
    static ENV: OnceLock<(tokio::runtime::Runtime, Arc<Sandbox>, Settings)> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let config = SandboxConfig {
            enforce_window: false,
            ..SandboxConfig::default()
        };
        let sandbox = rt.block_on(async { Sandbox::new(config) });
        let settings = Settings::from_pairs([
            ("tenant-id".to_string(), "fuzz".to_string()),
            ("phone-number-id".to_string(), "106540352242922".to_string()),
            ("graph-origin".to_string(), "http://127.0.0.1:9".to_string()),
        ]);
        (rt, sandbox, settings)
    })
}

fuzz_target!(|msg: Outgoing| {
    let (rt, sandbox, settings) = env();
    match send_request(settings, &msg) {
        Ok(req) => {
            let body = req.body.expect("a send has a JSON body");
            let v: serde_json::Value = serde_json::from_slice(&body).expect("the body is JSON");
            assert_eq!(v["messaging_product"], "whatsapp");
            let path = req
                .url
                .strip_prefix("http://127.0.0.1:9")
                .expect("the origin");
            let resp = rt.block_on(sandbox.answer(
                "POST",
                path,
                "",
                &[("authorization", "Bearer sandbox-access-token")],
                &body,
            ));
            let status = resp.status();
            let text = rt.block_on(async {
                use http_body_util::BodyExt;
                resp.into_body().collect().await.unwrap().to_bytes()
            });
            // The sandbox's throttled test recipients answer 130429 to a valid message; a
            // valid message to a group the sandbox does not hold is refused for that alone.
            let answer = serde_json::from_slice::<serde_json::Value>(&text).unwrap_or_default();
            let throttled = answer["error"]["code"] == 130429;
            let no_such_group = v["recipient_type"] == "group"
                && answer["error"]["message"] == whatsapp_sandbox::groups::NOT_A_GROUP;
            if status != 200 && !throttled && !no_such_group {
                panic!(
                    "the builder passed what the sandbox refuses: {}\n{}",
                    String::from_utf8_lossy(&body),
                    String::from_utf8_lossy(&text)
                );
            }
        }
        Err(Error::InvalidInput { field, reason }) => {
            assert!(
                !field.is_empty() && !reason.is_empty(),
                "an error names its field"
            );
        }
        Err(e) => panic!("a builder failed with something other than invalid input: {e:?}"),
    }
});
