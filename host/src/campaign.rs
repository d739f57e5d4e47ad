//! A campaign from one template and a list of recipients: the outbox items
//! `messages.enqueue` takes, one per recipient, each keyed by campaign and recipient (the
//! same list enqueued again adds nothing). `wa-host outbox campaign` and the admin API's
//! `POST /admin/tenants/{id}/campaigns/{campaign}` both build them here; the component
//! checks and builds each message, the host's outbox keeps them.

use serde_json::{Map, Value, json};

/// What a campaign sends, and when.
#[derive(Debug, Clone)]
pub struct Campaign<'a> {
    /// Its name (the entries' `campaign`).
    pub name: &'a str,
    /// The approved template's name.
    pub template: &'a str,
    /// The template's language code.
    pub language: &'a str,
    /// Not sent before this time, Unix milliseconds.
    pub not_before_ms: Option<u64>,
}

impl Campaign<'_> {
    /// One outbox item per recipient (objects with a `to`; `1`, `2`, … the template
    /// body's positional parameters, in order; any other key a named one).
    pub fn items(&self, recipients: &[Value]) -> Result<Vec<Value>, String> {
        recipients
            .iter()
            .enumerate()
            .map(|(i, r)| self.item(r, i))
            .collect()
    }

    /// The outbox item of recipient `i`.
    fn item(&self, row: &Value, i: usize) -> Result<Value, String> {
        let to = row["to"]
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("recipient {i} has no `to`"))?;
        let mut positional: Vec<(usize, String)> = Vec::new();
        let mut named: Vec<(String, String)> = Vec::new();
        for (k, v) in row.as_object().into_iter().flatten() {
            if k == "to" {
                continue;
            }
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match k.parse::<usize>() {
                Ok(n) => positional.push((n, v)),
                Err(_) => named.push((k.clone(), v)),
            }
        }
        positional.sort();
        let body: Vec<Value> = positional
            .into_iter()
            .map(|(_, v)| json!({ "name": null, "value": { "text": v } }))
            .chain(
                named
                    .into_iter()
                    .map(|(k, v)| json!({ "name": k, "value": { "text": v } })),
            )
            .collect();
        Ok(json!({
            "message": { "to": to, "content": { "template": { "name": self.template,
                "language": self.language, "header": null, "body": body, "buttons": [],
                "carousel": [], "offer_expires_at_ms": null } },
                "reply_to": null, "biz_opaque_callback_data": null },
            "phone_number_id": null,
            "key": format!("{}:{to}", self.name),
            "not_before_ms": self.not_before_ms,
            "priority": "campaign",
            "campaign": self.name,
        }))
    }
}

/// Recipients as text: JSON (an array of objects, or one object per line) when it starts
/// with `[` or `{`, else CSV with a header row.
pub fn recipients(text: &str) -> Result<Vec<Value>, String> {
    if matches!(text.trim_start().as_bytes().first(), Some(b'[' | b'{')) {
        json_objects(text)
    } else {
        csv_objects(text)
    }
}

/// A JSON array of objects, or one object per line.
pub fn json_objects(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| format!("not a JSON array: {e}"))?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l).map_err(|e| format!("line {}: not JSON: {e}", n + 1))
            })
            .collect::<Result<_, _>>()?
    };
    for (i, v) in values.iter().enumerate() {
        if !v.is_object() {
            return Err(format!("item {i} is not a JSON object"));
        }
    }
    Ok(values)
}

/// CSV (RFC 4180: quoted fields, `""` inside quotes, CRLF or LF) with a header row, as
/// one object per row keyed by the header.
pub fn csv_objects(text: &str) -> Result<Vec<Value>, String> {
    let mut rows = csv_rows(text)?.into_iter();
    let header = rows.next().ok_or("the CSV is empty")?;
    rows.enumerate()
        .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
        .map(|(n, r)| {
            if r.len() != header.len() {
                return Err(format!(
                    "CSV row {}: {} fields where the header has {}",
                    n + 2,
                    r.len(),
                    header.len()
                ));
            }
            Ok(Value::Object(
                header
                    .iter()
                    .cloned()
                    .zip(r.into_iter().map(Value::String))
                    .collect::<Map<_, _>>(),
            ))
        })
        .collect()
}

fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("the CSV ends inside a quoted field".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// Items per `messages.enqueue` call.
pub const CHUNK: usize = 1000;

/// Enqueue `items` through `instance` (`messages.enqueue`), [`CHUNK`] at a time; per
/// entry what the component answered (`{"id", "created"}`). Chunks before a refused one
/// stay enqueued (enqueuing the same list again adds nothing); the refused item is named
/// within the whole list (`items[1234].message.to`).
pub async fn enqueue(
    instance: &mut crate::Instance,
    items: &[Value],
) -> Result<Vec<Value>, crate::connect::ConnectError> {
    use crate::connect::ConnectError;
    let mut out = Vec::with_capacity(items.len());
    for (n, chunk) in items.chunks(CHUNK).enumerate() {
        let answer = instance
            .invoke("messages.enqueue", &json!({ "items": chunk }))
            .await
            .map_err(|e| ConnectError::Host(format!("the component failed: {e}")))?
            .map_err(|e| ConnectError::Host(e.to_string()))?;
        match answer {
            Err(mut e) => {
                if let Some(f) = &e.field
                    && let Some(rest) = f.strip_prefix("items[")
                    && let Some((i, tail)) = rest.split_once(']')
                    && let Ok(i) = i.parse::<usize>()
                {
                    e.field = Some(format!("items[{}]{tail}", n * CHUNK + i));
                }
                return Err(ConnectError::Component(Box::new(e)));
            }
            Ok(v) => out.extend(v.as_array().into_iter().flatten().cloned()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_take_quotes_commas_and_crlf() {
        let rows =
            csv_objects("to,1,name\r\n+1555,\"Ann, Jr.\",\"say \"\"hi\"\"\"\r\n+1556,Bo,x\n")
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["1"], "Ann, Jr.");
        assert_eq!(rows[0]["name"], "say \"hi\"");
        assert_eq!(rows[1]["to"], "+1556");
        assert!(csv_objects("to,1\n+1555\n").is_err(), "a short row");
        assert!(csv_objects("to\n\"open\n").is_err(), "an open quote");
    }

    #[test]
    fn a_recipient_becomes_a_keyed_template_item() {
        let c = Campaign {
            name: "spring",
            template: "sale",
            language: "en_US",
            not_before_ms: Some(5),
        };
        let row = json!({ "to": " +15550001 ", "2": "B", "1": "A", "city": "Lyon" });
        let item = c.items(&[row]).unwrap().remove(0);
        assert_eq!(item["key"], "spring:+15550001");
        assert_eq!(item["message"]["to"], "+15550001");
        let body = &item["message"]["content"]["template"]["body"];
        assert_eq!(body[0]["value"]["text"], "A");
        assert_eq!(body[1]["value"]["text"], "B");
        assert_eq!(body[2]["name"], "city");
        assert_eq!(item["not_before_ms"], 5);
        let err = c
            .items(&[json!({ "to": "+1" }), json!({ "1": "x" })])
            .unwrap_err();
        assert_eq!(err, "recipient 1 has no `to`");
    }

    #[test]
    fn recipients_are_json_or_csv() {
        assert_eq!(recipients("[{\"to\":\"+1\"}]").unwrap()[0]["to"], "+1");
        assert_eq!(
            recipients("{\"to\":\"+1\"}\n{\"to\":\"+2\"}\n")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(recipients("to\n+1\n").unwrap()[0]["to"], "+1");
        assert!(recipients("[1]").is_err());
    }
}
