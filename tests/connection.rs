//! Connecting a business end to end: the admin API asks the component for Meta's
//! dialog URL, the sandbox's dialog sends the "browser" back to the host's OAuth
//! callback, the code is exchanged and the token sealed; numbers, registration, the app
//! subscription (with Meta's handshake of the override callback), the business profile,
//! health and the readiness checklist; a revoked token, its one `connection` event, and
//! reconnection; several numbers per tenant; a number's business username.

use serde_json::{Value, json};
use whatsapp_host::api::{CodeMethod, CredentialState, Error, ErrorKind, ProfileUpdate, SyncKind};
use whatsapp_host::connect::{self, TokenKeeper};
use whatsapp_host::sandbox::{DEFAULT_PHONE_NUMBER_ID, connection::SECOND_PHONE_NUMBER_ID};
use whatsapp_host::storage::KvBackend;
use whatsapp_host::tenants::{self, NewTenant, TenantExt};
use whatsapp_tests::{
    ADMIN_TOKEN, APP_ID, APP_SECRET, Harness, Options, WABA_ID, http, quiet, sign, text,
};
use zeroize::Zeroizing;

/// The admin API: status and JSON.
async fn admin(h: &Harness, method: &str, path: &str, body: Value) -> (u16, Value) {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (status, text) = http(
        method,
        &format!("{}/admin/{path}", h.admin_origin),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A tenant as a platform creates it before its business connects. The harness's own
/// tenant goes: it holds the sandbox WABA's numbers, and a number routes to one tenant.
fn fresh(h: &Harness, id: &str) {
    tenants::remove(&h.db, "acme").unwrap();
    tenants::add(
        &h.db,
        &h.vault,
        NewTenant {
            id: id.into(),
            graph_origin: Some(h.sandbox_origin.clone()),
            app_secret: Some(Zeroizing::new(APP_SECRET.into())),
            verify_token: Some(Zeroizing::new(format!("{id}-verify"))),
            settings: vec![
                ("app-id".into(), APP_ID.into()),
                ("window-policy".into(), "off".into()),
            ],
            ..NewTenant::default()
        },
        0,
    )
    .unwrap();
}

/// GET `url` (no redirects followed): status, `Location`, body.
async fn get(url: &str) -> (u16, Option<String>, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let res = client.get(url.parse().unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// The business approves in Meta's dialog: the browser lands on the host's callback.
/// The callback URL and the page the host answered with.
async fn approve(h: &Harness, tenant: &str) -> (String, u16, String) {
    approve_with(h, tenant, json!({})).await
}

/// [`approve`] with the connect request's body (`config_id` for Embedded Signup).
async fn approve_with(h: &Harness, tenant: &str, body: Value) -> (String, u16, String) {
    let (status, auth) = admin(h, "POST", &format!("tenants/{tenant}/connect"), body).await;
    assert_eq!(status, 200, "{auth}");
    let url = auth["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/v23.0/dialog/oauth?client_id={APP_ID}",
            h.sandbox_origin
        )),
        "{url}"
    );
    assert_eq!(
        auth["redirect_uri"],
        format!("{}/oauth/callback", h.server_origin)
    );
    let (status, location, _) = get(url).await;
    assert_eq!(status, 302);
    let callback = location.unwrap();
    assert!(
        callback.starts_with(&format!("{}/oauth/callback?code=", h.server_origin)),
        "{callback}"
    );
    let (status, _, page) = get(&callback).await;
    (callback, status, page)
}

fn connection_events(h: &Harness, tenant: &str) -> Vec<Value> {
    h.db.events(Some(tenant), 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "connection")
        .map(|e| serde_json::from_str(&e.json).unwrap())
        .collect()
}

#[tokio::test]
async fn a_business_connects_through_the_dialog_and_becomes_ready() {
    let h = Harness::start(Options {
        webhooks: true,
        ..quiet()
    })
    .await;
    fresh(&h, "shop");
    let (status, before) = admin(&h, "GET", "tenants/shop", Value::Null).await;
    assert_eq!(
        (status, before["credential"].as_str()),
        (200, Some("not-connected"))
    );

    let (callback, status, page) = approve(&h, "shop").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Connected"), "{page}");
    // The state was single use: the same redirect again is refused, and so is a forged one.
    let (status, _, page) = get(&callback).await;
    assert_eq!(status, 400, "{page}");
    let forged = callback.replace("state=shop.", "state=shop.AAAA");
    assert_eq!(get(&forged).await.0, 400);

    // The host kept what the connection told: the WABA the token may manage.
    let (_, t) = admin(&h, "GET", "tenants/shop", Value::Null).await;
    assert_eq!(t["credential"], "connected");
    assert_eq!(t["waba_id"], WABA_ID);
    assert_eq!(t["has_access_token"], true);
    assert!(!t.to_string().contains("EAAS"), "no token in {t}");
    let events = connection_events(&h, "shop");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["state"], "connected");

    // The WABA has two numbers: none selected yet, so nothing is ready to send.
    let (status, numbers) = admin(&h, "GET", "tenants/shop/numbers", Value::Null).await;
    assert_eq!(status, 200, "{numbers}");
    let ids: Vec<&str> = numbers
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![DEFAULT_PHONE_NUMBER_ID, SECOND_PHONE_NUMBER_ID]);
    assert_eq!(numbers[1]["platform_type"], "NOT_APPLICABLE");
    let (_, health) = admin(&h, "GET", "tenants/shop/health", Value::Null).await;
    assert_eq!(health["readiness"]["ready"], false);
    assert_eq!(health["token"]["valid"], true);

    // Both numbers, the second registered with its PIN (a wrong PIN later is Meta's 133005).
    let (status, t) = admin(
        &h,
        "PUT",
        "tenants/shop/numbers",
        json!({ "numbers": [DEFAULT_PHONE_NUMBER_ID, SECOND_PHONE_NUMBER_ID] }),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        t["numbers"],
        json!([DEFAULT_PHONE_NUMBER_ID, SECOND_PHONE_NUMBER_ID])
    );
    let path = format!("tenants/shop/numbers/{SECOND_PHONE_NUMBER_ID}/register");
    let (status, r) = admin(&h, "POST", &path, json!({ "pin": "246810" })).await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = admin(&h, "POST", &path, json!({ "pin": "111111" })).await;
    assert_eq!(status, 502, "{r}");
    assert_eq!(r["graph"]["code"], 133005, "{r}");
    let (status, r) = admin(&h, "POST", &path, json!({ "pin": "12" })).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (400, Some("invalid-input")),
        "{r}"
    );

    // Subscribed with this host as the WABA's callback: Meta's handshake reaches the host.
    let (status, r) = admin(
        &h,
        "POST",
        "tenants/shop/subscribe",
        json!({ "override_callback_uri": h.webhook_url, "verify_token": "shop-verify" }),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = admin(
        &h,
        "POST",
        "tenants/shop/subscribe",
        json!({ "override_callback_uri": h.webhook_url, "verify_token": "wrong" }),
    )
    .await;
    assert_eq!(status, 502, "{r}");
    assert_eq!(r["graph"]["code"], 2200, "{r}");

    // Codes, PIN, profile, templates, through the component directly.
    let shop = tenants::get(&h.db, "shop").unwrap();
    let mut i = h.instance_of(&shop).await;
    i.request_code(SECOND_PHONE_NUMBER_ID, CodeMethod::Sms, "en_US")
        .await
        .unwrap()
        .unwrap();
    let wrong = i
        .verify_code(SECOND_PHONE_NUMBER_ID, "000000")
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&wrong, Error { kind: ErrorKind::Meta, graph: Some(g), .. } if g.code == 136025),
        "{wrong:?}"
    );
    i.verify_code(SECOND_PHONE_NUMBER_ID, "123456")
        .await
        .unwrap()
        .unwrap();
    i.set_two_step_pin(SECOND_PHONE_NUMBER_ID, "135790")
        .await
        .unwrap()
        .unwrap();
    let update = ProfileUpdate {
        about: Some("Fresh bread daily".into()),
        address: None,
        description: Some("A bakery".into()),
        email: Some("hello@bakery.example".into()),
        websites: Some(vec!["https://bakery.example".into()]),
        vertical: Some("RETAIL".into()),
        profile_picture_handle: None,
    };
    i.update_business_profile(None, &update)
        .await
        .unwrap()
        .unwrap();
    let p = i.business_profile(None).await.unwrap().unwrap();
    assert_eq!(p.about.as_deref(), Some("Fresh bread daily"));
    assert_eq!(p.websites, vec!["https://bakery.example"]);
    let subs = i.subscriptions().await.unwrap().unwrap();
    assert_eq!(
        subs[0].override_callback_uri.as_deref(),
        Some(h.webhook_url.as_str())
    );
    i.sync_templates().await.unwrap().unwrap();

    let (_, health) = admin(&h, "GET", "tenants/shop/health", Value::Null).await;
    assert_eq!(health["readiness"]["ready"], true, "{health:#}");
    assert_eq!(health["credential"]["state"], "connected");
    let numbers = health["readiness"]["numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 2);
    assert!(numbers.iter().all(|n| n["ready"] == true));

    // Deregistered, the second number is no longer ready; the first still is.
    i.deregister_number(SECOND_PHONE_NUMBER_ID)
        .await
        .unwrap()
        .unwrap();
    let r = i.check_readiness().await.unwrap().unwrap();
    assert!(!r.ready);
    assert!(r.numbers[0].ready && !r.numbers[1].ready);
}

#[tokio::test]
async fn a_revoked_token_asks_for_reconnection_once_and_reconnecting_replaces_it() {
    let h = Harness::start(quiet()).await;
    fresh(&h, "gym");
    assert_eq!(approve(&h, "gym").await.1, 200);
    tenants::select_numbers(&h.db, "gym", &[DEFAULT_PHONE_NUMBER_ID.into()]).unwrap();
    let gym = tenants::get(&h.db, "gym").unwrap();
    let mut i = h.instance_of(&gym).await;
    i.send(&text("+15551234567", "Class at 7"))
        .await
        .unwrap()
        .unwrap();
    let first_token = h.db.get("gym", "secrets", "access-token").unwrap().unwrap();

    // The business removes the app in Meta's settings: its token stops working.
    let (status, body) = http(
        "POST",
        &format!("{}/sandbox/revoke-tokens", h.sandbox_origin),
        &[],
        vec![],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        let e = i
            .send(&text("+15551234567", "Class at 8"))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&e, Error { kind: ErrorKind::Unauthorized, graph: Some(g), .. } if g.code == 190),
            "{e:?}"
        );
    }
    let st = i.credential_status().await.unwrap().unwrap();
    assert_eq!(st.state, CredentialState::ReauthRequired);
    assert_eq!(st.code, Some(190));
    assert_eq!(st.generation, 1);
    let reauth: Vec<Value> = connection_events(&h, "gym")
        .into_iter()
        .filter(|e| e["state"] == "reauth-required")
        .collect();
    assert_eq!(
        reauth.len(),
        1,
        "one event per lapsed token, however many calls failed: {reauth:?}"
    );
    assert_eq!(reauth[0]["code"], 190);
    let r = i.check_readiness().await.unwrap().unwrap();
    assert!(!r.ready && !r.items[0].ok, "{:?}", r.items[0]);
    assert!(
        r.items[0].reason.contains("connect again"),
        "{}",
        r.items[0].reason
    );

    // Reconnecting replaces the token; the old ciphertext is gone from the database file.
    assert_eq!(approve(&h, "gym").await.1, 200);
    let st = i.credential_status().await.unwrap().unwrap();
    assert_eq!((st.state, st.generation), (CredentialState::Connected, 2));
    let second_token = h.db.get("gym", "secrets", "access-token").unwrap().unwrap();
    assert_ne!(first_token, second_token);
    i.send(&text("+15551234567", "Class at 9"))
        .await
        .unwrap()
        .unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(h.db_path.parent().unwrap()).unwrap() {
        files.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let holds = |needle: &[u8]| {
        files
            .iter()
            .any(|f| f.windows(needle.len()).any(|w| w == needle))
    };
    assert!(holds(&second_token), "the current token is on disk, sealed");
    assert!(!holds(&first_token), "the replaced ciphertext was scrubbed");
    let states: Vec<Value> = connection_events(&h, "gym")
        .iter()
        .map(|e| e["state"].clone())
        .collect();
    assert_eq!(
        states,
        vec![
            json!("connected"),
            json!("reauth-required"),
            json!("connected")
        ]
    );
}

#[tokio::test]
async fn each_number_has_its_own_window_and_routing() {
    let h = Harness::start(quiet()).await;
    let second = "106540352249999";
    tenants::select_numbers(
        &h.db,
        "acme",
        &[h.tenant.phone_number_id.clone().unwrap(), second.into()],
    )
    .unwrap();
    h.db.set("acme", "contacts", "unused", b"").unwrap();
    let mut t = tenants::get(&h.db, "acme").unwrap();
    t.settings.retain(|(k, _)| k != "window-policy");
    h.db.update_tenant(&t).unwrap();
    // The customer writes to the second number only.
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550789999", "phone_number_id": second},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15557654321"}],
        "messages": [{"from": "15557654321", "id": "wamid.to-second", "timestamp": "1700000100", "type": "text", "text": {"body": "hi"}}]}}]}]})
    .to_string();
    let (status, answer) = http(
        "POST",
        &h.webhook_url,
        &[("x-hub-signature-256", &sign(APP_SECRET, body.as_bytes()))],
        body.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let rows = h.db.events(Some("acme"), 0, 100).unwrap();
    assert!(
        rows.iter().any(|r| r.json.contains("wamid.to-second")),
        "routed to acme by its second number"
    );

    let runtime = h.runtime_at(1_700_000_200 - whatsapp_host::app::now_secs());
    let binding =
        whatsapp_host::tenants::TenantExt::binding(&t, &h.vault, &Default::default()).unwrap();
    let mut i = runtime.instantiate(&binding).await.unwrap();
    let from_default = i
        .send(&text("+15557654321", "hello"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            from_default,
            Error {
                kind: ErrorKind::OutsideWindow,
                graph: None,
                ..
            }
        ),
        "{from_default:?}"
    );
    i.send_from(second, &text("+15557654321", "hello"))
        .await
        .unwrap()
        .unwrap();
    let not_ours = i
        .send_from("999", &text("+15557654321", "hello"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&not_ours, Error { kind: ErrorKind::InvalidInput, field: Some(f), .. } if f == "from"),
        "{not_ours:?}"
    );
}

#[tokio::test]
async fn the_admin_api_wants_its_token_and_never_answers_with_a_secret() {
    let h = Harness::start(quiet()).await;
    let url = format!("{}/admin/tenants", h.admin_origin);
    assert_eq!(http("GET", &url, &[], vec![]).await.0, 401);
    // Neither the admin API nor the metrics (which name tenants) are on the listener
    // Meta posts to; its liveness is, and readiness is the operator's.
    let auth = format!("Bearer {ADMIN_TOKEN}");
    for path in ["/admin/tenants", "/metrics", "/readyz"] {
        let public = format!("{}{path}", h.server_origin);
        let (status, _) = http("GET", &public, &[("authorization", &auth)], vec![]).await;
        assert_eq!(status, 404, "{path} on the public listener");
    }
    let live = http("GET", &format!("{}/livez", h.server_origin), &[], vec![]).await;
    assert_eq!(live, (200, "ok\n".to_string()));
    let (status, ready) = http("GET", &format!("{}/readyz", h.admin_origin), &[], vec![]).await;
    assert_eq!(status, 200, "{ready}");
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(
        (ready["ready"].as_bool(), ready["database"].as_str()),
        (Some(true), Some("sqlite"))
    );
    assert_eq!(
        http("GET", &url, &[("authorization", "Bearer nope")], vec![])
            .await
            .0,
        401
    );
    let (status, t) = admin(&h, "POST", "tenants", json!({ "id": "salon", "phone_number_id": "1234567", "waba_id": "7654321", "access_token": "EAAG-salon-secret", "app_secret": "salon-app-secret" })).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["has_access_token"], true);
    let (status, dup) = admin(
        &h,
        "POST",
        "tenants",
        json!({ "id": "other", "phone_number_id": "1234567" }),
    )
    .await;
    assert_eq!(status, 409, "{dup}");
    let (status, bad) = admin(&h, "POST", "tenants", json!({ "id": "x", "token": "typo" })).await;
    assert_eq!(status, 400, "{bad}");
    let (_, all) = admin(&h, "GET", "tenants", Value::Null).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (status, r) = admin(
        &h,
        "PUT",
        "tenants/salon/token",
        json!({ "access_token": "EAAG-salon-next" }),
    )
    .await;
    assert_eq!((status, r["generation"].as_u64()), (200, Some(2)), "{r}");
    for body in [all.to_string(), r.to_string(), t.to_string()] {
        for secret in ["EAAG-salon", "salon-app-secret"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }
    let (status, _) = admin(&h, "DELETE", "tenants/salon", Value::Null).await;
    assert_eq!(status, 200);
    assert!(
        h.db.get("salon", "secrets", "access-token")
            .unwrap()
            .is_none()
    );
    assert_eq!(admin(&h, "GET", "tenants/salon", Value::Null).await.0, 404);
    assert_eq!(
        admin(&h, "POST", "tenants/nobody/connect", json!({}))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_token_given_by_hand_is_sealed_never_described_and_replacing_it_reconnects() {
    let h = Harness::start(quiet()).await;
    let defaults = Default::default();
    let cx = connect::Context {
        runtime: &h.runtime,
        db: &h.db,
        vault: &h.vault,
        defaults: &defaults,
    };
    // A token the sandbox does not know: Meta will refuse it (190).
    let t = connect::add_tenant(
        &cx,
        NewTenant {
            id: "byhand".into(),
            phone_number_id: "200000000000009".into(),
            waba_id: WABA_ID.into(),
            graph_origin: Some(h.sandbox_origin.clone()),
            app_secret: Some(Zeroizing::new("app-secret-value".into())),
            settings: vec![("window-policy".into(), "off".into())],
            ..NewTenant::default()
        },
        Some("EAAG-secret-token"),
        0,
    )
    .await
    .unwrap();
    let before =
        h.db.get("byhand", "secrets", "access-token")
            .unwrap()
            .unwrap();
    assert!(!before.windows(5).any(|w| w == b"EAAG-"), "sealed at rest");
    let d = connect::describe(&cx, &t).await.to_string();
    assert!(
        !d.contains("EAAG") && !d.contains("app-secret-value"),
        "{d}"
    );
    assert!(d.contains("\"has_access_token\":true"), "{d}");
    assert!(d.contains("\"credential\":\"connected\""), "{d}");

    let r = h
        .instance_of(&t)
        .await
        .send(&text("15551234567", "hi"))
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Err(Error {
                kind: ErrorKind::Unauthorized,
                ..
            })
        ),
        "{r:?}"
    );
    let d = connect::describe(&cx, &t).await.to_string();
    assert!(d.contains("\"credential\":\"reauth-required\""), "{d}");

    // A blank token is refused and changes nothing; a new one reconnects.
    assert!(matches!(
        connect::set_access_token(&cx, "byhand", "  ").await,
        Err(connect::ConnectError::Component(e)) if e.kind == ErrorKind::InvalidInput
    ));
    assert_eq!(
        connect::set_access_token(&cx, "byhand", "EAAG-next")
            .await
            .unwrap(),
        2
    );
    let after =
        h.db.get("byhand", "secrets", "access-token")
            .unwrap()
            .unwrap();
    assert_ne!(before, after);
    let d = connect::describe(&cx, &t).await.to_string();
    assert!(d.contains("\"credential\":\"connected\""), "{d}");
    assert!(d.contains("\"has_catalog_token\":false"), "{d}");
    connect::set_catalog_token(&cx, "byhand", "EAAG-catalog")
        .await
        .unwrap();
    let d = connect::describe(&cx, &t).await.to_string();
    assert!(
        d.contains("\"has_catalog_token\":true") && !d.contains("EAAG"),
        "{d}"
    );
}

#[tokio::test]
async fn a_numbers_business_username_is_claimed_moved_and_removed() {
    let h = Harness::start(quiet()).await;
    let mut i = h.instance().await;
    let none = i.business_username(None).await.unwrap().unwrap();
    assert_eq!((none.username, none.status), (None, None));

    // Claimed (with the @ users write), then read back.
    let status = i
        .set_business_username(None, "@acme_shop", false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, "reserved");
    let u = i.business_username(None).await.unwrap().unwrap();
    assert_eq!(
        (u.username.as_deref(), u.status.as_deref()),
        (Some("acme_shop"), Some("reserved"))
    );

    // Meta's format is checked before a request leaves.
    for bad in [
        "ab",
        "acme-shop",
        "acme..shop",
        "www_acme",
        "acme.com",
        "12345",
    ] {
        let e = i
            .set_business_username(None, bad, false)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&e, Error { kind: ErrorKind::InvalidInput, field: Some(f), .. } if f == "username"),
            "{bad}: {e:?}"
        );
    }
    // Another business's name, and this portfolio's other number taking ours.
    let e = i
        .set_business_username(None, "whatsapp", false)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::Meta, graph: Some(g), .. } if g.code == 147001),
        "{e:?}"
    );
    let second = Some(SECOND_PHONE_NUMBER_ID);
    let e = i
        .set_business_username(second, "acme_shop", false)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::Meta, graph: Some(g), .. } if g.code == 147005),
        "{e:?}"
    );
    i.set_business_username(second, "acme_shop", true)
        .await
        .unwrap()
        .unwrap();
    let moved = i.business_username(second).await.unwrap().unwrap();
    assert_eq!(moved.username.as_deref(), Some("acme_shop"));
    let left = i.business_username(None).await.unwrap().unwrap();
    assert_eq!(left.username, None);

    i.delete_business_username(second).await.unwrap().unwrap();
    let gone = i.business_username(second).await.unwrap().unwrap();
    assert_eq!(gone.username, None);
}

#[tokio::test]
async fn a_business_app_number_syncs_its_contacts_and_history_once_within_a_day() {
    let mut h = Harness::start(Options {
        webhooks: true,
        auto_reply: false,
        enforce_window: false,
    })
    .await;
    fresh(&h, "cafe");
    assert_eq!(approve(&h, "cafe").await.1, 200);
    tenants::select_numbers(&h.db, "cafe", &[DEFAULT_PHONE_NUMBER_ID.into()]).unwrap();
    let cafe = tenants::get(&h.db, "cafe").unwrap();
    let binding = cafe.binding(&h.vault, &Default::default()).unwrap();
    let invalid = |r: Result<String, Error>, field: &str, says: &str| match r {
        Err(Error {
            kind: ErrorKind::InvalidInput,
            field: Some(f),
            message,
            graph: None,
            ..
        }) if f == field && message.contains(says) => {}
        other => panic!("expected {field} refused ({says}): {other:?}"),
    };

    // A day and an hour after connecting, Meta no longer syncs: refused here, with why.
    let late = h.runtime_at(25 * 3600);
    let mut l = late.instantiate(&binding).await.unwrap();
    invalid(
        l.request_sync(None, SyncKind::History).await.unwrap(),
        "kind",
        "within 24 hours of onboarding",
    );

    // Within the day: the history and the contacts, each arriving as events.
    let mut i = h.instance_of(&cafe).await;
    let id = i
        .request_sync(None, SyncKind::History)
        .await
        .unwrap()
        .unwrap();
    assert!(!id.is_empty());
    i.request_sync(Some(DEFAULT_PHONE_NUMBER_ID), SyncKind::Contacts)
        .await
        .unwrap()
        .unwrap();
    let kind = |e: &Value, k: &str| e["type"] == k && e["tenant"] == "cafe";
    let seen = h
        .wait_for(std::time::Duration::from_secs(10), |s| {
            s.iter().filter(|e| kind(e, "history")).count() == 2
                && s.iter().filter(|e| kind(e, "contact-sync")).count() == 2
        })
        .await;
    let history: Vec<&Value> = seen.iter().filter(|e| kind(e, "history")).collect();
    assert_eq!(
        history
            .iter()
            .map(|e| e["progress"].clone())
            .collect::<Vec<_>>(),
        [json!(50), json!(100)]
    );
    assert_eq!(history[0]["messages"][0]["thread"], "16505551234");
    assert_eq!(history[0]["messages"][0]["text"], "Do you ship to Lisbon?");
    let contacts: Vec<(&Value, &Value)> = seen
        .iter()
        .filter(|e| kind(e, "contact-sync"))
        .map(|e| (&e["action"], &e["phone_number"]))
        .collect();
    assert_eq!(
        contacts,
        [
            (&json!("add"), &json!("16505551234")),
            (&json!("add"), &json!("447700900123"))
        ]
    );

    // Once each: a second request is refused before anything leaves; so is a number
    // that is not the tenant's.
    invalid(
        i.request_sync(None, SyncKind::Contacts).await.unwrap(),
        "kind",
        "one per onboarding",
    );
    invalid(
        i.request_sync(Some("999"), SyncKind::History)
            .await
            .unwrap(),
        "from",
        "not one of the tenant's numbers",
    );
}

/// A sweep of the host's token keeper over the harness's tenants: what it did to `tenant`.
async fn sweep(
    h: &Harness,
    tenant: &str,
) -> Option<Result<whatsapp_host::api::TokenRefresh, String>> {
    let keeper = TokenKeeper {
        runtime: h.runtime.clone(),
        db: h.db.clone(),
        vault: h.vault.clone(),
        defaults: Default::default(),
        every: std::time::Duration::from_secs(3600),
    };
    keeper
        .sweep()
        .await
        .into_iter()
        .find(|(t, _)| t == tenant)
        .map(|(_, r)| r.map_err(|e| e.to_string()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_persons_token_is_made_long_lived_warned_of_before_it_expires_and_refreshed() {
    let h = Harness::start(quiet()).await;
    fresh(&h, "spa");
    assert_eq!(approve(&h, "spa").await.1, 200);
    tenants::select_numbers(&h.db, "spa", &[DEFAULT_PHONE_NUMBER_ID.into()]).unwrap();
    let spa = tenants::get(&h.db, "spa").unwrap();
    let mut i = h.instance_of(&spa).await;

    // The dialog's token is short-lived (two hours); the component stored a 60-day one.
    let health = i.health().await.unwrap().unwrap();
    let left = health.expires_at.unwrap() - now();
    assert!(left > 59 * 86_400, "{left}");
    assert_eq!(
        (health.token_type.as_deref(), health.warning.as_deref()),
        (Some("USER"), None)
    );
    assert_eq!(i.credential_status().await.unwrap().unwrap().generation, 1);
    let r = i.refresh_token().await.unwrap().unwrap();
    assert!(!r.refreshed && r.note.contains("within 7 days"), "{r:?}");
    assert!(matches!(sweep(&h, "spa").await, Some(Ok(r)) if !r.refreshed));

    // At Meta, time passes: three days left. Health and the checklist warn.
    let (code, answer) = http(
        "POST",
        &format!("{}/sandbox/token-expiry", h.sandbox_origin),
        &[],
        json!({ "expires_in": 3 * 86_400 }).to_string().into_bytes(),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    let health = i.health().await.unwrap().unwrap();
    let warning = health.warning.unwrap();
    assert!(
        warning.contains("in 3 days and 0 hours") || warning.contains("in 2 days and 23 hours"),
        "{warning}"
    );
    let readiness = i.check_readiness().await.unwrap().unwrap();
    assert!(readiness.items[0].ok, "{:?}", readiness.items[0]);
    assert!(
        readiness.items[0].reason.contains("refreshes"),
        "{}",
        readiness.items[0].reason
    );
    assert!(readiness.token.unwrap().warning.is_some());

    // The host's sweep exchanges it for a fresh 60-day token; the warning is gone, the
    // new token sends, and the next sweep leaves it alone.
    let done = sweep(&h, "spa").await.unwrap().unwrap();
    assert!(done.refreshed, "{done:?}");
    assert!(done.expires_at.unwrap() > now() + 59 * 86_400, "{done:?}");
    let mut i = h.instance_of(&spa).await;
    let health = i.health().await.unwrap().unwrap();
    assert_eq!(health.warning, None);
    assert_eq!(i.credential_status().await.unwrap().unwrap().generation, 2);
    i.send(&text("+15551234567", "See you at 5"))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(sweep(&h, "spa").await, Some(Ok(r)) if !r.refreshed));

    // Past its expiry a token cannot be exchanged: the sweep says to connect again.
    http(
        "POST",
        &format!("{}/sandbox/token-expiry", h.sandbox_origin),
        &[],
        json!({ "expires_in": 0 }).to_string().into_bytes(),
    )
    .await;
    let health = i.health().await.unwrap().unwrap();
    assert!(!health.valid);
    let r = i.refresh_token().await.unwrap().unwrap();
    assert!(!r.refreshed && r.note.contains("connect"), "{r:?}");
}

#[tokio::test]
async fn an_embedded_signup_token_is_a_system_users_and_is_never_refreshed() {
    let h = Harness::start(quiet()).await;
    fresh(&h, "shop");
    assert_eq!(
        approve_with(&h, "shop", json!({ "config_id": "918273645" }))
            .await
            .1,
        200
    );
    let shop = tenants::get(&h.db, "shop").unwrap();
    let mut i = h.instance_of(&shop).await;
    let health = i.health().await.unwrap().unwrap();
    assert_eq!(
        (
            health.token_type.as_deref(),
            health.expires_at,
            health.warning
        ),
        (Some("SYSTEM_USER"), None, None)
    );
    let r = sweep(&h, "shop").await.unwrap().unwrap();
    assert!(!r.refreshed && r.note.contains("does not expire"), "{r:?}");
    assert_eq!(i.credential_status().await.unwrap().unwrap().generation, 1);
}
