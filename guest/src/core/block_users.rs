//! Blocking users from a number: block, unblock, list. Source: Meta, "Block users"
//! (`POST|DELETE|GET /{phone-number-id}/block_users`). Each user succeeds or fails on its
//! own (a block needs the user to have written in the last 24 hours: 131047); a request
//! where some failed is answered 400 with code 139100 and the same per-user lists, which
//! is a result, not an error.

use super::error::{Error, GraphError, from_response, item_error};
use super::graph::{Method, Request, check_cursor, read_json};
use super::messages::Recipient;
use super::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// Meta's code for "failed to block/unblock some users".
pub const PARTIAL_FAILURE: i32 = 139_100;

/// What Meta did with one user of a block or an unblock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The user as sent.
    pub input: String,
    /// The user's `wa_id`, when Meta gave it.
    pub wa_id: Option<String>,
    /// Why Meta refused this user; `None` when it was done.
    pub error: Option<GraphError>,
}

/// A page of the number's blocked users.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockedPage {
    /// Their `wa_id`s (or business-scoped user ids).
    pub users: Vec<String>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// `POST` (block) or `DELETE` (unblock) `/{phone-number-id}/block_users` for `users`,
/// each a number, a `wa_id` or a business-scoped user id.
pub fn block_request(s: &Settings, users: &[String], block: bool) -> Result<Request, Error> {
    if users.is_empty() {
        return Err(Error::invalid("users", "must name at least one user"));
    }
    let mut list = Vec::with_capacity(users.len());
    for (i, u) in users.iter().enumerate() {
        let r = Recipient::user(u).map_err(|e| match e {
            Error::InvalidInput { reason, .. } => Error::invalid(format!("users[{i}]"), reason),
            other => other,
        })?;
        list.push(json!({ "user": r.id() }));
    }
    let url = s.url(&format!("{}/block_users", s.phone_number_id()?));
    let mut req = Request::post_json(
        url,
        &json!({ "messaging_product": "whatsapp", "block_users": list }),
    );
    if !block {
        req.method = Method::Delete;
    }
    Ok(req)
}

/// Read Meta's answer to [`block_request`]: one outcome per user.
pub fn read_block(status: u16, body: &[u8]) -> Result<Vec<Outcome>, Error> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Err(from_response(status.max(400), body)),
    };
    let lists = &v["block_users"];
    let partial = status == 400 && v["error"]["code"].as_i64() == Some(PARTIAL_FAILURE.into());
    if !(200..300).contains(&status) && !partial || !lists.is_object() {
        return Err(if (200..300).contains(&status) {
            Error::Other(format!(
                "Meta's answer has no block_users: {}",
                super::error::excerpt(body)
            ))
        } else {
            from_response(status, body)
        });
    }
    let text = |u: &Value, k: &str| u[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let mut out = Vec::new();
    for done in ["added_users", "removed_users"] {
        for u in lists[done].as_array().into_iter().flatten() {
            out.push(Outcome {
                input: text(u, "input").unwrap_or_default(),
                wa_id: text(u, "wa_id"),
                error: None,
            });
        }
    }
    for u in lists["failed_users"].as_array().into_iter().flatten() {
        out.push(Outcome {
            input: text(u, "input").unwrap_or_default(),
            wa_id: text(u, "wa_id"),
            error: Some(item_error(&u["errors"], status)),
        });
    }
    Ok(out)
}

/// `GET /{phone-number-id}/block_users`, from the cursor `after` when given.
pub fn blocked_request(s: &Settings, after: Option<&str>) -> Result<Request, Error> {
    let mut path = format!("{}/block_users", s.phone_number_id()?);
    if let Some(a) = after {
        check_cursor("after", a)?;
        path.push_str("?after=");
        path.push_str(a);
    }
    Ok(Request::get(s.url(&path)))
}

/// Read a page of blocked users.
pub fn read_blocked(status: u16, body: &[u8]) -> Result<BlockedPage, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
        #[serde(default)]
        paging: Value,
    }
    let page: Page = read_json(status, body)?;
    let users = page
        .data
        .iter()
        .filter_map(|u| u["wa_id"].as_str().or_else(|| u["user_id"].as_str()))
        .map(str::to_string)
        .collect();
    // Graph gives `next` only when there is a next page.
    let next = page.paging["next"]
        .as_str()
        .and(page.paging["cursors"]["after"].as_str())
        .map(str::to_string);
    Ok(BlockedPage { users, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_pairs([("phone-number-id".into(), "106540352242922".into())])
    }

    #[test]
    fn users_are_blocked_and_unblocked_by_number_or_bsuid() {
        let users = vec!["+16505551234".to_string(), "US.13491208655302741918".into()];
        let r = block_request(&settings(), &users, true).unwrap();
        assert_eq!(r.method, Method::Post);
        assert!(r.url.ends_with("/106540352242922/block_users"), "{}", r.url);
        let v: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({"messaging_product": "whatsapp", "block_users": [
                {"user": "16505551234"}, {"user": "US.13491208655302741918"}]})
        );
        assert_eq!(
            block_request(&settings(), &users, false).unwrap().method,
            Method::Delete
        );
        let e = block_request(&settings(), &["12".into()], true).unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput { ref field, .. } if field == "users[0]"),
            "{e:?}"
        );
        let e = block_request(&settings(), &[], true).unwrap_err();
        assert!(
            matches!(e, Error::InvalidInput { ref field, .. } if field == "users"),
            "{e:?}"
        );
    }

    #[test]
    fn a_partial_failure_is_a_result_per_user() {
        let body = br#"{"messaging_product":"whatsapp","block_users":{"added_users":[{"input":"+16505551234","wa_id":"16505551234"}],"failed_users":[{"input":"+16505550000","wa_id":"16505550000","errors":[{"message":"Re-engagement required","code":131047,"error_data":{"details":"User has not messaged in the last 24 hours"}}]}]},"error":{"message":"(#139100) Failed to block/unblock users","type":"OAuthException","code":139100,"error_data":{"details":"Failed to block some users, see the block_users response list for details"},"fbtrace_id":"A1"}}"#;
        let out = read_block(400, body).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].wa_id.as_deref(), &out[0].error),
            (Some("16505551234"), &None)
        );
        let e = out[1].error.as_ref().unwrap();
        assert_eq!(
            (e.code, e.details.as_deref()),
            (131047, Some("User has not messaged in the last 24 hours"))
        );
        // Any other failure is the request's.
        let denied = br#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}"#;
        assert!(matches!(
            read_block(401, denied),
            Err(Error::Unauthorized(_))
        ));
    }

    #[test]
    fn blocked_users_come_in_pages() {
        let body = br#"{"data":[{"messaging_product":"whatsapp","wa_id":"16505551234"}],"paging":{"cursors":{"after":"QVFI","before":"QVFJ"},"next":"https://graph.facebook.com/next"}}"#;
        let p = read_blocked(200, body).unwrap();
        assert_eq!(
            (p.users, p.next.as_deref()),
            (vec!["16505551234".to_string()], Some("QVFI"))
        );
        let last = br#"{"data":[],"paging":{"cursors":{"after":"QVFI","before":"QVFJ"}}}"#;
        assert_eq!(read_blocked(200, last).unwrap().next, None);
        let r = blocked_request(&settings(), Some("QVFI")).unwrap();
        assert!(r.url.ends_with("/block_users?after=QVFI"), "{}", r.url);
        assert!(blocked_request(&settings(), Some("a&b")).is_err());
    }
}
