//! Conversational automation (Meta's "Conversational components"): the welcome message
//! sent on a user's first contact, up to 3 ice breakers (prompts) and up to 30 commands.

use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde_json::{Value, json};

/// One command: `/name` and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Letters, digits and `_`, at most 30.
    pub name: String,
    /// At most 256 characters.
    pub description: String,
}

/// A number's conversational automation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Automation {
    /// Whether Meta sends a `request_welcome` message on a user's first contact.
    pub welcome_message: bool,
    /// Ice breakers: at most 3, each at most 80 characters.
    pub prompts: Vec<String>,
    /// Commands: at most 30.
    pub commands: Vec<Command>,
}

/// Meta's limits (`ConversationalAutomationRequest`).
pub const MAX_PROMPTS: usize = 3;
/// At most 80 characters a prompt.
pub const PROMPT_CHARS: usize = 80;
/// At most 30 commands.
pub const MAX_COMMANDS: usize = 30;

/// `GET /{phone-number-id}?fields=conversational_automation`.
pub fn get_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(s.url(&format!(
        "{}?fields=conversational_automation",
        s.phone_number_id()?
    ))))
}

/// Read it (none set: welcome off, no prompts, no commands).
pub fn read(status: u16, body: &[u8]) -> Result<Automation, Error> {
    let v: Value = read_json(status, body)?;
    let a = &v["conversational_automation"];
    let list = |k: &str| a[k].as_array().map_or(&[][..], Vec::as_slice);
    Ok(Automation {
        welcome_message: a["enable_welcome_message"].as_bool().unwrap_or(false),
        prompts: list("prompts").iter().map(super::text).collect(),
        commands: list("commands")
            .iter()
            .map(|c| Command {
                name: super::text(&c["command_name"]),
                description: super::text(&c["command_description"]),
            })
            .collect(),
    })
}

/// `POST /{phone-number-id}/conversational_automation`: all three replaced, after checking
/// Meta's limits.
pub fn set_request(s: &Settings, a: &Automation) -> Result<Request, Error> {
    if a.prompts.len() > MAX_PROMPTS {
        return Err(Error::invalid(
            "automation.prompts",
            format!("at most {MAX_PROMPTS}"),
        ));
    }
    for (i, p) in a.prompts.iter().enumerate() {
        let n = p.chars().count();
        if n == 0 || n > PROMPT_CHARS {
            return Err(Error::invalid(
                format!("automation.prompts[{i}]"),
                format!("must be 1 to {PROMPT_CHARS} characters"),
            ));
        }
    }
    if a.commands.len() > MAX_COMMANDS {
        return Err(Error::invalid(
            "automation.commands",
            format!("at most {MAX_COMMANDS}"),
        ));
    }
    for (i, c) in a.commands.iter().enumerate() {
        let name_ok = !c.name.is_empty()
            && c.name.len() <= 30
            && c.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(Error::invalid(
                format!("automation.commands[{i}].name"),
                "1 to 30 of A-Z, a-z, 0-9, _",
            ));
        }
        let n = c.description.chars().count();
        if n == 0 || n > 256 {
            return Err(Error::invalid(
                format!("automation.commands[{i}].description"),
                format!("must be 1 to {} characters", 256),
            ));
        }
        if a.commands[..i]
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&c.name))
        {
            return Err(Error::invalid(
                format!("automation.commands[{i}].name"),
                "is given twice",
            ));
        }
    }
    let commands: Vec<Value> = a
        .commands
        .iter()
        .map(|c| json!({ "command_name": c.name, "command_description": c.description }))
        .collect();
    let body = json!({
        "enable_welcome_message": a.welcome_message,
        "prompts": a.prompts,
        "commands": commands,
    });
    Ok(Request::post_json(
        s.url(&format!(
            "{}/conversational_automation",
            s.phone_number_id()?
        )),
        &body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Settings {
        Settings::from_pairs([("phone-number-id".to_string(), "106540352242922".to_string())])
    }

    #[test]
    fn meta_limits_are_checked_before_sending() {
        let ok = Automation {
            welcome_message: true,
            prompts: vec!["Book a flight".into()],
            commands: vec![Command {
                name: "tickets".into(),
                description: "Book flight tickets".into(),
            }],
        };
        let r = set_request(&s(), &ok).unwrap();
        assert!(
            r.url
                .ends_with("/106540352242922/conversational_automation")
        );
        let body: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["commands"][0]["command_name"], "tickets");
        let mut bad = ok.clone();
        bad.prompts = vec!["a".into(); 4];
        assert!(set_request(&s(), &bad).is_err());
        bad = ok.clone();
        bad.commands[0].name = "/tickets".into();
        assert!(
            matches!(set_request(&s(), &bad), Err(Error::InvalidInput { field, .. }) if field == "automation.commands[0].name")
        );
        bad = ok.clone();
        bad.commands.push(bad.commands[0].clone());
        assert!(set_request(&s(), &bad).is_err(), "a command twice");
        let read_back = read(200, br#"{"conversational_automation":{"enable_welcome_message":true,"prompts":["Book a flight"],"commands":[{"command_name":"tickets","command_description":"Book flight tickets"}]},"id":"1"}"#).unwrap();
        assert_eq!(read_back, ok);
        assert_eq!(read(200, br#"{"id":"1"}"#).unwrap(), Automation::default());
    }
}
