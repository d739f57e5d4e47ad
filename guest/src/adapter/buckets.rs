//! The tenant's key-value buckets as the core's state reads and writes them
//! (`core::webhook::state::Store`).
//!
//! An instance serves one tenant for its whole life, so a bucket opened once stays open
//! for the instance's later calls: opening and dropping a bucket are two calls into the
//! host, as many as the reads a webhook's event makes.

use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::storage;
use crate::core::webhook::state;
use std::cell::RefCell;

/// More distinct buckets than the component names (`contacts`, `statuses`, …).
const SLOTS: usize = 8;

thread_local! {
    /// The buckets opened so far. A fixed array: nothing here touches the per-call arena.
    static OPEN: RefCell<[Option<(&'static str, Bucket)>; SLOTS]> =
        const { RefCell::new([const { None }; SLOTS]) };
}

/// Run `f` over bucket `name`, opened on first use and kept open.
pub fn with<R>(name: &'static str, f: impl FnOnce(&Bucket) -> R) -> Result<R, Error> {
    OPEN.with(|open| {
        let mut open = open.borrow_mut();
        let slot = match open
            .iter()
            .position(|s| s.as_ref().is_none_or(|(n, _)| *n == name))
        {
            Some(i) => i,
            // Every slot holds another name: open this one for this use only.
            None => return Ok(f(&kv::open(name).map_err(storage)?)),
        };
        if open[slot].is_none() {
            open[slot] = Some((name, kv::open(name).map_err(storage)?));
        }
        let (_, bucket) = open[slot].as_ref().expect("opened above");
        Ok(f(bucket))
    })
}

/// The tenant's buckets, as the core's state uses them.
#[derive(Default)]
pub struct Buckets;

impl state::Store for Buckets {
    type Error = Error;

    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        with(bucket, |b| b.get(key))?.map_err(storage)
    }

    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), Error> {
        with(bucket, |b| b.set(key, value))?.map_err(storage)
    }
}
