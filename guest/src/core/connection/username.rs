//! A number's business username: reading it, claiming or changing it (its format checked
//! first), removing it. Source: Meta, "Business-scoped user IDs" (business usernames,
//! `GET|POST|DELETE /{phone-number-id}/username`); the format rules are Meta's.

use super::profile::profile_number;
use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde::Deserialize;
use serde_json::json;

/// Characters in a username: "3-35".
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=35;

/// Endings a username may not have: it must not read as a web address.
pub const DOMAIN_SUFFIXES: [&str; 10] = [
    ".com", ".org", ".net", ".int", ".edu", ".gov", ".mil", ".us", ".in", ".html",
];

/// A number's username as Meta reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BusinessUsername {
    /// The username, when the number has one.
    pub username: Option<String>,
    /// `reserved` (approved, not yet visible where usernames have not launched),
    /// `approved` (visible) or `deleted`.
    pub status: Option<String>,
}

/// Refuse a username Meta's format rules refuse: 3 to 35 English letters, digits,
/// periods and underscores, at least one letter, no period first, last or twice in a
/// row, not starting with `www` and not ending like a web address.
pub fn check_username(u: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::invalid("username", why));
    if !USERNAME_CHARS.contains(&u.len()) {
        return bad("must be 3 to 35 characters");
    }
    if !u
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    {
        return bad("may hold only English letters, digits, periods and underscores");
    }
    if !u.bytes().any(|b| b.is_ascii_alphabetic()) {
        return bad("must hold at least one English letter");
    }
    if u.starts_with('.') || u.ends_with('.') || u.contains("..") {
        return bad("must not start or end with a period, or have two in a row");
    }
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("www") {
        return bad("must not start with www");
    }
    if DOMAIN_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return bad("must not end like a web address (.com, .org, …)");
    }
    Ok(())
}

/// `GET /{phone-number-id}/username`.
pub fn username_request(s: &Settings, phone_number_id: Option<&str>) -> Result<Request, Error> {
    let id = profile_number(s, phone_number_id)?;
    Ok(Request::get(s.url(&format!("{id}/username"))))
}

/// Read Meta's answer to [`username_request`].
pub fn read_username(status: u16, body: &[u8]) -> Result<BusinessUsername, Error> {
    read_json(status, body)
}

/// `POST /{phone-number-id}/username`: claim `username`, or change to it; with
/// `force_transfer`, take it from another number of the same business portfolio.
pub fn set_username_request(
    s: &Settings,
    phone_number_id: Option<&str>,
    username: &str,
    force_transfer: bool,
) -> Result<Request, Error> {
    let id = profile_number(s, phone_number_id)?;
    // Users and Meta write `@name`; the API takes the name alone.
    let username = username.strip_prefix('@').unwrap_or(username);
    check_username(username)?;
    let action = if force_transfer {
        "force_transfer"
    } else {
        "none"
    };
    Ok(Request::post_json(
        s.url(&format!("{id}/username")),
        &json!({ "username": username, "transfer_action": action }),
    ))
}

/// The status Meta gives a claimed username (`reserved` or `approved`).
pub fn read_set_username(status: u16, body: &[u8]) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Answer {
        status: String,
    }
    Ok(read_json::<Answer>(status, body)?.status)
}

/// `DELETE /{phone-number-id}/username`.
pub fn delete_username_request(
    s: &Settings,
    phone_number_id: Option<&str>,
) -> Result<Request, Error> {
    let id = profile_number(s, phone_number_id)?;
    Ok(Request::delete(s.url(&format!("{id}/username"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_metas_format() {
        for ok in [
            "acme_shop",
            "acme.support",
            "a1b",
            "Shop_2026",
            &"a".repeat(35),
        ] {
            assert_eq!(check_username(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(36),
            "acme-shop",
            "acme shop",
            "ácme",
            "12345",
            "_._",
            ".acme",
            "acme.",
            "ac..me",
            "www_acme",
            "WWWacme",
            "acme.com",
            "acme.ORG",
            "shop.in",
        ] {
            assert!(
                matches!(check_username(bad), Err(Error::InvalidInput { ref field, .. }) if field == "username"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_username_is_claimed_without_its_at_sign() {
        let s = Settings::from_pairs([("phone-number-id".into(), "106540352242922".into())]);
        let r = set_username_request(&s, None, "@acme_shop", true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            v,
            json!({"username": "acme_shop", "transfer_action": "force_transfer"})
        );
        assert!(r.url.ends_with("/106540352242922/username"), "{}", r.url);
        assert_eq!(
            read_username(200, br#"{"username":"acme_shop","status":"reserved"}"#).unwrap(),
            BusinessUsername {
                username: Some("acme_shop".into()),
                status: Some("reserved".into())
            }
        );
        assert_eq!(
            read_username(200, b"{}").unwrap(),
            BusinessUsername::default()
        );
    }
}
