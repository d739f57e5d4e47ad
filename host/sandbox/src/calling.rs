//! The sandbox's calls: permissions (granted when a `call_permission_request` message
//! reaches the user: the sandbox's users always allow), calls the business starts (only
//! with permission, Meta's 138006 otherwise) and calls users make (`POST
//! /sandbox/incoming-call`), each moved through its states by `POST /{phone-number-id}/calls`
//! as Meta moves them: a business's call can only be terminated; a user's call can be
//! pre-accepted, accepted, rejected or terminated while it is not over.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, invalid, query_param, random_bytes};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// One call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pnid: String,
    from_user: bool,
    status: &'static str,
}

/// Permissions (phone number id, user) and calls by id.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    granted: HashSet<(String, String)>,
    calls: HashMap<String, Call>,
}

fn lock(s: &Sandbox) -> std::sync::MutexGuard<'_, Calls> {
    s.calls.lock().unwrap_or_else(|p| p.into_inner())
}

fn new_call_id() -> String {
    format!("wacid.{}", hex::encode_upper(random_bytes::<12>()))
}

/// A `call_permission_request` reached `user`: they allow.
pub(crate) fn granted(s: &Sandbox, pnid: &str, user: &str) {
    lock(s).granted.insert((pnid.to_string(), user.to_string()));
}

/// `GET /{phone-number-id}/call_permissions?user_wa_id=…`.
pub(crate) fn permission(s: &Sandbox, pnid: &str, query: &str) -> Resp {
    let Some(user) = query_param(query, "user_wa_id") else {
        return invalid("Param user_wa_id is required");
    };
    let ok = lock(s)
        .granted
        .contains(&(pnid.to_string(), user.to_string()));
    let permission = if ok {
        json!({ "status": "granted", "expiration_time": crate::now_secs() + 7 * 24 * 3600 })
    } else {
        json!({ "status": "no_permission" })
    };
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "permission": permission, "actions": [
            { "action_name": "start_call", "can_perform_action": ok },
            { "action_name": "send_call_permission_request", "can_perform_action": !ok },
        ] }),
    )
}

/// `POST /sandbox/incoming-call {"phone_number_id", "from"}`: a user calls the number;
/// the call's id.
pub(crate) fn incoming(s: &Sandbox, body: &[u8]) -> Resp {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(pnid) = v["phone_number_id"].as_str() else {
        return invalid("phone_number_id is required");
    };
    let id = new_call_id();
    lock(s).calls.insert(
        id.clone(),
        Call {
            pnid: pnid.into(),
            from_user: true,
            status: "ringing",
        },
    );
    net::json(StatusCode::OK, &json!({ "call_id": id }))
}

fn session_ok(v: &Value, sdp_type: &str) -> bool {
    v["session"]["sdp_type"] == sdp_type
        && v["session"]["sdp"]
            .as_str()
            .is_some_and(|s| s.starts_with("v=0"))
}

/// `POST /{phone-number-id}/calls`.
pub(crate) fn calls(s: &Sandbox, pnid: &str, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not JSON");
    };
    if v["messaging_product"] != "whatsapp" {
        return invalid("The parameter messaging_product is required.");
    }
    let action = v["action"].as_str().unwrap_or("");
    let mut c = lock(s);
    if action == "connect" {
        let Some(to) = v["to"].as_str() else {
            return invalid("The parameter to is required.");
        };
        if !session_ok(&v, "offer") {
            return invalid("Param session must be an SDP offer");
        }
        if !c.granted.contains(&(pnid.to_string(), to.to_string())) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                138006,
                None,
                "No approved call permission from the recipient",
            );
        }
        let id = new_call_id();
        c.calls.insert(
            id.clone(),
            Call {
                pnid: pnid.into(),
                from_user: false,
                status: "ringing",
            },
        );
        return net::json(
            StatusCode::OK,
            &json!({ "messaging_product": "whatsapp", "calls": [{ "id": id }] }),
        );
    }
    let Some(call) = v["call_id"].as_str().and_then(|id| c.calls.get_mut(id)) else {
        return invalid("Param call_id does not name a call of this number");
    };
    if call.pnid != pnid {
        return invalid("Param call_id does not name a call of this number");
    }
    let next = match (action, call.from_user, call.status) {
        (_, _, "ended") => Err("The call is over"),
        ("terminate", _, _) => Ok("ended"),
        ("pre_accept", true, "ringing") if session_ok(&v, "answer") => Ok("pre_accepted"),
        ("accept", true, "ringing" | "pre_accepted") if session_ok(&v, "answer") => Ok("accepted"),
        ("pre_accept" | "accept", true, _) => {
            Err("Param session must be an SDP answer to a ringing call")
        }
        ("reject", true, "ringing" | "pre_accepted") => Ok("ended"),
        _ => Err("That action does not apply to this call"),
    };
    match next {
        Ok(status) => {
            call.status = status;
            net::json(StatusCode::OK, &json!({ "success": true }))
        }
        Err(m) => graph_error(StatusCode::BAD_REQUEST, 138000, None, m),
    }
}
