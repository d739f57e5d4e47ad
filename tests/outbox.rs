//! The outbox end to end: `messages.enqueue` through the component into the host's
//! database, the host's dispatcher sending through `messages.deliver` to the sandbox,
//! and the sandbox's status webhooks moving each entry on. The sandbox counts what it
//! accepted, so "sent once" is its count, not ours.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use whatsapp_host::api::ErrorKind;
use whatsapp_host::api::outbox::{Entry, EntryState};
use whatsapp_host::capabilities::outbox::OutboxService;
use whatsapp_host::tenants::NewTenant;
use whatsapp_tests::{Harness, Options, PHONE_NUMBER_ID, TOKEN, WABA_ID, http};

fn with_webhooks() -> Options {
    Options {
        webhooks: true,
        auto_reply: false,
        enforce_window: false,
    }
}

fn outbox(h: &Harness) -> Arc<OutboxService> {
    h.runtime.services().outbox.clone().expect("an outbox")
}

/// An outbox item of a text to `to`, in the JSON form `messages.enqueue` takes.
fn text_item(to: &str, body: &str) -> Value {
    json!({
        "message": { "to": to, "content": { "text": { "body": body, "preview_url": false } },
            "reply_to": null, "biz_opaque_callback_data": null },
        "phone_number_id": null, "key": null, "not_before_ms": null,
        "priority": "reply", "campaign": null,
    })
}

/// An outbox item of a template without parameters.
fn template_item(to: &str, name: &str, campaign: Option<&str>) -> Value {
    json!({
        "message": { "to": to, "content": { "template": { "name": name, "language": "en_US",
            "header": null, "body": [], "buttons": [], "carousel": [], "offer_expires_at_ms": null } },
            "reply_to": null, "biz_opaque_callback_data": null },
        "phone_number_id": null, "key": null, "not_before_ms": null,
        "priority": "campaign", "campaign": campaign,
    })
}

async fn enqueue(h: &Harness, items: Vec<Value>) -> Vec<(String, bool)> {
    let out = h
        .op("messages.enqueue", json!({ "items": items }))
        .await
        .unwrap();
    out.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["created"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn entry(h: &Harness, id: &str) -> Entry {
    outbox(h)
        .status(&h.tenant.id, id)
        .unwrap()
        .expect("the entry")
}

/// Wait until every entry in `ids` is in a state `done` accepts; their entries.
async fn settle(h: &Harness, ids: &[String], done: impl Fn(&Entry) -> bool) -> Vec<Entry> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let entries: Vec<Entry> = ids.iter().map(|id| entry(h, id)).collect();
        if entries.iter().all(&done) {
            return entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sandbox's accepted sends to `to`.
async fn sends_to(h: &Harness, to: &str) -> usize {
    let sends = h.sandbox("GET", "/sandbox/sends", Value::Null).await;
    sends["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["to"] == to)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueued_message_is_sent_once_and_its_statuses_move_it_to_read() {
    let h = Harness::start(with_webhooks()).await;
    let mut keyed = text_item("+15550100701", "Your order shipped");
    keyed["key"] = json!("order-7-shipped");
    let got = enqueue(&h, vec![keyed.clone(), text_item("+15550100702", "Hello")]).await;
    assert!(got.iter().all(|(_, created)| *created));
    // The same key again is the same entry, whenever it comes.
    let again = enqueue(&h, vec![keyed]).await;
    assert_eq!(again, vec![(got[0].0.clone(), false)]);
    let ids: Vec<String> = got.into_iter().map(|(id, _)| id).collect();
    let done = settle(&h, &ids, |e| e.state == EntryState::Read).await;
    for e in &done {
        assert!(
            e.message_id.as_deref().unwrap().starts_with("wamid."),
            "{e:?}"
        );
        assert_eq!(e.attempts, 1);
    }
    assert_eq!(done[0].key.as_deref(), Some("order-7-shipped"));
    assert_eq!(sends_to(&h, "15550100701").await, 1, "sent once");
    assert_eq!(sends_to(&h, "15550100702").await, 1);
    // Read, it stays read: cancelling it is refused.
    assert!(!outbox(&h).cancel(&h.tenant.id, &ids[0]).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_item_refuses_the_whole_enqueue_naming_it() {
    let h = Harness::start(whatsapp_tests::quiet()).await;
    let long = "x".repeat(4097);
    let e = h
        .op(
            "messages.enqueue",
            json!({ "items": [text_item("+15550100703", "fine"), text_item("+15550100704", &long)] }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert_eq!(
        e.field.as_deref(),
        Some("items[1].message.content.text.body")
    );
    let mut foreign = text_item("+15550100705", "hi");
    foreign["phone_number_id"] = json!("999999");
    let e = h
        .op("messages.enqueue", json!({ "items": [foreign] }))
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("items[0].phone-number-id"));
    let e = h
        .op("messages.enqueue", json!({ "items": [] }))
        .await
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("items"));
    // Nothing of the refused calls was kept or sent.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sends_to(&h, "15550100703").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_waits_for_its_time_and_can_be_cancelled_before() {
    let h = Harness::start(whatsapp_tests::quiet()).await;
    let later = whatsapp_host::storage::now_ms() as u64 + 60_000;
    let mut item = text_item("+15550100706", "Reminder");
    item["not_before_ms"] = json!(later);
    let soon = text_item("+15550100707", "Now");
    let ids: Vec<String> = enqueue(&h, vec![item, soon])
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    settle(&h, &ids[1..], |e| e.state == EntryState::Sent).await;
    let waiting = entry(&h, &ids[0]);
    assert_eq!(
        (waiting.state, waiting.not_before_ms),
        (EntryState::Queued, later)
    );
    assert!(outbox(&h).cancel(&h.tenant.id, &ids[0]).unwrap());
    assert_eq!(entry(&h, &ids[0]).state, EntryState::Cancelled);
    assert!(!outbox(&h).cancel(&h.tenant.id, &ids[0]).unwrap(), "once");
    assert_eq!(sends_to(&h, "15550100706").await, 0);
    // Another tenant's id, or none at all, names nothing.
    assert!(outbox(&h).status("globex", &ids[0]).unwrap().is_none());
    assert!(
        outbox(&h)
            .status(&h.tenant.id, "not-an-id")
            .unwrap()
            .is_none()
    );
}

/// A MARKETING template without placeholders, approved by the sandbox's review (its
/// status reaches the template cache through the webhook).
async fn approved_marketing_template(h: &Harness, name: &str) -> String {
    let created = h
        .op(
            "templates.create-json",
            json!({ "json": json!({ "name": name, "language": "en_US", "category": "MARKETING",
                "components": [{ "type": "BODY", "text": "Our autumn sale starts today." }] })
            .to_string() }),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    created["id"].as_str().unwrap().to_string()
}

async fn inbound(h: &Harness, from: &str, text: &str) {
    let (code, body) = http(
        "POST",
        &format!("{}/sandbox/inbound", h.sandbox_origin),
        &[],
        json!({ "phone_number_id": PHONE_NUMBER_ID, "from": from, "text": text, "reply_to": null })
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_who_stops_marketing_after_the_enqueue_is_not_sent_to() {
    let h = Harness::start(with_webhooks()).await;
    approved_marketing_template(&h, "autumn_sale").await;
    let soon = whatsapp_host::storage::now_ms() as u64 + 1_500;
    let mut items = Vec::new();
    for to in ["+15550100711", "+15550100712"] {
        let mut i = template_item(to, "autumn_sale", Some("autumn"));
        i["not_before_ms"] = json!(soon);
        items.push(i);
    }
    let ids: Vec<String> = enqueue(&h, items)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    // One of them writes STOP while the entries wait.
    inbound(&h, "15550100711", "STOP").await;
    let done = settle(&h, &ids, |e| {
        matches!(e.state, EntryState::Failed | EntryState::Read)
    })
    .await;
    assert_eq!(done[0].state, EntryState::Failed);
    assert_eq!(done[0].code.as_deref(), Some("131050"));
    assert_eq!(done[1].state, EntryState::Read);
    assert_eq!(sends_to(&h, "15550100711").await, 0, "not sent after STOP");
    assert_eq!(sends_to(&h, "15550100712").await, 1);
    let t = outbox(&h).progress(&h.tenant.id, "autumn").unwrap();
    assert_eq!((t.failed, t.read, t.queued, t.held), (1, 1, 0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_paused_mid_campaign_holds_it_until_resumed() {
    let h = Harness::start(with_webhooks()).await;
    let id = approved_marketing_template(&h, "winter_sale").await;
    // Meta pauses the template; its webhook reaches the template cache.
    h.sandbox("POST", "/sandbox/template-pause", json!({ "id": id }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let items = (0..3)
        .map(|i| template_item(&format!("+1555010072{i}"), "winter_sale", Some("winter")))
        .collect();
    let ids: Vec<String> = enqueue(&h, items)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    // Every entry waits behind the campaign's hold, with Meta's reason.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let held = loop {
        let t = outbox(&h).progress(&h.tenant.id, "winter").unwrap();
        if let Some(held) = t.held.clone() {
            break (t, held);
        }
        assert!(tokio::time::Instant::now() < deadline, "never held: {t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(held.1.code, "132015", "{held:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = outbox(&h).progress(&h.tenant.id, "winter").unwrap();
    assert_eq!(t.queued, 3, "{t:?}");
    assert_eq!(sends_to(&h, "15550100720").await, 0);
    // Meta unpauses it; the campaign is resumed and goes.
    h.op("templates.unpause", json!({ "template_id": id }))
        .await
        .unwrap();
    h.op("templates.sync", json!({})).await.unwrap();
    assert!(outbox(&h).resume(&h.tenant.id, Some("winter")).unwrap());
    let done = settle(&h, &ids, |e| e.state == EntryState::Read).await;
    assert!(done.iter().all(|e| e.message_id.is_some()));
    for i in 0..3 {
        assert_eq!(sends_to(&h, &format!("1555010072{i}")).await, 1);
    }
}

/// Recipients of the big campaign: `+1555` and seven digits.
fn recipient(i: usize) -> String {
    format!("1555{:07}", 1_000_000 + i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_of_ten_thousand_ends_final_sent_once_within_meta_limits() {
    const N: usize = 10_000;
    const LIMITED_ONE_IN: u64 = 101;
    let h = Harness::start_with(with_webhooks(), |c| {
        // Meta's throughput as the host paces it (tests: 1000 a second), statuses late,
        // twice and out of order, and some users at Meta's per-user marketing limit.
        c.mps_per_number = Some(1000);
        c.chaotic_statuses = true;
        c.status_delay = Duration::from_millis(2);
        c.marketing_limited_one_in = Some(LIMITED_ONE_IN);
        c.webhook_retry_for = Duration::from_secs(60);
        // A portfolio's messaging limit of exactly the campaign's size: every user
        // counted once, and none past it.
        c.messaging_limit = Some(N as u32);
    })
    .await;
    approved_marketing_template(&h, "big_sale").await;
    let items: Vec<Value> = (0..N)
        .map(|i| template_item(&format!("+{}", recipient(i)), "big_sale", Some("spring")))
        .collect();
    for chunk in items.chunks(2_500) {
        let got = enqueue(&h, chunk.to_vec()).await;
        assert!(got.iter().all(|(_, created)| *created));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let t = loop {
        let t = outbox(&h).progress(&h.tenant.id, "spring").unwrap();
        if t.read + t.failed == N as u64 {
            break t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not final in time: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let limited = (0..N)
        .filter(|i| recipient(*i).parse::<u64>().unwrap() % LIMITED_ONE_IN == 0)
        .count() as u64;
    assert_eq!((t.failed, t.read), (limited, N as u64 - limited), "{t:?}");
    assert_eq!(
        (t.queued, t.sending, t.unknown, t.sent, t.delivered, t.held),
        (0, 0, 0, 0, 0, None)
    );
    // The sandbox accepted exactly one message per recipient, and refused none for
    // throughput or the pair rate.
    let sends = h.sandbox("GET", "/sandbox/sends", Value::Null).await;
    let mut per: std::collections::HashMap<String, usize> = Default::default();
    for s in sends["data"].as_array().unwrap() {
        *per.entry(s["to"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per.len(), N, "every recipient reached");
    assert!(per.values().all(|n| *n == 1), "none sent twice");
    let limits = h.sandbox("GET", "/sandbox/limits", Value::Null).await;
    assert_eq!(limits["throughput_refusals"], 0, "{limits}");
    assert_eq!(limits["pair_refusals"], 0, "{limits}");
    assert_eq!(limits["messaging_limit_refusals"], 0, "{limits}");
    assert_eq!(limits["reached_peak"], N, "{limits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketing_campaign_goes_through_marketing_messages_once_onboarded() {
    let h = Harness::start(with_webhooks()).await;
    approved_marketing_template(&h, "lite_sale").await;
    let lite = h
        .add_tenant(
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
        .await;
    h.op_of(&lite, "templates.sync", json!({})).await.unwrap();
    h.sandbox(
        "POST",
        "/sandbox/mm-lite-terms",
        json!({ "waba_id": WABA_ID }),
    )
    .await;
    let items: Vec<Value> = (0..3)
        .map(|i| template_item(&format!("+1555010074{i}"), "lite_sale", Some("lite")))
        .collect();
    let out = h
        .op_of(&lite, "messages.enqueue", json!({ "items": items }))
        .await
        .unwrap();
    let ids: Vec<String> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let states: Vec<EntryState> = ids
            .iter()
            .map(|id| outbox(&h).status(&lite.id, id).unwrap().unwrap().state)
            .collect();
        // Meta's Marketing Messages API takes no callback data: the statuses of these
        // sends cannot name their entries, which stay where the send left them.
        if states.iter().all(|s| *s == EntryState::Sent) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let e = outbox(&h).status(&lite.id, id).unwrap().unwrap();
        assert!(
            e.message_id
                .as_deref()
                .is_some_and(|m| m.starts_with("wamid.")),
            "{e:?}"
        );
    }
    // Each went once, through Meta's Marketing Messages API.
    let sends = h.sandbox("GET", "/sandbox/sends", Value::Null).await;
    let lite_sends: Vec<&Value> = sends["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["template"] == "lite_sale")
        .collect();
    assert_eq!(lite_sends.len(), 3, "{sends}");
    assert!(
        lite_sends
            .iter()
            .all(|s| s["endpoint"] == "marketing_messages"),
        "{sends}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_meta_pauses_during_a_campaign_holds_the_rest() {
    let h = Harness::start_with(with_webhooks(), |c| {
        // Meta pauses the template once two of its messages went.
        c.pause_template_after = Some(("flash_sale".into(), 2));
    })
    .await;
    approved_marketing_template(&h, "flash_sale").await;
    let items = (0..6)
        .map(|i| {
            let mut item = template_item(&format!("+1555010075{i}"), "flash_sale", Some("flash"));
            // One at a time, so that the pause falls between sends.
            item["not_before_ms"] = json!(whatsapp_host::storage::now_ms() as u64 + 300 * i);
            item
        })
        .collect();
    enqueue(&h, items).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let t = loop {
        let t = outbox(&h).progress(&h.tenant.id, "flash").unwrap();
        if t.held.is_some() && t.sending == 0 && t.read == 2 {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "{t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((t.read, t.queued, t.failed), (2, 4, 0), "{t:?}");
    assert_eq!(t.held.unwrap().code, "132015");
    let limits = h.sandbox("GET", "/sandbox/limits", Value::Null).await;
    assert!(limits["paused_refusals"].as_u64().unwrap() <= 1, "{limits}");
}

/// An admin API request about tenant `acme` (`path` after `/admin/tenants/acme`): its
/// status and JSON answer.
async fn admin(h: &Harness, method: &'static str, path: &str, body: Value) -> (u16, Value) {
    let auth = format!("Bearer {}", whatsapp_tests::ADMIN_TOKEN);
    let (code, text) = http(
        method,
        &format!("{}/admin/tenants/acme{path}", h.admin_origin),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    (
        code,
        serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_enqueues_reads_and_steers_the_outbox() {
    let h = Harness::start(whatsapp_tests::quiet()).await;
    let auth = format!("Bearer {}", whatsapp_tests::ADMIN_TOKEN);
    // Hold the campaign first, so that its entries wait where they can be read.
    let (code, paused) = admin(&h, "POST", "/campaigns/autumn/pause", Value::Null).await;
    assert_eq!((code, &paused["paused"]), (200, &json!(true)), "{paused}");
    let items: Vec<Value> = (0..2)
        .map(|i| template_item(&format!("+1555010076{i}"), "hello_world", Some("autumn")))
        .collect();
    let (code, enqueued) = admin(
        &h,
        "POST",
        "/call/messages.enqueue",
        json!({ "items": items }),
    )
    .await;
    assert_eq!(code, 200, "{enqueued}");
    let id = enqueued[0]["id"].as_str().unwrap().to_string();
    let (code, entry) = admin(&h, "GET", &format!("/outbox/{id}"), Value::Null).await;
    assert_eq!((code, &entry["state"]), (200, &json!("queued")), "{entry}");
    let (code, progress) = admin(&h, "GET", "/campaigns/autumn", Value::Null).await;
    assert_eq!((code, &progress["queued"]), (200, &json!(2)), "{progress}");
    assert_eq!(progress["held"]["code"], "paused");
    let (_, cancelled) = admin(&h, "POST", &format!("/outbox/{id}/cancel"), Value::Null).await;
    assert_eq!(cancelled["cancelled"], true);
    let (_, resumed) = admin(&h, "POST", "/campaigns/autumn/resume", Value::Null).await;
    assert_eq!(resumed["resumed"], true);
    let other = enqueued[1]["id"].as_str().unwrap().to_string();
    settle(&h, &[other], |e| e.state == EntryState::Sent).await;
    let (_, progress) = admin(&h, "GET", "/campaigns/autumn", Value::Null).await;
    assert_eq!(
        (&progress["cancelled"], &progress["sent"]),
        (&json!(1), &json!(1))
    );
    // Another tenant, or an entry that is not there: 404.
    let (code, _) = admin(&h, "GET", "/outbox/999999", Value::Null).await;
    assert_eq!(code, 404);
    let (code, _) = http(
        "GET",
        &format!("{}/admin/tenants/nobody/campaigns/autumn", h.admin_origin),
        &[("authorization", &auth)],
        Vec::new(),
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messaging_limit_is_shared_by_the_numbers_and_a_campaign_past_it_waits() {
    use whatsapp_host::sandbox::connection::SECOND_PHONE_NUMBER_ID;
    const LIMIT: usize = 5;
    let h = Harness::start_with(with_webhooks(), |c| c.messaging_limit = Some(LIMIT as u32)).await;
    let both = whatsapp_host::tenants::select_numbers(
        &h.db,
        &h.tenant.id,
        &[PHONE_NUMBER_ID.into(), SECOND_PHONE_NUMBER_ID.into()],
    )
    .unwrap();
    approved_marketing_template(&h, "capped_sale").await;
    // This contact wrote to the first number: a message to it from there is inside the
    // window and does not count.
    let writer = "15550100790";
    inbound(&h, writer, "hello").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut items: Vec<Value> = (0..8)
        .map(|i| {
            let mut item = template_item(&format!("+1555010080{i}"), "capped_sale", Some("capped"));
            // Half from each number: the limit is the portfolio's, shared by both.
            if i % 2 == 1 {
                item["phone_number_id"] = json!(SECOND_PHONE_NUMBER_ID);
            }
            item
        })
        .collect();
    items.push(template_item(
        &format!("+{writer}"),
        "capped_sale",
        Some("capped"),
    ));
    let ids: Vec<String> = h
        .op_of(&both, "messages.enqueue", json!({ "items": items }))
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let t = loop {
        let t = outbox(&h).progress(&h.tenant.id, "capped").unwrap();
        if t.read == LIMIT as u64 + 1 && t.queued == 3 && t.sending == 0 {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "{t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The rest wait for the first reach to leave the moving 24 hours (to the second),
    // and say so.
    let now = whatsapp_host::storage::now_ms() as u64;
    let next = t.next_ms.expect("a wait");
    assert!(
        next > now + 23 * 3_600_000 && next <= now + 24 * 3_600_000 + 1_000,
        "{next} against {now}"
    );
    assert_eq!((t.failed, &t.held), (0, &None), "{t:?}");
    let limits = h.sandbox("GET", "/sandbox/limits", Value::Null).await;
    assert_eq!(limits["messaging_limit_refusals"], 0, "{limits}");
    assert_eq!(limits["reached_peak"], LIMIT, "{limits}");
    assert_eq!(sends_to(&h, writer).await, 1);
    // A send outside the outbox is held to the same limit: throttled until room opens.
    let e = h
        .op(
            "messages.send",
            json!({ "message": template_item("+15550100899", "capped_sale", None)["message"] }),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{e:?}");
    assert!(e.retry_after_seconds.unwrap() > 23 * 3600, "{e:?}");
    // A reached contact answers: the reply is the campaign's.
    let reached = ids
        .iter()
        .map(|id| entry(&h, id))
        .find(|e| e.state == EntryState::Read && e.to != writer)
        .unwrap();
    inbound(&h, &reached.to, "Tell me more").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while outbox(&h).progress(&h.tenant.id, "capped").unwrap().replied != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reply was not counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_creates_a_campaign_from_a_template_and_its_recipients() {
    let h = Harness::start(whatsapp_tests::quiet()).await;
    let create = |campaign: &'static str, body: Value| {
        let h = &h;
        async move { admin(h, "POST", &format!("/campaigns/{campaign}"), body).await }
    };
    // Held first, so that its entries wait where they can be counted.
    outbox(&h).pause(&h.tenant.id, Some("summer")).unwrap();
    let csv = "to,1\n+15550100770,Ann\n+15550100771,\"Bo, Jr.\"\n";
    let body = json!({ "template": "hello_world", "recipients": csv });
    let (code, made) = create("summer", body.clone()).await;
    assert_eq!(code, 200, "{made}");
    assert_eq!((&made["entries"], &made["created"]), (&json!(2), &json!(2)));
    // The same list again adds nothing; objects work as CSV rows do.
    let (_, again) = create("summer", body).await;
    assert_eq!(
        (&again["entries"], &again["created"]),
        (&json!(2), &json!(0))
    );
    let rows = json!([{ "to": "+15550100772", "1": "Cy" }]);
    let (_, more) = create(
        "summer",
        json!({ "template": "hello_world", "recipients": rows }),
    )
    .await;
    assert_eq!(more["created"], 1, "{more}");
    let t = outbox(&h).progress(&h.tenant.id, "summer").unwrap();
    assert_eq!(t.queued, 3, "{t:?}");
    // A row without `to`, an invalid recipient, nothing: 400, naming what.
    let (code, bad) = create(
        "summer",
        json!({ "template": "hello_world", "recipients": "to,1\n,x\n" }),
    )
    .await;
    assert_eq!(code, 400, "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .contains("recipient 0 has no `to`"),
        "{bad}"
    );
    let rows = json!([{ "to": "+15550100773" }, { "to": "not a number" }]);
    let (code, bad) = create(
        "summer",
        json!({ "template": "hello_world", "recipients": rows }),
    )
    .await;
    assert_eq!(
        (code, &bad["field"]),
        (400, &json!("items[1].message.to")),
        "{bad}"
    );
    let (code, _) = create(
        "summer",
        json!({ "template": "hello_world", "recipients": [] }),
    )
    .await;
    assert_eq!(code, 400);
}
