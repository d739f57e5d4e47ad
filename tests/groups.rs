//! Groups end to end against the sandbox: a group is created and announced by its
//! webhook, joined through its invite link (a reset link stops working), joined by
//! approval, a request rejected, a participant removed, messages sent to it (not
//! interactive ones), and deleted; each change arrives as a `group` event.

use serde_json::{Value, json};
use std::time::Duration;
use whatsapp_host::api::outgoing::*;
use whatsapp_host::api::{Error, ErrorKind};
use whatsapp_tests::{Harness, Options, http};

/// A user taps an invite link (the sandbox's stand-in for WhatsApp): the answer's status
/// and body.
async fn tap(h: &Harness, link: &str, user: &str) -> (u16, Value) {
    let (code, text) = http(
        "POST",
        &format!("{}/sandbox/group-join", h.sandbox_origin),
        &[],
        json!({ "invite_link": link, "user": user })
            .to_string()
            .into_bytes(),
    )
    .await;
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Wait for the `group` event of `update` about `group` (any group when `None`).
async fn group_event(h: &mut Harness, update: &str, group: Option<&str>) -> Value {
    let matches = |e: &Value| {
        e["type"] == "group" && e["update"] == update && group.is_none_or(|g| e["group_id"] == g)
    };
    let seen = h
        .wait_for(Duration::from_secs(10), |s| s.iter().any(matches))
        .await;
    seen.into_iter().find(matches).unwrap()
}

fn to_group(id: &str, content: Content) -> OutgoingMessage {
    OutgoingMessage {
        to: format!("group:{id}"),
        content,
        reply_to: None,
        biz_opaque_callback_data: None,
    }
}

#[tokio::test]
async fn a_group_is_created_joined_answered_messaged_and_deleted() {
    let mut h = Harness::start(Options {
        webhooks: true,
        auto_reply: false,
        enforce_window: true,
    })
    .await;
    let mut i = h.instance().await;

    // Created: Meta answers with a request id; the group comes in the webhook naming it.
    let request = i
        .create_group(None, "  Spring launch VIPs ", Some("Early access"), false)
        .await
        .unwrap()
        .unwrap();
    let created = group_event(&mut h, "group_create", None).await;
    assert_eq!(created["request_id"], request.as_str());
    assert_eq!(created["subject"], "Spring launch VIPs");
    let id = created["group_id"].as_str().unwrap().to_string();
    let link = i.group_invite_link(&id, false).await.unwrap().unwrap();
    assert_eq!(created["invite_link"], link.as_str());
    let page = i.list_groups(None, None).await.unwrap().unwrap();
    assert_eq!(
        page.groups
            .iter()
            .map(|g| g.id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );

    // Two users join by the link; after a reset the old one no longer works.
    let (ann, bob) = ("15557654321", "US.13491208655302741918");
    for who in [ann, bob] {
        let (code, out) = tap(&h, &link, who).await;
        assert_eq!((code, &out["joined"]), (200, &json!(true)), "{out}");
    }
    let added = group_event(&mut h, "group_participants_add", Some(&id)).await;
    assert_eq!(added["initiated_by"], "participant");
    let fresh = i.group_invite_link(&id, true).await.unwrap().unwrap();
    assert_ne!(fresh, link);
    assert_eq!(tap(&h, &link, "15550001234").await.0, 404);

    // Text goes to the group with no 24-hour window (nobody in it wrote); an interactive
    // message is refused before anything leaves.
    let text = Content::Text(Text {
        body: "Doors open at 9".into(),
        preview_url: false,
    });
    let sent = i.send(&to_group(&id, text)).await.unwrap().unwrap();
    assert!(sent.message_id.starts_with("wamid."), "{sent:?}");
    assert_eq!(sent.wa_id, None);
    let buttons = Content::Buttons(Buttons {
        body: "Coming?".into(),
        header: None,
        footer: None,
        buttons: vec![ReplyButton {
            id: "yes".into(),
            title: "Yes".into(),
        }],
    });
    let e = i.send(&to_group(&id, buttons)).await.unwrap().unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::InvalidInput, field: Some(f), graph: None, .. } if f == "content"),
        "{e:?}"
    );

    // Subject changed; Ann removed, and a user who is not in it fails on their own.
    i.update_group(&id, Some("VIPs 2027"), None)
        .await
        .unwrap()
        .unwrap();
    let settings = group_event(&mut h, "group_settings_update", Some(&id)).await;
    assert_eq!(settings["subject"], "VIPs 2027");
    let removing = [format!("+{ann}"), "15550001234".to_string()];
    let rid = i
        .remove_group_participants(&id, &removing)
        .await
        .unwrap()
        .unwrap();
    let removed = group_event(&mut h, "group_participants_remove", Some(&id)).await;
    assert_eq!(removed["request_id"], json!(rid));
    assert_eq!(removed["removed"][0]["wa_id"], ann);
    assert_eq!(removed["failed"], json!(["15550001234"]));
    let info = i.get_group(&id).await.unwrap().unwrap();
    assert_eq!(
        (info.subject.as_deref(), info.participants.as_slice()),
        (Some("VIPs 2027"), [bob.to_string()].as_slice())
    );

    // A group that takes approval: two ask, one approved, one rejected, a stale id fails.
    i.create_group(None, "Insiders", None, true)
        .await
        .unwrap()
        .unwrap();
    let insiders = group_event(&mut h, "group_create", None).await;
    let insiders = insiders["group_id"].as_str().unwrap().to_string();
    assert_ne!(insiders, id);
    let link = i
        .group_invite_link(&insiders, false)
        .await
        .unwrap()
        .unwrap();
    for who in [ann, "15550002222"] {
        let (code, out) = tap(&h, &link, who).await;
        assert_eq!(code, 200, "{out}");
        assert!(out["join_request_id"].is_string(), "{out}");
    }
    let open = i
        .group_join_requests(&insiders, None)
        .await
        .unwrap()
        .unwrap();
    let by = |user: &str| {
        open.requests
            .iter()
            .find(|r| r.user.as_deref() == Some(user))
            .unwrap()
            .id
            .clone()
    };
    let (ann_req, other_req) = (by(ann), by("15550002222"));
    let out = i
        .answer_group_join_requests(&insiders, &[ann_req.clone(), "999".into()], true)
        .await
        .unwrap()
        .unwrap();
    let got: Vec<(&str, Option<i32>)> = out
        .iter()
        .map(|o| (o.id.as_str(), o.error.as_ref().map(|e| e.code)))
        .collect();
    assert_eq!(got, [(ann_req.as_str(), None), ("999", Some(131009))]);
    let out = i
        .answer_group_join_requests(&insiders, std::slice::from_ref(&other_req), false)
        .await
        .unwrap()
        .unwrap();
    assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
    let info = i.get_group(&insiders).await.unwrap().unwrap();
    assert!(info.approval_required);
    assert_eq!(info.participants, [ann]);
    assert!(
        i.group_join_requests(&insiders, None)
            .await
            .unwrap()
            .unwrap()
            .requests
            .is_empty()
    );

    // Deleted: gone from the list, and announced.
    i.delete_group(&id).await.unwrap().unwrap();
    group_event(&mut h, "group_delete", Some(&id)).await;
    let page = i.list_groups(None, None).await.unwrap().unwrap();
    assert_eq!(
        page.groups
            .iter()
            .map(|g| g.id.as_str())
            .collect::<Vec<_>>(),
        [insiders.as_str()]
    );

    // Refused locally: a subject too long, more than 8 removals, a malformed group id.
    let e = i
        .create_group(None, &"x".repeat(129), None, false)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::InvalidInput, field: Some(f), .. } if f == "subject"),
        "{e:?}"
    );
    let nine: Vec<String> = (0..9).map(|n| format!("1555000000{n}")).collect();
    let e = i
        .remove_group_participants(&insiders, &nine)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::InvalidInput, field: Some(f), .. } if f == "users"),
        "{e:?}"
    );
    let e = i.get_group("../me").await.unwrap().unwrap_err();
    assert!(
        matches!(&e, Error { kind: ErrorKind::InvalidInput, field: Some(f), .. } if f == "group-id"),
        "{e:?}"
    );
}
