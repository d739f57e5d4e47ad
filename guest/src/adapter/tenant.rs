//! The bound tenant: its settings (`wasi:config`), its sealed secrets (`wasi:keyvalue`
//! plus the host's `crypto`), and Graph calls made with its token.

use super::bindings::wasi::config::store as config;
use super::bindings::whatsapp::cloud_api::crypto;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::buckets;
use super::convert::err;
use super::convert::storage;
use super::http;
use crate::core::graph::{Credential, Request};
use crate::core::secret::{Secret, wipe};
use crate::core::settings::Settings;
use crate::core::{self, webhook};
use std::cell::OnceCell;
use std::rc::Rc;

/// The bucket that holds the tenant's sealed secrets.
pub const SECRETS_BUCKET: &str = "secrets";
/// The key of the sealed WhatsApp access token.
pub const ACCESS_TOKEN: &str = "access-token";
/// The key of the sealed catalog token.
pub const CATALOG_TOKEN: &str = "catalog-token";

pub struct Tenant {
    pub settings: Rc<Settings>,
}

thread_local! {
    /// The instance's settings, read at its first call.
    static SETTINGS: OnceCell<Rc<Settings>> = const { OnceCell::new() };
}

impl Tenant {
    /// The settings the host bound into this instance. They are fixed when the host makes
    /// the instance, so they are read at its first call only (outside the per-call arena)
    /// and shared by every later one. A config store that fails leaves the defaults, and
    /// every operation that needs a setting says which.
    #[inline(never)]
    pub fn bind() -> Self {
        let settings = SETTINGS.with(|s| {
            s.get_or_init(|| {
                super::alloc::lasting(|| {
                    Rc::new(Settings::from_pairs(config::get_all().unwrap_or_default()))
                })
            })
            .clone()
        });
        Tenant { settings }
    }

    /// The tenant, sending from `phone_number_id` when one is given (one of its own
    /// numbers, checked), else from its default number.
    pub fn on(phone_number_id: Option<String>) -> Result<Self, Error> {
        let tenant = Tenant::bind();
        match phone_number_id {
            None => Ok(tenant),
            Some(n) => Ok(Tenant::with(tenant.settings.sending_from(&n).map_err(err)?)),
        }
    }

    /// A tenant with these settings (another sending number's, for one call).
    pub fn with(settings: Settings) -> Self {
        Tenant {
            settings: Rc::new(settings),
        }
    }

    fn secret(&self, key: &str) -> Result<Option<Secret>, Error> {
        let Some(sealed) = buckets::with(SECRETS_BUCKET, |b| b.get(key))?.map_err(storage)? else {
            return Ok(None);
        };
        let mut plain = crypto::open(&sealed).map_err(|e| {
            Error::storage(format!(
                "the stored {key} does not open ({}); store it again",
                e.name()
            ))
        })?;
        if std::str::from_utf8(&plain).is_err() {
            wipe(&mut plain);
            return Err(Error::storage(format!("the stored {key} is not text")));
        }
        Ok(Some(Secret::new(
            String::from_utf8(plain).unwrap_or_default(),
        )))
    }

    pub fn has_secret(&self, key: &str) -> Result<bool, Error> {
        buckets::with(SECRETS_BUCKET, |b| b.exists(key))?.map_err(storage)
    }

    /// The token `credential` names, and whether it is the access token (the catalog
    /// credential falls back to it when the tenant has no catalog token).
    fn token(&self, credential: Credential) -> Result<(Secret, bool), Error> {
        let catalog = match credential {
            Credential::Catalog => self.secret(CATALOG_TOKEN)?,
            Credential::Access => None,
            Credential::None => return Ok((Secret::new(String::new()), false)),
            Credential::App => {
                let s = &self.settings;
                return match (&s.app_id, &s.app_secret) {
                    (Some(id), Some(secret)) => Ok((Secret::new(format!("{id}|{secret}")), false)),
                    _ => Err(Error::not_configured(
                        "the tenant has no app-id and app-secret".into(),
                    )),
                };
            }
        };
        if let Some(t) = catalog {
            return Ok((t, false));
        }
        let t = self
            .access_token()?
            .ok_or_else(|| Error::not_configured("the tenant has no access token".into()))?;
        Ok((t, true))
    }

    /// The stored access token, opened.
    pub fn access_token(&self) -> Result<Option<Secret>, Error> {
        self.secret(ACCESS_TOKEN)
    }

    /// Start a Graph request with the tenant's token; its body is written by the caller.
    pub fn start(&self, req: &Request) -> Result<http::InFlight, Error> {
        let (token, _) = self.token(req.credential)?;
        http::start(req, token.expose()).map_err(err)
    }

    /// Make a Graph request with the tenant's token: the status and body of the answer.
    /// An answer that says the token is no longer good puts the tenant in
    /// `reauth-required` (see [`Tenant::check_answer`]).
    #[inline(never)]
    pub fn call(&self, req: &Request) -> Result<(u16, Vec<u8>), Error> {
        let (token, access) = self.token(req.credential)?;
        let (status, body) = http::send(req, token.expose()).map_err(err)?;
        drop(token);
        self.check_answer(access, status, &body);
        Ok((status, body))
    }

    /// Note a refused token: a Graph error of the unauthorized class (190, 102, 463,
    /// 467) to a request made with the access token marks the tenant `reauth-required`
    /// (the catalog token and the app's own are not the business's connection).
    pub fn check_answer(&self, access_token: bool, status: u16, body: &[u8]) {
        if (200..300).contains(&status) || !access_token {
            return;
        }
        if let core::Error::Unauthorized(g) = core::error::from_response(status, body) {
            // Best effort: the caller gets the `unauthorized` error either way.
            let _ = super::readiness::mark_reauth_required(&g);
        }
    }

    pub fn verify_signature(&self, body: &[u8], header: Option<&str>) -> Result<(), Error> {
        let secret = self.settings.app_secret.as_deref().ok_or_else(|| {
            err(core::Error::NotConfigured(
                "the tenant has no app-secret".into(),
            ))
        })?;
        // The host's HMAC: hardware SHA-256 instead of a software one in wasm.
        let mut broken = false;
        let checked = webhook::verify_signature_with(header, || {
            let mac = crypto::hmac_sha256(secret.as_bytes(), body);
            <[u8; 32]>::try_from(mac.as_slice()).unwrap_or_else(|_| {
                broken = true;
                [0; 32]
            })
        });
        if broken {
            return Err(Error::other("the host's HMAC is not 32 bytes".into()));
        }
        checked.map_err(err)
    }
}
