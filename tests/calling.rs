//! Calling, the signalling side, end to end through component, host and sandbox: no
//! permission, no call (Meta's 138006); a `call-permission-request` message, then the
//! permission and a call started with an SDP offer and ended; a user's call pre-accepted,
//! accepted and ended, another rejected; actions that do not apply refused by Meta, and
//! malformed ones before anything is sent.

use whatsapp_host::api::calling::CallAction;
use whatsapp_host::api::{Content, Error, ErrorKind};
use whatsapp_tests::{Harness, PHONE_NUMBER_ID, http, quiet, text};

const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const USER: &str = "15551234567";

#[tokio::test]
async fn a_call_needs_permission_and_moves_through_metas_states() {
    let h = Harness::start(quiet()).await;
    let p = h
        .instance()
        .await
        .call_permission(None, USER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.status.as_str(), p.can_call, p.can_request),
        ("no_permission", false, true)
    );
    let r = h
        .instance()
        .await
        .connect_call(None, USER, OFFER, None)
        .await
        .unwrap();
    assert!(
        matches!(&r, Err(Error { graph: Some(g), .. }) if g.code == 138006),
        "{r:?}"
    );

    let mut ask = text(USER, "");
    ask.content = Content::CallPermissionRequest("May we call you about your order?".into());
    h.instance().await.send(&ask).await.unwrap().unwrap();
    let p = h
        .instance()
        .await
        .call_permission(Some(PHONE_NUMBER_ID), USER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.status.as_str(), p.can_call), ("granted", true));
    assert!(p.expires_at.is_some());

    let call = h
        .instance()
        .await
        .connect_call(None, USER, OFFER, Some("order-17"))
        .await
        .unwrap()
        .unwrap();
    assert!(call.starts_with("wacid."), "{call}");
    // A business's own call is not accepted by it; it is ended, once.
    let r = h
        .instance()
        .await
        .respond_to_call(None, &call, &CallAction::Accept(ANSWER.into()))
        .await
        .unwrap();
    assert!(
        matches!(&r, Err(Error { graph: Some(g), .. }) if g.code == 138000),
        "{r:?}"
    );
    h.instance()
        .await
        .respond_to_call(None, &call, &CallAction::Terminate)
        .await
        .unwrap()
        .unwrap();
    let again = h
        .instance()
        .await
        .respond_to_call(None, &call, &CallAction::Terminate)
        .await
        .unwrap();
    assert!(again.is_err(), "a call ends once");

    // Users call: one answered early, accepted, ended; one rejected.
    let incoming = || async {
        let (status, body) = http(
            "POST",
            &format!("{}/sandbox/incoming-call", h.sandbox_origin),
            &[("content-type", "application/json")],
            format!(r#"{{"phone_number_id":"{PHONE_NUMBER_ID}","from":"{USER}"}}"#).into_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["call_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let theirs = incoming().await;
    for action in [
        CallAction::PreAccept(ANSWER.into()),
        CallAction::Accept(ANSWER.into()),
        CallAction::Terminate,
    ] {
        h.instance()
            .await
            .respond_to_call(None, &theirs, &action)
            .await
            .unwrap()
            .unwrap();
    }
    let declined = incoming().await;
    h.instance()
        .await
        .respond_to_call(None, &declined, &CallAction::Reject)
        .await
        .unwrap()
        .unwrap();

    // Refused before sending: not SDP, not a wa_id, not a call id.
    let r = h
        .instance()
        .await
        .connect_call(None, USER, "hello", None)
        .await
        .unwrap();
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == "sdp-offer"),
        "{r:?}"
    );
    let r = h
        .instance()
        .await
        .call_permission(None, "someone")
        .await
        .unwrap();
    assert!(
        matches!(&r, Err(Error { kind: ErrorKind::InvalidInput, field: Some(f), .. }) if f == "user"),
        "{r:?}"
    );
    let r = h
        .instance()
        .await
        .respond_to_call(None, "wacid 1", &CallAction::Reject)
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
