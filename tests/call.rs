//! Any operation by name with JSON arguments (`whatsapp_host::invoke`): over the admin
//! API (`POST /admin/tenants/{id}/call/{operation}`, `GET /admin/operations`) and through
//! `Instance::invoke`, which `wa-host call` runs. Records, variants, enums, options and
//! byte lists go in and come back as the mapping says; a wrong name or argument is a
//! typed refusal that names where, and the component's own errors keep their kind.

use serde_json::{Value, json};
use whatsapp_host::api::ErrorKind;
use whatsapp_host::invoke::InvokeError;
use whatsapp_tests::{ADMIN_TOKEN, Harness, http, quiet};

async fn call(h: &Harness, operation: &str, args: Value) -> (u16, Value) {
    let url = format!(
        "{}/admin/tenants/{}/call/{operation}",
        h.admin_origin, h.tenant.id
    );
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, body) = http(
        "POST",
        &url,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        serde_json::to_vec(&args).unwrap(),
    )
    .await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test]
async fn the_admin_api_calls_any_operation_by_name() {
    let h = Harness::start(quiet()).await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, ops) = http(
        "GET",
        &format!("{}/admin/operations", h.admin_origin),
        &[("authorization", &auth)],
        vec![],
    )
    .await;
    assert_eq!(status, 200, "{ops}");
    let ops: Vec<Value> = serde_json::from_str(&ops).unwrap();
    let metrics = ops
        .iter()
        .find(|o| o["name"] == "flows.metrics")
        .expect("flows.metrics listed");
    assert_eq!(metrics["params"][0], json!(["flow_id", "string"]));
    assert!(
        metrics["result"]
            .as_str()
            .unwrap()
            .starts_with("result<list<{timestamp: string"),
        "{metrics}"
    );
    assert!(
        ops.len() > 60,
        "every interface's operations: {}",
        ops.len()
    );

    // A record argument with an option left out; a string back.
    let (status, id) = call(
        &h,
        "flows.create",
        json!({ "flow": { "name": "Sign up", "categories": ["SIGN_UP"] } }),
    )
    .await;
    assert_eq!(status, 200, "{id}");
    let id = id.as_str().expect("the new flow's id").to_string();
    let (status, flow) = call(&h, "flows.get", json!({ "flow_id": id })).await;
    assert_eq!(
        (status, flow["status"].as_str(), flow["name"].as_str()),
        (200, Some("DRAFT"), Some("Sign up"))
    );
    assert_eq!(flow["validation_errors"], json!([]));
    // Positional arguments, and an enum in kebab-case.
    let (status, points) = call(
        &h,
        "flows.metrics",
        json!([id, { "metric": "endpoint-request-count", "granularity": "day" }]),
    )
    .await;
    assert_eq!(
        status, 502,
        "no endpoint, no metrics: Meta's error {points}"
    );
    assert_eq!(
        (points["error"].as_str(), points["graph"]["code"].as_i64()),
        (Some("meta"), Some(100))
    );

    // A variant: a text message, sent; its result record in snake_case.
    let (status, sent) = call(
        &h,
        "messages.send",
        json!({ "message": { "to": "+15551234567", "content": { "text": { "body": "hi", "preview_url": false } } } }),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(
        sent["message_id"].as_str().unwrap().starts_with("wamid."),
        "{sent}"
    );
    assert_eq!(sent["wa_id"], json!("15551234567"));

    // The component's own refusal keeps its kind and field.
    let (status, e) = call(
        &h,
        "flows.create",
        json!({ "flow": { "name": "x", "categories": ["NOPE"] } }),
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str(), e["field"].as_str()),
        (400, Some("invalid-input"), Some("categories"))
    );
    // Arguments that do not fit are refused before the component runs, naming where.
    for (args, says) in [
        (
            json!({ "flow": { "name": 1, "categories": [] } }),
            "flow.name: expected a string",
        ),
        (
            json!({ "flow": { "categories": [] } }),
            "flow.name: missing",
        ),
        (
            json!({ "flow": { "name": "x", "categories": [], "colour": "red" } }),
            "flow.colour: no such field",
        ),
        (json!({ "flw": {} }), "flw: no such parameter"),
        (json!("x"), "an object keyed by parameter name"),
    ] {
        let (status, e) = call(&h, "flows.create", args.clone()).await;
        assert_eq!(status, 400, "{args}: {e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{args}: {e}");
    }
    let (status, e) = call(
        &h,
        "messages.send",
        json!({ "message": { "to": "1", "content": { "smoke-signal": {} } } }),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("message.content: no case \"smoke-signal\""),
        "{e}"
    );
    let (status, _) = call(&h, "flows.nope", json!({})).await;
    assert_eq!(status, 404);
    // The admin token is still required.
    let url = format!(
        "{}/admin/tenants/{}/call/flows.list",
        h.admin_origin, h.tenant.id
    );
    assert_eq!(http("POST", &url, &[], b"{}".to_vec()).await.0, 401);
}

#[tokio::test]
async fn the_library_invokes_by_name_as_the_typed_calls_do() {
    let h = Harness::start(quiet()).await;
    let mut i = h.instance().await;
    // No parameters: null, or an empty object.
    let page = i
        .invoke("flows.list", &Value::Null)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(page, json!({ "flows": [], "next": null }));
    // Plain values in and out.
    let cents = i
        .invoke(
            "catalog.minor-units",
            &json!({ "amount": "12.34", "currency": "USD" }),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(cents, json!(1234));
    let e = i
        .invoke(
            "catalog.minor-units",
            &json!({ "amount": "12.345", "currency": "USD" }),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    // Bytes go in as base64 (`e30=` is `{}`); a wrong signature is the typed refusal.
    let e = i
        .invoke(
            "flows.decrypt-request",
            &json!({ "body": "e30=", "signature_header": "sha256=00" }),
        )
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadSignature, "{e:?}");
    let e = i
        .invoke("flows.decrypt-request", &json!({ "body": "not base64!" }))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, InvokeError::Arguments(m) if m.contains("body: not base64")),
        "{e:?}"
    );
    let e = i.invoke("nothing", &json!({})).await.unwrap().unwrap_err();
    assert!(matches!(e, InvokeError::NoSuchOperation(_)));
}
