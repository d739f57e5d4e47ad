//! The interactive kinds: reply buttons, list, CTA URL, flow, location request, product,
//! product list and catalog, each an `interactive` object of its own `type`.

use super::fields::{count, optional, required, source, url};
use super::{Flow, Header, ListSection, ProductSection, ReplyButton, limits};
use crate::core::error::Error;
use serde_json::{Map, Value, json};

fn header(field: &str, h: &Header) -> Result<Value, Error> {
    Ok(match h {
        Header::Text(t) => {
            required(field, t, limits::HEADER_TEXT_MAX)?;
            json!({ "type": "text", "text": t })
        }
        Header::Image(s) => json!({ "type": "image", "image": source(field, s)? }),
        Header::Video(s) => json!({ "type": "video", "video": source(field, s)? }),
        Header::Document(s) => json!({ "type": "document", "document": source(field, s)? }),
    })
}

/// `header`, `body`, `footer` of an interactive message.
fn frame(
    h: Option<&Header>,
    body: Option<&str>,
    body_max: usize,
    footer: Option<&str>,
) -> Result<Map<String, Value>, Error> {
    let mut o = Map::new();
    if let Some(h) = h {
        o.insert("header".into(), header("content.header", h)?);
    }
    if let Some(b) = body {
        required("content.body", b, body_max)?;
        o.insert("body".into(), json!({ "text": b }));
    }
    if let Some(f) = footer {
        required("content.footer", f, limits::FOOTER_MAX)?;
        o.insert("footer".into(), json!({ "text": f }));
    }
    Ok(o)
}

fn interactive(kind: &str, mut o: Map<String, Value>, action: Value) -> Value {
    o.insert("type".into(), kind.into());
    o.insert("action".into(), action);
    Value::Object(o)
}

/// Meta's `interactive` message of type `button` (reply buttons).
pub(super) fn buttons(
    header: Option<&Header>,
    body: &str,
    footer: Option<&str>,
    buttons: &[ReplyButton],
) -> Result<Value, Error> {
    let o = frame(header, Some(body), limits::INTERACTIVE_BODY_MAX, footer)?;
    if buttons.is_empty() || buttons.len() > limits::BUTTONS_MAX {
        return Err(Error::invalid(
            "content.buttons",
            format!("must hold 1 to {} buttons", limits::BUTTONS_MAX),
        ));
    }
    let mut seen = Vec::new();
    for (i, b) in buttons.iter().enumerate() {
        required(
            &format!("content.buttons[{i}].title"),
            &b.title,
            limits::BUTTON_TITLE_MAX,
        )?;
        required(
            &format!("content.buttons[{i}].id"),
            &b.id,
            limits::BUTTON_ID_MAX,
        )?;
        if seen.contains(&b.id) {
            return Err(Error::invalid(
                format!("content.buttons[{i}].id"),
                "must be unique within the message",
            ));
        }
        if buttons.iter().filter(|x| x.title == b.title).count() > 1 {
            return Err(Error::invalid(
                format!("content.buttons[{i}].title"),
                "must be unique within the message",
            ));
        }
        seen.push(b.id.clone());
    }
    let buttons: Vec<Value> = buttons
        .iter()
        .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
        .collect();
    Ok(interactive("button", o, json!({ "buttons": buttons })))
}

/// Meta's `interactive` message of type `list`.
pub(super) fn list(
    header: Option<&str>,
    body: &str,
    footer: Option<&str>,
    button: &str,
    sections: &[ListSection],
) -> Result<Value, Error> {
    let h = header.map(|t| Header::Text(t.to_owned()));
    let o = frame(h.as_ref(), Some(body), limits::LIST_BODY_MAX, footer)?;
    required("content.button", button, limits::LIST_BUTTON_MAX)?;
    count(
        "content.sections",
        "sections",
        sections.len(),
        limits::LIST_SECTIONS_MAX,
    )?;
    let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
    count(
        "content.sections",
        "rows in all",
        rows,
        limits::LIST_ROWS_MAX,
    )?;
    let mut ids = Vec::new();
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        if sections.len() > 1 && s.title.is_none() {
            return Err(Error::invalid(
                format!("content.sections[{i}].title"),
                "is required when there are several sections",
            ));
        }
        optional(
            &format!("content.sections[{i}].title"),
            s.title.as_deref(),
            limits::SECTION_TITLE_MAX,
        )?;
        let mut rows = Vec::new();
        for (j, r) in s.rows.iter().enumerate() {
            let f = format!("content.sections[{i}].rows[{j}]");
            required(&format!("{f}.id"), &r.id, limits::ROW_ID_MAX)?;
            required(&format!("{f}.title"), &r.title, limits::ROW_TITLE_MAX)?;
            optional(
                &format!("{f}.description"),
                r.description.as_deref(),
                limits::ROW_DESCRIPTION_MAX,
            )?;
            if ids.contains(&r.id) {
                return Err(Error::invalid(
                    format!("{f}.id"),
                    "must be unique within the message",
                ));
            }
            ids.push(r.id.clone());
            let mut row = json!({ "id": r.id, "title": r.title });
            if let Some(d) = &r.description {
                row["description"] = d.as_str().into();
            }
            rows.push(row);
        }
        let mut sec = json!({ "rows": rows });
        if let Some(t) = &s.title {
            sec["title"] = t.as_str().into();
        }
        out.push(sec);
    }
    Ok(interactive(
        "list",
        o,
        json!({ "button": button, "sections": out }),
    ))
}

/// Meta's `interactive` message of type `cta_url`.
pub(super) fn cta_url(
    header: Option<&Header>,
    body: &str,
    footer: Option<&str>,
    display_text: &str,
    link: &str,
) -> Result<Value, Error> {
    let o = frame(header, Some(body), limits::INTERACTIVE_BODY_MAX, footer)?;
    required("content.display-text", display_text, limits::CTA_TEXT_MAX)?;
    url("content.url", link)?;
    Ok(interactive(
        "cta_url",
        o,
        json!({ "name": "cta_url", "parameters": { "display_text": display_text, "url": link } }),
    ))
}

/// Meta's `interactive` message of type `flow`.
pub(super) fn flow(f: &Flow) -> Result<Value, Error> {
    let o = frame(
        f.header.as_ref(),
        Some(&f.body),
        limits::INTERACTIVE_BODY_MAX,
        f.footer.as_deref(),
    )?;
    required("content.cta", &f.cta, limits::FLOW_CTA_MAX)?;
    let mut p = json!({ "flow_message_version": "3", "flow_cta": f.cta });
    match (&f.flow_id, &f.flow_name) {
        (Some(id), None) => p["flow_id"] = id.as_str().into(),
        (None, Some(n)) => p["flow_name"] = n.as_str().into(),
        _ => {
            return Err(Error::invalid(
                "content.flow-id",
                "give exactly one of flow-id and flow-name",
            ));
        }
    }
    if let Some(t) = &f.flow_token {
        p["flow_token"] = t.as_str().into();
    }
    if f.draft {
        p["mode"] = "draft".into();
    }
    match &f.screen {
        Some(screen) => {
            required("content.screen", screen, 256)?;
            p["flow_action"] = "navigate".into();
            let mut payload = json!({ "screen": screen });
            if let Some(d) = &f.data_json {
                let data: Value = serde_json::from_str(d)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or_else(|| Error::invalid("content.data-json", "must be a JSON object"))?;
                payload["data"] = data;
            }
            p["flow_action_payload"] = payload;
        }
        None => {
            if f.data_json.is_some() {
                return Err(Error::invalid(
                    "content.data-json",
                    "needs a screen to navigate to",
                ));
            }
            p["flow_action"] = "data_exchange".into();
        }
    }
    Ok(interactive(
        "flow",
        o,
        json!({ "name": "flow", "parameters": p }),
    ))
}

/// Meta's `interactive` message of type `location_request_message`.
pub(super) fn location_request(body: &str) -> Result<Value, Error> {
    let o = frame(None, Some(body), limits::INTERACTIVE_BODY_MAX, None)?;
    Ok(interactive(
        "location_request_message",
        o,
        json!({ "name": "send_location" }),
    ))
}

/// Meta's `interactive` message of type `call_permission_request`.
pub(super) fn call_permission_request(body: &str) -> Result<Value, Error> {
    let o = frame(None, Some(body), limits::INTERACTIVE_BODY_MAX, None)?;
    Ok(interactive(
        "call_permission_request",
        o,
        json!({ "name": "call_permission_request" }),
    ))
}

/// Meta's `interactive` message of type `product` (one product).
pub(super) fn product(
    body: Option<&str>,
    footer: Option<&str>,
    catalog_id: &str,
    product_retailer_id: &str,
) -> Result<Value, Error> {
    let o = frame(None, body, limits::INTERACTIVE_BODY_MAX, footer)?;
    required("content.catalog-id", catalog_id, 64)?;
    required("content.product-retailer-id", product_retailer_id, 100)?;
    Ok(interactive(
        "product",
        o,
        json!({ "catalog_id": catalog_id, "product_retailer_id": product_retailer_id }),
    ))
}

/// Meta's `interactive` message of type `product_list` (several products).
pub(super) fn product_list(
    header: &str,
    body: &str,
    footer: Option<&str>,
    catalog_id: &str,
    sections: &[ProductSection],
) -> Result<Value, Error> {
    let o = frame(
        Some(&Header::Text(header.to_owned())),
        Some(body),
        limits::INTERACTIVE_BODY_MAX,
        footer,
    )?;
    required("content.catalog-id", catalog_id, 64)?;
    count(
        "content.sections",
        "sections",
        sections.len(),
        limits::PRODUCT_SECTIONS_MAX,
    )?;
    let n: usize = sections.iter().map(|s| s.product_retailer_ids.len()).sum();
    count(
        "content.sections",
        "products in all",
        n,
        limits::PRODUCTS_MAX,
    )?;
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        required(
            &format!("content.sections[{i}].title"),
            &s.title,
            limits::SECTION_TITLE_MAX,
        )?;
        let items: Vec<Value> = s
            .product_retailer_ids
            .iter()
            .map(|p| json!({ "product_retailer_id": p }))
            .collect();
        out.push(json!({ "title": s.title, "product_items": items }));
    }
    Ok(interactive(
        "product_list",
        o,
        json!({ "catalog_id": catalog_id, "sections": out }),
    ))
}

/// Meta's `interactive` message of type `catalog_message`.
pub(super) fn catalog(
    body: &str,
    footer: Option<&str>,
    thumbnail_product_retailer_id: Option<&str>,
) -> Result<Value, Error> {
    let o = frame(None, Some(body), limits::INTERACTIVE_BODY_MAX, footer)?;
    let mut a = json!({ "name": "catalog_message" });
    if let Some(t) = thumbnail_product_retailer_id {
        a["parameters"] = json!({ "thumbnail_product_retailer_id": t });
    }
    Ok(interactive("catalog_message", o, a))
}

#[cfg(test)]
mod tests {
    use super::super::tests::field_of;
    use super::super::*;

    #[test]
    fn buttons_need_unique_ids_and_titles() {
        let c = Content::Buttons {
            header: None,
            body: "b".into(),
            footer: None,
            buttons: vec![
                ReplyButton {
                    id: "a".into(),
                    title: "Yes".into(),
                },
                ReplyButton {
                    id: "a".into(),
                    title: "No".into(),
                },
            ],
        };
        assert_eq!(field_of(build(&c)), "content.buttons[1].id");
    }

    #[test]
    fn flows_need_exactly_one_of_id_and_name_and_object_data() {
        let f = |id: Option<&str>, name: Option<&str>, data: Option<&str>| {
            Content::Flow(Flow {
                header: None,
                body: "b".into(),
                footer: None,
                flow_id: id.map(Into::into),
                flow_name: name.map(Into::into),
                cta: "Book".into(),
                flow_token: Some("t".into()),
                draft: false,
                screen: Some("WELCOME".into()),
                data_json: data.map(Into::into),
            })
        };
        assert!(build(&f(Some("1"), None, Some("{\"a\":1}"))).is_ok());
        assert_eq!(
            field_of(build(&f(Some("1"), Some("n"), None))),
            "content.flow-id"
        );
        assert_eq!(field_of(build(&f(None, None, None))), "content.flow-id");
        assert_eq!(
            field_of(build(&f(Some("1"), None, Some("[1]")))),
            "content.data-json"
        );
    }
}
