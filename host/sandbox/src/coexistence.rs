//! Numbers shared with the WhatsApp Business app: `POST /{phone-number-id}/smb_app_data`
//! asks, once per sync type, for the app's contacts (answered by a signed
//! `smb_app_state_sync` webhook) or its chat history (two `history` chunks, progress 50
//! then 100). A second request of the same type is refused, as Meta refuses it.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, now_secs, post_webhook, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The contacts the sandbox's business app holds.
const CONTACTS: [(&str, &str); 2] = [
    ("16505551234", "Pablo Morales"),
    ("447700900123", "Ana Reyes"),
];

/// `POST /{phone-number-id}/smb_app_data`.
pub(crate) fn sync(state: &Arc<Sandbox>, pnid: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    if v["messaging_product"] != "whatsapp" {
        return invalid("The parameter messaging_product is required.");
    }
    let sync_type = match v["sync_type"].as_str() {
        Some(t @ ("smb_app_state_sync" | "history")) => t,
        other => {
            return invalid(&format!(
                "(#100) Param sync_type must be one of {{smb_app_state_sync, history}} - got {other:?}."
            ));
        }
    };
    let first = state
        .syncs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert((pnid.to_string(), sync_type.to_string()));
    if !first {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            &format!("(#100) The {sync_type} sync was already requested for this phone number"),
        );
    }
    if let Some(url) = state.config.webhook_url.clone() {
        let bodies = match sync_type {
            "history" => history(),
            _ => vec![("smb_app_state_sync", contacts())],
        };
        let state = state.clone();
        let pnid = pnid.to_string();
        tokio::spawn(async move {
            for (field, value) in bodies {
                tokio::time::sleep(state.config.status_delay).await;
                let payload = crate::envelope_of(&state.config, &pnid, field, value);
                if !post_webhook(&state, &url, &payload).await {
                    return;
                }
            }
        });
    }
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "request_id": hex::encode(random_bytes::<16>()) }),
    )
}

fn contacts() -> Value {
    let ts = now_secs().to_string();
    let items: Vec<Value> = CONTACTS
        .iter()
        .map(|(number, name)| {
            json!({ "type": "contact", "action": "add", "metadata": { "timestamp": ts },
                "contact": { "phone_number": number, "full_name": name,
                    "first_name": name.split(' ').next() } })
        })
        .collect();
    json!({ "state_sync": items })
}

/// The chat history in two chunks, one thread each.
fn history() -> Vec<(&'static str, Value)> {
    let ts = now_secs() - 86_400;
    CONTACTS
        .iter()
        .enumerate()
        .map(|(n, (number, _))| {
            let thread = json!({ "id": number, "messages": [
                { "from": number, "id": crate::new_wamid(number), "timestamp": (ts + n as u64).to_string(),
                  "type": "text", "text": { "body": "Do you ship to Lisbon?" }, "history_context": { "status": "READ" } },
            ] });
            let progress = (n + 1) * 100 / CONTACTS.len();
            (
                "history",
                json!({ "history": [{ "metadata": { "phase": 0, "chunk_order": n + 1, "progress": progress },
                    "threads": [thread] }] }),
            )
        })
        .collect()
}
