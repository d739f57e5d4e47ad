//! Template pre-flight: what a template's components expect (its definition, derived
//! from Meta's template JSON), and whether a message fits it. A mismatch is refused
//! locally with the code Meta would answer: 132000 (number of parameters) or 132012
//! (parameter format).

use super::error::{Error, GraphError};
use super::outgoing::{Template, TemplateButton, TemplateHeader};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a template expects.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TemplateDefinition {
    /// `NAMED` parameters (`{{first_name}}`) rather than positional (`{{1}}`).
    pub named: bool,
    /// The header's format (`TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`), if any.
    pub header_format: Option<String>,
    /// Placeholders in a text header.
    pub header_params: Vec<String>,
    /// Placeholders in the body, in order.
    pub body_params: Vec<String>,
    /// The buttons' types, by index (`QUICK_REPLY`, `URL`, `COPY_CODE`, `OTP`, `FLOW`, …).
    pub buttons: Vec<String>,
}

/// The `{{…}}` placeholders of a text, in order.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { break };
        out.push(after[..j].trim().to_string());
        rest = &after[j + 2..];
    }
    out
}

/// The definition of a template as Meta returns it (`components`, `parameter_format`).
pub fn definition(template: &Value) -> TemplateDefinition {
    let mut d = TemplateDefinition::default();
    let components = template["components"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for c in components {
        let text = c["text"].as_str().unwrap_or("");
        match c["type"].as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("HEADER") => {
                let format = c["format"].as_str().unwrap_or("TEXT").to_ascii_uppercase();
                if format == "TEXT" {
                    d.header_params = placeholders(text);
                }
                d.header_format = Some(format);
            }
            Some("BODY") => d.body_params = placeholders(text),
            Some("BUTTONS") => {
                d.buttons = c["buttons"]
                    .as_array()
                    .map(|b| {
                        b.iter()
                            .map(|b| b["type"].as_str().unwrap_or("").to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
            }
            _ => {}
        }
    }
    let all = d.header_params.iter().chain(&d.body_params);
    d.named = template["parameter_format"]
        .as_str()
        .is_some_and(|f| f.eq_ignore_ascii_case("NAMED"))
        || all.clone().any(|p| p.parse::<u32>().is_err());
    d
}

fn mismatch(code: i32, message: String) -> Error {
    Error::TemplateMismatch(GraphError {
        code,
        message,
        ..GraphError::default()
    })
}

/// Whether `t` fits `d`; the error says what Meta would have said.
pub fn check(t: &Template, d: &TemplateDefinition) -> Result<(), Error> {
    // Header.
    let given = t.header.as_ref().map(|h| match h {
        TemplateHeader::Text(_) => "TEXT",
        TemplateHeader::Image(_) => "IMAGE",
        TemplateHeader::Video(_) => "VIDEO",
        TemplateHeader::Document(..) => "DOCUMENT",
        TemplateHeader::Location(_) => "LOCATION",
    });
    let expected = d
        .header_format
        .as_deref()
        .filter(|f| *f != "TEXT" || !d.header_params.is_empty());
    if given != expected {
        return Err(match (expected, given) {
            (Some("TEXT"), None) | (None, Some("TEXT")) => mismatch(
                132000,
                format!("the header expects {} parameter(s)", d.header_params.len()),
            ),
            _ => mismatch(
                132012,
                format!(
                    "the header is {}, the message gives {}",
                    expected.unwrap_or("without parameters"),
                    given.unwrap_or("none")
                ),
            ),
        });
    }
    // Body: count, style, names.
    if t.body.len() != d.body_params.len() {
        return Err(mismatch(
            132000,
            format!(
                "the body expects {} parameters, the message gives {}",
                d.body_params.len(),
                t.body.len()
            ),
        ));
    }
    if t.body.iter().any(|p| p.name.is_some() != d.named) {
        let style = if d.named { "NAMED" } else { "positional" };
        return Err(mismatch(
            132012,
            format!("the template takes {style} parameters"),
        ));
    }
    if d.named {
        for p in &t.body {
            let name = p.name.as_deref().unwrap_or("");
            if !d.body_params.iter().any(|n| n == name) {
                return Err(mismatch(
                    132000,
                    format!("the template has no parameter named {name}"),
                ));
            }
        }
    }
    // Buttons: the index exists and the kind fits.
    for (index, b) in &t.buttons {
        let Some(kind) = d.buttons.get(*index as usize) else {
            return Err(mismatch(
                132000,
                format!("the template has no button {index}"),
            ));
        };
        let fits = match b {
            TemplateButton::QuickReply(_) => kind == "QUICK_REPLY",
            TemplateButton::Url(_) => kind == "URL",
            TemplateButton::CopyCode(_) => kind == "COPY_CODE",
            TemplateButton::Otp(_) => kind == "OTP" || kind == "URL",
            TemplateButton::Flow { .. } => kind == "FLOW",
        };
        if !fits {
            return Err(mismatch(132012, format!("button {index} is {kind}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outgoing::{MediaSource, Parameter, ParameterValue};
    use serde_json::json;

    fn order_update() -> TemplateDefinition {
        definition(
            &json!({"name": "order_update", "parameter_format": "POSITIONAL", "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} shipped."},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Track"}, {"type": "URL", "url": "https://x/{{1}}"}]}]}),
        )
    }

    fn p(v: &str) -> Parameter {
        Parameter {
            name: None,
            value: ParameterValue::Text(v.into()),
        }
    }

    fn t(
        header: Option<TemplateHeader>,
        body: Vec<Parameter>,
        buttons: Vec<(u32, TemplateButton)>,
    ) -> Template {
        Template {
            name: "order_update".into(),
            language: "en_US".into(),
            header,
            body,
            buttons,
            carousel: vec![],
            offer_expires_at_ms: None,
        }
    }

    fn code(r: Result<(), Error>) -> i32 {
        match r {
            Err(Error::TemplateMismatch(g)) => g.code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn definitions_come_from_metas_components() {
        let d = order_update();
        assert_eq!(
            (
                d.named,
                d.header_format.as_deref(),
                d.header_params.len(),
                d.body_params.len()
            ),
            (false, Some("TEXT"), 1, 2)
        );
        assert_eq!(d.buttons, ["QUICK_REPLY", "URL"]);
        let named =
            definition(&json!({"components": [{"type": "BODY", "text": "Hi {{first_name}}"}]}));
        assert!(named.named);
        assert_eq!(named.body_params, ["first_name"]);
    }

    #[test]
    fn a_fitting_message_passes_and_each_mismatch_has_metas_code() {
        let d = order_update();
        let header = || Some(TemplateHeader::Text(p("#42")));
        assert!(
            check(
                &t(
                    header(),
                    vec![p("Ana"), p("#42")],
                    vec![
                        (0, TemplateButton::QuickReply("x".into())),
                        (1, TemplateButton::Url("42".into()))
                    ]
                ),
                &d
            )
            .is_ok()
        );
        assert_eq!(
            code(check(&t(header(), vec![p("Ana")], vec![]), &d)),
            132000
        );
        assert_eq!(
            code(check(&t(None, vec![p("Ana"), p("#42")], vec![]), &d)),
            132000
        );
        assert_eq!(
            code(check(
                &t(
                    Some(TemplateHeader::Image(MediaSource::Id("1".into()))),
                    vec![p("a"), p("b")],
                    vec![]
                ),
                &d
            )),
            132012
        );
        let named = vec![
            Parameter {
                name: Some("a".into()),
                value: ParameterValue::Text("x".into()),
            },
            p("b"),
        ];
        assert_eq!(code(check(&t(header(), named, vec![]), &d)), 132012);
        assert_eq!(
            code(check(
                &t(
                    header(),
                    vec![p("a"), p("b")],
                    vec![(2, TemplateButton::QuickReply("x".into()))]
                ),
                &d
            )),
            132000
        );
        assert_eq!(
            code(check(
                &t(
                    header(),
                    vec![p("a"), p("b")],
                    vec![(0, TemplateButton::Url("x".into()))]
                ),
                &d
            )),
            132012
        );
    }
}
