//! Template management end to end: component, host and sandbox. Every template of the
//! corpus (ours, and pywa's when it is there) is created from Meta's JSON and reviewed (with the status webhook), the
//! typed API builds one and refuses a malformed one before sending, listing filters and
//! pages, a template is read whole, the cache the send pre-flight reads is synced,
//! edits follow Meta's rules (status, category, once per 24 hours), and templates are
//! deleted by name and by id.

use serde_json::Value;
use std::time::Duration;
use whatsapp_host::api::templates::{
    NewTemplate, TemplateBody, TemplateButton, TemplateCategory, TextWithExamples, UrlButton,
};
use whatsapp_host::api::{Error, ErrorKind, ListQuery};
use whatsapp_host::tenants::TenantExt;

use whatsapp_tests::{Harness, Options, corpus};

/// Every template of our corpus and of pywa's when it is there: (its name, Meta's JSON).
fn fixture_templates() -> Vec<(String, Value)> {
    corpus::templates()
        .into_iter()
        .map(|(_, v)| (v["name"].as_str().unwrap().to_string(), v))
        .collect()
}

fn query() -> ListQuery {
    ListQuery {
        name: None,
        status: None,
        category: None,
        language: None,
        limit: None,
        after: None,
    }
}

fn typed(name: &str, body: &str, examples: &[&str]) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        language: "en_US".into(),
        category: TemplateCategory::Utility,
        named_parameters: false,
        message_send_ttl_seconds: None,
        header: None,
        limited_time_offer: None,
        body: Some(TemplateBody {
            text: Some(TextWithExamples {
                text: body.into(),
                examples: examples.iter().map(|s| s.to_string()).collect(),
                named_examples: vec![],
            }),
            add_security_recommendation: None,
        }),
        footer: None,
        buttons: vec![
            TemplateButton::QuickReply("Thanks".into()),
            TemplateButton::Url(UrlButton {
                text: "Track".into(),
                url: "https://shop.example/track/{{1}}".into(),
                example: Some("A1B2".into()),
            }),
        ],
        carousel: vec![],
    }
}

fn with_webhooks() -> Options {
    Options {
        webhooks: true,
        auto_reply: false,
        enforce_window: false,
    }
}

/// Wait until each `(name, event)` has had its template status webhook. One wait for
/// all: the reviews' webhooks may arrive in any order.
async fn reviewed(h: &mut Harness, want: &[(&str, &str)]) {
    h.wait_for(Duration::from_secs(20), |seen| {
        want.iter().all(|(name, event)| {
            seen.iter()
                .any(|e| e["type"] == "template" && e["name"] == *name && e["value"] == *event)
        })
    })
    .await;
}

#[tokio::test]
async fn every_fixture_template_is_created_from_meta_json_and_reviewed() {
    let mut h = Harness::start(with_webhooks()).await;
    let fixtures = fixture_templates();
    assert!(fixtures.len() >= 16);
    let mut names = Vec::new();
    for (name, v) in &fixtures {
        let created = h
            .instance()
            .await
            .create_template_json(&v.to_string())
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(created.status, "PENDING", "{name}");
        // Read back whole: the components are the ones sent.
        let d = h
            .instance()
            .await
            .get_template(&created.id)
            .await
            .unwrap()
            .unwrap();
        let components: Value = serde_json::from_str(&d.components_json).unwrap();
        assert_eq!(components, v["components"], "{name}");
        names.push(name.as_str());
    }
    let want: Vec<(&str, &str)> = names.iter().map(|n| (*n, "APPROVED")).collect();
    reviewed(&mut h, &want).await;
    // A second create of the same name and language is Meta's error, kept whole.
    let again = h
        .instance()
        .await
        .create_template_json(&fixtures[0].1.to_string())
        .await
        .unwrap();
    let Err(Error {
        kind: ErrorKind::Meta,
        graph: Some(g),
        ..
    }) = again
    else {
        panic!("{again:?}")
    };
    assert_eq!((g.code, g.subcode), (100, Some(2388024)));
}

#[tokio::test]
async fn the_typed_api_builds_a_template_and_refuses_a_malformed_one_before_sending() {
    let mut h = Harness::start(with_webhooks()).await;
    let mut i = h.instance().await;
    let ok = i
        .create_template(&typed(
            "shipping_update",
            "Hi {{1}}, order {{2}} has shipped.",
            &["Ana", "42"],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.status, "PENDING");
    let rejected = i
        .create_template(&typed("promo_reject_me", "Hello {{1}}, welcome.", &["Ana"]))
        .await
        .unwrap()
        .unwrap();
    reviewed(
        &mut h,
        &[
            ("shipping_update", "APPROVED"),
            ("promo_reject_me", "REJECTED"),
        ],
    )
    .await;
    let d = h
        .instance()
        .await
        .get_template(&rejected.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.rejected_reason.as_deref()),
        ("REJECTED", Some("INVALID_FORMAT"))
    );
    // A gap in the placeholders: refused with the field, nothing sent.
    let bad = h
        .instance()
        .await
        .create_template(&typed(
            "gap_template",
            "Hi {{1}}, order {{3}} shipped.",
            &["Ana", "42"],
        ))
        .await
        .unwrap();
    let Err(Error {
        kind: ErrorKind::InvalidInput,
        field: Some(field),
        ..
    }) = bad
    else {
        panic!("{bad:?}")
    };
    assert_eq!(field, "body.text");
    let mut q = query();
    q.name = Some("gap_template".into());
    let listed = h
        .instance()
        .await
        .list_templates(&q)
        .await
        .unwrap()
        .unwrap();
    assert!(listed.templates.is_empty(), "nothing was sent");
    let bad_json = h
        .instance()
        .await
        .create_template_json("{\"name\": \"x\"")
        .await
        .unwrap();
    assert!(
        matches!(bad_json, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "json"),
        "{bad_json:?}"
    );
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let h = Harness::start(with_webhooks()).await;
    for (_, v) in fixture_templates() {
        h.instance()
            .await
            .create_template_json(&v.to_string())
            .await
            .unwrap()
            .unwrap();
    }
    // Every page of five, following the cursor.
    let mut all = Vec::new();
    let mut q = query();
    q.limit = Some(5);
    loop {
        let page = h
            .instance()
            .await
            .list_templates(&q)
            .await
            .unwrap()
            .unwrap();
        assert!(page.templates.len() <= 5);
        all.extend(page.templates);
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        all.len(),
        fixture_templates().len() + 3,
        "the fixtures and the sandbox's own three"
    );
    let mut q = query();
    q.category = Some("AUTHENTICATION".into());
    let auth = h
        .instance()
        .await
        .list_templates(&q)
        .await
        .unwrap()
        .unwrap();
    let in_corpus = fixture_templates()
        .iter()
        .filter(|(_, v)| v["category"] == "AUTHENTICATION")
        .count();
    assert!(in_corpus >= 3);
    assert_eq!(auth.templates.len(), in_corpus);
    assert!(
        auth.templates
            .iter()
            .all(|t| t.category == "AUTHENTICATION")
    );
    let mut q = query();
    q.name = Some("hello_world".into());
    q.language = Some("en_US".into());
    q.status = Some("APPROVED".into());
    let one = h
        .instance()
        .await
        .list_templates(&q)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.templates.len(), 1);
}

#[tokio::test]
async fn sync_fills_the_cache_the_send_preflight_reads() {
    let h = Harness::start(Options {
        webhooks: false,
        auto_reply: false,
        enforce_window: false,
    })
    .await;
    let report = h.instance().await.sync_templates().await.unwrap().unwrap();
    assert_eq!((report.templates, report.removed), (3, 0));
    // order_update takes two body parameters: a send without them is refused locally.
    let send = whatsapp_tests::template("+15551234567", "order_update");
    let r = h.instance().await.send(&send).await.unwrap();
    let Err(Error {
        kind: ErrorKind::TemplateMismatch,
        graph: Some(g),
        ..
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(g.code, 132000);
    // Deleted at Meta, removed from the cache by the next sync.
    h.instance()
        .await
        .delete_template("order_update", None)
        .await
        .unwrap()
        .unwrap();
    let report = h.instance().await.sync_templates().await.unwrap().unwrap();
    assert_eq!(
        (report.templates, report.removed),
        (2, 0),
        "delete removed it already"
    );
}

async fn status_of(h: &Harness, id: &str) -> String {
    h.instance()
        .await
        .get_template(id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn until_approved(h: &Harness, id: &str) {
    for _ in 0..200 {
        if status_of(h, id).await == "APPROVED" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{id} was not approved");
}

#[tokio::test]
async fn edits_follow_metas_rules_from_the_tenants_own_history() {
    // A review slow enough that the edit below surely finds the template still PENDING,
    // even on a loaded machine (the default, 50 ms, is not).
    let h = Harness::start_with(with_webhooks(), |c| {
        c.template_review = Duration::from_secs(1)
    })
    .await;
    let template = typed(
        "delivery_window",
        "Hi {{1}}, we deliver on {{2}}.",
        &["Ana", "Monday"],
    );
    let created = h
        .instance()
        .await
        .create_template(&template)
        .await
        .unwrap()
        .unwrap();
    // Under review: not editable.
    let pending = h
        .instance()
        .await
        .edit_template(&created.id, &template)
        .await
        .unwrap();
    assert!(
        matches!(pending, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "template-id"),
        "{pending:?}"
    );
    until_approved(&h, &created.id).await;
    // Approved: the category is fixed.
    let mut recategorized = template.clone();
    recategorized.category = TemplateCategory::Marketing;
    let r = h
        .instance()
        .await
        .edit_template(&created.id, &recategorized)
        .await
        .unwrap();
    assert!(
        matches!(r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(ref f), .. }) if f == "template.category"),
        "{r:?}"
    );
    // One edit goes through; the next within 24 hours waits.
    let mut edited = template.clone();
    edited.body.as_mut().unwrap().text.as_mut().unwrap().text =
        "Hi {{1}}, we now deliver on {{2}}.".into();
    h.instance()
        .await
        .edit_template(&created.id, &edited)
        .await
        .unwrap()
        .unwrap();
    until_approved(&h, &created.id).await;
    let d = h
        .instance()
        .await
        .get_template(&created.id)
        .await
        .unwrap()
        .unwrap();
    assert!(d.components_json.contains("we now deliver"));
    let r = h
        .instance()
        .await
        .edit_template_json(&created.id, &serde_json::json!({
            "name": "delivery_window", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, delivery is {{2}}.", "example": {"body_text": [["Ana", "Monday"]]}}]
        }).to_string())
        .await
        .unwrap();
    let Err(Error {
        kind: ErrorKind::RateLimited,
        retry_after_seconds: Some(wait),
        ..
    }) = r
    else {
        panic!("{r:?}")
    };
    assert!((86_000..=86_400).contains(&wait), "{wait}");
    // A day later (the instances' clock moved on), it is allowed again.
    let tomorrow = h.runtime_at(25 * 3600);
    let binding = h.tenant.binding(&h.vault, &Default::default()).unwrap();
    tomorrow
        .instantiate(&binding)
        .await
        .unwrap()
        .edit_template(&created.id, &template)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn templates_are_deleted_by_name_or_by_id() {
    let h = Harness::start(with_webhooks()).await;
    let mut en = typed("two_languages", "Hi {{1}}, welcome.", &["Ana"]);
    let first = h
        .instance()
        .await
        .create_template(&en)
        .await
        .unwrap()
        .unwrap();
    en.language = "pt_BR".into();
    en.body.as_mut().unwrap().text.as_mut().unwrap().text = "Oi {{1}}, bem-vindo.".into();
    h.instance()
        .await
        .create_template(&en)
        .await
        .unwrap()
        .unwrap();
    let mut q = query();
    q.name = Some("two_languages".into());
    assert_eq!(listed(&h, &q).await, 2);
    h.instance()
        .await
        .delete_template("two_languages", Some(&first.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed(&h, &q).await, 1, "only the one with that id");
    h.instance()
        .await
        .delete_template("two_languages", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed(&h, &q).await, 0);
    let gone = h
        .instance()
        .await
        .delete_template("two_languages", None)
        .await
        .unwrap();
    assert!(
        matches!(gone, Err(Error { kind: ErrorKind::Meta, graph: Some(ref g), .. }) if g.code == 100),
        "{gone:?}"
    );
}

async fn listed(h: &Harness, q: &ListQuery) -> usize {
    h.instance()
        .await
        .list_templates(q)
        .await
        .unwrap()
        .unwrap()
        .templates
        .len()
}

#[tokio::test]
async fn the_library_comparison_pausing_bulk_upserts_and_migration() {
    use serde_json::json;
    use whatsapp_tests::{TOKEN, WABA_ID, quiet};
    let h = Harness::start(quiet()).await;

    // Meta's library, filtered; a template created from it is approved at once.
    let page = h
        .op(
            "templates.library",
            json!({ "query": { "search": "order", "industry": "E_COMMERCE" } }),
        )
        .await
        .unwrap();
    let names: Vec<&str> = page["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["delivery_update_1"]);
    let from_library = |buttons: Value| {
        let h = &h;
        async move {
            h.op(
                "templates.create-from-library",
                json!({ "template": { "name": "shipping_news", "language": "en_US",
                    "category": "utility", "library_template_name": "delivery_update_1",
                    "buttons": buttons } }),
            )
            .await
        }
    };
    let missing = from_library(json!([])).await.unwrap_err();
    assert_eq!(missing.kind, ErrorKind::Meta, "{missing:?}");
    let no_example =
        from_library(json!([{ "url": { "base_url": "https://shop.example/t/{{1}}" } }]))
            .await
            .unwrap_err();
    assert_eq!(no_example.field.as_deref(), Some("buttons[0]"));
    let created = from_library(
        json!([{ "url": { "base_url": "https://shop.example/t/{{1}}",
        "url_suffix_example": "https://shop.example/t/42" } }]),
    )
    .await
    .unwrap();
    assert_eq!(created["status"], "APPROVED");
    let whole = h
        .instance()
        .await
        .get_template(created["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        whole
            .components_json
            .contains("https://shop.example/t/{{1}}"),
        "{}",
        whole.components_json
    );

    // Two templates compared over 7 days: the sandbox counts their sends.
    let hello = "1407680676729941";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let c = h
        .op(
            "templates.compare",
            json!({ "template_id": hello, "other_id": "1192339204654487",
            "start": now - 6 * 86_400, "end": now + 86_400 }),
        )
        .await
        .unwrap();
    assert_eq!(c["sends"], json!([[hello, 0], ["1192339204654487", 0]]));
    let same = h
        .op(
            "templates.compare",
            json!({ "template_id": hello, "other_id": hello, "start": 1, "end": 2 }),
        )
        .await
        .unwrap_err();
    assert_eq!(same.field.as_deref(), Some("other-id"));

    // Meta pauses a template for its quality; it is unpaused once, not twice.
    h.sandbox("POST", "/sandbox/template-pause", json!({ "id": hello }))
        .await;
    let got = h
        .instance()
        .await
        .get_template(hello)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.status, "PAUSED");
    h.instance()
        .await
        .unpause_template(hello)
        .await
        .unwrap()
        .unwrap();
    let again = h
        .op("templates.unpause", json!({ "template_id": hello }))
        .await
        .unwrap_err();
    assert!(again.message.contains("not PAUSED"), "{again:?}");

    // An authentication template in two languages at once; again, the same two updated.
    let auth = json!({ "name": "login_code", "languages": ["en_US", "pt_BR"],
        "add_security_recommendation": true, "code_expiration_minutes": 10,
        "otp": { "otp_type": "COPY_CODE", "text": "Copy code", "supported_apps": [] } });
    let upsert = || {
        let (h, auth) = (&h, auth.clone());
        async move {
            h.op(
                "templates.upsert-authentication",
                json!({ "template": auth }),
            )
            .await
            .unwrap()
        }
    };
    let first = upsert().await;
    let langs: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["language"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["en_US", "pt_BR"]);
    assert_eq!(upsert().await[1]["id"], first[1]["id"]);
    let mut long = auth.clone();
    long["code_expiration_minutes"] = 91.into();
    let refused = h
        .op(
            "templates.upsert-authentication",
            json!({ "template": long }),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::InvalidInput, "{refused:?}");
    let mut none = auth.clone();
    none["languages"] = json!([]);
    let refused = h
        .op(
            "templates.upsert-authentication",
            json!({ "template": none }),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.field.as_deref(), Some("languages"));

    // Another business copies the approved templates; the rest fail, each with why.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = h
        .add_tenant(
            whatsapp_host::tenants::NewTenant {
                id: "other-business".into(),
                phone_number_id: "106540352242999".into(),
                waba_id: "102290129349999".into(),
                graph_origin: Some(h.sandbox_origin.clone()),
                ..Default::default()
            },
            Some(TOKEN),
        )
        .await;
    let m = h
        .op_of(
            &other,
            "templates.migrate",
            json!({ "source_waba_id": WABA_ID, "page": 0 }),
        )
        .await
        .unwrap();
    // hello_world, order_update, shipping_news and login_code (two languages), approved.
    assert_eq!(m["migrated"].as_array().unwrap().len(), 5, "{m}");
    assert_eq!(
        m["failed"],
        json!([["956473842910234", "Template is PENDING, not APPROVED"]])
    );
    let listed = h
        .instance_of(&other)
        .await
        .list_templates(&query())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.templates.len(), 5);
    let again = h
        .op_of(
            &other,
            "templates.migrate",
            json!({ "source_waba_id": WABA_ID }),
        )
        .await
        .unwrap();
    assert_eq!(again["migrated"], json!([]));
    let own = h
        .op("templates.migrate", json!({ "source_waba_id": WABA_ID }))
        .await
        .unwrap_err();
    assert_eq!(own.field.as_deref(), Some("source-waba-id"));
}
