//! The readiness checklist, computed from the facts the adapter gathers.

use super::numbers::PhoneNumber;
use super::subscriptions::Subscription;
use super::token::TokenHealth;
use super::{CredentialRecord, CredentialState};

/// An item of the readiness checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Token stored, valid, unexpired, with the permissions.
    CredentialValid,
    /// WABA known; the number is the WABA's.
    IdentityKnown,
    /// Registered on the Cloud API and connected.
    NumberRegistered,
    /// The app subscribed to the WABA.
    AppSubscribed,
    /// A webhook handshake succeeded.
    WebhookVerified,
    /// Templates synced.
    TemplatesSynced,
    /// The number can send.
    SenderReady,
}

/// An item and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Which.
    pub check: Check,
    /// Holds.
    pub ok: bool,
    /// Why, for a human.
    pub reason: String,
}

fn item(check: Check, ok: bool, reason: impl Into<String>) -> Item {
    Item {
        check,
        ok,
        reason: reason.into(),
    }
}

/// One number's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberReadiness {
    /// Its id.
    pub phone_number_id: String,
    /// As displayed, when known.
    pub display_phone_number: Option<String>,
    /// Its items.
    pub items: Vec<Item>,
    /// All hold.
    pub ready: bool,
}

/// The tenant's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Tenant-wide items.
    pub items: Vec<Item>,
    /// Per number.
    pub numbers: Vec<NumberReadiness>,
    /// Everything holds.
    pub ready: bool,
}

/// What the adapter found out; a lookup that failed carries its error's text.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Unix seconds now.
    pub now: u64,
    /// A token is stored.
    pub has_token: bool,
    /// The stored credential state.
    pub credential: CredentialRecord,
    /// `debug_token`'s verdict, when asked.
    pub health: Option<Result<TokenHealth, String>>,
    /// The tenant's WABA id.
    pub waba_id: Option<String>,
    /// The tenant's sending numbers (the host's selection).
    pub selected: Vec<String>,
    /// The WABA's numbers, when asked.
    pub numbers: Option<Result<Vec<PhoneNumber>, String>>,
    /// The WABA's subscribed apps, when asked.
    pub subscriptions: Option<Result<Vec<Subscription>, String>>,
    /// The tenant's app id.
    pub app_id: Option<String>,
    /// When a webhook handshake succeeded.
    pub webhook_verified_at: Option<u64>,
    /// When templates were synced.
    pub templates_synced_at: Option<u64>,
}

/// Number states Meta sends nothing from.
const BLOCKED_STATUSES: [&str; 5] = ["BANNED", "RESTRICTED", "FLAGGED", "DISCONNECTED", "DELETED"];

/// The checklist from what is known. Pure: the same facts give the same verdicts.
pub fn readiness(f: &Facts) -> Readiness {
    let credential = match (&f.health, f.credential.state(f.has_token)) {
        (_, CredentialState::NotConnected) => item(
            Check::CredentialValid,
            false,
            "no access token is stored: connect the business",
        ),
        (_, CredentialState::ReauthRequired) => item(
            Check::CredentialValid,
            false,
            format!(
                "Meta refused the token ({}): connect again",
                f.credential.reason.as_deref().unwrap_or("token invalid")
            ),
        ),
        (Some(Ok(h)), _) if !h.valid => item(
            Check::CredentialValid,
            false,
            format!(
                "Meta says the token is invalid: {}",
                h.reason.as_deref().unwrap_or("no reason given")
            ),
        ),
        (Some(Ok(h)), _) if h.expires_at.is_some_and(|e| e <= f.now) => {
            item(Check::CredentialValid, false, "the token has expired")
        }
        (Some(Ok(h)), _) if !h.missing_scopes.is_empty() => item(
            Check::CredentialValid,
            false,
            format!("the token lacks {}", h.missing_scopes.join(", ")),
        ),
        (Some(Ok(h)), _) => item(
            Check::CredentialValid,
            true,
            match (h.expires_at, &h.warning) {
                (Some(e), Some(w)) => format!("valid until {e} (Unix seconds); {w}"),
                (Some(e), None) => format!("valid until {e} (Unix seconds)"),
                (None, _) => "valid, does not expire".to_string(),
            },
        ),
        (Some(Err(e)), _) => item(
            Check::CredentialValid,
            false,
            format!("could not ask Meta about the token: {e}"),
        ),
        (None, _) => item(Check::CredentialValid, false, "not checked"),
    };
    let identity = match (&f.waba_id, &f.health) {
        (None, _) => item(Check::IdentityKnown, false, "the tenant has no WABA id"),
        (Some(w), Some(Ok(h))) if !h.waba_ids.is_empty() && !h.waba_ids.contains(w) => item(
            Check::IdentityKnown,
            false,
            format!(
                "the token may not manage WABA {w} (it may manage {})",
                h.waba_ids.join(", ")
            ),
        ),
        (Some(w), _) if f.selected.is_empty() => item(
            Check::IdentityKnown,
            false,
            format!("WABA {w}, but no sending number is selected"),
        ),
        (Some(w), _) => item(Check::IdentityKnown, true, format!("WABA {w}")),
    };
    let subscribed = match &f.subscriptions {
        None => item(Check::AppSubscribed, false, "not checked"),
        Some(Err(e)) => item(
            Check::AppSubscribed,
            false,
            format!("could not read the subscriptions: {e}"),
        ),
        Some(Ok(subs)) => {
            let mine = subs.iter().find(|s| match &f.app_id {
                Some(a) => s.app_id.as_deref() == Some(a),
                None => true,
            });
            match mine {
                Some(s) => item(
                    Check::AppSubscribed,
                    true,
                    match &s.override_callback_uri {
                        Some(u) => format!("subscribed, webhooks to {u}"),
                        None => "subscribed".to_string(),
                    },
                ),
                None if subs.is_empty() => item(
                    Check::AppSubscribed,
                    false,
                    "no app is subscribed to the WABA's webhooks",
                ),
                None => item(
                    Check::AppSubscribed,
                    false,
                    "other apps are subscribed to the WABA, not this one",
                ),
            }
        }
    };
    let webhook = match f.webhook_verified_at {
        Some(t) => item(
            Check::WebhookVerified,
            true,
            format!("handshake succeeded at {t} (Unix seconds)"),
        ),
        None => item(
            Check::WebhookVerified,
            false,
            "no webhook subscription handshake has succeeded yet",
        ),
    };
    let templates = match f.templates_synced_at {
        Some(t) => item(
            Check::TemplatesSynced,
            true,
            format!("synced at {t} (Unix seconds)"),
        ),
        None => item(Check::TemplatesSynced, false, "templates were never synced"),
    };
    let tenant_ok = [&credential, &identity, &subscribed, &webhook, &templates]
        .iter()
        .all(|i| i.ok);

    let mut numbers = Vec::new();
    for id in &f.selected {
        let known = match &f.numbers {
            Some(Ok(list)) => Ok(list.iter().find(|n| &n.id == id)),
            Some(Err(e)) => Err(format!("could not list the WABA's numbers: {e}")),
            None => Err("not checked".to_string()),
        };
        let (ident, registered, limit_reason) = match &known {
            Err(e) => (
                item(Check::IdentityKnown, false, e.clone()),
                item(Check::NumberRegistered, false, e.clone()),
                None,
            ),
            Ok(None) => {
                let why = format!(
                    "{id} is not one of WABA {}'s numbers",
                    f.waba_id.as_deref().unwrap_or("?")
                );
                (
                    item(Check::IdentityKnown, false, why.clone()),
                    item(Check::NumberRegistered, false, why),
                    None,
                )
            }
            Ok(Some(n)) => {
                let ident = item(
                    Check::IdentityKnown,
                    true,
                    format!(
                        "{} ({})",
                        n.display_phone_number,
                        n.verified_name.as_deref().unwrap_or("no verified name")
                    ),
                );
                let platform = n.platform_type.as_deref().unwrap_or("unknown");
                let status = n.status.as_deref().unwrap_or("unknown");
                let registered = if platform != "CLOUD_API" {
                    item(
                        Check::NumberRegistered,
                        false,
                        format!(
                            "not registered on the Cloud API (platform {platform}): register it with its PIN"
                        ),
                    )
                } else if status != "CONNECTED" {
                    item(
                        Check::NumberRegistered,
                        false,
                        format!("registered, but its status is {status}"),
                    )
                } else {
                    item(
                        Check::NumberRegistered,
                        true,
                        "registered on the Cloud API, connected",
                    )
                };
                let blocked = BLOCKED_STATUSES.contains(&status);
                let limit = if blocked {
                    Some(format!("Meta reports the number {status}"))
                } else if n.quality_rating.as_deref() == Some("RED") {
                    Some("its quality rating is RED: Meta may limit it".to_string())
                } else {
                    None
                };
                (ident, registered, limit)
            }
        };
        let display = known
            .as_ref()
            .ok()
            .and_then(|n| n.map(|n| n.display_phone_number.clone()));
        let sender = if !tenant_ok {
            let failing: Vec<&str> = [&credential, &identity, &subscribed, &webhook, &templates]
                .iter()
                .filter(|i| !i.ok)
                .map(|i| check_name(i.check))
                .collect();
            item(
                Check::SenderReady,
                false,
                format!("waiting for: {}", failing.join(", ")),
            )
        } else if !ident.ok || !registered.ok {
            item(Check::SenderReady, false, registered.reason.clone())
        } else if let Some(why) = limit_reason {
            item(Check::SenderReady, false, why)
        } else {
            item(Check::SenderReady, true, "ready to send")
        };
        let items = vec![ident, registered, sender];
        let ready = items.iter().all(|i| i.ok);
        numbers.push(NumberReadiness {
            phone_number_id: id.clone(),
            display_phone_number: display,
            items,
            ready,
        });
    }
    let items = vec![credential, identity, subscribed, webhook, templates];
    let ready = tenant_ok && !numbers.is_empty() && numbers.iter().all(|n| n.ready);
    Readiness {
        items,
        numbers,
        ready,
    }
}

/// An item's name, as the WIT spells it.
pub fn check_name(c: Check) -> &'static str {
    match c {
        Check::CredentialValid => "credential-valid",
        Check::IdentityKnown => "identity-known",
        Check::NumberRegistered => "number-registered",
        Check::AppSubscribed => "app-subscribed",
        Check::WebhookVerified => "webhook-verified",
        Check::TemplatesSynced => "templates-synced",
        Check::SenderReady => "sender-ready",
    }
}

#[cfg(test)]
mod tests {
    use super::super::oauth::REQUIRED_SCOPES;
    use super::*;
    use crate::core::error::GraphError;

    fn ready_facts() -> Facts {
        Facts {
            now: 1000,
            has_token: true,
            credential: CredentialRecord::connected(1),
            health: Some(Ok(TokenHealth {
                valid: true,
                scopes: REQUIRED_SCOPES.iter().map(|s| s.to_string()).collect(),
                waba_ids: vec!["555".into()],
                ..Default::default()
            })),
            waba_id: Some("555".into()),
            selected: vec!["777".into()],
            numbers: Some(Ok(vec![PhoneNumber {
                id: "777".into(),
                display_phone_number: "+1 555".into(),
                status: Some("CONNECTED".into()),
                platform_type: Some("CLOUD_API".into()),
                quality_rating: Some("GREEN".into()),
                ..Default::default()
            }])),
            subscriptions: Some(Ok(vec![Subscription {
                app_id: Some("1234".into()),
                ..Default::default()
            }])),
            app_id: Some("1234".into()),
            webhook_verified_at: Some(5),
            templates_synced_at: Some(6),
        }
    }

    #[test]
    fn readiness_holds_only_when_every_item_does() {
        let r = readiness(&ready_facts());
        assert!(r.ready, "{r:#?}");
        assert_eq!(r.items.len(), 5);
        assert_eq!(r.numbers[0].items.len(), 3);

        let mut f = ready_facts();
        f.credential = CredentialRecord::reauth_required(
            &GraphError {
                code: 190,
                message: "Session has expired".into(),
                ..Default::default()
            },
            9,
        );
        let r = readiness(&f);
        assert!(!r.ready);
        assert!(r.items[0].reason.contains("Session has expired"));
        let sender = &r.numbers[0].items[2];
        assert!(
            !sender.ok && sender.reason.contains("credential-valid"),
            "{sender:?}"
        );

        let mut f = ready_facts();
        if let Some(Ok(n)) = &mut f.numbers {
            n[0].platform_type = Some("NOT_APPLICABLE".into());
        }
        let r = readiness(&f);
        assert!(!r.ready && r.items.iter().all(|i| i.ok));
        assert!(!r.numbers[0].items[1].ok && r.numbers[0].items[1].reason.contains("PIN"));

        let mut f = ready_facts();
        f.selected = vec!["888".into()];
        let r = readiness(&f);
        assert!(!r.numbers[0].items[0].ok && r.numbers[0].items[0].reason.contains("888"));

        let mut f = ready_facts();
        f.subscriptions = Some(Ok(vec![Subscription {
            app_id: Some("other".into()),
            ..Default::default()
        }]));
        f.webhook_verified_at = None;
        f.templates_synced_at = None;
        f.health = Some(Err("network error".into()));
        let r = readiness(&f);
        let failing: Vec<&str> = r
            .items
            .iter()
            .filter(|i| !i.ok)
            .map(|i| check_name(i.check))
            .collect();
        assert_eq!(
            failing,
            vec![
                "credential-valid",
                "app-subscribed",
                "webhook-verified",
                "templates-synced"
            ]
        );

        let mut f = ready_facts();
        f.has_token = false;
        assert!(readiness(&f).items[0].reason.contains("no access token"));
        let mut f = ready_facts();
        f.selected.clear();
        let r = readiness(&f);
        assert!(!r.ready && r.numbers.is_empty());
    }
}
