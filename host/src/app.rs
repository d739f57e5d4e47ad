//! What the `wa-host` commands share: the data directory, the database, the master key,
//! and a runtime built from them.

use crate::builder::HostBuilder;
pub use crate::builder::cache_dir;
use crate::capabilities::crypto::Vault;
use crate::capabilities::http::EgressPolicy;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::storage::Database;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The default data directory: `$XDG_DATA_HOME/wa-host`, else `~/.local/share/wa-host`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("wa-host");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/wa-host"),
        None => PathBuf::from(".wa-host"),
    }
}

/// A data directory opened: the database and the master key.
pub struct DataDir {
    /// The directory.
    pub path: PathBuf,
    /// `wa-host.sqlite3` in it, or the database `--database-url` names.
    pub db: Arc<Database>,
    /// From `WA_MASTER_KEY` or `master.key` in it.
    pub vault: Arc<Vault>,
}

impl DataDir {
    /// Open (creating) the data directory, with its own SQLite database.
    pub fn open(path: &Path) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Self::open_with(path, None)
    }

    /// Open (creating) the data directory; the database is the one `database_url`
    /// names (`postgres://…` for a server several hosts share), else the directory's
    /// SQLite file. The master key file stays in the directory either way: it is never
    /// in the database.
    pub fn open_with(
        path: &Path,
        database_url: Option<&str>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        std::fs::create_dir_all(path)
            .map_err(|e| format!("cannot create the data directory {}: {e}", path.display()))?;
        let db = match database_url {
            Some(url) => Database::open_url(url)?,
            None => Database::open(&path.join("wa-host.sqlite3"))?,
        };
        let vault = Vault::from_env_or_file(&path.join("master.key"))?;
        Ok(DataDir {
            path: path.to_path_buf(),
            db: Arc::new(db),
            vault: Arc::new(vault),
        })
    }

    /// Where the precompiled component is cached: [`cache_dir`], else (no home
    /// directory) `cache` in the data directory.
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir().unwrap_or_else(|| self.path.join("cache"))
    }

    /// A runtime over this data directory's database and key, with the precompiled
    /// component cached ([`cache_dir`], else in the data directory).
    pub fn runtime(
        &self,
        wasm: Option<&[u8]>,
        egress: EgressPolicy,
    ) -> Result<Runtime, Box<dyn std::error::Error + Send + Sync>> {
        HostBuilder::new()
            .database(self.db.clone())
            .vault(self.vault.clone())
            .egress(egress)
            .config(RuntimeConfig {
                cache_dir: Some(self.cache_dir()),
                ..RuntimeConfig::default()
            })
            .component(wasm.map(<[u8]>::to_vec))
            .build()
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
