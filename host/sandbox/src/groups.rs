//! The sandbox's groups, kept as Meta's Groups API keeps them: created on a number
//! (answered with a request id, the group itself announced by a signed
//! `group_lifecycle_update` webhook), joined only through the current invite link
//! (`POST /sandbox/group-join`, standing in for a user tapping it), with join requests
//! when the group takes approval, participants removed, settings changed and the group
//! deleted, each confirmed by its `group_*` webhook. Messages reach a group by
//! `recipient_type: group`; it takes no interactive messages.

use crate::net::{self, Resp};
use crate::{
    Sandbox, bsuid_of, digits_of, invalid, new_wamid, now_secs, post_webhook, random_bytes,
};
use base64::Engine as _;
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Meta's limits (Groups API, "Limitations"): the subject, the description, and the
/// participants one request removes.
const SUBJECT_MAX: usize = 128;
const DESCRIPTION_MAX: usize = 2048;
const REMOVE_MAX: usize = 8;
/// A group's participants, the business not counted.
const PARTICIPANTS_MAX: usize = 8;

/// One group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    id: String,
    pnid: String,
    subject: String,
    description: Option<String>,
    approval_required: bool,
    invite_link: String,
    created_at: u64,
    participants: BTreeSet<String>,
    /// Open join requests: id → user.
    join_requests: BTreeMap<String, String>,
}

/// Every group the sandbox keeps, by id.
pub(crate) type Groups = HashMap<String, Group>;

fn store(s: &Sandbox) -> std::sync::MutexGuard<'_, Groups> {
    s.groups.lock().unwrap_or_else(|p| p.into_inner())
}

fn token(n: usize) -> String {
    let raw: Vec<u8> = (0..n.div_ceil(16))
        .flat_map(|_| random_bytes::<12>())
        .collect();
    let mut t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    t.retain(|c| c.is_ascii_alphanumeric());
    t.truncate(n);
    t
}

fn new_link() -> String {
    format!("https://chat.whatsapp.com/{}", token(22))
}

fn digits(n: usize) -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .cycle()
        .take(n)
        .collect()
}

/// A signed webhook of `field` about one group, posted in the background when the
/// sandbox has a webhook URL.
fn announce(state: &Arc<Sandbox>, pnid: &str, field: &'static str, item: Value) {
    let Some(url) = state.config.webhook_url.clone() else {
        return;
    };
    let mut item = item;
    item["timestamp"] = now_secs().to_string().into();
    let payload = crate::envelope_of(&state.config, pnid, field, json!({ "groups": [item] }));
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(state.config.status_delay).await;
        post_webhook(&state, &url, &payload).await;
    });
}

/// The request's JSON, or why Meta would refuse it (answered with [`invalid`]).
fn body_json(body: &[u8]) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| "The request body is not valid JSON".to_string())?;
    if v["messaging_product"] != "whatsapp" {
        return Err("The parameter messaging_product is required.".into());
    }
    Ok(v)
}

fn subject_of(v: &Value) -> Result<Option<String>, String> {
    match v.get("subject") {
        None => Ok(None),
        Some(s) => match s.as_str().map(str::trim) {
            Some(t) if !t.is_empty() && t.chars().count() <= SUBJECT_MAX => Ok(Some(t.into())),
            _ => Err(format!(
                "(#100) Param subject must be 1 to {SUBJECT_MAX} characters"
            )),
        },
    }
}

fn description_of(v: &Value) -> Result<Option<String>, String> {
    match v.get("description") {
        None => Ok(None),
        Some(d) => match d.as_str() {
            Some(t) if t.chars().count() <= DESCRIPTION_MAX => Ok(Some(t.into())),
            _ => Err(format!(
                "(#100) Param description must be at most {DESCRIPTION_MAX} characters"
            )),
        },
    }
}

/// A participant as a webhook or a listing names them.
fn named(user: &str) -> Value {
    Value::Object(crate::user_fields(user, "wa_id", "user_id"))
}

/// `POST /{phone-number-id}/groups`.
pub(crate) fn create(state: &Arc<Sandbox>, pnid: &str, body: &[u8]) -> Resp {
    let v = match body_json(body) {
        Ok(v) => v,
        Err(m) => return invalid(&m),
    };
    let subject = match subject_of(&v) {
        Ok(Some(s)) => s,
        Ok(None) => return invalid("The parameter subject is required."),
        Err(m) => return invalid(&m),
    };
    let description = match description_of(&v) {
        Ok(d) => d,
        Err(m) => return invalid(&m),
    };
    let approval_required = match v["join_approval_mode"].as_str() {
        None | Some("auto_approve") => false,
        Some("approval_required") => true,
        Some(other) => {
            return invalid(&format!(
                "(#100) Param join_approval_mode must be one of {{auto_approve, approval_required}} - got \"{other}\"."
            ));
        }
    };
    let raw = format!("capi_group:{pnid}:{}", digits(18));
    let group = Group {
        id: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
        pnid: pnid.to_string(),
        subject,
        description,
        approval_required,
        invite_link: new_link(),
        created_at: now_secs(),
        participants: BTreeSet::new(),
        join_requests: BTreeMap::new(),
    };
    let request_id = hex::encode(random_bytes::<16>());
    announce(
        state,
        pnid,
        "group_lifecycle_update",
        json!({ "group_id": group.id, "type": "group_create", "request_id": request_id,
            "subject": group.subject, "description": group.description,
            "invite_link": group.invite_link,
            "join_approval_mode": if approval_required { "approval_required" } else { "auto_approve" } }),
    );
    store(state).insert(group.id.clone(), group);
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "request_id": request_id }),
    )
}

/// `GET /{phone-number-id}/groups`: every active group of the number on one page.
pub(crate) fn list(state: &Sandbox, pnid: &str) -> Resp {
    let mut groups: Vec<&Group> = Vec::new();
    let all = store(state);
    groups.extend(all.values().filter(|g| g.pnid == pnid));
    groups.sort_by_key(|g| (g.created_at, g.id.clone()));
    let data: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "id": g.id, "subject": g.subject, "created_at": g.created_at }))
        .collect();
    net::json(
        StatusCode::OK,
        &json!({ "data": { "groups": data }, "paging": { "cursors": { "before": "QVFI", "after": "QVFJ" } } }),
    )
}

/// `GET /{group-id}`, when it is a group.
pub(crate) fn get(state: &Sandbox, id: &str) -> Option<Resp> {
    let all = store(state);
    let g = all.get(id)?;
    let participants: Vec<Value> = g.participants.iter().map(|p| named(p)).collect();
    Some(net::json(
        StatusCode::OK,
        &json!({ "id": g.id, "messaging_product": "whatsapp", "subject": g.subject,
            "description": g.description, "suspended": false,
            "creation_timestamp": g.created_at, "participants": participants,
            "total_participant_count": g.participants.len(),
            "join_approval_mode": if g.approval_required { "approval_required" } else { "auto_approve" } }),
    ))
}

/// `POST /{group-id}`: a new subject, description or both, when it is a group.
pub(crate) fn update(state: &Arc<Sandbox>, id: &str, body: &[u8]) -> Option<Resp> {
    if !store(state).contains_key(id) {
        return None;
    }
    let v = match body_json(body) {
        Ok(v) => v,
        Err(m) => return Some(invalid(&m)),
    };
    let (subject, description) = match (subject_of(&v), description_of(&v)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(m), _) | (_, Err(m)) => return Some(invalid(&m)),
    };
    if subject.is_none() && description.is_none() {
        return Some(invalid("(#100) Give a subject or a description to change."));
    }
    let request_id = hex::encode(random_bytes::<16>());
    let mut item =
        json!({ "group_id": id, "type": "group_settings_update", "request_id": request_id });
    let pnid = {
        let mut all = store(state);
        let g = all.get_mut(id)?;
        if let Some(s) = subject {
            item["group_subject"] = json!({ "text": s, "update_successful": true });
            g.subject = s;
        }
        if let Some(d) = description {
            item["group_description"] = json!({ "text": d, "update_successful": true });
            g.description = Some(d);
        }
        g.pnid.clone()
    };
    announce(state, &pnid, "group_settings_update", item);
    Some(net::json(
        StatusCode::OK,
        &json!({ "success": true, "request_id": request_id }),
    ))
}

/// `DELETE /{group-id}`, when it is a group: every participant leaves it.
pub(crate) fn delete(state: &Arc<Sandbox>, id: &str) -> Option<Resp> {
    let g = store(state).remove(id)?;
    let request_id = hex::encode(random_bytes::<16>());
    announce(
        state,
        &g.pnid,
        "group_lifecycle_update",
        json!({ "group_id": id, "type": "group_delete", "request_id": request_id }),
    );
    Some(net::json(StatusCode::OK, &json!({ "success": true })))
}

fn no_group(id: &str) -> Resp {
    crate::unknown_object("get", id)
}

/// `GET` (read) or `POST` (reset) `/{group-id}/invite_link`.
pub(crate) fn invite_link(state: &Sandbox, id: &str, reset: bool) -> Resp {
    let mut all = store(state);
    let Some(g) = all.get_mut(id) else {
        return no_group(id);
    };
    if reset {
        g.invite_link = new_link();
    }
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "invite_link": g.invite_link }),
    )
}

/// `DELETE /{group-id}/participants`: 1 to 8 users; those not in the group fail on
/// their own (131009), in the webhook that confirms the removal.
pub(crate) fn remove(state: &Arc<Sandbox>, id: &str, body: &[u8]) -> Resp {
    let v = match body_json(body) {
        Ok(v) => v,
        Err(m) => return invalid(&m),
    };
    let Some(list) = v["participants"]
        .as_array()
        .filter(|l| (1..=REMOVE_MAX).contains(&l.len()))
    else {
        return invalid(&format!(
            "(#100) Param participants must list 1 to {REMOVE_MAX} users"
        ));
    };
    let (mut removed, mut failed) = (Vec::new(), Vec::new());
    let pnid = {
        let mut all = store(state);
        let Some(g) = all.get_mut(id) else {
            return no_group(id);
        };
        for p in list {
            let input = p["user"].as_str().unwrap_or_default();
            let user = digits_of(input).or_else(|| bsuid_of(input));
            match user.filter(|u| g.participants.remove(u)) {
                Some(u) => {
                    let mut n = named(&u);
                    n["input"] = input.into();
                    removed.push(n);
                }
                None => failed.push(json!({ "input": input, "errors": [{ "code": 131009,
                    "title": "Parameter value is not valid", "message": "Parameter value is not valid",
                    "error_data": { "details": "The user is not a participant of this group" } }] })),
            }
        }
        g.pnid.clone()
    };
    let request_id = hex::encode(random_bytes::<16>());
    announce(
        state,
        &pnid,
        "group_participants_update",
        json!({ "group_id": id, "type": "group_participants_remove", "request_id": request_id,
            "initiated_by": "business", "removed_participants": removed, "failed_participants": failed }),
    );
    net::json(
        StatusCode::OK,
        &json!({ "success": true, "request_id": request_id }),
    )
}

/// `GET /{group-id}/join_requests`: every open one on one page.
pub(crate) fn join_requests(state: &Sandbox, id: &str) -> Resp {
    let all = store(state);
    let Some(g) = all.get(id) else {
        return no_group(id);
    };
    let data: Vec<Value> = g
        .join_requests
        .iter()
        .map(|(rid, user)| {
            let mut r = named(user);
            r["join_request_id"] = rid.as_str().into();
            r["creation_timestamp"] = g.created_at.into();
            r
        })
        .collect();
    net::json(
        StatusCode::OK,
        &json!({ "data": data, "paging": { "cursors": { "before": "QVFI", "after": "QVFJ" } } }),
    )
}

/// `POST` (approve) or `DELETE` (reject) `/{group-id}/join_requests`: each request on
/// its own; one that is not open fails (131009). An approved user joins, announced by
/// `group_participants_add`.
pub(crate) fn answer(state: &Arc<Sandbox>, id: &str, body: &[u8], approve: bool) -> Resp {
    let v = match body_json(body) {
        Ok(v) => v,
        Err(m) => return invalid(&m),
    };
    let Some(ids) = v["join_requests"].as_array().filter(|l| !l.is_empty()) else {
        return invalid("The parameter join_requests is required.");
    };
    let (mut done, mut failed, mut joined) = (Vec::new(), Vec::new(), Vec::new());
    let pnid = {
        let mut all = store(state);
        let Some(g) = all.get_mut(id) else {
            return no_group(id);
        };
        for rid in ids {
            let rid = rid.as_str().unwrap_or_default();
            match g.join_requests.remove(rid) {
                Some(user) => {
                    if approve {
                        g.participants.insert(user.clone());
                        joined.push(named(&user));
                    }
                    done.push(Value::from(rid));
                }
                None => failed.push(json!({ "join_request_id": rid, "errors": [{ "code": 131009,
                    "title": "Parameter value is not valid", "message": "Parameter value is not valid",
                    "error_data": { "details": "No open join request with this id" } }] })),
            }
        }
        g.pnid.clone()
    };
    if !joined.is_empty() {
        announce(
            state,
            &pnid,
            "group_participants_update",
            json!({ "group_id": id, "type": "group_participants_add", "reason": "join_request",
                "initiated_by": "business", "added_participants": joined }),
        );
    }
    let key = if approve {
        "approved_join_requests"
    } else {
        "rejected_join_requests"
    };
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", key: done, "failed_join_requests": failed }),
    )
}

/// `POST /sandbox/group-join` `{invite_link, user}`: a user taps an invite link. They
/// join (or ask to, when the group takes approval); a link that was reset no longer works.
pub(crate) fn join(state: &Arc<Sandbox>, body: &[u8]) -> Resp {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON");
    };
    let (Some(link), Some(input)) = (v["invite_link"].as_str(), v["user"].as_str()) else {
        return invalid("invite_link and user are required");
    };
    let Some(user) = digits_of(input).or_else(|| bsuid_of(input)) else {
        return invalid("user must be a phone number or a business-scoped user id");
    };
    let (pnid, item, out) = {
        let mut all = store(state);
        let Some(g) = all.values_mut().find(|g| g.invite_link == link) else {
            return net::json(
                StatusCode::NOT_FOUND,
                &json!({ "error": "no group has this invite link (it was reset, or the group deleted)" }),
            );
        };
        if g.participants.len() >= PARTICIPANTS_MAX && !g.participants.contains(&user) {
            return net::json(
                StatusCode::CONFLICT,
                &json!({ "error": format!("the group is full ({PARTICIPANTS_MAX} participants)") }),
            );
        }
        if g.approval_required {
            let rid = digits(16);
            g.join_requests.insert(rid.clone(), user.clone());
            let mut item = named(&user);
            item["group_id"] = g.id.as_str().into();
            item["type"] = "group_join_request_created".into();
            item["join_request_id"] = rid.as_str().into();
            let out = json!({ "group_id": g.id, "join_request_id": rid });
            (g.pnid.clone(), item, out)
        } else {
            g.participants.insert(user.clone());
            let item = json!({ "group_id": g.id, "type": "group_participants_add", "reason": "invite_link",
                "initiated_by": "participant", "added_participants": [named(&user)] });
            let out = json!({ "group_id": g.id, "joined": true });
            (g.pnid.clone(), item, out)
        }
    };
    announce(state, &pnid, "group_participants_update", item);
    net::json(StatusCode::OK, &out)
}

/// What the sandbox answers a message to a group the number does not own (after the
/// message itself passed Meta's rules).
pub const NOT_A_GROUP: &str =
    "(#131009) Parameter value is not valid: to is not a group of this number";

/// A message to a group (`recipient_type: group`) of the sending number: Meta's rules for
/// the message first, then no interactive messages (131009), then the group must be the
/// number's ([`NOT_A_GROUP`]). No window.
pub(crate) fn message(state: &Sandbox, pnid: &str, v: &Value) -> Resp {
    let Some(to) = v["to"].as_str() else {
        return invalid("The parameter to is required.");
    };
    if let Some(r) = crate::rejection(v) {
        return r;
    }
    if v["type"] == "interactive" {
        return crate::graph_error(
            StatusCode::BAD_REQUEST,
            131009,
            None,
            "(#131009) Parameter value is not valid: groups take no interactive messages",
        );
    }
    if store(state).get(to).is_none_or(|g| g.pnid != pnid) {
        return crate::graph_error(StatusCode::BAD_REQUEST, 131009, None, NOT_A_GROUP);
    }
    net::json(
        StatusCode::OK,
        &json!({ "messaging_product": "whatsapp", "contacts": [{ "input": to }],
            "messages": [{ "id": new_wamid(to) }] }),
    )
}
