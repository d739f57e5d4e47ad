//! WhatsApp Flows end to end through component, host and sandbox: a flow's life (DRAFT,
//! JSON with Meta's validation errors, publish, deprecate, delete a DRAFT, preview), its
//! JSON downloaded back, its endpoint metrics, migration to another WABA, the number's
//! data-exchange public key registered and read back, and
//! the data-exchange encryption checked against an independent implementation of the
//! client's side (`tests/flows_client.py`, Python's `cryptography`, written from Meta's
//! documentation).

use std::io::Write;
use std::process::{Command, Stdio};
use whatsapp_host::api::flows::{FlowMetric, MetricGranularity, MetricQuery};
use whatsapp_host::api::{Error, ErrorKind, FlowUpdate, NewFlow};
use whatsapp_host::capabilities::crypto::FLOW_KEY_PURPOSE;
use whatsapp_host::capabilities::flows_crypto;
use whatsapp_host::storage::KvBackend;
use whatsapp_host::tenants::NewTenant;
use whatsapp_tests::{APP_SECRET, Harness, PHONE_NUMBER_ID, TOKEN, WABA_ID, quiet, sign};

fn new_flow(name: &str, categories: &[&str]) -> NewFlow {
    NewFlow {
        name: name.into(),
        categories: categories.iter().map(|c| c.to_string()).collect(),
        clone_flow_id: None,
        endpoint_uri: None,
    }
}

const FLOW_JSON: &str = r#"{"version":"7.1","screens":[{"id":"WELCOME","title":"Welcome","terminal":true,"layout":{"type":"SingleColumnLayout","children":[{"type":"Footer","label":"Done","on-click-action":{"name":"complete","payload":{}}}]}}]}"#;

fn query(metric: FlowMetric, since: Option<&str>, until: Option<&str>) -> MetricQuery {
    MetricQuery {
        metric,
        granularity: MetricGranularity::Day,
        since: since.map(str::to_string),
        until: until.map(str::to_string),
    }
}

#[tokio::test]
async fn a_flow_is_downloaded_measured_and_migrated_to_another_waba() {
    let h = Harness::start(quiet()).await;
    let mut with_endpoint = new_flow("appointment", &["APPOINTMENT_BOOKING"]);
    with_endpoint.endpoint_uri = Some("https://shop.example/flows".into());
    let id = h
        .instance()
        .await
        .create_flow(&with_endpoint)
        .await
        .unwrap()
        .unwrap();
    // Nothing uploaded yet: nothing to download, said so.
    let none = h.instance().await.download_flow_json(&id).await.unwrap();
    assert!(
        matches!(&none, Err(Error { kind: ErrorKind::Other, message, .. }) if message.contains("no flow JSON")),
        "{none:?}"
    );
    h.instance()
        .await
        .upload_flow_json(&id, FLOW_JSON)
        .await
        .unwrap()
        .unwrap();
    // The download URL takes no token: the sandbox's CDN refuses one that carries it.
    let text = h
        .instance()
        .await
        .download_flow_json(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        serde_json::from_str::<serde_json::Value>(FLOW_JSON).unwrap()
    );

    // Metrics: a point a day, in order, keyed as Meta keys each metric.
    let points = h
        .instance()
        .await
        .flow_metrics(
            &id,
            &query(
                FlowMetric::EndpointRequestCount,
                Some("2024-01-30"),
                Some("2024-02-01"),
            ),
        )
        .await
        .unwrap()
        .unwrap();
    let days: Vec<&str> = points.iter().map(|p| &p.timestamp[..10]).collect();
    assert_eq!(days, ["2024-01-30", "2024-01-31", "2024-02-01"]);
    assert!(
        points
            .iter()
            .all(|p| p.values.len() == 1 && p.values[0].key == "value" && p.values[0].value >= 1.0)
    );
    let availability = h
        .instance()
        .await
        .flow_metrics(&id, &query(FlowMetric::EndpointAvailability, None, None))
        .await
        .unwrap()
        .unwrap();
    let keys: Vec<&str> = availability[0]
        .values
        .iter()
        .map(|v| v.key.as_str())
        .collect();
    assert_eq!(keys, ["succeeded", "failed"]);
    let bad = h
        .instance()
        .await
        .flow_metrics(
            &id,
            &query(FlowMetric::EndpointRequestCount, Some("30/01/2024"), None),
        )
        .await
        .unwrap();
    assert!(
        matches!(&bad, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == "query.since"),
        "{bad:?}"
    );
    // A flow without an endpoint has no metrics: Meta's error, typed.
    let plain = h
        .instance()
        .await
        .create_flow(&new_flow("leadgen-draft", &["OTHER"]))
        .await
        .unwrap()
        .unwrap();
    let refused = h
        .instance()
        .await
        .flow_metrics(&plain, &query(FlowMetric::EndpointRequestCount, None, None))
        .await
        .unwrap();
    assert!(
        matches!(&refused, Err(Error { kind: ErrorKind::Meta, graph: Some(g), .. }) if g.code == 100),
        "{refused:?}"
    );

    // Another business's WABA copies the flow by name; a name not there fails alone.
    let other = h
        .add_tenant(
            NewTenant {
                id: "other-business".into(),
                phone_number_id: "106540352242999".into(),
                waba_id: "102290129349999".into(),
                graph_origin: Some(h.sandbox_origin.clone()),
                ..NewTenant::default()
            },
            Some(TOKEN),
        )
        .await;
    let own = h
        .instance()
        .await
        .migrate_flows(WABA_ID, None)
        .await
        .unwrap();
    assert!(
        matches!(&own, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == "source-waba-id"),
        "{own:?}"
    );
    let names = vec!["appointment".to_string(), "leadgen".to_string()];
    let m = h
        .instance_of(&other)
        .await
        .migrate_flows(WABA_ID, Some(&names))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.migrated.len(), 1, "{m:?}");
    assert_eq!(
        (
            m.migrated[0].source_name.as_str(),
            m.migrated[0].source_id.as_str()
        ),
        ("appointment", id.as_str())
    );
    assert_ne!(m.migrated[0].migrated_id, id);
    assert_eq!(
        (
            m.failed.len(),
            m.failed[0].source_name.as_str(),
            m.failed[0].error_code.as_str()
        ),
        (1, "leadgen", "4233041")
    );
    let copy = h
        .instance_of(&other)
        .await
        .download_flow_json(&m.migrated[0].migrated_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy, text, "the copy has the same JSON");
    let theirs = h
        .instance_of(&other)
        .await
        .list_flows(None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        theirs
            .flows
            .iter()
            .map(|f| (f.name.as_str(), f.status.as_str()))
            .collect::<Vec<_>>(),
        [("appointment", "DRAFT")]
    );
    let ours = h.instance().await.list_flows(None).await.unwrap().unwrap();
    assert_eq!(ours.flows.len(), 2, "the source keeps its flows");
}

#[tokio::test]
async fn the_data_exchange_public_key_is_registered_and_read_back() {
    let h = Harness::start(quiet()).await;
    assert_eq!(
        h.instance()
            .await
            .get_flow_public_key(None)
            .await
            .unwrap()
            .unwrap(),
        None
    );
    let (_private, public) = flows_crypto::generate_key().unwrap();
    h.instance()
        .await
        .set_flow_public_key(None, &public)
        .await
        .unwrap()
        .unwrap();
    let held = h
        .instance()
        .await
        .get_flow_public_key(Some(PHONE_NUMBER_ID))
        .await
        .unwrap()
        .unwrap()
        .expect("the key Meta holds");
    assert_eq!(
        (held.pem.as_str(), held.signature_status.as_str()),
        (public.trim(), "VALID")
    );
    // A private key is never sent; a number not the tenant's is refused before sending.
    let private_pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
    let r = h
        .instance()
        .await
        .set_flow_public_key(None, private_pem)
        .await
        .unwrap();
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == "pem"),
        "{r:?}"
    );
    let r = h
        .instance()
        .await
        .set_flow_public_key(Some("999999999999999"), &public)
        .await
        .unwrap();
    assert!(
        matches!(
            &r,
            Err(Error {
                kind: ErrorKind::InvalidInput,
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_flow_goes_from_draft_to_published_to_deprecated() {
    let h = Harness::start(quiet()).await;
    let bad = h
        .instance()
        .await
        .create_flow(&new_flow("x", &["NOT_A_CATEGORY"]))
        .await
        .unwrap();
    assert!(
        matches!(bad, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "categories"),
        "{bad:?}"
    );
    let id = h
        .instance()
        .await
        .create_flow(&new_flow("Sign up", &["SIGN_UP"]))
        .await
        .unwrap()
        .unwrap();
    let d = h.instance().await.get_flow(&id).await.unwrap().unwrap();
    assert_eq!((d.name.as_str(), d.status.as_str()), ("Sign up", "DRAFT"));
    let update = FlowUpdate {
        name: Some("Sign up v2".into()),
        categories: None,
        endpoint_uri: Some("https://shop.example/flows".into()),
    };
    h.instance()
        .await
        .update_flow(&id, &update)
        .await
        .unwrap()
        .unwrap();
    // Not JSON: refused before anything is sent. JSON Meta finds wrong: its errors.
    let r = h.instance().await.upload_flow_json(&id, "{").await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "flow-json"),
        "{r:?}"
    );
    let r = h
        .instance()
        .await
        .upload_flow_json(&id, r#"{"version":"7.1","screens":[{"title":"no id"}]}"#)
        .await
        .unwrap()
        .unwrap();
    assert!(r.success);
    assert_eq!(r.validation_errors.len(), 1);
    assert!(r.validation_errors[0].message.contains("'id'"));
    let refused = h.instance().await.publish_flow(&id).await.unwrap();
    assert!(
        matches!(refused, Err(Error { kind: ErrorKind::Meta, graph: Some(ref g), .. }) if g.code == 100),
        "{refused:?}"
    );
    let r = h
        .instance()
        .await
        .upload_flow_json(&id, FLOW_JSON)
        .await
        .unwrap()
        .unwrap();
    assert!(r.validation_errors.is_empty());
    h.instance().await.publish_flow(&id).await.unwrap().unwrap();
    let d = h.instance().await.get_flow(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            d.name.as_str(),
            d.status.as_str(),
            d.json_version.as_deref(),
            d.endpoint_uri.as_deref()
        ),
        (
            "Sign up v2",
            "PUBLISHED",
            Some("7.1"),
            Some("https://shop.example/flows")
        )
    );
    // Published: not deletable (checked first), deprecated instead.
    let r = h.instance().await.delete_flow(&id).await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, ref message, .. }) if message.contains("PUBLISHED")),
        "{r:?}"
    );
    let p = h
        .instance()
        .await
        .preview_flow(&id, true)
        .await
        .unwrap()
        .unwrap();
    assert!(
        p.url
            .starts_with("https://business.facebook.com/wa/manage/flows/")
    );
    h.instance()
        .await
        .deprecate_flow(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        h.instance()
            .await
            .get_flow(&id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "DEPRECATED"
    );
    // A DRAFT is deleted.
    let draft = h
        .instance()
        .await
        .create_flow(&new_flow("Survey", &["SURVEY"]))
        .await
        .unwrap()
        .unwrap();
    h.instance()
        .await
        .delete_flow(&draft)
        .await
        .unwrap()
        .unwrap();
    let page = h.instance().await.list_flows(None).await.unwrap().unwrap();
    assert_eq!(page.flows.len(), 1, "only the deprecated one is left");
}

fn python() -> String {
    let py = std::env::var("WA_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{py} with the `cryptography` package is needed (the independent side of this test): \
         `pip install cryptography`, or set WA_PYTHON to a Python that has it"
    );
    py
}

fn client(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/flows_client.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "flows_client.py {args:?} failed");
    out.stdout
}

const KEY_PEM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/flow-test-key.pem");

#[tokio::test]
async fn data_exchange_decrypts_a_request_and_encrypts_the_answer_as_meta_documents() {
    let h = Harness::start(quiet()).await;
    let request = br#"{"version":"3.0","action":"data_exchange","screen":"WELCOME","data":{"email":"ana@example.com"},"flow_token":"tok-1"}"#;
    // Without a key the tenant cannot answer.
    let enc: serde_json::Value =
        serde_json::from_slice(&client(&["request", KEY_PEM], request)).unwrap();
    let body = enc["body"].to_string();
    let sig = sign(APP_SECRET, body.as_bytes());
    let r = h
        .instance()
        .await
        .decrypt_flow_request(body.as_bytes(), Some(&sig))
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::NotConfigured,
                ..
            })
        ),
        "{r:?}"
    );
    // Unsigned, or signed with another secret: refused before any decryption.
    for bad in [None, Some(sign("another-secret", body.as_bytes()))] {
        let r = h
            .instance()
            .await
            .decrypt_flow_request(body.as_bytes(), bad.as_deref())
            .await
            .unwrap();
        assert!(
            matches!(
                r,
                Err(Error {
                    kind: ErrorKind::BadSignature,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    // The business's private key, sealed for the tenant where the component finds it.
    let (der, _public) = flows_crypto::import_key(&std::fs::read(KEY_PEM).unwrap()).unwrap();
    let sealed = h.vault.seal_for(&h.tenant.id, FLOW_KEY_PURPOSE, &der);
    h.db.set(&h.tenant.id, "secrets", "flow-private-key", &sealed)
        .unwrap();
    // Sealed plainly instead, the guest's crypto.open could read it: flow-decrypt refuses.
    let plain = h.vault.seal(&h.tenant.id, &der);
    assert!(
        h.vault
            .open_for(&h.tenant.id, FLOW_KEY_PURPOSE, &plain)
            .is_err()
    );

    let exchange = h
        .instance()
        .await
        .decrypt_flow_request(body.as_bytes(), Some(&sig))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exchange.request_json.as_bytes(), request);
    let answer = r#"{"screen":"DONE","data":{"extension_message_response":{"params":{"flow_token":"tok-1"}}}}"#;
    let sealed_answer = h
        .instance()
        .await
        .encrypt_flow_response(&exchange, answer)
        .await
        .unwrap()
        .unwrap();
    let aes = enc["aes_key"].as_str().unwrap();
    let iv = enc["iv"].as_str().unwrap();
    let opened = client(&["response", aes, iv], sealed_answer.as_bytes());
    assert_eq!(String::from_utf8(opened).unwrap(), answer);

    // A tampered request does not open: `bad-signature`, so the endpoint answers 421.
    let mut tampered: serde_json::Value = enc["body"].clone();
    let data = tampered["encrypted_flow_data"]
        .as_str()
        .unwrap()
        .to_string();
    // One character of the first ciphertext block changed.
    let first = if data.starts_with('A') { 'B' } else { 'A' };
    let flipped = format!("{first}{}", &data[1..]);
    tampered["encrypted_flow_data"] = flipped.into();
    let tampered = tampered.to_string();
    let r = h
        .instance()
        .await
        .decrypt_flow_request(
            tampered.as_bytes(),
            Some(&sign(APP_SECRET, tampered.as_bytes())),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::BadSignature,
                ..
            })
        ),
        "{r:?}"
    );
}
