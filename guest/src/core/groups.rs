//! Groups a business number owns, as values. Source: Meta, "Groups API: group
//! management" and the `business-messaging-api` OpenAPI spec (`/{phone-number-id}/groups`,
//! `/{group-id}`, `/{group-id}/invite_link`, `/{group-id}/participants`,
//! `/{group-id}/join_requests`).
//!
//! A group is created asynchronously: the request answers with a request id, and the
//! group's id and first invite link arrive in a `group_lifecycle_update` webhook (the
//! component's `group` event). Users join only through the invite link (a business
//! cannot add them); a group with `approval_required` collects join requests to approve
//! or reject. Removals and setting changes are confirmed the same way, by webhook.
//! Messages go to a group by sending to `group:{group-id}` (`recipient_type: group`).

use super::error::{Error, GraphError, item_error};
use super::graph::{Method, Paging, Request, check_cursor, encode_query, read_json};
use super::ids::check_group_id;
use super::messages::Recipient;
use super::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// Longest subject Meta takes, in characters (whitespace at either end is trimmed).
pub const SUBJECT_MAX: usize = 128;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 2048;
/// Most participants one removal names (the spec's `maxItems`).
pub const REMOVE_MAX: usize = 8;
/// The fields asked of one group.
pub const INFO_FIELDS: &str = "subject,description,participants,join_approval_mode,suspended,creation_timestamp,total_participant_count";

fn check_subject(subject: &str) -> Result<&str, Error> {
    let s = subject.trim();
    if s.is_empty() || s.chars().count() > SUBJECT_MAX {
        return Err(Error::invalid(
            "subject",
            format!("must be 1 to {SUBJECT_MAX} characters"),
        ));
    }
    Ok(s)
}

fn check_description(d: &str) -> Result<(), Error> {
    if d.chars().count() > DESCRIPTION_MAX {
        return Err(Error::invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        ));
    }
    Ok(())
}

/// `POST /{phone-number-id}/groups`: a new group, joined by its invite link without
/// approval unless `approval_required`.
pub fn create_request(
    s: &Settings,
    subject: &str,
    description: Option<&str>,
    approval_required: bool,
) -> Result<Request, Error> {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "subject": check_subject(subject)?,
        "join_approval_mode": if approval_required { "approval_required" } else { "auto_approve" },
    });
    if let Some(d) = description {
        check_description(d)?;
        body["description"] = d.into();
    }
    let url = s.url(&format!("{}/groups", s.phone_number_id()?));
    Ok(Request::post_json(url, &body))
}

/// The request id Meta answers a creation (or any request it completes by webhook) with.
pub fn read_request_id(status: u16, body: &[u8]) -> Result<String, Error> {
    let v: Value = read_json(status, body)?;
    match v["request_id"].as_str().filter(|s| !s.is_empty()) {
        Some(id) => Ok(id.to_string()),
        None => Err(Error::Other(format!(
            "Meta's answer has no request_id: {}",
            super::error::excerpt(body)
        ))),
    }
}

/// One of a number's active groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSummary {
    /// The group id.
    pub id: String,
    /// Its subject.
    pub subject: Option<String>,
    /// When it was created, as Meta writes it.
    pub created_at: Option<String>,
}

/// A page of groups, and the cursor of the next.
pub type GroupPage = (Vec<GroupSummary>, Option<String>);

/// `GET /{phone-number-id}/groups`, a page from `after`.
pub fn list_request(s: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut path = format!("{}/groups?limit=100", s.phone_number_id()?);
    if let Some(a) = after {
        check_cursor("after", a)?;
        path.push_str("&after=");
        path.push_str(a);
    }
    Ok(Request::get(s.url(&path)))
}

/// Read a page of groups (`data.groups`, as the spec has it, or `data` as a list).
pub fn read_list(status: u16, body: &[u8]) -> Result<GroupPage, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Value,
        #[serde(default)]
        paging: Paging,
    }
    let page: Page = read_json(status, body)?;
    let items = page.data["groups"]
        .as_array()
        .or_else(|| page.data.as_array())
        .cloned()
        .unwrap_or_default();
    let groups = items
        .iter()
        .filter_map(|g| {
            Some(GroupSummary {
                id: g["id"].as_str()?.to_string(),
                subject: text(g, "subject"),
                created_at: text(g, "created_at").or_else(|| number(g, "created_at")),
            })
        })
        .collect();
    Ok((groups, page.paging.next_cursor()))
}

/// One group, as `GET /{group-id}` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupInfo {
    /// The group id.
    pub id: String,
    /// Its subject.
    pub subject: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Whether joining takes approval (`join_approval_mode: approval_required`).
    pub approval_required: bool,
    /// WhatsApp suspended it.
    pub suspended: bool,
    /// Unix seconds.
    pub created_at: Option<u64>,
    /// Its participants' `wa_id`s (or business-scoped user ids).
    pub participants: Vec<String>,
    /// How many participants, the business not counted.
    pub participant_count: Option<u64>,
}

/// `GET /{group-id}` with [`INFO_FIELDS`].
pub fn info_request(s: &Settings, group_id: &str) -> Result<Request, Error> {
    check_group_id(group_id)?;
    Ok(Request::get(s.url(&format!(
        "{group_id}?fields={}",
        encode_query(INFO_FIELDS)
    ))))
}

/// Read one group.
pub fn read_info(status: u16, body: &[u8]) -> Result<GroupInfo, Error> {
    let v: Value = read_json(status, body)?;
    Ok(GroupInfo {
        id: text(&v, "id").unwrap_or_default(),
        subject: text(&v, "subject"),
        description: text(&v, "description"),
        approval_required: v["join_approval_mode"] == "approval_required",
        suspended: v["suspended"].as_bool().unwrap_or(false),
        created_at: u64_of(&v["creation_timestamp"]),
        participants: v["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["wa_id"].as_str().or_else(|| p["user_id"].as_str()))
            .map(str::to_string)
            .collect(),
        participant_count: u64_of(&v["total_participant_count"]),
    })
}

/// `POST /{group-id}`: a new subject or description (at least one).
pub fn update_request(
    s: &Settings,
    group_id: &str,
    subject: Option<&str>,
    description: Option<&str>,
) -> Result<Request, Error> {
    check_group_id(group_id)?;
    let mut body = json!({ "messaging_product": "whatsapp" });
    if let Some(subject) = subject {
        body["subject"] = check_subject(subject)?.into();
    }
    if let Some(d) = description {
        check_description(d)?;
        body["description"] = d.into();
    }
    if subject.is_none() && description.is_none() {
        return Err(Error::invalid(
            "subject",
            "give a subject, a description or both",
        ));
    }
    Ok(Request::post_json(s.url(group_id), &body))
}

/// `DELETE /{group-id}`: the group is gone, every participant with it.
pub fn delete_request(s: &Settings, group_id: &str) -> Result<Request, Error> {
    check_group_id(group_id)?;
    Ok(Request::delete(s.url(group_id)))
}

/// `GET /{group-id}/invite_link` (the current link), or with `reset`,
/// `POST /{group-id}/invite_link` (a new one; the old stops working).
pub fn invite_link_request(s: &Settings, group_id: &str, reset: bool) -> Result<Request, Error> {
    check_group_id(group_id)?;
    let url = s.url(&format!("{group_id}/invite_link"));
    Ok(if reset {
        Request::post_json(url, &json!({ "messaging_product": "whatsapp" }))
    } else {
        Request::get(url)
    })
}

/// Read an invite link.
pub fn read_invite_link(status: u16, body: &[u8]) -> Result<String, Error> {
    let v: Value = read_json(status, body)?;
    text(&v, "invite_link").ok_or_else(|| {
        Error::Other(format!(
            "Meta's answer has no invite_link: {}",
            super::error::excerpt(body)
        ))
    })
}

/// `DELETE /{group-id}/participants`: remove up to [`REMOVE_MAX`] users, each a number,
/// a `wa_id` or a business-scoped user id. Meta confirms each by webhook.
pub fn remove_participants_request(
    s: &Settings,
    group_id: &str,
    users: &[String],
) -> Result<Request, Error> {
    check_group_id(group_id)?;
    if users.is_empty() || users.len() > REMOVE_MAX {
        return Err(Error::invalid(
            "users",
            format!("must name 1 to {REMOVE_MAX} users"),
        ));
    }
    let mut list = Vec::with_capacity(users.len());
    for (i, u) in users.iter().enumerate() {
        let r = Recipient::user(u).map_err(|e| match e {
            Error::InvalidInput { reason, .. } => Error::invalid(format!("users[{i}]"), reason),
            other => other,
        })?;
        list.push(json!({ "user": r.id() }));
    }
    let mut req = Request::post_json(
        s.url(&format!("{group_id}/participants")),
        &json!({ "messaging_product": "whatsapp", "participants": list }),
    );
    req.method = Method::Delete;
    Ok(req)
}

/// Read an answer Meta completes later by webhook: any 2xx is accepted, and its
/// `request_id` returned when it has one.
pub fn read_accepted(status: u16, body: &[u8]) -> Result<Option<String>, Error> {
    if !(200..300).contains(&status) {
        return Err(super::error::from_response(status, body));
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if v["success"] == false || v["success"] == "false" {
        return Err(Error::Other(format!(
            "Meta did not confirm: {}",
            super::error::excerpt(body)
        )));
    }
    Ok(text(&v, "request_id"))
}

/// A user's request to join a group that takes approval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinRequest {
    /// Its id, to approve or reject it by.
    pub id: String,
    /// The user's `wa_id` (or business-scoped user id).
    pub user: Option<String>,
    /// Unix seconds.
    pub created_at: Option<u64>,
}

/// `GET /{group-id}/join_requests`, a page from `after`.
pub fn join_requests_request(
    s: &Settings,
    group_id: &str,
    after: Option<&str>,
) -> Result<Request, Error> {
    check_group_id(group_id)?;
    let mut path = format!("{group_id}/join_requests");
    if let Some(a) = after {
        check_cursor("after", a)?;
        path.push_str("?after=");
        path.push_str(a);
    }
    Ok(Request::get(s.url(&path)))
}

/// Read a page of join requests.
pub fn read_join_requests(
    status: u16,
    body: &[u8],
) -> Result<(Vec<JoinRequest>, Option<String>), Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
        #[serde(default)]
        paging: Paging,
    }
    let page: Page = read_json(status, body)?;
    let list = page
        .data
        .iter()
        .filter_map(|r| {
            Some(JoinRequest {
                id: r["join_request_id"].as_str()?.to_string(),
                user: text(r, "wa_id").or_else(|| text(r, "user_id")),
                created_at: u64_of(&r["creation_timestamp"]),
            })
        })
        .collect();
    Ok((list, page.paging.next_cursor()))
}

/// `POST` (approve) or `DELETE` (reject) `/{group-id}/join_requests` for `ids`.
pub fn answer_join_requests_request(
    s: &Settings,
    group_id: &str,
    ids: &[String],
    approve: bool,
) -> Result<Request, Error> {
    check_group_id(group_id)?;
    if ids.is_empty() {
        return Err(Error::invalid(
            "join-request-ids",
            "must name at least one join request",
        ));
    }
    if let Some(i) = ids.iter().position(|id| check_group_id(id).is_err()) {
        return Err(Error::invalid(
            format!("join-request-ids[{i}]"),
            "must be a join request id Meta gave",
        ));
    }
    let mut req = Request::post_json(
        s.url(&format!("{group_id}/join_requests")),
        &json!({ "messaging_product": "whatsapp", "join_requests": ids }),
    );
    if !approve {
        req.method = Method::Delete;
    }
    Ok(req)
}

/// What Meta did with one item of a request about several (a join request).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemOutcome {
    /// The item as sent.
    pub id: String,
    /// Why Meta refused it; `None` when it was done.
    pub error: Option<GraphError>,
}

/// Read the answer to [`answer_join_requests_request`]: one outcome per id, done ones
/// first. Meta lists them under `approved_join_requests` or `rejected_join_requests`, and
/// the refused under `failed_join_requests`.
pub fn read_join_answer(status: u16, body: &[u8]) -> Result<Vec<ItemOutcome>, Error> {
    let v: Value = read_json(status, body)?;
    let mut out: Vec<ItemOutcome> = ["approved_join_requests", "rejected_join_requests"]
        .iter()
        .flat_map(|k| v[*k].as_array().into_iter().flatten())
        .filter_map(|id| id.as_str().or_else(|| id["join_request_id"].as_str()))
        .map(|id| ItemOutcome {
            id: id.to_string(),
            error: None,
        })
        .collect();
    for f in v["failed_join_requests"].as_array().into_iter().flatten() {
        out.push(ItemOutcome {
            id: text(f, "join_request_id").unwrap_or_default(),
            error: Some(item_error(&f["errors"], status)),
        });
    }
    Ok(out)
}

fn text(v: &Value, k: &str) -> Option<String> {
    v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn number(v: &Value, k: &str) -> Option<String> {
    v[k].as_u64().map(|n| n.to_string())
}

fn u64_of(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_pairs([("phone-number-id".into(), "106540352242922".into())])
    }

    const GID: &str = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjA";

    fn body(r: &Request) -> Value {
        serde_json::from_slice(r.body.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn a_group_is_created_with_its_subject_trimmed_and_its_join_mode() {
        let r = create_request(&settings(), "  VIP launch ", Some("Early access"), true).unwrap();
        assert!(r.url.ends_with("/106540352242922/groups"), "{}", r.url);
        assert_eq!(
            body(&r),
            json!({"messaging_product": "whatsapp", "subject": "VIP launch",
                "description": "Early access", "join_approval_mode": "approval_required"})
        );
        for bad in ["", "   ", &"x".repeat(SUBJECT_MAX + 1)] {
            let e = create_request(&settings(), bad, None, false).unwrap_err();
            assert!(matches!(e, Error::InvalidInput { ref field, .. } if field == "subject"));
        }
        let long = "d".repeat(DESCRIPTION_MAX + 1);
        assert!(create_request(&settings(), "ok", Some(&long), false).is_err());
        assert_eq!(
            read_request_id(
                200,
                br#"{"messaging_product":"whatsapp","request_id":"106540352242922"}"#
            )
            .unwrap(),
            "106540352242922"
        );
        assert!(read_request_id(200, b"{}").is_err());
    }

    #[test]
    fn a_group_id_never_changes_the_path() {
        for bad in ["", "a/b", "a?fields=x", "a&b", "a b", "%2F"] {
            assert!(check_group_id(bad).is_err(), "{bad}");
            assert!(info_request(&settings(), bad).is_err());
        }
        check_group_id(GID).unwrap();
        check_group_id("120363025937154931@g.us").unwrap();
    }

    #[test]
    fn groups_come_in_pages_and_one_in_full() {
        let page = br#"{"data":{"groups":[{"id":"g1","subject":"One","created_at":"1739321024"},{"subject":"no id"}]},"paging":{"cursors":{"after":"QVFI"},"next":"https://n"}}"#;
        let (groups, next) = read_list(200, page).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].id.as_str(), groups[0].subject.as_deref()),
            ("g1", Some("One"))
        );
        assert_eq!(next.as_deref(), Some("QVFI"));
        let r = list_request(&settings(), Some("QVFI")).unwrap();
        assert!(r.url.ends_with("/groups?limit=100&after=QVFI"), "{}", r.url);
        let info = br#"{"id":"g1","messaging_product":"whatsapp","subject":"One","join_approval_mode":"approval_required","suspended":false,"creation_timestamp":683731200,"participants":[{"wa_id":"16505551234"},{"user_id":"US.134912"}],"total_participant_count":2}"#;
        let g = read_info(200, info).unwrap();
        assert!(g.approval_required && !g.suspended);
        assert_eq!(g.participants, ["16505551234", "US.134912"]);
        assert_eq!(
            (g.created_at, g.participant_count),
            (Some(683731200), Some(2))
        );
        let r = info_request(&settings(), GID).unwrap();
        assert!(
            r.url.contains(&format!("/{GID}?fields=subject%2C")),
            "{}",
            r.url
        );
    }

    #[test]
    fn participants_are_removed_eight_at_most() {
        let users = vec!["+16505551234".to_string(), "US.13491208655302741918".into()];
        let r = remove_participants_request(&settings(), GID, &users).unwrap();
        assert_eq!(r.method, Method::Delete);
        assert!(r.url.ends_with(&format!("/{GID}/participants")));
        assert_eq!(
            body(&r)["participants"],
            json!([{"user": "16505551234"}, {"user": "US.13491208655302741918"}])
        );
        let nine = vec!["16505551234".to_string(); 9];
        assert!(remove_participants_request(&settings(), GID, &nine).is_err());
        let e = remove_participants_request(&settings(), GID, &["group:x".into()]).unwrap_err();
        assert!(matches!(e, Error::InvalidInput { ref field, .. } if field == "users[0]"));
        assert_eq!(read_accepted(200, br#"{"success":true}"#).unwrap(), None);
        assert!(read_accepted(200, br#"{"success":false}"#).is_err());
        assert!(matches!(
            read_accepted(
                401,
                br#"{"error":{"message":"Invalid OAuth access token.","code":190}}"#
            ),
            Err(Error::Unauthorized(_))
        ));
    }

    #[test]
    fn join_requests_are_listed_and_answered_each_on_its_own() {
        let page = br#"{"data":[{"join_request_id":"MTY0","wa_id":"16505551234","creation_timestamp":1755548877}],"paging":{"cursors":{"after":"QVFI"}}}"#;
        let (list, next) = read_join_requests(200, page).unwrap();
        assert_eq!(
            list,
            [JoinRequest {
                id: "MTY0".into(),
                user: Some("16505551234".into()),
                created_at: Some(1755548877)
            }]
        );
        assert_eq!(next, None);
        let ids = vec!["MTY0".to_string(), "MTY1".into()];
        let r = answer_join_requests_request(&settings(), GID, &ids, false).unwrap();
        assert_eq!(r.method, Method::Delete);
        assert_eq!(body(&r)["join_requests"], json!(["MTY0", "MTY1"]));
        assert!(answer_join_requests_request(&settings(), GID, &[], true).is_err());
        let answer = br#"{"messaging_product":"whatsapp","approved_join_requests":["MTY0"],"failed_join_requests":[{"join_request_id":"MTY1","errors":[{"code":131203,"message":"Join request not found"}]}]}"#;
        let out = read_join_answer(200, answer).unwrap();
        assert_eq!((out[0].id.as_str(), &out[0].error), ("MTY0", &None));
        let e = out[1].error.as_ref().unwrap();
        assert_eq!(
            (e.code, e.message.as_str()),
            (131203, "Join request not found")
        );
    }

    #[test]
    fn an_invite_link_is_read_or_reset() {
        let get = invite_link_request(&settings(), GID, false).unwrap();
        let reset = invite_link_request(&settings(), GID, true).unwrap();
        assert_eq!((get.method, reset.method), (Method::Get, Method::Post));
        assert!(reset.url.ends_with("/invite_link"));
        assert_eq!(
            read_invite_link(
                200,
                br#"{"messaging_product":"whatsapp","invite_link":"https://chat.whatsapp.com/LINK"}"#
            )
            .unwrap(),
            "https://chat.whatsapp.com/LINK"
        );
        assert!(read_invite_link(200, b"{}").is_err());
        assert!(update_request(&settings(), GID, None, None).is_err());
        assert_eq!(
            body(&update_request(&settings(), GID, Some("New"), None).unwrap()),
            json!({"messaging_product": "whatsapp", "subject": "New"})
        );
    }
}
