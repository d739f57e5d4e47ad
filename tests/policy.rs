//! The policies a send passes, end to end: an inbound webhook opens the 24-hour window;
//! with the clock moved 24 hours on a text is refused and a template goes; STOP, then a
//! marketing template is refused until the contact resumes. Contacts with usernames are
//! messaged by their business-scoped user id, each with its own window and consent.

use serde_json::json;
use whatsapp_host::Runtime;
use whatsapp_host::api::outgoing::*;
use whatsapp_host::api::{Error, ErrorKind, SendResult};
use whatsapp_host::tenants::NewTenant;
use whatsapp_host::tenants::TenantExt;
use whatsapp_tests::{APP_SECRET, Harness, Options, TOKEN, WABA_ID, envelope, http, sign};

const SHOP: &str = "600000000000006";
const CUSTOMER: &str = "15557654321";

fn inbound(id: &str, text: &str) -> Vec<u8> {
    envelope(
        "messages",
        json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": SHOP},
        "contacts": [{"profile": {"name": "Dana"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": id, "timestamp": now().to_string(), "type": "text", "text": {"body": text}}]}),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn post(h: &Harness, body: Vec<u8>) {
    let sig = sign(APP_SECRET, &body);
    let (code, text) = http(
        "POST",
        &h.webhook_url,
        &[("x-hub-signature-256", &sig)],
        body,
    )
    .await;
    assert_eq!(code, 200, "{text}");
}

fn text(body: &str) -> OutgoingMessage {
    OutgoingMessage {
        to: format!("+{CUSTOMER}"),
        content: Content::Text(Text {
            body: body.into(),
            preview_url: false,
        }),
        reply_to: None,
        biz_opaque_callback_data: None,
    }
}

fn template(name: &str) -> OutgoingMessage {
    whatsapp_tests::template(&format!("+{CUSTOMER}"), name)
}

async fn send(
    rt: &Runtime,
    b: &whatsapp_host::TenantBinding,
    m: OutgoingMessage,
) -> Result<SendResult, Error> {
    rt.instantiate(b).await.unwrap().send(&m).await.unwrap()
}

/// A harness without webhooks, and the binding of a tenant "shop" whose own policies
/// apply (the harness's tenant has its window check off).
async fn shop() -> (Harness, whatsapp_host::TenantBinding) {
    let h = Harness::start(Options {
        webhooks: false,
        auto_reply: false,
        enforce_window: false,
    })
    .await;
    let shop = h
        .add_tenant(
            NewTenant {
                id: "shop".into(),
                phone_number_id: SHOP.into(),
                waba_id: WABA_ID.into(),
                graph_origin: Some(h.sandbox_origin.clone()),
                ..NewTenant::default()
            },
            Some(TOKEN),
        )
        .await;
    let binding = shop.binding(&h.vault, &Default::default()).unwrap();
    (h, binding)
}

/// Refused by the component itself as outside the 24-hour window: nothing reached Meta.
fn refused_outside_window(r: &Result<SendResult, Error>) -> bool {
    matches!(
        r,
        Err(Error {
            kind: ErrorKind::OutsideWindow,
            graph: None,
            ..
        })
    )
}

#[tokio::test]
async fn the_window_and_consent_decide_what_may_be_sent() {
    let (h, binding) = shop().await;
    let today = h.runtime_at(0);

    // Nobody wrote yet: a free-form message is outside the window, a template is fine.
    let r = send(&today, &binding, text("hello")).await;
    assert!(refused_outside_window(&r), "{r:?}");
    send(&today, &binding, template("order_update"))
        .await
        .unwrap();

    // The customer writes: the window opens.
    post(&h, inbound("wamid.q1", "Where is my order?")).await;
    send(&today, &binding, text("On its way!")).await.unwrap();

    // A day later it has closed again; templates still go.
    let tomorrow = h.runtime_at(24 * 3600 + 1);
    let r = send(&tomorrow, &binding, text("Still there?")).await;
    assert!(refused_outside_window(&r), "{r:?}");
    send(&tomorrow, &binding, template("order_update"))
        .await
        .unwrap();

    // spring_sale is a MARKETING template (the template webhook fills the cache).
    post(&h, envelope("message_template_status_update", json!({"event": "APPROVED", "message_template_id": 956473842910234u64,
        "message_template_name": "spring_sale", "message_template_language": "en_US", "reason": "NONE",
        "message_template_category": "MARKETING"}))).await;
    send(&today, &binding, template("spring_sale"))
        .await
        .unwrap();

    // STOP: marketing is refused with what Meta would say; utility still goes.
    post(&h, inbound("wamid.q2", "STOP")).await;
    let r = send(&today, &binding, template("spring_sale")).await;
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::Recipient, graph: Some(g), .. }) if g.code == 131050 && g.http_status == 0),
        "{r:?}"
    );
    send(&today, &binding, template("order_update"))
        .await
        .unwrap();

    // The contact resumes marketing messages.
    post(&h, envelope("user_preferences", json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": SHOP},
        "user_preferences": [{"wa_id": CUSTOMER, "detail": "User requested to resume marketing messages",
            "category": "marketing_messages", "value": "resume", "timestamp": now()}]}))).await;
    send(&today, &binding, template("spring_sale"))
        .await
        .unwrap();

    // A paused template is refused locally as Meta would (132015).
    post(&h, envelope("message_template_status_update", json!({"event": "PAUSED", "message_template_id": 956473842910234u64,
        "message_template_name": "spring_sale", "message_template_language": "en_US", "reason": "NONE"}))).await;
    let r = send(&today, &binding, template("spring_sale")).await;
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::TemplateMismatch, graph: Some(g), .. }) if g.code == 132015),
        "{r:?}"
    );
}

#[tokio::test]
async fn past_the_window_the_sandbox_fails_the_message_as_meta_does() {
    // The component's own check is off for this tenant (the harness's), so the message
    // leaves; the sandbox accepts it and then reports it failed with 131047.
    let mut h = Harness::start(Options {
        webhooks: true,
        auto_reply: false,
        enforce_window: true,
    })
    .await;
    let sent = h
        .instance()
        .await
        .send(&text("Are you still there?"))
        .await
        .unwrap()
        .unwrap();
    let wamid = sent.message_id.clone();
    let events = h
        .wait_for(std::time::Duration::from_secs(20), |seen| {
            seen.iter().any(|e| e["message_id"] == wamid.as_str())
        })
        .await;
    let failed = events
        .iter()
        .find(|e| e["message_id"] == wamid.as_str())
        .unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["errors"][0]["code"], 131047);
    let st = h
        .instance()
        .await
        .status(&wamid)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(st.status, whatsapp_host::api::DeliveryStatus::Failed);
    assert_eq!(st.errors[0].code, 131047);
}

#[tokio::test]
async fn a_template_that_does_not_fit_its_cached_definition_is_refused_locally() {
    use whatsapp_host::storage::KvBackend;
    let h = Harness::start(Options {
        webhooks: false,
        auto_reply: false,
        enforce_window: false,
    })
    .await;
    // What a sync would store: order_update takes a text header {{1}} and a body {{1}} {{2}}.
    let cached = json!({"id": "1192339204654487", "status": "APPROVED", "category": "UTILITY", "quality": null,
        "definition": {"named": false, "header_format": "TEXT", "header_params": ["1"], "body_params": ["1", "2"], "buttons": ["QUICK_REPLY"]}});
    h.db.set(
        "acme",
        "templates",
        "order_update:en_US",
        cached.to_string().as_bytes(),
    )
    .unwrap();
    let param = |v: &str| TemplateParameter {
        name: None,
        value: ParameterValue::Text(v.into()),
    };
    let message = |body: Vec<TemplateParameter>| {
        let mut m = template("order_update");
        if let Content::Template(t) = &mut m.content {
            t.header = Some(TemplateHeader::Text(param("#42")));
            t.body = body;
        }
        m
    };
    let r = h
        .instance()
        .await
        .send(&message(vec![param("Ana")]))
        .await
        .unwrap();
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::TemplateMismatch, graph: Some(g), .. }) if g.code == 132000 && g.http_status == 0),
        "{r:?}"
    );
    let named = vec![
        TemplateParameter {
            name: Some("first_name".into()),
            value: ParameterValue::Text("Ana".into()),
        },
        TemplateParameter {
            name: Some("order".into()),
            value: ParameterValue::Text("#42".into()),
        },
    ];
    let r = h.instance().await.send(&message(named)).await.unwrap();
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::TemplateMismatch, graph: Some(g), .. }) if g.code == 132012),
        "{r:?}"
    );
    h.instance()
        .await
        .send(&message(vec![param("Ana"), param("#42")]))
        .await
        .unwrap()
        .unwrap();
}

/// A text from a user who shows a username instead of a number: Meta names them by their
/// business-scoped user id (BSUID) and username only.
fn inbound_from_username(bsuid: &str, id: &str, text: &str) -> Vec<u8> {
    envelope(
        "messages",
        json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": SHOP},
        "contacts": [{"profile": {"name": "Dana", "username": "@dana"}, "user_id": bsuid}],
        "messages": [{"from_user_id": bsuid, "id": id, "timestamp": now().to_string(), "type": "text", "text": {"body": text}}]}),
    )
}

#[tokio::test]
async fn contacts_with_usernames_are_messaged_by_bsuid_each_with_its_own_window_and_consent() {
    let (h, binding) = shop().await;
    let rt = h.runtime_at(0);
    let (ann, bob) = ("US.13491208655302741918", "GB.ENT.11815799212886844830");
    let to = |who: &str, mut m: OutgoingMessage| {
        m.to = who.into();
        m
    };
    post(&h, envelope("message_template_status_update", json!({"event": "APPROVED", "message_template_id": 956473842910234u64,
        "message_template_name": "spring_sale", "message_template_language": "en_US", "reason": "NONE",
        "message_template_category": "MARKETING"}))).await;

    // Ann writes; Bob never did: the window is Ann's alone.
    post(
        &h,
        inbound_from_username(ann, "wamid.u1", "Hi, is this in stock?"),
    )
    .await;
    let sent = send(&rt, &binding, to(ann, text("Yes, it is!")))
        .await
        .unwrap();
    assert_eq!(
        (
            sent.wa_id.as_deref(),
            sent.user_id.as_deref(),
            sent.input.as_str()
        ),
        (None, Some(ann), ann)
    );
    let r = send(&rt, &binding, to(bob, text("Hello?"))).await;
    assert!(refused_outside_window(&r), "{r:?}");

    // Bob writes STOP: marketing to Bob is refused, to Ann it still goes.
    post(&h, inbound_from_username(bob, "wamid.u2", "STOP")).await;
    let r = send(&rt, &binding, to(bob, template("spring_sale"))).await;
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::Recipient, graph: Some(g), .. }) if g.code == 131050),
        "{r:?}"
    );
    send(&rt, &binding, to(ann, template("spring_sale")))
        .await
        .unwrap();

    // Not a number and not a BSUID: refused before anything leaves.
    let r = send(&rt, &binding, to("us.1234", text("x"))).await;
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == "to"),
        "{r:?}"
    );
}

#[tokio::test]
async fn users_who_wrote_are_blocked_and_unblocked_each_with_its_own_outcome() {
    let h = Harness::start(Options {
        webhooks: true,
        auto_reply: false,
        enforce_window: false,
    })
    .await;
    let mut i = h.instance().await;
    // Two users write; a third never did, and Meta refuses to block those (131047).
    let (a, b, never) = ("15557654321", "US.13491208655302741918", "15550001234");
    for (who, id) in [(a, "wamid.b1"), (b, "wamid.b2")] {
        let (code, text) = http(
            "POST",
            &format!("{}/sandbox/inbound", h.sandbox_origin),
            &[],
            json!({"phone_number_id": whatsapp_tests::PHONE_NUMBER_ID, "from": who, "text": "spam", "reply_to": null})
                .to_string()
                .into_bytes(),
        )
        .await;
        assert_eq!(code, 200, "{id}: {text}");
    }
    let users = [format!("+{a}"), b.to_string(), never.to_string()];
    let out = i.block_users(&users).await.unwrap().unwrap();
    let got: Vec<(&str, Option<i32>)> = out
        .iter()
        .map(|o| (o.input.as_str(), o.error.as_ref().map(|e| e.code)))
        .collect();
    assert_eq!(got, [(a, None), (b, None), (never, Some(131047))]);
    // Meta names a user blocked by number by `wa_id`, one blocked by BSUID by `user_id`.
    assert_eq!(
        (out[0].wa_id.as_deref(), out[1].wa_id.as_deref()),
        (Some(a), None)
    );
    let page = i.blocked_users(None).await.unwrap().unwrap();
    assert_eq!(page.users, [a, b]);

    let out = i.unblock_users(&[a.to_string()]).await.unwrap().unwrap();
    assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
    assert_eq!(i.blocked_users(None).await.unwrap().unwrap().users, [b]);

    // Not a user at all: refused before anything leaves.
    let e = i.block_users(&["12".into()]).await.unwrap().unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::InvalidInput, field: Some(f), .. } if f == "users[0]"),
        "{e:?}"
    );
}
