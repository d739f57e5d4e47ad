//! The app's subscription to the WABA's webhooks, with an optional callback override.

use super::oauth::check_redirect_uri;
use crate::core::error::Error;
use crate::core::graph::{Request, read_json};
use crate::core::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};

/// Where Meta sends the WABA's webhooks instead of the app's callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackOverride {
    /// The callback (https, or http on loopback for a sandbox).
    pub url: String,
    /// The handshake's verify token.
    pub verify_token: String,
}

/// `POST /{waba-id}/subscribed_apps`, with the override when given.
pub fn subscribe_request(s: &Settings, over: Option<&CallbackOverride>) -> Result<Request, Error> {
    let waba = s.waba_id()?;
    let body = match over {
        Some(o) => {
            if check_redirect_uri(&o.url).is_err() {
                return Err(Error::invalid(
                    "override.url",
                    "must be an https:// URL (http only on loopback), without a fragment",
                ));
            }
            if o.verify_token.is_empty() || o.verify_token.len() > 256 {
                return Err(Error::invalid(
                    "override.verify-token",
                    "must be 1 to 256 characters",
                ));
            }
            json!({ "override_callback_uri": o.url, "verify_token": o.verify_token })
        }
        None => json!({}),
    };
    Ok(Request::post_json(
        s.url(&format!("{waba}/subscribed_apps")),
        &body,
    ))
}

/// `GET /{waba-id}/subscribed_apps`.
pub fn subscriptions_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::get(
        s.url(&format!("{}/subscribed_apps", s.waba_id()?)),
    ))
}

/// `DELETE /{waba-id}/subscribed_apps`.
pub fn unsubscribe_request(s: &Settings) -> Result<Request, Error> {
    Ok(Request::delete(
        s.url(&format!("{}/subscribed_apps", s.waba_id()?)),
    ))
}

/// An app subscribed to a WABA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The app's id.
    pub app_id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its override callback.
    pub override_callback_uri: Option<String>,
}

/// Read `GET /{waba-id}/subscribed_apps`: `data[].whatsapp_business_api_data`.
pub fn read_subscriptions(status: u16, body: &[u8]) -> Result<Vec<Subscription>, Error> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Value>,
    }
    let page: Page = read_json(status, body)?;
    let s = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Ok(page
        .data
        .iter()
        .map(|d| {
            let api = &d["whatsapp_business_api_data"];
            Subscription {
                app_id: s(&api["id"]),
                name: s(&api["name"]),
                override_callback_uri: s(&d["override_callback_uri"]),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::profile::{ProfileUpdate, read_profile, update_profile_request};
    use super::super::tests::settings;
    use super::*;

    #[test]
    fn subscriptions_and_profiles() {
        let s = settings();
        let over = CallbackOverride {
            url: "https://hooks.example/wa".into(),
            verify_token: "vt".into(),
        };
        let r = subscribe_request(&s, Some(&over)).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(r.body.as_deref().unwrap()).unwrap()["override_callback_uri"],
            "https://hooks.example/wa"
        );
        assert!(
            subscribe_request(
                &s,
                Some(&CallbackOverride {
                    url: "http://evil/".into(),
                    verify_token: "v".into()
                })
            )
            .is_err()
        );
        let subs = read_subscriptions(200, br#"{"data":[{"whatsapp_business_api_data":{"id":"1234","link":"https://x","name":"Acme"},"override_callback_uri":"https://hooks.example/wa"}]}"#).unwrap();
        assert_eq!(subs[0].app_id.as_deref(), Some("1234"));
        assert_eq!(
            subs[0].override_callback_uri.as_deref(),
            Some("https://hooks.example/wa")
        );
        let p = read_profile(200, br#"{"data":[{"about":"Hi","websites":["https://a"],"vertical":"RETAIL","messaging_product":"whatsapp"}]}"#).unwrap();
        assert_eq!(p.about.as_deref(), Some("Hi"));
        assert_eq!(p.websites, vec!["https://a"]);
        let ok = ProfileUpdate {
            about: Some("We sell".into()),
            vertical: Some("RETAIL".into()),
            websites: Some(vec!["https://a.example".into()]),
            ..Default::default()
        };
        let r = update_profile_request(&s, None, &ok).unwrap();
        assert!(r.url.ends_with("/777/whatsapp_business_profile"));
        for (bad, field) in [
            (
                ProfileUpdate {
                    about: Some("x".repeat(140)),
                    ..Default::default()
                },
                "update.about",
            ),
            (
                ProfileUpdate {
                    vertical: Some("SHOES".into()),
                    ..Default::default()
                },
                "update.vertical",
            ),
            (
                ProfileUpdate {
                    email: Some("nope".into()),
                    ..Default::default()
                },
                "update.email",
            ),
            (
                ProfileUpdate {
                    websites: Some(vec![
                        "https://a".into(),
                        "https://b".into(),
                        "https://c".into(),
                    ]),
                    ..Default::default()
                },
                "update.websites",
            ),
            (
                ProfileUpdate {
                    websites: Some(vec!["ftp://a".into()]),
                    ..Default::default()
                },
                "update.websites[0]",
            ),
        ] {
            assert!(
                matches!(update_profile_request(&s, None, &bad), Err(Error::InvalidInput { field: f, .. }) if f == field),
                "{field}"
            );
        }
    }
}
