//! `wasi:keyvalue` (store and atomics) over a [`KvBackend`], namespaced by the tenant
//! the host bound. Bucket names, keys, values and cursors all come from the guest, so
//! each is bounded here before it reaches the backend.
//!
//! An instance may stage its writes instead of writing through (`staged`): reads see
//! them, and the host commits them later in one piece (see [`crate::journal`]). `list-keys`
//! lists what is committed.

use crate::bindings::wasi::keyvalue::atomics;
use crate::bindings::wasi::keyvalue::store::{self, Error, KeyResponse};
use crate::journal::WriteSet;
use crate::storage::{KvBackend, StorageError};
use std::sync::Arc;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

/// Longest bucket name.
pub const MAX_BUCKET_NAME: usize = 64;
/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Keys per `list-keys` page.
pub const LIST_PAGE: u32 = 1000;

pub use crate::bindings::Bucket;

/// The view a tenant instance sees.
pub struct KeyValue<'a> {
    /// The bound tenant.
    pub tenant: &'a str,
    /// Where the data lives.
    pub backend: &'a Arc<dyn KvBackend>,
    /// The instance's resource table.
    pub table: &'a mut ResourceTable,
    /// Where writes go when the instance stages them; none writes through.
    pub staged: Option<&'a mut WriteSet>,
}

fn other(e: StorageError) -> Error {
    Error::Other(e.0)
}

impl KeyValue<'_> {
    fn bucket(&self, b: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(b)?.name.clone())
    }

    /// What a read needs, apart from the resource table (which is not `Sync`, and a
    /// read's future may move between threads while it waits).
    fn reader(&self) -> Reader<'_> {
        Reader {
            tenant: self.tenant,
            backend: self.backend,
            staged: self.staged.as_deref(),
        }
    }

    async fn write(&mut self, bucket: &str, key: &str, value: Option<&[u8]>) -> Result<(), Error> {
        match (&mut self.staged, value) {
            (Some(w), v) => {
                w.put(bucket, key, v.map(<[u8]>::to_vec));
                Ok(())
            }
            (None, Some(v)) => self
                .backend
                .set_async(self.tenant, bucket, key, v)
                .await
                .map_err(other),
            (None, None) => self
                .backend
                .delete_async(self.tenant, bucket, key)
                .await
                .map_err(other),
        }
    }
}

struct Reader<'a> {
    tenant: &'a str,
    backend: &'a Arc<dyn KvBackend>,
    staged: Option<&'a WriteSet>,
}

impl Reader<'_> {
    /// The staged value if this instance wrote the key, else the backend's.
    async fn read(self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        if let Some(v) = self.staged.and_then(|w| w.get(bucket, key)) {
            return Ok(v.map(<[u8]>::to_vec));
        }
        self.backend
            .get_async(self.tenant, bucket, key)
            .await
            .map_err(other)
    }
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::Other(format!(
            "keys must be 1 to {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

impl store::Host for KeyValue<'_> {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, Error>> {
        let ok = !identifier.is_empty()
            && identifier.len() <= MAX_BUCKET_NAME
            && identifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !ok {
            return Ok(Err(Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(Bucket { name: identifier })?))
    }
}

impl store::HostBucket for KeyValue<'_> {
    async fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let bucket = self.bucket(&b)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        Ok(self.reader().read(&bucket, &key).await)
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let bucket = self.bucket(&b)?;
        if value.len() > MAX_VALUE_BYTES {
            return Ok(Err(Error::Other(format!(
                "values must be at most {MAX_VALUE_BYTES} bytes"
            ))));
        }
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        Ok(self.write(&bucket, &key, Some(&value)).await)
    }

    async fn delete(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let bucket = self.bucket(&b)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        Ok(self.write(&bucket, &key, None).await)
    }

    async fn exists(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let bucket = self.bucket(&b)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        Ok(self.reader().read(&bucket, &key).await.map(|v| v.is_some()))
    }

    async fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> wasmtime::Result<Result<KeyResponse, Error>> {
        let bucket = self.bucket(&b)?;
        // `cursor` is guest-controlled: it is only ever an offset, and the backend clamps it.
        let offset = cursor.unwrap_or(0);
        Ok(self
            .backend
            .list_keys_async(self.tenant, &bucket, offset, LIST_PAGE)
            .await
            .map_err(other)
            .map(|keys| {
                let cursor = (keys.len() as u32 == LIST_PAGE)
                    .then(|| offset.saturating_add(u64::from(LIST_PAGE)));
                KeyResponse { keys, cursor }
            }))
    }

    async fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for KeyValue<'_> {
    async fn increment(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let bucket = self.bucket(&b)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        if self.staged.is_none() {
            return Ok(self
                .backend
                .increment_async(self.tenant, &bucket, &key, delta)
                .await
                .map_err(other));
        }
        // Staged: the same counter encoding as the backend's (decimal text).
        let current = match self.reader().read(&bucket, &key).await {
            Ok(None) => 0,
            Ok(Some(v)) => match crate::storage::parse_counter(&v) {
                Some(n) => n,
                None => {
                    return Ok(Err(Error::Other(format!(
                        "the value under {key} is not a counter"
                    ))));
                }
            },
            Err(e) => return Ok(Err(e)),
        };
        let Some(next) = current.checked_add(delta) else {
            return Ok(Err(Error::Other(format!(
                "the counter under {key} would overflow"
            ))));
        };
        Ok(self
            .write(&bucket, &key, Some(next.to_string().as_bytes()))
            .await
            .map(|()| next))
    }
}

struct KeyValueCap;

impl HasData for KeyValueCap {
    type Data<'a> = KeyValue<'a>;
}

/// Add `wasi:keyvalue/store` and `wasi:keyvalue/atomics` to a linker.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> KeyValue<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, KeyValueCap>(linker, get)?;
    atomics::add_to_linker::<T, KeyValueCap>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Database;
    use store::{Host, HostBucket};

    #[tokio::test]
    async fn two_tenants_cannot_see_each_others_keys() {
        let backend: Arc<dyn KvBackend> = Arc::new(Database::open_in_memory().unwrap());
        let mut table = ResourceTable::new();
        let mut a = KeyValue {
            tenant: "a",
            backend: &backend,
            table: &mut table,
            staged: None,
        };
        let b1 = a.open("secrets".into()).await.unwrap().unwrap();
        a.set(b1, "access-token".into(), b"sealed-a".to_vec())
            .await
            .unwrap()
            .unwrap();
        let mut table_b = ResourceTable::new();
        let mut b = KeyValue {
            tenant: "b",
            backend: &backend,
            table: &mut table_b,
            staged: None,
        };
        let b2 = b.open("secrets".into()).await.unwrap().unwrap();
        assert_eq!(
            b.get(b2, "access-token".into()).await.unwrap().unwrap(),
            None
        );
        let b3 = b.open("secrets".into()).await.unwrap().unwrap();
        assert!(
            b.list_keys(b3, None)
                .await
                .unwrap()
                .unwrap()
                .keys
                .is_empty()
        );
    }

    #[tokio::test]
    async fn guest_values_are_bounded() {
        let backend: Arc<dyn KvBackend> = Arc::new(Database::open_in_memory().unwrap());
        let mut table = ResourceTable::new();
        let mut kv = KeyValue {
            tenant: "a",
            backend: &backend,
            table: &mut table,
            staged: None,
        };
        for bad in ["", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(kv.open(bad.into()).await.unwrap(), Err(Error::NoSuchStore)),
                "{bad:?}"
            );
        }
        let b = kv.open("b".into()).await.unwrap().unwrap();
        assert!(
            kv.set(b, "k".into(), vec![0; MAX_VALUE_BYTES + 1])
                .await
                .unwrap()
                .is_err()
        );
        let b = kv.open("b".into()).await.unwrap().unwrap();
        assert!(
            kv.get(b, "k".repeat(MAX_KEY_BYTES + 1))
                .await
                .unwrap()
                .is_err()
        );
        let b = kv.open("b".into()).await.unwrap().unwrap();
        assert_eq!(
            atomics::Host::increment(&mut kv, b, "n".into(), 2)
                .await
                .unwrap()
                .unwrap(),
            2
        );
    }
}
