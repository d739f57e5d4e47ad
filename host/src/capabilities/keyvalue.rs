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

    fn read(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        if let Some(v) = self.staged.as_ref().and_then(|w| w.get(bucket, key)) {
            return Ok(v.map(<[u8]>::to_vec));
        }
        self.backend.get(self.tenant, bucket, key).map_err(other)
    }

    fn write(&mut self, bucket: &str, key: &str, value: Option<&[u8]>) -> Result<(), Error> {
        match (&mut self.staged, value) {
            (Some(w), v) => {
                w.put(bucket, key, v.map(<[u8]>::to_vec));
                Ok(())
            }
            (None, Some(v)) => self.backend.set(self.tenant, bucket, key, v).map_err(other),
            (None, None) => self.backend.delete(self.tenant, bucket, key).map_err(other),
        }
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
    fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<Bucket>, Error>> {
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
    fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let bucket = self.bucket(&b)?;
        Ok(check_key(&key).and_then(|()| self.read(&bucket, &key)))
    }

    fn set(
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
        Ok(check_key(&key).and_then(|()| self.write(&bucket, &key, Some(&value))))
    }

    fn delete(&mut self, b: Resource<Bucket>, key: String) -> wasmtime::Result<Result<(), Error>> {
        let bucket = self.bucket(&b)?;
        Ok(check_key(&key).and_then(|()| self.write(&bucket, &key, None)))
    }

    fn exists(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let bucket = self.bucket(&b)?;
        Ok(check_key(&key).and_then(|()| self.read(&bucket, &key).map(|v| v.is_some())))
    }

    fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> wasmtime::Result<Result<KeyResponse, Error>> {
        let bucket = self.bucket(&b)?;
        // `cursor` is guest-controlled: it is only ever an offset, and the backend clamps it.
        let offset = cursor.unwrap_or(0);
        Ok(self
            .backend
            .list_keys(self.tenant, &bucket, offset, LIST_PAGE)
            .map_err(other)
            .map(|keys| {
                let cursor = (keys.len() as u32 == LIST_PAGE)
                    .then(|| offset.saturating_add(u64::from(LIST_PAGE)));
                KeyResponse { keys, cursor }
            }))
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for KeyValue<'_> {
    fn increment(
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
                .increment(self.tenant, &bucket, &key, delta)
                .map_err(other));
        }
        // Staged: the same counter encoding as the backend's (decimal text).
        let current = match self.read(&bucket, &key) {
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
            .map(|()| next))
    }
}

struct KeyValueCap;

impl HasData for KeyValueCap {
    type Data<'a> = KeyValue<'a>;
}

/// Add `wasi:keyvalue/store` and `wasi:keyvalue/atomics` to a linker.
pub fn add_to_linker<T: 'static>(
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

    #[test]
    fn two_tenants_cannot_see_each_others_keys() {
        let backend: Arc<dyn KvBackend> = Arc::new(Database::open_in_memory().unwrap());
        let mut table = ResourceTable::new();
        let mut a = KeyValue {
            tenant: "a",
            backend: &backend,
            table: &mut table,
            staged: None,
        };
        let b1 = a.open("secrets".into()).unwrap().unwrap();
        a.set(b1, "access-token".into(), b"sealed-a".to_vec())
            .unwrap()
            .unwrap();
        let mut table_b = ResourceTable::new();
        let mut b = KeyValue {
            tenant: "b",
            backend: &backend,
            table: &mut table_b,
            staged: None,
        };
        let b2 = b.open("secrets".into()).unwrap().unwrap();
        assert_eq!(b.get(b2, "access-token".into()).unwrap().unwrap(), None);
        let b3 = b.open("secrets".into()).unwrap().unwrap();
        assert!(b.list_keys(b3, None).unwrap().unwrap().keys.is_empty());
    }

    #[test]
    fn guest_values_are_bounded() {
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
                matches!(kv.open(bad.into()).unwrap(), Err(Error::NoSuchStore)),
                "{bad:?}"
            );
        }
        let b = kv.open("b".into()).unwrap().unwrap();
        assert!(
            kv.set(b, "k".into(), vec![0; MAX_VALUE_BYTES + 1])
                .unwrap()
                .is_err()
        );
        let b = kv.open("b".into()).unwrap().unwrap();
        assert!(kv.get(b, "k".repeat(MAX_KEY_BYTES + 1)).unwrap().is_err());
        let b = kv.open("b".into()).unwrap().unwrap();
        assert_eq!(
            atomics::Host::increment(&mut kv, b, "n".into(), 2)
                .unwrap()
                .unwrap(),
            2
        );
    }
}
