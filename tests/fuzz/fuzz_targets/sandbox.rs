//! The sandbox's request handling: any method, path, query, authorization and body get
//! a Graph response or a Graph error object (JSON with `error.code`), never a panic
//! and never a 5xx. (The OAuth dialog, a browser's page, gets a redirect or a text
//! refusal.)
#![no_main]

use arbitrary::Arbitrary;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use whatsapp_sandbox::{Sandbox, SandboxConfig};

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Post,
    Delete,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: Method,
    /// Path segments after the version (joined with `/`).
    segments: Vec<String>,
    versioned: bool,
    query: String,
    authorized: bool,
    body: Vec<u8>,
    content_type: String,
    file_offset: Option<String>,
    /// The body as JSON of a send, so the validation beyond parsing runs too.
    json_body: Option<Vec<(String, String)>>,
}

fn env() -> &'static (tokio::runtime::Runtime, Arc<Sandbox>) {
    static ENV: OnceLock<(tokio::runtime::Runtime, Arc<Sandbox>)> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // No request leaves the fuzzer: callbacks are not checked with a handshake.
        let config = SandboxConfig {
            check_callbacks: false,
            ..SandboxConfig::default()
        };
        let sandbox = rt.block_on(async { Sandbox::new(config) });
        (rt, sandbox)
    })
}

fuzz_target!(|input: Input| {
    let (rt, sandbox) = env();
    let method = match &input.method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Delete => "DELETE",
        Method::Other(m) => m.as_str(),
    };
    let mut path = if input.versioned {
        "/v23.0".to_string()
    } else {
        String::new()
    };
    for s in &input.segments {
        path.push('/');
        path.push_str(s);
    }
    let body = match &input.json_body {
        Some(fields) => {
            let mut m = serde_json::Map::new();
            m.insert("messaging_product".into(), "whatsapp".into());
            for (k, v) in fields {
                let v = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.clone()));
                m.insert(k.clone(), v);
            }
            serde_json::to_vec(&m).unwrap()
        }
        None => input.body.clone(),
    };
    let mut headers = vec![("content-type", input.content_type.as_str())];
    if input.authorized {
        headers.push(("authorization", "Bearer sandbox-access-token"));
    }
    if let Some(o) = &input.file_offset {
        headers.push(("file_offset", o.as_str()));
    }
    let (status, bytes) = rt.block_on(async {
        let r = sandbox
            .answer(method, &path, &input.query, &headers, &body)
            .await;
        let status = r.status();
        (status, r.into_body().collect().await.unwrap().to_bytes())
    });
    assert!(!status.is_server_error(), "{status} for {method} {path}");
    // Media files are served as they are (bytes, or the media host's text 404), and the
    // OAuth dialog is a page for a browser (a redirect, or a text refusal).
    let trimmed = path.trim_matches('/');
    if trimmed.starts_with("sandbox/media/") || trimmed.ends_with("dialog/oauth") {
        return;
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status} with a body that is not JSON ({e})"));
    if !status.is_success() {
        assert!(v["error"]["code"].is_i64(), "an error without a code: {v}");
    }
});
