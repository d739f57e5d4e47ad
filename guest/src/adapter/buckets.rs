//! The tenant's key-value buckets as the core's state reads and writes them
//! (`core::webhook::state::Store`).

use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::storage;
use crate::core::webhook::state;

/// The tenant's buckets, each opened when first used.
#[derive(Default)]
pub struct Buckets(Vec<(&'static str, Bucket)>);

impl Buckets {
    fn bucket(&mut self, name: &'static str) -> Result<&Bucket, Error> {
        let i = match self.0.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.0.push((name, kv::open(name).map_err(storage)?));
                self.0.len() - 1
            }
        };
        Ok(&self.0[i].1)
    }
}

impl state::Store for Buckets {
    type Error = Error;

    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.bucket(bucket)?.get(key).map_err(storage)
    }

    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.bucket(bucket)?.set(key, value).map_err(storage)
    }
}
