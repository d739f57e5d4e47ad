//! What the process tests of `wa-host` share.

/// One compiled-component cache for every process the tests start (`WA_CACHE_DIR`): a
/// debug build compiles the component once instead of once per data directory.
pub fn test_cache() -> std::path::PathBuf {
    std::env::temp_dir().join("wa-host-test-cache")
}
