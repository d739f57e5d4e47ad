//! Template messages: parameters, header, buttons, limited-time offer and carousel cards.

use super::fields::{required, source};
use super::plain::location;
use super::{
    Parameter, ParameterValue, Template, TemplateButton, TemplateHeader, limits, template_limits,
};
use crate::core::error::Error;
use serde_json::{Value, json};

fn parameters(field: &str, ps: &[Parameter]) -> Result<Vec<Value>, Error> {
    let named = ps.iter().filter(|p| p.name.is_some()).count();
    if named != 0 && named != ps.len() {
        return Err(Error::invalid(
            field,
            "mixes NAMED and positional parameters; a template uses one style",
        ));
    }
    let mut out = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let mut v = match &p.value {
            ParameterValue::Text(t) => {
                required(
                    &format!("{f}.value"),
                    t,
                    template_limits::TEXT_PARAMETER_MAX,
                )?;
                if t.contains('\n') && field.ends_with("header") {
                    return Err(Error::invalid(
                        format!("{f}.value"),
                        "a header parameter cannot contain a new line",
                    ));
                }
                json!({ "type": "text", "text": t })
            }
            ParameterValue::Currency {
                fallback,
                code,
                amount_1000,
            } => {
                required(&format!("{f}.fallback-value"), fallback, 256)?;
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(Error::invalid(
                        format!("{f}.code"),
                        "must be an ISO 4217 code like USD",
                    ));
                }
                json!({ "type": "currency", "currency": { "fallback_value": fallback, "code": code, "amount_1000": amount_1000 } })
            }
            ParameterValue::DateTime(fallback) => {
                required(&format!("{f}.fallback-value"), fallback, 256)?;
                json!({ "type": "date_time", "date_time": { "fallback_value": fallback } })
            }
        };
        if let Some(n) = &p.name {
            if n.is_empty()
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::invalid(
                    format!("{f}.name"),
                    "must be lowercase letters, digits and underscores",
                ));
            }
            v["parameter_name"] = n.as_str().into();
        }
        out.push(v);
    }
    Ok(out)
}

fn template_header(field: &str, h: &TemplateHeader) -> Result<Value, Error> {
    let p = match h {
        TemplateHeader::Text(p) => parameters(field, std::slice::from_ref(p))?.remove(0),
        TemplateHeader::Image(s) => json!({ "type": "image", "image": source(field, s)? }),
        TemplateHeader::Video(s) => json!({ "type": "video", "video": source(field, s)? }),
        TemplateHeader::Document(s, name) => {
            let mut d = source(field, s)?;
            if let Some(n) = name {
                required(&format!("{field}.filename"), n, limits::FILENAME_MAX)?;
                d["filename"] = n.as_str().into();
            }
            json!({ "type": "document", "document": d })
        }
        TemplateHeader::Location(l) => {
            let loc = location(l).map_err(|e| match e {
                Error::InvalidInput { field: f, reason } => {
                    Error::invalid(f.replace("content.location", field), reason)
                }
                other => other,
            })?;
            json!({ "type": "location", "location": loc })
        }
    };
    Ok(json!({ "type": "header", "parameters": [p] }))
}

fn template_buttons(field: &str, bs: &[(u32, TemplateButton)]) -> Result<Vec<Value>, Error> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (i, (index, b)) in bs.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if *index >= template_limits::BUTTONS_MAX || seen.contains(index) {
            return Err(Error::invalid(
                format!("{f}.index"),
                "must be a distinct button position from 0 to 9",
            ));
        }
        seen.push(*index);
        let (sub_type, parameter) = match b {
            TemplateButton::QuickReply(p) => {
                required(&format!("{f}.payload"), p, 1000)?;
                ("quick_reply", json!({ "type": "payload", "payload": p }))
            }
            TemplateButton::Url(suffix) => {
                required(&format!("{f}.url"), suffix, limits::URL_MAX)?;
                ("url", json!({ "type": "text", "text": suffix }))
            }
            TemplateButton::CopyCode(code) => {
                required(&format!("{f}.copy-code"), code, template_limits::COUPON_MAX)?;
                (
                    "copy_code",
                    json!({ "type": "coupon_code", "coupon_code": code }),
                )
            }
            TemplateButton::Otp(code) => {
                required(&format!("{f}.otp"), code, template_limits::OTP_MAX)?;
                ("url", json!({ "type": "text", "text": code }))
            }
            TemplateButton::Flow {
                flow_token,
                action_data_json,
            } => {
                let mut action = json!({});
                if let Some(t) = flow_token {
                    action["flow_token"] = t.as_str().into();
                }
                if let Some(d) = action_data_json {
                    let data: Value = serde_json::from_str(d)
                        .ok()
                        .filter(Value::is_object)
                        .ok_or_else(|| {
                            Error::invalid(format!("{f}.action-data-json"), "must be a JSON object")
                        })?;
                    action["flow_action_data"] = data;
                }
                ("flow", json!({ "type": "action", "action": action }))
            }
        };
        out.push(json!({ "type": "button", "sub_type": sub_type, "index": index.to_string(), "parameters": [parameter] }));
    }
    Ok(out)
}

/// Meta's `template` message.
pub(super) fn template(t: &Template) -> Result<Value, Error> {
    if t.name.is_empty()
        || t.name.len() > template_limits::NAME_MAX
        || !t
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::invalid(
            "content.template.name",
            "must be 1 to 512 lowercase letters, digits and underscores",
        ));
    }
    if t.language.trim().is_empty() || t.language.len() > 16 {
        return Err(Error::invalid(
            "content.template.language",
            "must be a language code such as en_US",
        ));
    }
    let mut components = Vec::new();
    if let Some(h) = &t.header {
        components.push(template_header("content.template.header", h)?);
    }
    if !t.body.is_empty() {
        components.push(
            json!({ "type": "body", "parameters": parameters("content.template.body", &t.body)? }),
        );
    }
    if let Some(ms) = t.offer_expires_at_ms {
        components.push(json!({ "type": "limited_time_offer", "parameters": [
            { "type": "limited_time_offer", "limited_time_offer": { "expiration_time_ms": ms } }] }));
    }
    components.extend(template_buttons("content.template.buttons", &t.buttons)?);
    if !t.carousel.is_empty() {
        if t.carousel.len() > template_limits::CARDS_MAX {
            return Err(Error::invalid(
                "content.template.carousel",
                format!("must hold at most {} cards", template_limits::CARDS_MAX),
            ));
        }
        let mut cards = Vec::new();
        for (i, c) in t.carousel.iter().enumerate() {
            let f = format!("content.template.carousel[{i}]");
            if !matches!(
                c.header,
                TemplateHeader::Image(_) | TemplateHeader::Video(_)
            ) {
                return Err(Error::invalid(
                    format!("{f}.header"),
                    "a carousel card's header is an image or a video",
                ));
            }
            let mut comps = vec![template_header(&format!("{f}.header"), &c.header)?];
            if !c.body.is_empty() {
                comps.push(json!({ "type": "body", "parameters": parameters(&format!("{f}.body"), &c.body)? }));
            }
            comps.extend(template_buttons(&format!("{f}.buttons"), &c.buttons)?);
            cards.push(json!({ "card_index": i, "components": comps }));
        }
        components.push(json!({ "type": "carousel", "cards": cards }));
    }
    let mut v = json!({ "name": t.name, "language": { "code": t.language } });
    if !components.is_empty() {
        v["components"] = Value::Array(components);
    }
    Ok(v)
}
