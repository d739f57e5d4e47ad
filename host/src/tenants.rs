//! Tenants: adding one (its secrets sealed on the way in), its numbers and WABA, its
//! token, describing one without its secrets, removing one, and binding one into an
//! instance.

use crate::capabilities::crypto::Vault;
use crate::runtime::TenantBinding;
use crate::storage::{Database, StorageError, TenantRecord};
use zeroize::Zeroizing;

/// A tenant to add. Secrets are held zeroizing until sealed. An empty
/// `phone_number_id` or `waba_id` means "not known yet": a tenant connected through
/// OAuth learns them afterwards ([`set_identity`], [`select_numbers`]).
#[derive(Default)]
pub struct NewTenant {
    /// The tenant id (`[a-z0-9_-]`, 1 to 64).
    pub id: String,
    /// The default sending number's id (digits), or empty.
    pub phone_number_id: String,
    /// Further numbers the tenant sends from (digits).
    pub numbers: Vec<String>,
    /// The WABA id (digits), or empty.
    pub waba_id: String,
    /// The display number.
    pub display_phone_number: Option<String>,
    /// A Graph origin other than Meta's (the sandbox).
    pub graph_origin: Option<String>,
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
    "oauth-dialog-origin",
    "business-app-numbers",
    "token-warning-days",
    "marketing-messages",
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
    /// `WA_APP_ID`: the Meta app tenants connect through, unless a tenant sets `app-id`.
    pub app_id: Option<String>,
}

/// Why a tenant could not be added, changed or bound.
#[derive(Debug)]
pub enum TenantError {
    /// A field is not acceptable.
    Invalid(String),
    /// No such tenant.
    NotFound(String),
    /// The database failed or refused.
    Storage(StorageError),
    /// A sealed secret did not open (another master key, or tampered).
    Sealed(String),
}

impl std::fmt::Display for TenantError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TenantError::Invalid(s) => write!(f, "invalid tenant: {s}"),
            TenantError::NotFound(s) => write!(f, "no tenant named {s}"),
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

/// A tenant id: `[a-z0-9_-]`, 1 to 64.
pub fn check_id(id: &str) -> Result<(), TenantError> {
    check(
        "id",
        id,
        |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_',
        64,
    )
}

fn digits(field: &str, v: &str) -> Result<(), TenantError> {
    check(field, v, |b| b.is_ascii_digit(), 32)
}

fn some(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Add a tenant, sealing its secrets with its own key.
pub fn add(
    db: &Database,
    vault: &Vault,
    t: NewTenant,
    now_secs: i64,
) -> Result<TenantRecord, TenantError> {
    check_id(&t.id)?;
    if !t.phone_number_id.is_empty() {
        digits("phone-number-id", &t.phone_number_id)?;
    }
    for n in &t.numbers {
        digits("number", n)?;
    }
    if !t.waba_id.is_empty() {
        digits("waba-id", &t.waba_id)?;
    }
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
    let mut record = TenantRecord {
        id: t.id.clone(),
        waba_id: some(t.waba_id),
        phone_number_id: some(t.phone_number_id),
        numbers: t.numbers,
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
    record.normalize_numbers();
    db.insert_tenant(&record)?;
    Ok(record)
}

/// The tenant, or `NotFound`.
pub fn get(db: &Database, id: &str) -> Result<TenantRecord, TenantError> {
    db.tenant(id)?
        .ok_or_else(|| TenantError::NotFound(id.to_string()))
}

/// Set the tenant's WABA id (as found when it connected).
pub fn set_identity(
    db: &Database,
    id: &str,
    waba_id: &str,
    display_phone_number: Option<&str>,
) -> Result<TenantRecord, TenantError> {
    digits("waba-id", waba_id)?;
    let mut t = get(db, id)?;
    t.waba_id = Some(waba_id.to_string());
    if let Some(d) = display_phone_number {
        t.display_phone_number = Some(d.to_string());
    }
    db.update_tenant(&t)?;
    Ok(t)
}

/// Make `numbers` the tenant's sending numbers (the first is the default); a number
/// another tenant has is refused, since webhooks are routed by it.
pub fn select_numbers(
    db: &Database,
    id: &str,
    numbers: &[String],
) -> Result<TenantRecord, TenantError> {
    if numbers.is_empty() {
        return Err(TenantError::Invalid("select at least one number".into()));
    }
    for n in numbers {
        digits("phone-number-id", n)?;
    }
    let mut t = get(db, id)?;
    t.phone_number_id = Some(numbers[0].clone());
    t.numbers = numbers.to_vec();
    t.normalize_numbers();
    db.update_tenant(&t)?;
    Ok(t)
}

/// Remove a tenant: its record, numbers and storage (its sealed secrets with it). Its
/// recorded events stay. Whether it existed.
pub fn remove(db: &Database, id: &str) -> Result<bool, TenantError> {
    check_id(id)?;
    Ok(db.delete_tenant(id)?)
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

/// What the host does with a stored tenant: its secrets opened, its binding, its
/// description.
pub trait TenantExt {
    /// The tenant's app secret, or the host's default.
    fn app_secret(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<Option<Zeroizing<String>>, TenantError>;
    /// The tenant's verify token, or the host's default.
    fn verify_token(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<Option<Zeroizing<String>>, TenantError>;
    /// The binding of an instance for this tenant.
    fn binding(&self, vault: &Vault, defaults: &Defaults) -> Result<TenantBinding, TenantError>;
    /// Whether the tenant sends from this number.
    fn has_number(&self, phone_number_id: &str) -> bool;
}

impl TenantExt for TenantRecord {
    fn app_secret(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<Option<Zeroizing<String>>, TenantError> {
        match &self.app_secret_sealed {
            Some(s) => open(vault, &self.id, "app secret", s).map(Some),
            None => Ok(defaults.app_secret.clone()),
        }
    }

    fn verify_token(
        &self,
        vault: &Vault,
        defaults: &Defaults,
    ) -> Result<Option<Zeroizing<String>>, TenantError> {
        match &self.verify_token_sealed {
            Some(s) => open(vault, &self.id, "verify token", s).map(Some),
            None => Ok(defaults.verify_token.clone()),
        }
    }

    fn binding(&self, vault: &Vault, defaults: &Defaults) -> Result<TenantBinding, TenantError> {
        let mut settings = Vec::new();
        if let Some(p) = &self.phone_number_id {
            settings.push(("phone-number-id".to_string(), p.clone()));
        }
        if !self.numbers.is_empty() {
            settings.push(("phone-number-ids".to_string(), self.numbers.join(",")));
        }
        if let Some(w) = &self.waba_id {
            settings.push(("waba-id".to_string(), w.clone()));
        }
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
        let own_app_id = self.settings.iter().any(|(k, _)| k == "app-id");
        if let (false, Some(a)) = (own_app_id, &defaults.app_id) {
            settings.push(("app-id".into(), a.clone()));
        }
        settings.extend(
            self.settings
                .iter()
                .filter(|(k, _)| SETTABLE.contains(&k.as_str()))
                .cloned(),
        );
        Ok(TenantBinding::new(&self.id, settings))
    }

    fn has_number(&self, phone_number_id: &str) -> bool {
        self.numbers.iter().any(|n| n == phone_number_id)
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
            app_secret: Some(Zeroizing::new("app-secret-value".into())),
            ..NewTenant::default()
        }
    }

    // The access token's sealing, and descriptions: `tests/tenants.rs` (they go through
    // the component).
    #[test]
    fn secrets_are_sealed_at_rest() {
        let db = Database::open_in_memory().unwrap();
        let vault = Vault::ephemeral();
        let rec = add(&db, &vault, tenant("acme", "1"), 0).unwrap();
        assert!(
            !rec.app_secret_sealed
                .as_ref()
                .unwrap()
                .windows(6)
                .any(|w| w == b"secret")
        );
        let b = rec.binding(&vault, &Defaults::default()).unwrap();
        assert!(
            b.config
                .contains(&("app-secret".into(), "app-secret-value".into()))
        );
        assert!(!format!("{b:?}").contains("app-secret-value"));
    }

    #[test]
    fn ids_are_validated_and_numbers_unique() {
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
        assert!(db.tenant("b").unwrap().is_none(), "nothing of b was kept");
        assert!(matches!(
            add(&db, &vault, tenant("a", "3"), 0),
            Err(TenantError::Storage(_))
        ));
    }

    #[test]
    fn a_tenant_without_identity_learns_it_and_selects_numbers() {
        let db = Database::open_in_memory().unwrap();
        let vault = Vault::ephemeral();
        let t = add(
            &db,
            &vault,
            NewTenant {
                id: "fresh".into(),
                ..NewTenant::default()
            },
            0,
        )
        .unwrap();
        assert_eq!((t.waba_id, t.phone_number_id), (None, None));
        let b = db.tenant("fresh").unwrap().unwrap();
        let b = b
            .binding(
                &vault,
                &Defaults {
                    app_id: Some("42".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(b.config.iter().all(|(k, _)| k != "phone-number-id"));
        assert!(b.config.contains(&("app-id".into(), "42".into())));
        set_identity(&db, "fresh", "555", Some("+1 555")).unwrap();
        let t = select_numbers(&db, "fresh", &["20".into(), "10".into()]).unwrap();
        assert_eq!(t.phone_number_id.as_deref(), Some("20"));
        assert_eq!(
            db.tenant_by_phone_number_id("10").unwrap().unwrap().id,
            "fresh"
        );
        let b = t.binding(&vault, &Defaults::default()).unwrap();
        assert!(
            b.config
                .contains(&("phone-number-ids".into(), "20,10".into()))
        );
        add(&db, &vault, tenant("other", "30"), 0).unwrap();
        assert!(
            select_numbers(&db, "other", &["10".into()]).is_err(),
            "10 is fresh's"
        );
        assert_eq!(
            get(&db, "other").unwrap().numbers,
            vec!["30"],
            "a refused selection changes nothing"
        );
        assert!(remove(&db, "fresh").unwrap());
        assert!(db.tenant_by_phone_number_id("10").unwrap().is_none());
        assert!(!remove(&db, "fresh").unwrap());
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
