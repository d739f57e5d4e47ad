//! What the tenant's readiness checklist reads, in its `connection` bucket, written as
//! things happen: the credential's state (a token Meta refused), the webhook handshake,
//! the template sync.

use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::storage;
use super::now_secs;
use crate::core::GraphError;
use crate::core::connection::{
    CONNECTION_BUCKET, CREDENTIAL_KEY, CredentialRecord, TEMPLATES_SYNCED_KEY, WEBHOOK_VERIFIED_KEY,
};

type Result<T> = std::result::Result<T, Error>;

/// The tenant's `connection` bucket.
pub fn bucket() -> Result<Bucket> {
    kv::open(CONNECTION_BUCKET).map_err(storage)
}

pub fn json<T: serde::de::DeserializeOwned>(b: &Bucket, key: &str) -> Result<Option<T>> {
    Ok(b.get(key)
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

pub fn seconds(b: &Bucket, key: &str) -> Result<Option<u64>> {
    Ok(b.get(key)
        .map_err(storage)?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
}

/// Record that a webhook handshake succeeded for the tenant now.
pub fn mark_webhook_verified() -> Result<()> {
    bucket()?
        .set(WEBHOOK_VERIFIED_KEY, now_secs().to_string().as_bytes())
        .map_err(storage)
}

/// Record that the templates were synced now.
pub fn mark_templates_synced() -> Result<()> {
    bucket()?
        .set(TEMPLATES_SYNCED_KEY, now_secs().to_string().as_bytes())
        .map_err(storage)
}

/// Put the tenant in `reauth-required` because Meta refused its token with `e`; a
/// tenant already there keeps the time it entered it.
pub fn mark_reauth_required(e: &GraphError) -> Result<()> {
    let b = bucket()?;
    let current: Option<CredentialRecord> = json(&b, CREDENTIAL_KEY)?;
    if current.is_some_and(|c| c.state == "reauth-required") {
        return Ok(());
    }
    let record = CredentialRecord::reauth_required(e, now_secs());
    b.set(CREDENTIAL_KEY, &crate::core::encoding::json_bytes(&record))
        .map_err(storage)
}
