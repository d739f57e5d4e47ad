//! `wasi:config/store`: the tenant's settings, fixed by the host when it binds the
//! instance. The guest reads them; it cannot change them.

use crate::bindings::wasi::config::store::{self as wit, Error};
use wasmtime::component::{HasData, Linker};

/// The view: the bound tenant's settings.
pub struct Config<'a> {
    /// Key-value pairs (see the `plugin-core` world's documentation for the keys).
    pub pairs: &'a [(String, String)],
}

impl wit::Host for Config<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, Error>> {
        Ok(Ok(self
            .pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, Error>> {
        Ok(Ok(self.pairs.to_vec()))
    }
}

struct ConfigCap;

impl HasData for ConfigCap {
    type Data<'a> = Config<'a>;
}

/// Add `wasi:config/store` to a linker.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Config<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, ConfigCap>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::wasi::config::store::Host;

    #[test]
    fn reads_only_what_the_host_bound() {
        let pairs = vec![("tenant-id".to_string(), "acme".to_string())];
        let mut c = Config { pairs: &pairs };
        assert_eq!(
            c.get("tenant-id".into()).unwrap().unwrap(),
            Some("acme".into())
        );
        assert_eq!(c.get("other".into()).unwrap().unwrap(), None);
        assert_eq!(c.get_all().unwrap().unwrap(), pairs);
    }
}
