//! Numbers shared with the WhatsApp Business app ("coexistence"): a business that keeps
//! using the app on its phone onboards the same number to the Cloud API. Meta then lets
//! the business ask, once per kind and only within 24 hours of onboarding, for the app's
//! contacts and its past chats (`POST /{phone-number-id}/smb_app_data`); they arrive as
//! `smb_app_state_sync` and `history` webhooks. Such a number sends at most 20 messages
//! per second.
//!
//! Source: Meta, "Onboarding WhatsApp Business app users (aka Coexistence)": "Throughput
//! is limited to 20 messages per second for business phone numbers in this solution";
//! "you must synchronize contacts and message history within 24 hours of onboarding";
//! each sync "can only be called once" (a second call fails).

use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde_json::{Value, json};

/// Messages per second Meta allows a number shared with the WhatsApp Business app.
pub const COEXISTENCE_MPS: u32 = 20;
/// How long after onboarding a sync may be requested.
pub const SYNC_WINDOW_SECS: u64 = 24 * 3600;
/// The key, in the connection bucket, of when the business last connected through the
/// OAuth dialog or Embedded Signup (Unix seconds): the onboarding the window runs from.
pub const ONBOARDED_KEY: &str = "onboarded-at";

/// What to synchronize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// The app's contacts (`smb_app_state_sync`).
    Contacts,
    /// The app's past chats (`history`).
    History,
}

impl SyncKind {
    /// Meta's `sync_type`.
    pub fn sync_type(self) -> &'static str {
        match self {
            SyncKind::Contacts => "smb_app_state_sync",
            SyncKind::History => "history",
        }
    }

    /// The key, in the connection bucket, of when this sync was requested for `number`.
    pub fn requested_key(self, number: &str) -> String {
        format!("sync-requested/{}/{number}", self.sync_type())
    }

    fn noun(self) -> &'static str {
        match self {
            SyncKind::Contacts => "contacts",
            SyncKind::History => "history",
        }
    }
}

/// The throughput ceiling for a send from `number`: [`COEXISTENCE_MPS`] for a number the
/// `business-app-numbers` setting names, else 0 (none beyond the host's pace).
pub fn throughput_ceiling(s: &Settings, number: &str) -> u32 {
    if s.business_app_numbers.iter().any(|n| n == number) {
        COEXISTENCE_MPS
    } else {
        0
    }
}

/// Whether a `kind` sync of `number` may be asked for at `now`: not twice, and within
/// [`SYNC_WINDOW_SECS`] of `onboarded_at` when that is known (a tenant whose token was
/// set by hand has no onboarding time here, and Meta decides).
pub fn check_sync(
    kind: SyncKind,
    number: &str,
    onboarded_at: Option<u64>,
    requested_at: Option<u64>,
    now: u64,
) -> Result<(), Error> {
    if let Some(at) = requested_at {
        return Err(Error::invalid(
            "kind",
            format!(
                "the {} sync of {number} was requested at {at} (Unix seconds); Meta allows one per onboarding",
                kind.noun()
            ),
        ));
    }
    if let Some(at) = onboarded_at
        && now >= at.saturating_add(SYNC_WINDOW_SECS)
    {
        return Err(Error::invalid(
            "kind",
            format!(
                "the business onboarded at {at} (Unix seconds); Meta allows a {} sync only within 24 hours of onboarding",
                kind.noun()
            ),
        ));
    }
    Ok(())
}

/// `POST /{phone-number-id}/smb_app_data` asking for a `kind` sync of the sending number.
pub fn sync_request(s: &Settings, kind: SyncKind) -> Result<Request, Error> {
    let url = s.url(&format!("{}/smb_app_data", s.phone_number_id()?));
    Ok(Request::post_json(
        url,
        &json!({ "messaging_product": "whatsapp", "sync_type": kind.sync_type() }),
    ))
}

/// Meta's request id for a sync (the webhooks that follow do not name it; it is for
/// support requests).
pub fn read_sync(status: u16, body: &[u8]) -> Result<String, Error> {
    let v: Value = read_json(status, body)?;
    v["request_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Other(format!(
                "Meta's answer has no request_id: {}",
                crate::core::error::excerpt(body)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_is_asked_once_within_a_day_of_onboarding() {
        let on = 1_000_000;
        assert!(check_sync(SyncKind::History, "7", Some(on), None, on + 3600).is_ok());
        assert!(check_sync(SyncKind::History, "7", None, None, on + 10 * 86_400).is_ok());
        let late = check_sync(
            SyncKind::Contacts,
            "7",
            Some(on),
            None,
            on + SYNC_WINDOW_SECS,
        );
        assert!(
            matches!(&late, Err(Error::InvalidInput { reason, .. }) if reason.contains("24 hours")),
            "{late:?}"
        );
        let twice = check_sync(SyncKind::Contacts, "7", Some(on), Some(on + 5), on + 60);
        assert!(
            matches!(&twice, Err(Error::InvalidInput { reason, .. }) if reason.contains("one per onboarding")),
            "{twice:?}"
        );
    }

    #[test]
    fn the_request_names_the_sync_type_and_the_number() {
        let s = Settings::from_pairs([
            ("phone-number-id".to_string(), "777".to_string()),
            ("business-app-numbers".to_string(), "777, 778".to_string()),
        ]);
        let r = sync_request(&s, SyncKind::Contacts).unwrap();
        assert!(r.url.ends_with("/777/smb_app_data"), "{}", r.url);
        let body: Value = serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["sync_type"], "smb_app_state_sync");
        assert_eq!(
            (throughput_ceiling(&s, "778"), throughput_ceiling(&s, "779")),
            (COEXISTENCE_MPS, 0)
        );
        assert_eq!(
            read_sync(
                200,
                br#"{"messaging_product":"whatsapp","request_id":"r1"}"#
            )
            .unwrap(),
            "r1"
        );
        assert!(read_sync(200, b"{}").is_err());
    }
}
