//! The tenant's settings, as the host binds them through `wasi:config`.

use super::error::Error;

/// The Graph origin used unless the host configures another (the sandbox).
pub const DEFAULT_ORIGIN: &str = "https://graph.facebook.com";
/// The Graph API version this component speaks.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// The tenant's settings, as the host binds them (`wasi:config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The tenant id the host bound.
    pub tenant_id: String,
    /// The sending number's id.
    pub phone_number_id: Option<String>,
    /// The WABA id.
    pub waba_id: Option<String>,
    /// The Meta app's id (OAuth, `debug_token`, resumable uploads).
    pub app_id: Option<String>,
    /// Every number the tenant sends from, the default first (`phone-number-ids`,
    /// comma-separated; the default `phone-number-id` is always one of them).
    pub phone_number_ids: Vec<String>,
    /// Where Meta's OAuth dialog is, when not derived from the Graph origin.
    pub oauth_dialog_origin: Option<String>,
    /// The display number.
    pub display_phone_number: Option<String>,
    /// `https://graph.facebook.com`, or the sandbox's origin.
    pub graph_origin: String,
    /// `v23.0`.
    pub api_version: String,
    /// The Meta app secret that signs webhooks.
    pub app_secret: Option<String>,
    /// The webhook subscription verify token.
    pub verify_token: Option<String>,
    /// Inbound texts that stop marketing messages (whole text, any case).
    pub opt_out_keywords: Vec<String>,
    /// Inbound texts that lift a stop.
    pub opt_in_keywords: Vec<String>,
    /// The 24-hour window policy (`window-policy`: `enforce` or `off`).
    pub window_policy: super::policy::WindowPolicy,
    /// Numbers shared with the WhatsApp Business app (`business-app-numbers`,
    /// comma-separated): Meta paces them lower (`connection::coexistence`).
    pub business_app_numbers: Vec<String>,
    /// Days before a token expires that the checklist warns and the host refreshes it
    /// (`token-warning-days`; `connection::token::DEFAULT_WARNING_DAYS` otherwise).
    pub token_warning_days: Option<u64>,
    /// Marketing templates through Meta's Marketing Messages API when the WABA is
    /// onboarded (`marketing-messages`: `lite`; `core::marketing`).
    pub marketing_messages_lite: bool,
}

fn keywords(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

impl Settings {
    /// Settings from `wasi:config` pairs; unknown keys are ignored, empty values unset.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut s = Settings {
            graph_origin: DEFAULT_ORIGIN.into(),
            api_version: DEFAULT_API_VERSION.into(),
            opt_out_keywords: super::webhook::state::DEFAULT_OPT_OUT
                .iter()
                .map(|k| k.to_string())
                .collect(),
            opt_in_keywords: super::webhook::state::DEFAULT_OPT_IN
                .iter()
                .map(|k| k.to_string())
                .collect(),
            ..Settings::default()
        };
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "tenant-id" => s.tenant_id = v,
                "phone-number-id" => s.phone_number_id = Some(v),
                "waba-id" => s.waba_id = Some(v),
                "app-id" => s.app_id = Some(v),
                "phone-number-ids" => s.phone_number_ids = keywords(&v),
                "oauth-dialog-origin" => {
                    s.oauth_dialog_origin = Some(v.trim_end_matches('/').to_string())
                }
                "display-phone-number" => s.display_phone_number = Some(v),
                "graph-origin" => s.graph_origin = v.trim_end_matches('/').to_string(),
                "api-version" => s.api_version = v,
                "app-secret" => s.app_secret = Some(v),
                "verify-token" => s.verify_token = Some(v),
                "opt-out-keywords" => s.opt_out_keywords = keywords(&v),
                "opt-in-keywords" => s.opt_in_keywords = keywords(&v),
                "window-policy" => s.window_policy = super::policy::WindowPolicy::parse(&v),
                "business-app-numbers" => s.business_app_numbers = keywords(&v),
                "token-warning-days" => s.token_warning_days = v.trim().parse().ok(),
                "marketing-messages" => s.marketing_messages_lite = v.trim() == "lite",
                _ => {}
            }
        }
        if let Some(d) = &s.phone_number_id {
            s.phone_number_ids.retain(|n| n != d);
            s.phone_number_ids.insert(0, d.clone());
        } else if let Some(first) = s.phone_number_ids.first() {
            s.phone_number_id = Some(first.clone());
        }
        s
    }

    /// The full URL of a Graph path (`{origin}/{version}/{path}`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.graph_origin, self.api_version, path)
    }

    /// Days before a token's expiry to warn and refresh it.
    pub fn token_warning_days(&self) -> u64 {
        self.token_warning_days
            .unwrap_or(super::connection::DEFAULT_WARNING_DAYS)
    }

    /// The phone number id, or `NotConfigured`.
    pub fn phone_number_id(&self) -> Result<&str, Error> {
        self.phone_number_id
            .as_deref()
            .ok_or_else(|| Error::NotConfigured("the tenant has no phone-number-id".into()))
    }

    /// Whether an event with these routing keys belongs to this tenant: one of its phone
    /// numbers, or (for changes without one, like template updates) its WABA. A tenant
    /// bound to neither (a bare parser) takes everything.
    pub fn owns(&self, waba_id: &str, phone_number_id: Option<&str>) -> bool {
        match (
            self.phone_number_ids.is_empty(),
            &self.waba_id,
            phone_number_id,
        ) {
            (true, None, _) => true,
            (false, _, Some(p)) => self.phone_number_ids.iter().any(|mine| mine == p),
            (true, Some(_), Some(_)) => false,
            (_, Some(w), None) => w == waba_id,
            (false, None, None) => false,
        }
    }

    /// These settings with `phone_number_id` as the sending number; it must be one of the
    /// tenant's own (the host binds them), else `InvalidInput`.
    pub fn sending_from(&self, phone_number_id: &str) -> Result<Settings, Error> {
        if !self.phone_number_ids.iter().any(|n| n == phone_number_id) {
            return Err(Error::invalid(
                "from",
                format!(
                    "{phone_number_id:?} is not one of the tenant's numbers ({})",
                    self.phone_number_ids.join(", ")
                ),
            ));
        }
        Ok(Settings {
            phone_number_id: Some(phone_number_id.to_string()),
            ..self.clone()
        })
    }

    /// The app id, or `NotConfigured`.
    pub fn app_id(&self) -> Result<&str, Error> {
        self.app_id
            .as_deref()
            .ok_or_else(|| Error::NotConfigured("the tenant has no app-id".into()))
    }

    /// The WABA id, or `NotConfigured`.
    pub fn waba_id(&self) -> Result<&str, Error> {
        self.waba_id
            .as_deref()
            .ok_or_else(|| Error::NotConfigured("the tenant has no waba-id".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_meta_and_ignore_empty_values() {
        let s = Settings::from_pairs([
            ("tenant-id".to_string(), "acme".to_string()),
            (
                "graph-origin".to_string(),
                "http://127.0.0.1:9/".to_string(),
            ),
            ("waba-id".to_string(), String::new()),
        ]);
        assert_eq!(s.url("1/messages"), "http://127.0.0.1:9/v23.0/1/messages");
        assert_eq!(s.waba_id, None);
        assert!(matches!(s.waba_id(), Err(Error::NotConfigured(_))));
        assert_eq!(
            Settings::from_pairs([]).url("x"),
            "https://graph.facebook.com/v23.0/x"
        );
    }
}
