//! The plain kinds, one object each: text, location, contacts and reaction.

use super::fields::required;
use super::{ContactCard, Location, limits};
use crate::core::error::Error;
use serde_json::{Value, json};

/// Meta's `text` message.
pub(super) fn text(body: &str, preview_url: bool) -> Result<Value, Error> {
    required("content.text.body", body, limits::TEXT_BODY_MAX)?;
    Ok(json!({ "body": body, "preview_url": preview_url }))
}

/// Meta's `location` message.
pub(super) fn location(l: &Location) -> Result<Value, Error> {
    if !(limits::LATITUDE.0..=limits::LATITUDE.1).contains(&l.latitude) {
        return Err(Error::invalid(
            "content.location.latitude",
            "must be between -90 and 90",
        ));
    }
    if !(limits::LONGITUDE.0..=limits::LONGITUDE.1).contains(&l.longitude) {
        return Err(Error::invalid(
            "content.location.longitude",
            "must be between -180 and 180",
        ));
    }
    let mut v = json!({ "latitude": l.latitude, "longitude": l.longitude });
    if let Some(n) = &l.name {
        v["name"] = n.as_str().into();
    }
    if let Some(a) = &l.address {
        v["address"] = a.as_str().into();
    }
    Ok(v)
}

/// Meta's `contacts` message.
pub(super) fn contacts(cards: &[ContactCard]) -> Result<Value, Error> {
    if cards.is_empty() {
        return Err(Error::invalid(
            "content.contacts",
            "must hold at least one card",
        ));
    }
    let mut out = Vec::new();
    for (i, c) in cards.iter().enumerate() {
        required(
            &format!("content.contacts[{i}].formatted-name"),
            &c.formatted_name,
            256,
        )?;
        let mut name = json!({ "formatted_name": c.formatted_name });
        if let Some(f) = &c.first_name {
            name["first_name"] = f.as_str().into();
        }
        if let Some(l) = &c.last_name {
            name["last_name"] = l.as_str().into();
        }
        let mut card = json!({ "name": name });
        if !c.phones.is_empty() {
            card["phones"] = c
                .phones
                .iter()
                .map(|p| {
                    let mut o = json!({ "phone": p.phone });
                    if let Some(k) = &p.kind {
                        o["type"] = k.as_str().into();
                    }
                    if let Some(w) = &p.wa_id {
                        o["wa_id"] = w.as_str().into();
                    }
                    o
                })
                .collect();
        }
        if !c.emails.is_empty() {
            card["emails"] = c.emails.iter().map(|e| json!({ "email": e })).collect();
        }
        if let Some(o) = &c.organization {
            card["org"] = json!({ "company": o });
        }
        if !c.urls.is_empty() {
            card["urls"] = c.urls.iter().map(|u| json!({ "url": u })).collect();
        }
        out.push(card);
    }
    Ok(Value::Array(out))
}

/// Meta's `reaction` message.
pub(super) fn reaction(message_id: &str, emoji: &str) -> Result<Value, Error> {
    required("content.reaction.message-id", message_id, 256)?;
    if !emoji.is_empty() && !is_single_emoji(emoji) {
        return Err(Error::invalid(
            "content.reaction.emoji",
            "must be a single emoji, or empty to remove the reaction",
        ));
    }
    Ok(json!({ "message_id": message_id, "emoji": emoji }))
}

/// Whether `s` is one emoji: one grapheme built only of emoji code points (with
/// variation selectors, skin tones, keycaps, tags and zero-width joins).
pub fn is_single_emoji(s: &str) -> bool {
    let modifier = |c: char| matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F);
    let regional = |c: char| (0x1F1E6..=0x1F1FF).contains(&(c as u32));
    let base = |c: char| {
        let u = c as u32;
        u == 0xA9
            || u == 0xAE
            || (0x2000..=0x3300).contains(&u)
            || (0x1F000..=0x1FAFF).contains(&u)
            || c == '#'
            || c == '*'
            || c.is_ascii_digit()
    };
    if s.is_empty() || s.len() > 64 {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() == 2 && chars.iter().all(|c| regional(*c)) {
        return true; // a flag
    }
    let mut parts = 0;
    for part in s.split('\u{200D}') {
        let mut it = part.chars();
        let Some(first) = it.next() else { return false };
        if !base(first) || !it.all(modifier) {
            return false;
        }
        if first.is_ascii() && !part.contains('\u{20E3}') {
            return false; // "#", "*" and digits are emoji only as keycaps
        }
        parts += 1;
    }
    parts >= 1
}

#[cfg(test)]
mod tests {
    use super::super::tests::field_of;
    use super::super::*;

    #[test]
    fn reactions_take_one_emoji_or_nothing() {
        for ok in ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇮🇱", "1️⃣", ""] {
            let r = build(&Content::Reaction {
                message_id: "wamid.x".into(),
                emoji: ok.into(),
            });
            assert!(r.is_ok(), "{ok:?}: {r:?}");
        }
        for bad in ["👍👍", "ok", "a👍", " 👍", "1", "🇮🇱🇮🇱"] {
            assert_eq!(
                field_of(build(&Content::Reaction {
                    message_id: "wamid.x".into(),
                    emoji: bad.into()
                })),
                "content.reaction.emoji",
                "{bad:?}"
            );
        }
    }
}
