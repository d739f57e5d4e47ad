//! The checks and JSON every kind shares: text lengths, counts, URLs and media sources.

use super::{MediaSource, limits};
use crate::core::error::Error;
use serde_json::{Value, json};

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A required text of at most `max` characters.
pub(super) fn required(field: &str, s: &str, max: usize) -> Result<(), Error> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    optional(field, Some(s), max)
}

/// An optional text of at most `max` characters.
pub(super) fn optional(field: &str, s: Option<&str>, max: usize) -> Result<(), Error> {
    match s {
        Some(s) if chars(s) > max => Err(Error::invalid(
            field,
            format!("is {} characters; at most {max} are allowed", chars(s)),
        )),
        _ => Ok(()),
    }
}

/// A count of 1 to `max` items.
pub(crate) fn count(field: &str, what: &str, n: usize, max: usize) -> Result<(), Error> {
    if n == 0 || n > max {
        return Err(Error::invalid(
            field,
            format!("must hold 1 to {max} {what} (has {n})"),
        ));
    }
    Ok(())
}

pub(super) fn url(field: &str, u: &str) -> Result<(), Error> {
    if !(u.starts_with("https://") || u.starts_with("http://"))
        || u.len() > limits::URL_MAX
        || u.contains(char::is_whitespace)
    {
        return Err(Error::invalid(
            field,
            format!(
                "must be an http(s) URL of at most {} characters",
                limits::URL_MAX
            ),
        ));
    }
    Ok(())
}

pub(super) fn source(field: &str, s: &MediaSource) -> Result<Value, Error> {
    match s {
        MediaSource::Id(id) => {
            crate::core::ids::check_node_id(field, id)?;
            Ok(json!({ "id": id }))
        }
        MediaSource::Link(l) => {
            url(field, l)?;
            Ok(json!({ "link": l }))
        }
    }
}
