//! The checks a send passes before it leaves, as decisions over values: the 24-hour
//! customer-service window, marketing consent, and what the template cache knows.

use super::error::{Error, GraphError};
use super::webhook::state::CachedTemplate;

/// How long a contact's last inbound message keeps the window open.
pub const WINDOW_SECS: u64 = 24 * 3600;

/// Whether the component refuses free-form messages outside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowPolicy {
    /// Refuse them locally with `outside-window` (the default).
    #[default]
    Enforce,
    /// Send anyway and let Meta answer (131047).
    Off,
}

impl WindowPolicy {
    /// From the `window-policy` setting; anything but `off` enforces.
    pub fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("off") {
            WindowPolicy::Off
        } else {
            WindowPolicy::Enforce
        }
    }
}

/// Whether a contact who last wrote at `last_inbound` (Unix seconds) is within the window.
pub fn window_open(last_inbound: Option<u64>, now: u64) -> bool {
    last_inbound.is_some_and(|t| now < t.saturating_add(WINDOW_SECS))
}

/// Meta's messaging limit: how many unique users a business portfolio's numbers may reach
/// outside a customer-service window in a moving 24 hours, one count shared by every
/// number of the portfolio; a user reached again within it counts once.
///
/// Source: Meta, "Messaging limits" (developers.facebook.com/docs/whatsapp/messaging-limits):
/// 250 for a new portfolio, then 2,000, 10,000, 100,000 or unlimited; the number's
/// `whatsapp_business_manager_messaging_limit` says it (`messaging_limit_tier` is
/// deprecated), and `business_capability_update` announces a change
/// (`max_daily_conversations_per_business`).
pub const LIMIT_WINDOW_MS: u64 = WINDOW_SECS * 1000;

/// How long a limit read from Graph is trusted before it is read again (a webhook's
/// replaces it at once; Meta raises a limit within 6 hours).
pub const LIMIT_FRESH_SECS: u64 = 3600;

/// Whether a message to a contact counts toward the messaging limit: it reaches a user
/// (a group is none) outside the window.
pub fn counts_toward_limit(group: bool, last_inbound: Option<u64>, now: u64) -> bool {
    !group && !window_open(last_inbound, now)
}

/// A messaging-limit tier (`TIER_250`, `TIER_2K`, `TIER_UNLIMITED`) as the number of users
/// it allows; -1 is unlimited.
pub fn tier_limit(tier: &str) -> Option<i64> {
    match tier.strip_prefix("TIER_")? {
        "UNLIMITED" => Some(-1),
        n => {
            let (digits, scale) = match n.strip_suffix('K') {
                Some(d) => (d, 1000),
                None => (n, 1),
            };
            digits.parse::<i64>().ok()?.checked_mul(scale)
        }
    }
}

/// A send refused because the limit is full until `until_ms` (Unix milliseconds): it is
/// throttled, to try again then.
pub fn limit_reached(now_ms: u64, until_ms: u64) -> Error {
    Error::RateLimited {
        retry_after_seconds: Some(
            u32::try_from(until_ms.saturating_sub(now_ms).div_ceil(1000)).unwrap_or(u32::MAX),
        ),
        error: local(0, "messaging limit reached"),
    }
}

fn local(code: i32, message: &str) -> GraphError {
    GraphError {
        code,
        message: message.to_string(),
        ..GraphError::default()
    }
}

/// What a send needs to know about its recipient and template.
#[derive(Debug, Clone, Default)]
pub struct SendContext<'a> {
    /// The tenant's window policy.
    pub policy: WindowPolicy,
    /// Whether the message is a template.
    pub template: bool,
    /// Whether it goes to a group. A group has no customer-service window of its own
    /// (the window is one user's) and no consent record: its participants joined it
    /// through its invite link (Meta, "Groups API"). Meta decides what it accepts.
    pub group: bool,
    /// The contact's last inbound time.
    pub last_inbound: Option<u64>,
    /// Now (Unix seconds).
    pub now: u64,
    /// `stopped` when the contact opted out of marketing.
    pub consent: Option<&'a str>,
    /// The template as cached, when it is a template and the cache knows it.
    pub cached_template: Option<&'a CachedTemplate>,
    /// The template message itself, for the pre-flight against its definition.
    pub message: Option<&'a super::outgoing::Template>,
}

/// Refuse locally what Meta would refuse, with the error it would give.
pub fn check_send(c: &SendContext<'_>) -> Result<(), Error> {
    if !c.template {
        if !c.group && c.policy == WindowPolicy::Enforce && !window_open(c.last_inbound, c.now) {
            return Err(Error::OutsideWindow(None));
        }
        return Ok(());
    }
    let Some(t) = c.cached_template else {
        return Ok(());
    };
    match t.status.as_deref() {
        None | Some("APPROVED") => {}
        Some("PAUSED") => {
            return Err(Error::TemplateMismatch(local(
                132015,
                "the template is paused",
            )));
        }
        Some("DISABLED") => {
            return Err(Error::TemplateMismatch(local(
                132016,
                "the template is disabled",
            )));
        }
        Some(other) => {
            return Err(Error::TemplateMismatch(local(
                132001,
                &format!("the template is {other}, not approved"),
            )));
        }
    }
    if !c.group && t.category.as_deref() == Some("MARKETING") && c.consent == Some("stopped") {
        return Err(Error::Recipient(local(
            131050,
            "the contact stopped marketing messages",
        )));
    }
    if let (Some(d), Some(m)) = (&t.definition, c.message) {
        super::preflight::check(m, d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_users_outside_the_window_by_tier() {
        assert!(counts_toward_limit(false, None, 5));
        assert!(!counts_toward_limit(false, Some(5), 6));
        assert!(!counts_toward_limit(true, None, 5));
        assert_eq!(tier_limit("TIER_250"), Some(250));
        assert_eq!(tier_limit("TIER_2K"), Some(2000));
        assert_eq!(tier_limit("TIER_UNLIMITED"), Some(-1));
        assert_eq!(tier_limit("2K"), None);
        match limit_reached(1_000, 62_001) {
            Error::RateLimited {
                retry_after_seconds,
                ..
            } => assert_eq!(retry_after_seconds, Some(62)),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn the_window_is_24_hours_from_the_last_inbound_message() {
        assert!(window_open(Some(1000), 1000 + WINDOW_SECS - 1));
        assert!(!window_open(Some(1000), 1000 + WINDOW_SECS));
        assert!(!window_open(None, 0));
    }

    #[test]
    fn free_form_outside_the_window_is_refused_unless_the_policy_is_off() {
        let c = SendContext {
            now: 2 * WINDOW_SECS,
            last_inbound: Some(1),
            ..Default::default()
        };
        assert_eq!(check_send(&c), Err(Error::OutsideWindow(None)));
        assert!(
            check_send(&SendContext {
                policy: WindowPolicy::Off,
                ..c.clone()
            })
            .is_ok()
        );
        // A group keeps no window: free-form goes to it whenever Meta takes it.
        assert!(
            check_send(&SendContext {
                group: true,
                ..c.clone()
            })
            .is_ok()
        );
        assert!(
            check_send(&SendContext {
                template: true,
                ..c
            })
            .is_ok()
        );
        assert_eq!(WindowPolicy::parse("OFF"), WindowPolicy::Off);
        assert_eq!(WindowPolicy::parse("nonsense"), WindowPolicy::Enforce);
    }

    #[test]
    fn marketing_templates_respect_consent_and_status() {
        let t = |status: &str, category: &str| CachedTemplate {
            id: "1".into(),
            status: Some(status.into()),
            category: Some(category.into()),
            quality: None,
            definition: None,
            updated_at: 0,
        };
        let c = |t: &CachedTemplate, consent| {
            check_send(&SendContext {
                template: true,
                consent,
                cached_template: Some(t),
                ..Default::default()
            })
        };
        let m = t("APPROVED", "MARKETING");
        assert!(matches!(c(&m, Some("stopped")), Err(Error::Recipient(g)) if g.code == 131050));
        assert!(c(&m, Some("ok")).is_ok());
        let to_group = SendContext {
            template: true,
            group: true,
            consent: Some("stopped"),
            cached_template: Some(&m),
            ..Default::default()
        };
        assert!(check_send(&to_group).is_ok());
        assert!(c(&t("APPROVED", "UTILITY"), Some("stopped")).is_ok());
        assert!(
            matches!(c(&t("PAUSED", "UTILITY"), None), Err(Error::TemplateMismatch(g)) if g.code == 132015)
        );
        assert!(
            matches!(c(&t("REJECTED", "UTILITY"), None), Err(Error::TemplateMismatch(g)) if g.code == 132001)
        );
    }
}
