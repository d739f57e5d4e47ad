//! Marketing and insight end to end through component, host and sandbox: marketing
//! templates go through Meta's Marketing Messages API only for a tenant that asks for it
//! and only once its WABA is onboarded (the sandbox says which endpoint each send came
//! through); template analytics are refused until turned on, then count the sends; pricing
//! and conversation analytics break them down. Meta's limits are refused before sending.

use serde_json::{Value, json};
use std::time::Duration;
use whatsapp_host::api::insights::{Granularity, UsageQuery};
use whatsapp_host::api::{ErrorKind, OutgoingMessage};
use whatsapp_host::storage::TenantRecord;
use whatsapp_host::tenants::NewTenant;
use whatsapp_tests::{Harness, TOKEN, WABA_ID, quiet};

fn template(name: &str) -> OutgoingMessage {
    whatsapp_tests::template("+15550100777", name)
}

/// A MARKETING template without placeholders, approved by the sandbox's review.
async fn approved_marketing_template(h: &Harness) {
    let created = h
        .op(
            "templates.create-json",
            json!({ "json": json!({ "name": "autumn_sale", "language": "en_US",
                "category": "MARKETING",
                "components": [{ "type": "BODY", "text": "Our autumn sale starts today." }] })
            .to_string() }),
        )
        .await
        .unwrap();
    assert_eq!(created["category"], "MARKETING");
    // The sandbox reviews a template 50 ms after it is created.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The endpoint of each send the sandbox accepted, in order.
async fn endpoints(h: &Harness) -> Vec<(String, String)> {
    let sends = h.sandbox("GET", "/sandbox/sends", Value::Null).await;
    sends["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["template"].as_str().unwrap_or("").to_string(),
                s["endpoint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn lite_tenant(h: &Harness) -> TenantRecord {
    h.add_tenant(
        NewTenant {
            id: "acme-lite".into(),
            phone_number_id: "106540352242933".into(),
            waba_id: WABA_ID.into(),
            graph_origin: Some(h.sandbox_origin.clone()),
            settings: vec![
                ("window-policy".into(), "off".into()),
                ("marketing-messages".into(), "lite".into()),
            ],
            ..NewTenant::default()
        },
        Some(TOKEN),
    )
    .await
}

#[tokio::test]
async fn marketing_templates_go_through_mm_lite_once_the_waba_is_onboarded() {
    let h = Harness::start(quiet()).await;
    approved_marketing_template(&h).await;
    let lite = lite_tenant(&h).await;
    // The template cache says which templates are MARKETING.
    for t in [&h.tenant, &lite] {
        h.op_of(t, "templates.sync", json!({})).await.unwrap();
    }
    let status = h
        .op_of(&lite, "business.marketing-messages-status", json!({}))
        .await
        .unwrap();
    assert_eq!(status, "ELIGIBLE");
    let send = |t: &TenantRecord, name: &str| {
        let (h, t, m) = (&h, t.clone(), template(name));
        async move { h.instance_of(&t).await.send(&m).await.unwrap().unwrap() }
    };
    // Not onboarded yet: through /messages.
    send(&lite, "autumn_sale").await;

    // The business signs the terms; the status, read again, is ONBOARDED.
    h.sandbox(
        "POST",
        "/sandbox/mm-lite-terms",
        json!({ "waba_id": WABA_ID }),
    )
    .await;
    let status = h
        .instance_of(&lite)
        .await
        .marketing_messages_status()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, "ONBOARDED");
    let preview = h
        .instance_of(&lite)
        .await
        .preview(&template("autumn_sale"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        preview.url.ends_with("/106540352242933/marketing_messages"),
        "{}",
        preview.url
    );
    send(&lite, "autumn_sale").await;
    // A utility template, and a tenant that did not ask for MM Lite: /messages.
    send(&lite, "hello_world").await;
    send(&h.tenant, "autumn_sale").await;
    let via = endpoints(&h).await;
    let via: Vec<(&str, &str)> = via.iter().map(|(t, e)| (t.as_str(), e.as_str())).collect();
    assert_eq!(
        via,
        [
            ("autumn_sale", "messages"),
            ("autumn_sale", "marketing_messages"),
            ("hello_world", "messages"),
            ("autumn_sale", "messages"),
        ]
    );
}

#[tokio::test]
async fn template_analytics_count_sends_once_turned_on_and_usage_breaks_them_down() {
    let h = Harness::start(quiet()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (start, end) = (now - 86_400, now + 86_400);
    let hello = "1407680676729941";
    let analytics = |ids: Value, start: u64, end: u64| {
        let h = &h;
        async move {
            h.op(
                "insights.template-analytics",
                json!({ "template_ids": ids, "start": start, "end": end }),
            )
            .await
        }
    };
    // Meta refuses template analytics until they are on.
    let off = analytics(json!([hello]), start, end).await.unwrap_err();
    assert_eq!(
        (off.kind, off.graph.map(|g| g.code)),
        (ErrorKind::Meta, Some(100))
    );
    h.instance()
        .await
        .enable_template_analytics()
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        h.instance()
            .await
            .send(&template("hello_world"))
            .await
            .unwrap()
            .unwrap();
    }
    let page = analytics(json!([hello]), start, end).await.unwrap();
    let day = &page["days"][0];
    assert_eq!(
        (&day["template_id"], &day["sent"], &day["delivered"]),
        (&json!(hello), &json!(3), &json!(3))
    );
    assert_eq!(day["cost"][0][0], "amount_spent");
    assert!(
        (day["cost"][0][1].as_f64().unwrap() - 0.012).abs() < 1e-9,
        "{day}"
    );

    // Meta's limits, refused before anything is sent.
    let eleven: Vec<String> = (0..11).map(|i| format!("1{i}")).collect();
    let e = analytics(json!(eleven), start, end).await.unwrap_err();
    assert_eq!(
        (e.kind, e.field.as_deref()),
        (ErrorKind::InvalidInput, Some("template-ids"))
    );
    let e = analytics(json!([hello]), end, start).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("end"));

    // Pricing: the three UTILITY sends, charged; conversations the same, by type.
    let usage = |op: &str, countries: Value| {
        let (h, op) = (&h, op.to_string());
        async move {
            h.op(
                &op,
                json!({ "query": { "start": start, "end": end, "granularity": "daily",
                    "phone_numbers": [], "country_codes": countries } }),
            )
            .await
        }
    };
    let pricing = h
        .instance()
        .await
        .pricing_analytics(&UsageQuery {
            start,
            end,
            granularity: Granularity::Daily,
            phone_numbers: vec![],
            country_codes: vec![],
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pricing.len(), 1, "{pricing:?}");
    let p = &pricing[0];
    assert_eq!(
        (
            p.country.as_str(),
            p.category.as_str(),
            p.kind.as_str(),
            p.count
        ),
        ("US", "UTILITY", "REGULAR", 3)
    );
    assert_eq!(p.phone_number, "15550783881");
    let conversations = usage("insights.conversations", json!(["US"]))
        .await
        .unwrap();
    assert_eq!(conversations[0]["count"], 3);
    assert!(
        usage("insights.pricing", json!(["BR"]))
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let e = usage("insights.pricing", json!(["usa"])).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("country-codes"));
}
