//! Tenants: adding one (its secrets sealed on the way in), describing one without its
//! secrets, and binding one into an instance.

use crate::capabilities::crypto::Vault;
use crate::runtime::TenantBinding;
use crate::storage::{Database, KvBackend, StorageError, TenantRecord};
use zeroize::Zeroizing;

/// The bucket and keys of a tenant's sealed secrets (the guest reads the same ones).
pub const SECRETS_BUCKET: &str = "secrets";
/// The sealed access token's key.
pub const ACCESS_TOKEN_KEY: &str = "access-token";

/// A tenant to add. Secrets are held zeroizing until sealed.
#[derive(Default)]
pub struct NewTenant {
    /// The tenant id (`[a-z0-9_-]`, 1 to 64).
    pub id: String,
    /// The phone number id (digits).
    pub phone_number_id: String,
    /// The WABA id (digits).
    pub waba_id: String,
    /// The display number.
    pub display_phone_number: Option<String>,
    /// A Graph origin other than Meta's (the sandbox).
    pub graph_origin: Option<String>,
    /// The WhatsApp access token.
    pub access_token: Option<Zeroizing<String>>,
    /// The tenant's own Meta app secret.
    pub app_secret: Option<Zeroizing<String>>,
    /// The tenant's own webhook verify token.
    pub verify_token: Option<Zeroizing<String>>,
    /// Further component settings; keys from [`SETTABLE`].
    pub settings: Vec<(String, String)>,
}

/// The component settings a tenant may set beyond its identity (which is the host's).
pub const SETTABLE: &[&str] = &[
    "window-policy",
    "opt-out-keywords",
    "opt-in-keywords",
    "api-version",
    "app-id",
];

/// Host-wide defaults a tenant without its own setting falls back to.
#[derive(Default, Clone)]
pub struct Defaults {
    /// `WA_APP_SECRET`.
    pub app_secret: Option<Zeroizing<String>>,
    /// `WA_VERIFY_TOKEN`.
    pub verify_token: Option<Zeroizing<String>>,
    /// The Graph origin for every tenant (the sandbox), unless a tenant has its own.
    pub graph_origin: Option<String>,
}

/// Why a tenant could not be added or bound.
#[derive(Debug)]
pub enum TenantError {
    /// A field is not acceptable.
    Invalid(String),
    /// The database failed or refused.
    Storage(StorageError),
    /// A sealed secret did not open (another master key, or tampered).
    Sealed(String),
}

impl std::fmt::Display for TenantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TenantError::Invalid(s) => write!(f, "invalid tenant: {s}"),
            TenantError::Storage(e) => write!(f, "{e}"),
            TenantError::Sealed(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for TenantError {}

impl From<StorageError> for TenantError {
    fn from(e: StorageError) -> Self {
        TenantError::Storage(e)
    }
}

fn check(field: &str, v: &str, ok: impl Fn(u8) -> bool, max: usize) -> Result<(), TenantError> {
    if v.is_empty() || v.len() > max || !v.bytes().all(ok) {
        return Err(TenantError::Invalid(format!(
            "{field} {v:?} must be 1 to {max} of the allowed characters"
        )));
    }
    Ok(())
}

/// Add a tenant, sealing its secrets with its own key.
pub fn add(
    db: &Database,
    vault: &Vault,
    t: NewTenant,
    now_secs: i64,
) -> Result<TenantRecord, TenantError> {
    check(
        "id",
        &t.id,
        |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_',
        64,
    )?;
    check(
        "phone-number-id",
        &t.phone_number_id,
        |b| b.is_ascii_digit(),
        32,
    )?;
    check("waba-id", &t.waba_id, |b| b.is_ascii_digit(), 32)?;
    if let Some(o) = &t.graph_origin {
        crate::capabilities::http::Origin::parse(o).map_err(TenantError::Invalid)?;
    }
    for (k, _) in &t.settings {
        if !SETTABLE.contains(&k.as_str()) {
            return Err(TenantError::Invalid(format!(
                "setting {k:?} is not one of {}",
                SETTABLE.join(", ")
            )));
        }
    }
    let record = TenantRecord {
        id: t.id.clone(),
        phone_number_id: t.phone_number_id,
        waba_id: t.waba_id,
        display_phone_number: t.display_phone_number,
        graph_origin: t.graph_origin,
        app_secret_sealed: t
            .app_secret
            .as_ref()
            .map(|s| vault.seal(&t.id, s.as_bytes())),
        verify_token_sealed: t
            .verify_token
            .as_ref()
            .map(|s| vault.seal(&t.id, s.as_bytes())),
        created_at: now_secs,
        settings: t.settings,
    };
    db.insert_tenant(&record)?;
    if let Some(token) = &t.access_token {
        set_access_token(db, vault, &t.id, token)?;
    }
    Ok(record)
}

/// Store (or replace) a tenant's access token, sealed.
pub fn set_access_token(
    db: &Database,
    vault: &Vault,
    tenant: &str,
    token: &str,
) -> Result<(), TenantError> {
    if token.trim().is_empty() {
        return Err(TenantError::Invalid("the access token is empty".into()));
    }
    db.set(
        tenant,
        SECRETS_BUCKET,
        ACCESS_TOKEN_KEY,
        &vault.seal(tenant, token.trim().as_bytes()),
    )?;
    Ok(())
}

fn open(
    vault: &Vault,
    tenant: &str,
    what: &str,
    sealed: &[u8],
) -> Result<Zeroizing<String>, TenantError> {
    let plain = vault.open(tenant, sealed).map_err(|e| {
        TenantError::Sealed(format!(
            "tenant {tenant}'s {what} does not open ({e:?}): wrong master key?"
        ))
    })?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| TenantError::Sealed(format!("tenant {tenant}'s {what} is not text")))
}

impl TenantRecord {
    /// The tenant's app secret, or the host's default.
    pub fn app_secret(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<Option<Zeroizing<String>>, TenantError> {
        match &self.app_secret_sealed {
            Some(s) => open(vault, &self.id, "app secret", s).map(Some),
            None => Ok(defaults.app_secret.clone()),
        }
    }

    /// The tenant's verify token, or the host's default.
    pub fn verify_token(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<Option<Zeroizing<String>>, TenantError> {
        match &self.verify_token_sealed {
            Some(s) => open(vault, &self.id, "verify token", s).map(Some),
            None => Ok(defaults.verify_token.clone()),
        }
    }

    /// The binding of an instance for this tenant.
    pub fn binding(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<TenantBinding, TenantError> {
        let mut settings = vec![
            ("phone-number-id".to_string(), self.phone_number_id.clone()),
            ("waba-id".to_string(), self.waba_id.clone()),
        ];
        if let Some(d) = &self.display_phone_number {
            settings.push(("display-phone-number".into(), d.clone()));
        }
        if let Some(o) = self
            .graph_origin
            .as_ref()
            .or(defaults.graph_origin.as_ref())
        {
            settings.push(("graph-origin".into(), o.clone()));
        }
        if let Some(s) = self.app_secret(vault, defaults)? {
            settings.push(("app-secret".into(), s.to_string()));
        }
        if let Some(s) = self.verify_token(vault, defaults)? {
            settings.push(("verify-token".into(), s.to_string()));
        }
        settings.extend(
            self.settings
                .iter()
                .filter(|(k, _)| SETTABLE.contains(&k.as_str()))
                .cloned(),
        );
        Ok(TenantBinding::new(&self.id, settings))
    }

    /// A description for people and scripts: never a secret, only whether one is set.
    pub fn describe(&self, db: &Database) -> Result<serde_json::Value, TenantError> {
        Ok(serde_json::json!({
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "display_phone_number": self.display_phone_number,
            "graph_origin": self.graph_origin,
            "has_access_token": db.exists(&self.id, SECRETS_BUCKET, ACCESS_TOKEN_KEY)?,
            "has_own_app_secret": self.app_secret_sealed.is_some(),
            "has_own_verify_token": self.verify_token_sealed.is_some(),
            "created_at": self.created_at,
            "settings": self.settings.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, pnid: &str) -> NewTenant {
        NewTenant {
            id: id.into(),
            phone_number_id: pnid.into(),
            waba_id: "2".into(),
            access_token: Some(Zeroizing::new("EAAG-secret-token".into())),
            app_secret: Some(Zeroizing::new("app-secret-value".into())),
            ..NewTenant::default()
        }
    }

    #[test]
    fn secrets_are_sealed_at_rest_and_never_described() {
        let db = Database::open_in_memory().unwrap();
        let vault = Vault::ephemeral();
        let rec = add(&db, &vault, tenant("acme", "1"), 0).unwrap();
        let stored = db
            .get("acme", SECRETS_BUCKET, ACCESS_TOKEN_KEY)
            .unwrap()
            .unwrap();
        assert!(!stored.windows(5).any(|w| w == b"EAAG-"));
        assert!(
            !rec.app_secret_sealed
                .as_ref()
                .unwrap()
                .windows(6)
                .any(|w| w == b"secret")
        );
        let d = rec.describe(&db).unwrap().to_string();
        assert!(
            !d.contains("EAAG") && !d.contains("app-secret-value"),
            "{d}"
        );
        assert!(d.contains("\"has_access_token\":true"));
        let b = rec.binding(&vault, &Defaults::default()).unwrap();
        assert!(
            b.config
                .contains(&("app-secret".into(), "app-secret-value".into()))
        );
        assert!(!format!("{b:?}").contains("app-secret-value"));
    }

    #[test]
    fn ids_are_validated_and_unique() {
        let db = Database::open_in_memory().unwrap();
        let vault = Vault::ephemeral();
        assert!(matches!(
            add(&db, &vault, tenant("Bad Name", "1"), 0),
            Err(TenantError::Invalid(_))
        ));
        assert!(matches!(
            add(&db, &vault, tenant("a", "12a"), 0),
            Err(TenantError::Invalid(_))
        ));
        add(&db, &vault, tenant("a", "1"), 0).unwrap();
        assert!(matches!(
            add(&db, &vault, tenant("b", "1"), 0),
            Err(TenantError::Storage(_))
        ));
    }

    #[test]
    fn a_record_copied_to_another_tenant_does_not_open() {
        let db = Database::open_in_memory().unwrap();
        let vault = Vault::ephemeral();
        let mut rec = add(&db, &vault, tenant("a", "1"), 0).unwrap();
        rec.id = "b".into();
        assert!(matches!(
            rec.binding(&vault, &Defaults::default()),
            Err(TenantError::Sealed(_))
        ));
    }
}
