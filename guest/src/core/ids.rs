//! Graph node ids that go into URL paths, and the keys made of ids.

use super::error::Error;

/// `parts` joined, without the formatting machinery: the keys every webhook event makes
/// (in the component, `format!` costs several times a copy).
pub fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Check a Graph node id that goes into a URL path: guest callers control it, so it
/// must not be able to change the path (`/`, `?`, `#`, `..`).
pub fn check_node_id<'a>(field: &str, id: &'a str) -> Result<&'a str, Error> {
    if id.is_empty() || id.len() > 128 {
        return Err(Error::invalid(field, "must be 1 to 128 characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b == b':')
        || id.contains("..")
    {
        return Err(Error::invalid(
            field,
            "may hold only letters, digits, '_', '-', '.' and ':'",
        ));
    }
    Ok(id)
}

/// Check a group id before it becomes a path segment: Meta's ids are opaque, but never
/// hold a separator, so anything that could change the path or query is refused.
pub fn check_group_id(id: &str) -> Result<(), Error> {
    if id.is_empty()
        || id.len() > 256
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._-=".contains(&b))
    {
        return Err(Error::invalid(
            "group-id",
            "must be a group id Meta gave (letters, digits and @ . _ - =)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_cannot_escape_their_path_segment() {
        for bad in [
            "",
            "1/messages",
            "..",
            "a?b",
            "a#b",
            "a b",
            &"9".repeat(129),
        ] {
            assert!(check_node_id("media-id", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(check_node_id("id", "upload:MTIz").unwrap(), "upload:MTIz");
    }
}
