//! Connecting a business and keeping it connected, as values: Meta's OAuth dialog URL
//! and its single-use `state`, the code exchange ([`oauth`]), `debug_token` ([`token`]),
//! the WABA's phone numbers and their registration ([`numbers`]), the app's webhook
//! subscription ([`subscriptions`]), the business profile ([`profile`]) and username
//! ([`username`]), numbers shared with the WhatsApp Business app ([`coexistence`]), the
//! credential's state (here), and the readiness checklist computed from facts the
//! adapter gathers ([`readiness`](mod@readiness)).

pub mod coexistence;
pub mod numbers;
pub mod oauth;
pub mod profile;
pub mod readiness;
pub mod subscriptions;
pub mod token;
pub mod username;

pub use numbers::{
    CodeMethod, NUMBER_FIELDS, PhoneNumber, check_pin, deregister_request, numbers_request,
    read_numbers, register_request, request_code_request, set_pin_request, verify_code_request,
};
pub use oauth::{
    AuthorizeRequest, DIALOG_ORIGIN, PendingState, REQUIRED_SCOPES, STATE_RANDOM_BYTES,
    STATE_TTL_SECS, TokenGrant, authorize_url, check_redirect_uri, check_state, dialog_origin,
    exchange_request, new_state, read_exchange, state_tenant,
};
pub use profile::{
    BusinessProfile, PROFILE_FIELDS, ProfileUpdate, VERTICALS, profile_number, profile_request,
    read_profile, update_profile_request,
};
pub use readiness::{Check, Facts, Item, NumberReadiness, Readiness, check_name, readiness};
pub use subscriptions::{
    CallbackOverride, Subscription, read_subscriptions, subscribe_request, subscriptions_request,
    unsubscribe_request,
};
pub use token::{
    DEFAULT_WARNING_DAYS, TokenHealth, debug_token_request, expiry_warning, long_lived_request,
    read_debug_token, refresh_due,
};
pub use username::{
    BusinessUsername, check_username, delete_username_request, read_set_username, read_username,
    set_username_request, username_request,
};

use super::error::GraphError;
use serde::{Deserialize, Serialize};

/// The bucket of the connection's state: the credential's state and generation, the
/// pending OAuth state, when the webhook was verified and the templates synced.
pub const CONNECTION_BUCKET: &str = "connection";
/// The credential's state ([`CredentialRecord`], JSON).
pub const CREDENTIAL_KEY: &str = "credential";
/// How many tokens were stored so far (a counter).
pub const GENERATION_KEY: &str = "token-generation";
/// The pending authorization ([`PendingState`], JSON).
pub const OAUTH_STATE_KEY: &str = "oauth-state";
/// When a webhook handshake last succeeded for the tenant (Unix seconds).
pub const WEBHOOK_VERIFIED_KEY: &str = "webhook-verified-at";
/// When the templates were last synced (Unix seconds).
pub const TEMPLATES_SYNCED_KEY: &str = "templates-synced-at";

/// Where a tenant's credential stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// No token stored.
    NotConnected,
    /// A token stored, not refused since.
    Connected,
    /// Meta refused the token: connect again.
    ReauthRequired,
}

/// The credential's state as stored in [`CREDENTIAL_KEY`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// `connected` or `reauth-required`.
    pub state: String,
    /// Why (Meta's message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Meta's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// When the token expires (Unix seconds), as Meta last said; none when it does not
    /// or Meta was not asked yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// `USER`, `SYSTEM_USER`, … as Meta last said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl CredentialRecord {
    /// A freshly stored token.
    pub fn connected(now: u64) -> Self {
        CredentialRecord {
            state: "connected".into(),
            reason: None,
            code: None,
            since: Some(now),
            expires_at: None,
            token_type: None,
        }
    }

    /// A token Meta refused with `e`.
    pub fn reauth_required(e: &GraphError, now: u64) -> Self {
        CredentialRecord {
            state: "reauth-required".into(),
            reason: Some(e.message.clone()),
            code: Some(e.code),
            since: Some(now),
            expires_at: None,
            token_type: None,
        }
    }

    /// The state, given whether a token is stored at all.
    pub fn state(&self, has_token: bool) -> CredentialState {
        match (has_token, self.state.as_str()) {
            (false, _) => CredentialState::NotConnected,
            (true, "reauth-required") => CredentialState::ReauthRequired,
            (true, _) => CredentialState::Connected,
        }
    }
}

#[cfg(test)]
mod tests {
    //! What the submodules' tests share.

    use crate::core::settings::Settings;

    /// A tenant with an app, its secret, a WABA and a number.
    pub(super) fn settings() -> Settings {
        Settings::from_pairs([
            ("tenant-id".to_string(), "acme".to_string()),
            ("app-id".to_string(), "1234".to_string()),
            ("app-secret".to_string(), "s3cr3t".to_string()),
            ("waba-id".to_string(), "555".to_string()),
            ("phone-number-id".to_string(), "777".to_string()),
        ])
    }
}
