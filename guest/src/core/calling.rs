//! WhatsApp Business Calling, the signalling side: the permission to call a user, a call
//! started with an SDP offer, a user's call pre-accepted, accepted or rejected, a call
//! ended. (Meta's "Calling API": `/{phone-number-id}/call_permissions`, `/calls`.)

use super::error::Error;
use super::graph::{Request, read_json};
use super::settings::Settings;
use serde_json::{Value, json};

/// A call's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A user's call, answered early: the SDP answer.
    PreAccept(String),
    /// A user's call, accepted: the SDP answer.
    Accept(String),
    /// A user's call, declined.
    Reject,
    /// Any call, ended.
    Terminate,
}

/// Whether the business may call a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `granted`, `pending`, `denied`, `no_permission`, `temporary`.
    pub status: String,
    /// When it lapses.
    pub expires_at: Option<u64>,
    /// `start_call` is allowed now.
    pub can_call: bool,
    /// `send_call_permission_request` is allowed now.
    pub can_request: bool,
}

/// A user's `wa_id`: digits, a leading `+` dropped.
fn wa_id<'a>(field: &str, user: &'a str) -> Result<&'a str, Error> {
    let d = user.strip_prefix('+').unwrap_or(user);
    if (6..=20).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) {
        Ok(d)
    } else {
        Err(Error::invalid(field, "digits of a wa_id"))
    }
}

fn sdp(field: &str, text: &str) -> Result<(), Error> {
    // An SDP description starts with its version line (RFC 8866).
    if text.starts_with("v=0") && text.len() <= 64 << 10 {
        Ok(())
    } else {
        Err(Error::invalid(field, "SDP (v=0 …)"))
    }
}

/// `GET /{phone-number-id}/call_permissions?user_wa_id=…`.
pub fn permission_request(s: &Settings, user: &str) -> Result<Request, Error> {
    Ok(Request::get(s.url(&format!(
        "{}/call_permissions?user_wa_id={}",
        s.phone_number_id()?,
        wa_id("user", user)?
    ))))
}

/// Read a permission.
pub fn read_permission(status: u16, body: &[u8]) -> Result<Permission, Error> {
    let v: Value = read_json(status, body)?;
    let can = |name: &str| {
        v["actions"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["action_name"] == name && x["can_perform_action"] == true)
        })
    };
    Ok(Permission {
        status: v["permission"]["status"]
            .as_str()
            .unwrap_or("no_permission")
            .to_string(),
        expires_at: v["permission"]["expiration_time"].as_u64(),
        can_call: can("start_call"),
        can_request: can("send_call_permission_request"),
    })
}

/// `POST /{phone-number-id}/calls`, `connect`: a call to `to` with the platform's offer.
pub fn connect_request(
    s: &Settings,
    to: &str,
    offer: &str,
    callback_data: Option<&str>,
) -> Result<Request, Error> {
    sdp("sdp-offer", offer)?;
    let mut body = json!({
        "messaging_product": "whatsapp",
        "to": wa_id("to", to)?,
        "action": "connect",
        "session": { "sdp_type": "offer", "sdp": offer },
    });
    if let Some(d) = callback_data {
        if d.chars().count() > 512 {
            return Err(Error::invalid("callback-data", "at most 512 characters"));
        }
        body["biz_opaque_callback_data"] = d.into();
    }
    Ok(Request::post_json(
        s.url(&format!("{}/calls", s.phone_number_id()?)),
        &body,
    ))
}

/// Read a started call's id.
pub fn read_call_id(status: u16, body: &[u8]) -> Result<String, Error> {
    let v: Value = read_json(status, body)?;
    v["calls"][0]["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::Other(format!("no id: {}", super::error::excerpt(body))))
}

/// `POST /{phone-number-id}/calls` with the call's id: pre-accept, accept, reject or
/// terminate.
pub fn action_request(s: &Settings, call_id: &str, action: &Action) -> Result<Request, Error> {
    if call_id.is_empty() || call_id.len() > 256 || call_id.contains(char::is_whitespace) {
        return Err(Error::invalid("call-id", "a wacid"));
    }
    let (name, answer) = match action {
        Action::PreAccept(a) => ("pre_accept", Some(a)),
        Action::Accept(a) => ("accept", Some(a)),
        Action::Reject => ("reject", None),
        Action::Terminate => ("terminate", None),
    };
    let mut body = json!({ "messaging_product": "whatsapp", "call_id": call_id, "action": name });
    if let Some(a) = answer {
        sdp("action", a)?;
        body["session"] = json!({ "sdp_type": "answer", "sdp": a });
    }
    Ok(Request::post_json(
        s.url(&format!("{}/calls", s.phone_number_id()?)),
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
    fn calls_are_checked_before_they_are_signalled() {
        let r = connect_request(
            &s(),
            "+15551234567",
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n",
            Some("lead-7"),
        )
        .unwrap();
        let body: Value = serde_json::from_slice(r.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            (body["to"].as_str(), body["session"]["sdp_type"].as_str()),
            (Some("15551234567"), Some("offer"))
        );
        assert!(connect_request(&s(), "someone", "v=0", None).is_err());
        assert!(connect_request(&s(), "15551234567", "not sdp", None).is_err());
        let r = action_request(&s(), "wacid.1", &Action::Accept("v=0\r\n".into())).unwrap();
        assert!(
            String::from_utf8_lossy(r.body.as_ref().unwrap()).contains(r#""sdp_type":"answer""#)
        );
        assert!(action_request(&s(), "wacid 1", &Action::Reject).is_err());
        let p = read_permission(200, br#"{"messaging_product":"whatsapp","permission":{"status":"granted","expiration_time":1735689600},"actions":[{"action_name":"start_call","can_perform_action":true},{"action_name":"send_call_permission_request","can_perform_action":false}]}"#).unwrap();
        assert_eq!(
            (p.status.as_str(), p.expires_at, p.can_call, p.can_request),
            ("granted", Some(1735689600), true, false)
        );
        assert_eq!(
            read_call_id(
                200,
                br#"{"messaging_product":"whatsapp","calls":[{"id":"wacid.ABG"}]}"#
            )
            .unwrap(),
            "wacid.ABG"
        );
    }
}
