//! The real component in the real host against the sandbox and the webhook server, all
//! on 127.0.0.1:0: one test per user-visible behaviour.

use serde_json::{Value, json};
use std::time::Duration;
use whatsapp_host::api::{Content, Error, ErrorKind, ListQuery, Text};
use whatsapp_host::capabilities::http::EgressPolicy;
use whatsapp_host::storage::KvBackend;
use whatsapp_host::tenants::NewTenant;
use whatsapp_host::tenants::TenantExt;
use whatsapp_tests::{
    APP_SECRET, Harness, Options, PHONE_NUMBER_ID, WABA_ID, http, quiet, sign, text, webhook,
};

#[tokio::test]
async fn a_text_to_a_bsuid_comes_back_as_statuses_and_a_reply_that_name_the_user() {
    let mut h = Harness::start(Options {
        webhooks: true,
        auto_reply: true,
        enforce_window: false,
    })
    .await;
    let bsuid = "US.13491208655302741918";
    let sent = h
        .instance()
        .await
        .send(&text(bsuid, "Hello"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sent.wa_id.as_deref(), sent.user_id.as_deref()),
        (None, Some(bsuid))
    );
    let wamid = sent.message_id.clone();
    let events = h
        .wait_for(Duration::from_secs(20), |seen| {
            seen.iter()
                .any(|e| e["type"] == "message" && e["context"]["message_id"] == wamid.as_str())
        })
        .await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["message_id"] == wamid.as_str())
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
    let reply = events.iter().find(|e| e["type"] == "message").unwrap();
    assert_eq!(
        (
            &reply["from_user_id"],
            &reply["contact"]["user_id"],
            &reply["contact"]["wa_id"]
        ),
        (&json!(bsuid), &json!(bsuid), &Value::Null),
        "{reply}"
    );
    // The reply opened the user's window, kept under the BSUID.
    let window =
        h.db.get(
            "acme",
            "contacts",
            &format!("last-inbound:{PHONE_NUMBER_ID}:{bsuid}"),
        )
        .unwrap();
    assert!(window.is_some());
}

#[tokio::test]
async fn a_text_goes_out_and_its_statuses_and_the_reply_come_back_recorded() {
    let mut h = Harness::start(Options {
        webhooks: true,
        auto_reply: true,
        enforce_window: false,
    })
    .await;
    let mut msg = text("+15551234567", "Hello https://example.com");
    msg.content = Content::Text(Text {
        body: "Hello https://example.com".into(),
        preview_url: true,
    });
    msg.biz_opaque_callback_data = Some("cb-1".into());
    let sent = h.instance().await.send(&msg).await.unwrap().unwrap();
    assert!(sent.message_id.starts_with("wamid."), "{sent:?}");
    // The component sends the number normalized to digits; Meta echoes what it got.
    assert_eq!(
        (sent.wa_id.as_deref(), sent.input.as_str()),
        (Some("15551234567"), "15551234567")
    );

    let wamid = sent.message_id.clone();
    let events = h
        .wait_for(Duration::from_secs(20), |seen| {
            seen.iter()
                .any(|e| e["type"] == "message" && e["context"]["message_id"] == wamid.as_str())
        })
        .await;
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e["message_id"] == wamid.as_str())
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == "status")
            .all(|e| e["biz_opaque_callback_data"] == "cb-1" && e["tenant"] == "acme")
    );

    // Recorded durably, in the order they arrived.
    let rows = h.db.events(Some("acme"), 0, 100).unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["status", "status", "status", "message"]);
    let reply: Value = serde_json::from_str(&rows[3].json).unwrap();
    assert_eq!(reply["text"], "Thanks, got it!");

    // Reply context and mark-read with the typing indicator.
    let reply_id = reply["message_id"].as_str().unwrap();
    let mut answer = text("15551234567", "You're welcome");
    answer.reply_to = Some(reply_id.into());
    h.instance().await.send(&answer).await.unwrap().unwrap();
    h.instance()
        .await
        .mark_read(reply_id, true)
        .await
        .unwrap()
        .unwrap();
    h.instance()
        .await
        .mark_read(reply_id, false)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_request() {
    let h = Harness::start(quiet()).await;
    let mut i = h.instance().await;
    let r = i
        .send(&text("15551234567", &"x".repeat(4097)))
        .await
        .unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "content.text.body"),
        "{r:?}"
    );
    let r = i.send(&text("+1 555 123", "hi")).await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "to"),
        "{r:?}"
    );
    let r = i.mark_read("", true).await.unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "message-id"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_lapsed_token_is_unauthorized_with_metas_details() {
    let h = Harness::start(quiet()).await;
    let other = h
        .add_tenant(
            NewTenant {
                id: "lapsed".into(),
                phone_number_id: "200000000000002".into(),
                waba_id: WABA_ID.into(),
                graph_origin: Some(h.sandbox_origin.clone()),
                settings: vec![("window-policy".into(), "off".into())],
                ..NewTenant::default()
            },
            Some("expired-token"),
        )
        .await;
    let r = h
        .instance_of(&other)
        .await
        .send(&text("15551234567", "hi"))
        .await
        .unwrap();
    let Err(Error {
        kind: ErrorKind::Unauthorized,
        graph: Some(g),
        ..
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!((g.code, g.http_status), (190, 401));
    assert!(g.fbtrace_id.is_some());
}

#[tokio::test]
async fn egress_to_a_host_not_allowed_is_a_typed_error_not_a_trap() {
    let h = Harness::start(quiet()).await;
    let elsewhere = h
        .add_tenant(
            NewTenant {
                id: "elsewhere".into(),
                phone_number_id: "200000000000003".into(),
                waba_id: WABA_ID.into(),
                graph_origin: Some("http://127.0.0.2:9".into()),
                settings: vec![("window-policy".into(), "off".into())],
                ..NewTenant::default()
            },
            Some("t"),
        )
        .await;
    let mut i = h.instance_of(&elsewhere).await;
    let r = i.send(&text("15551234567", "hi")).await.unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::EgressDenied,
                ..
            })
        ),
        "{r:?}"
    );
    // The same instance keeps working afterwards.
    assert!(i.info().await.unwrap().is_ok());
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error_safe_to_retry() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let origin = format!("http://{closed}");
    let mut egress = EgressPolicy::default();
    egress.allow(&origin).unwrap();
    let (services, db, vault) = whatsapp_tests::services(egress);
    let rt = whatsapp_tests::runtime(services);
    let t = whatsapp_tests::add_tenant(
        &rt,
        &db,
        &vault,
        NewTenant {
            id: "down".into(),
            phone_number_id: "1".into(),
            waba_id: "2".into(),
            graph_origin: Some(origin),
            settings: vec![("window-policy".into(), "off".into())],
            ..NewTenant::default()
        },
        Some("t"),
    )
    .await;
    let mut i = rt
        .instantiate(&t.binding(&vault, &Default::default()).unwrap())
        .await
        .unwrap();
    let r = i.send(&text("15551234567", "hi")).await.unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::Network,
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn no_token_is_not_configured() {
    let h = Harness::start(quiet()).await;
    let t = h
        .add_tenant(
            NewTenant {
                id: "tokenless".into(),
                phone_number_id: "3".into(),
                waba_id: "4".into(),
                graph_origin: Some(h.sandbox_origin.clone()),
                settings: vec![("window-policy".into(), "off".into())],
                ..NewTenant::default()
            },
            None,
        )
        .await;
    let mut i = h.instance_of(&t).await;
    assert!(matches!(
        i.send(&text("15551234567", "hi")).await.unwrap(),
        Err(Error {
            kind: ErrorKind::NotConfigured,
            ..
        })
    ));
    assert!(!i.info().await.unwrap().unwrap().has_access_token);
}

#[tokio::test]
async fn a_thousand_sends_see_no_false_failure() {
    // DESIGN.md: waki reported 1–4 % of delivered POSTs as failed. Every send here must
    // come back with Meta's answer, and every answer must be distinct.
    let h = Harness::start(quiet()).await;
    let mut ids = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for n in 0..1000 {
        let mut i = h.instance().await;
        match i
            .send(&text("15551234567", &format!("message {n}")))
            .await
            .unwrap()
        {
            Ok(r) => {
                ids.insert(r.message_id);
            }
            Err(e) => failures.push((n, e)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} false failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(ids.len(), 1000);
}

#[tokio::test]
async fn listings_and_lookups_go_through_the_sandbox() {
    let h = Harness::start(quiet()).await;
    let mut i = h.instance().await;
    let page = i
        .list_templates(&ListQuery {
            name: None,
            status: Some("APPROVED".into()),
            category: None,
            language: None,
            limit: Some(10),
            after: None,
        })
        .await
        .unwrap()
        .unwrap();
    let names: Vec<&str> = page.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["hello_world", "order_update"]);
    let r = i.media_info("1037543291543636").await.unwrap();
    let Err(Error {
        kind: ErrorKind::Meta,
        graph: Some(g),
        ..
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!((g.code, g.subcode), (100, Some(33)));
    assert!(i.list_flows(None).await.unwrap().unwrap().flows.is_empty());
    assert!(
        i.list_products("1234567890", None)
            .await
            .unwrap()
            .unwrap()
            .products
            .is_empty()
    );
    let r = i.list_products("../me", None).await.unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::InvalidInput,
                ..
            })
        ),
        "{r:?}"
    );
    let info = i.info().await.unwrap().unwrap();
    assert_eq!(
        (info.tenant_id.as_str(), info.phone_number_id.as_deref()),
        ("acme", Some(PHONE_NUMBER_ID))
    );
    assert!(info.has_access_token && info.has_app_secret);
}

#[tokio::test]
async fn the_handshake_needs_the_verify_token() {
    let h = Harness::start(quiet()).await;
    let url = |t: &str| {
        format!(
            "{}?hub.mode=subscribe&hub.verify_token={t}&hub.challenge=1158201444",
            h.webhook_url
        )
    };
    assert_eq!(
        http("GET", &url("harness-verify"), &[], vec![]).await,
        (200, "1158201444".into())
    );
    assert_eq!(http("GET", &url("wrong"), &[], vec![]).await.0, 403);
    assert_eq!(http("GET", &h.webhook_url, &[], vec![]).await.0, 400);
}

#[tokio::test]
async fn bad_signatures_are_refused_and_unreadable_signed_bodies_kept() {
    let h = Harness::start(quiet()).await;
    let body = webhook("messages.json", "text");
    let ct = ("content-type", "application/json");
    assert_eq!(
        http("POST", &h.webhook_url, &[ct], body.clone()).await.0,
        401
    );
    let wrong = sign("not-the-secret", &body);
    assert_eq!(
        http(
            "POST",
            &h.webhook_url,
            &[ct, ("x-hub-signature-256", &wrong)],
            body.clone()
        )
        .await
        .0,
        401
    );
    assert_eq!(
        http(
            "POST",
            &h.webhook_url,
            &[ct, ("x-hub-signature-256", "sha256=zz")],
            body.clone()
        )
        .await
        .0,
        401
    );
    // Signed but unreadable: kept whole as a `rejected` event, 200 so that Meta does
    // not retry it for days; a redelivery is not kept twice.
    let junk = b"{not json".to_vec();
    let sig = sign(APP_SECRET, &junk);
    for _ in 0..2 {
        let (status, _) = http(
            "POST",
            &h.webhook_url,
            &[ct, ("x-hub-signature-256", &sig)],
            junk.clone(),
        )
        .await;
        assert_eq!(status, 200);
    }
    let rejected: Vec<_> =
        h.db.events(None, 0, 10_000)
            .unwrap()
            .into_iter()
            .filter(|e| e.json.contains(r#""type":"rejected""#))
            .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0].json.contains("e25vdCBqc29u"),
        "the body, base64"
    );
    // Unsigned junk is refused like any forgery.
    let (status, _) = http(
        "POST",
        &h.webhook_url,
        &[ct, ("x-hub-signature-256", &sign("another-secret", &junk))],
        junk,
    )
    .await;
    assert_eq!(status, 401);
    let huge = vec![b' '; 4 * 1024 * 1024 + 1];
    assert_eq!(
        http(
            "POST",
            &h.webhook_url,
            &[ct, ("x-hub-signature-256", "sha256=00")],
            huge
        )
        .await
        .0,
        413
    );
    assert_eq!(
        h.db.events(None, 0, 10).unwrap().len(),
        1,
        "only the signed, unreadable body was recorded (as rejected)"
    );
}

fn change(pnid: &str, id: &str) -> Value {
    json!({"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1555", "phone_number_id": pnid},
        "messages": [{"from": "15551234567", "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": id}}]}})
}

#[tokio::test]
async fn one_post_is_routed_per_change_and_unknown_numbers_are_kept_as_unroutable() {
    let h = Harness::start(quiet()).await;
    h.add_tenant(
        NewTenant {
            id: "second".into(),
            phone_number_id: "300000000000003".into(),
            waba_id: WABA_ID.into(),
            settings: vec![("window-policy".into(), "off".into())],
            ..NewTenant::default()
        },
        None,
    )
    .await;
    let body = serde_json::to_vec(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [
            change(PHONE_NUMBER_ID, "wamid.a"),
            change("300000000000003", "wamid.b"),
            change("999999999999999", "wamid.c"),
        ]}]}),
    )
    .unwrap();
    let sig = sign(APP_SECRET, &body);
    let (status, _) = http(
        "POST",
        &h.webhook_url,
        &[("x-hub-signature-256", &sig)],
        body,
    )
    .await;
    assert_eq!(status, 200);
    let rows = h.db.events(None, 0, 10).unwrap();
    let got: Vec<(Option<&str>, &str)> = rows
        .iter()
        .map(|r| (r.tenant.as_deref(), r.kind.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("acme"), "message"),
            (Some("second"), "message"),
            (None, "unroutable")
        ]
    );
    assert!(
        rows[0].json.contains("wamid.a")
            && rows[1].json.contains("wamid.b")
            && rows[2].json.contains("wamid.c")
    );
}

#[tokio::test]
async fn throttled_sends_are_retried_with_backoff_and_then_reported() {
    use whatsapp_host::sandbox::{ALWAYS_THROTTLED, THROTTLED_TWICE};
    let h = Harness::start(quiet()).await;
    let sent = h
        .instance()
        .await
        .send(&text(&format!("+{THROTTLED_TWICE}"), "hi"))
        .await
        .unwrap();
    assert!(sent.is_ok(), "two 130429 answers then success: {sent:?}");
    let r = h
        .instance()
        .await
        .send(&text(&format!("+{ALWAYS_THROTTLED}"), "hi"))
        .await
        .unwrap();
    let Err(Error {
        kind: ErrorKind::RateLimited,
        graph: Some(g),
        ..
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(g.code, 130429);
}
