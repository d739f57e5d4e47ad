//! Bad input, tried for real: each case below is sent to the webhook server or through
//! the component, and what it got is written into a table. host/README.md's "Bad input"
//! table must be exactly that table, so the README says what a run says. After a
//! deliberate change, `WA_UPDATE_README=1 cargo test -p whatsapp-tests -- bad_inputs::`
//! rewrites it.

use serde_json::json;
use whatsapp_host::api::outgoing::{Buttons, Media, MediaSource, ReplyButton};
use whatsapp_host::api::{Content, Error, OutgoingMessage};
use whatsapp_host::tenants::{self, NewTenant};
use whatsapp_tests::{APP_SECRET, Harness, Options, PHONE_NUMBER_ID, WABA_ID, http, sign, text};

const BEGIN: &str = "<!-- bad-inputs:begin (written by tests/bad_inputs.rs) -->";
const END: &str = "<!-- bad-inputs:end -->";

/// The error case a send got, as the WIT names it (with the refused field or Graph code).
fn case_of(r: Result<whatsapp_host::api::SendResult, Error>) -> String {
    let e = match r {
        Ok(_) => return "sent".into(),
        Err(e) => e,
    };
    let kind = whatsapp_host::events::kind_name(e.kind);
    match (&e.field, &e.graph) {
        (Some(field), _) => format!("`{kind}` (`{field}`)"),
        (None, Some(g)) => format!("`{kind}` ({})", g.code),
        (None, None) => format!("`{kind}`"),
    }
}

fn inbound(id: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID,
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "messages": [{"from": "15551234567", "id": id, "timestamp": "1700000100", "type": "text",
        "text": {"body": "hi"}}]}}]}]}),
    )
    .unwrap()
}

struct Table(Vec<(String, String)>);

impl Table {
    fn row(&mut self, input: &str, got: impl Into<String>) {
        self.0.push((input.into(), got.into()));
    }

    fn markdown(&self) -> String {
        let mut s = String::from("| Bad input | What it gets |\n|---|---|\n");
        for (i, g) in &self.0 {
            s.push_str(&format!("| {i} | {g} |\n"));
        }
        s
    }
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_answer_and_the_readme_says_which() {
    let h = Harness::start(Options {
        webhooks: false,
        auto_reply: false,
        enforce_window: true,
    })
    .await;
    let url = h.webhook_url.clone();
    let recorded = || h.db.events(None, 0, 100_000).unwrap().len();
    let post = |headers: Vec<(String, String)>, body: Vec<u8>| {
        let url = url.clone();
        async move {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            http("POST", &url, &h, body).await.0
        }
    };
    let signed = |body: &[u8]| vec![("x-hub-signature-256".to_string(), sign(APP_SECRET, body))];
    let mut t = Table(Vec::new());

    // The webhook endpoint.
    let body = inbound("wamid.bad1");
    let before = recorded();
    let s = post(vec![], body.clone()).await;
    t.row(
        "Webhook POST without `X-Hub-Signature-256`",
        format!("{s}, nothing recorded"),
    );
    let s = post(
        vec![("x-hub-signature-256".into(), "sha256=zz".into())],
        body.clone(),
    )
    .await;
    t.row(
        "Webhook POST with a malformed signature",
        format!("{s}, nothing recorded"),
    );
    let forged = vec![(
        "x-hub-signature-256".to_string(),
        sign("not-the-secret", &body),
    )];
    let s = post(forged, body.clone()).await;
    t.row(
        "Webhook POST signed with another secret",
        format!("{s}, nothing recorded"),
    );
    let mut tampered = body.clone();
    tampered.push(b' ');
    let s = post(signed(&body), tampered).await;
    t.row(
        "Webhook POST whose body changed after signing (one byte)",
        format!("{s}, nothing recorded"),
    );
    assert_eq!(recorded(), before, "nothing unsigned was recorded");

    for (what, bad) in [
        ("Signed body that is not JSON", b"{not json".to_vec()),
        (
            "Signed body that is not UTF-8",
            vec![b'{', 0xff, 0xfe, b'}'],
        ),
        ("Signed JSON nested 10,000 deep", {
            let mut v = vec![b'['; 10_000];
            v.extend(vec![b']'; 10_000]);
            v
        }),
        (
            "Signed JSON with no entries (`{\"object\":\"page\",\"entry\":[]}`)",
            br#"{"object":"page","entry":[]}"#.to_vec(),
        ),
    ] {
        let before = recorded();
        let s = post(signed(&bad), bad).await;
        let rejected =
            h.db.events(None, 0, 100_000)
                .unwrap()
                .iter()
                .skip(before)
                .filter(|e| e.json.contains(r#""type":"rejected""#))
                .count();
        let others = recorded() - before - rejected;
        let kept = match (rejected, others) {
            (0, 0) => "nothing to record".to_string(),
            (1, 0) => "kept whole as a `rejected` event".to_string(),
            (r, o) => format!("{r} `rejected` and {o} other events"),
        };
        t.row(what, format!("{s}, {kept}"));
    }

    // A tenant with its own app secret: its unreadable bodies are kept for it.
    tenants::add(
        &h.db,
        &h.vault,
        NewTenant {
            id: "own-secret".into(),
            phone_number_id: "106540352249999".into(),
            waba_id: WABA_ID.into(),
            display_phone_number: None,
            graph_origin: None,
            app_secret: Some(zeroize::Zeroizing::new("own-app-secret".into())),
            verify_token: None,
            settings: vec![],
            numbers: vec![],
        },
        0,
    )
    .unwrap();
    let junk = b"{\"object\": ".to_vec();
    let before = h.db.events(None, 0, 100_000).unwrap().len();
    let own = vec![(
        "x-hub-signature-256".to_string(),
        sign("own-app-secret", &junk),
    )];
    let st = post(own, junk).await;
    let kept: Vec<_> = h.db.events(Some("own-secret"), 0, 100).unwrap();
    t.row(
        "Signed with a tenant's own app secret, not JSON",
        format!(
            "{st}, kept as that tenant's `rejected` event ({} recorded)",
            h.db.events(None, 0, 100_000).unwrap().len() - before
        ),
    );
    assert_eq!(kept.len(), 1, "kept for the tenant whose secret signed it");

    let big = vec![b' '; whatsapp_host::server::DEFAULT_MAX_BODY + 1];
    let s = post(signed(&big), big).await;
    t.row("Webhook body over the size limit (4 MiB)", s.to_string());

    let unknown = String::from_utf8(inbound("wamid.unknown"))
        .unwrap()
        .replace(PHONE_NUMBER_ID, "999999999999999");
    let before = recorded();
    let s = post(signed(unknown.as_bytes()), unknown.clone().into_bytes()).await;
    t.row(
        "Signed webhook for a phone number no tenant has",
        format!(
            "{s}, {} event recorded without a tenant",
            recorded() - before
        ),
    );

    let dup = inbound("wamid.dup");
    let before = recorded();
    let a = post(signed(&dup), dup.clone()).await;
    let b = post(signed(&dup), dup.clone()).await;
    t.row(
        "The same signed webhook delivered twice",
        format!("{a} then {b}, {} event recorded", recorded() - before),
    );

    for (what, query) in [
        (
            "Handshake with a wrong verify token",
            "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        ),
        (
            "Handshake with a wrong mode",
            "hub.mode=unsubscribe&hub.verify_token=harness-verify&hub.challenge=1",
        ),
        ("Handshake without parameters", ""),
    ] {
        let (s, _) = http("GET", &format!("{url}?{query}"), &[], vec![]).await;
        t.row(what, s.to_string());
    }
    let base = url.trim_end_matches("/webhook");
    let (s, _) = http("GET", &format!("{base}/nowhere"), &[], vec![]).await;
    t.row("Request to an unknown path", s.to_string());
    let (s, _) = http("DELETE", &url, &[], vec![]).await;
    t.row("`DELETE /webhook`", s.to_string());

    // Sends through the component.
    let send = |m: OutgoingMessage| {
        let h = &h;
        async move { case_of(h.instance().await.send(&m).await.unwrap()) }
    };
    t.row("Send to `abc`", send(text("abc", "hi")).await);
    t.row(
        "Send to `+0044 20` (leading 0, too short)",
        send(text("+004420", "hi")).await,
    );
    t.row(
        "Text of 4,097 characters",
        send(text("+15551234567", &"a".repeat(4097))).await,
    );
    t.row("Empty text", send(text("+15551234567", "")).await);
    let four = (0..4)
        .map(|i| ReplyButton {
            id: format!("b{i}"),
            title: format!("B{i}"),
        })
        .collect();
    t.row(
        "Four reply buttons",
        send(OutgoingMessage {
            content: Content::Buttons(Buttons {
                header: None,
                body: "pick".into(),
                footer: None,
                buttons: four,
            }),
            ..text("+15551234567", "")
        })
        .await,
    );
    t.row(
        "Image link `ftp://host/x.png`",
        send(OutgoingMessage {
            content: Content::Image(Media {
                source: MediaSource::Link("ftp://host/x.png".into()),
                caption: None,
                filename: None,
            }),
            ..text("+15551234567", "")
        })
        .await,
    );
    t.row(
        "Send to a recipient Meta always throttles (130429)",
        send(text(
            &format!("+{}", whatsapp_host::sandbox::ALWAYS_THROTTLED),
            "hi",
        ))
        .await,
    );

    // A tenant whose token Meta refuses, one with no token, one whose Graph origin the
    // host's egress policy does not allow.
    let add = |id: &str, pnid: &str, token: Option<&str>, origin: &str, window: &str| {
        let t = NewTenant {
            id: id.into(),
            phone_number_id: pnid.into(),
            waba_id: WABA_ID.into(),
            display_phone_number: None,
            graph_origin: Some(origin.into()),
            app_secret: None,
            verify_token: None,
            settings: vec![("window-policy".into(), window.into())],
            numbers: vec![],
        };
        let token = token.map(str::to_string);
        let h = &h;
        async move { h.add_tenant(t, token.as_deref()).await }
    };
    let origin = h.sandbox_origin.as_str();
    let refused = add(
        "refused",
        "106540352240001",
        Some("not-the-token"),
        origin,
        "off",
    )
    .await;
    let tokenless = add("tokenless", "106540352240002", None, origin, "off").await;
    let elsewhere = add(
        "elsewhere",
        "106540352240003",
        Some("t"),
        "https://graph.example.invalid",
        "off",
    )
    .await;
    let windowed = add(
        "windowed",
        "106540352240004",
        Some(whatsapp_tests::TOKEN),
        origin,
        "enforce",
    )
    .await;
    for (what, tenant) in [
        ("Send with a token Meta refuses", &refused),
        ("Send by a tenant with no token", &tokenless),
        (
            "Send to a Graph origin outside the egress allow-list",
            &elsewhere,
        ),
        (
            "Free-form text to a contact who never wrote (window enforced)",
            &windowed,
        ),
    ] {
        let r = h
            .instance_of(tenant)
            .await
            .send(&text("+15551234567", "hi"))
            .await
            .unwrap();
        t.row(what, case_of(r));
    }

    let table = t.markdown();
    let readme_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (Some(b), Some(e)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("host/README.md has no {BEGIN} … {END} section; this run's table:\n{table}");
    };
    let current = &readme[b + BEGIN.len()..e];
    let wanted = format!("\n{table}");
    if current != wanted {
        if std::env::var_os("WA_UPDATE_README").is_some() {
            let updated = format!("{}{BEGIN}{wanted}{}", &readme[..b], &readme[e..]);
            std::fs::write(&readme_path, updated).unwrap();
        } else {
            panic!(
                "host/README.md's bad-input table differs from this run (WA_UPDATE_README=1 rewrites it):\n{table}"
            );
        }
    }
}
