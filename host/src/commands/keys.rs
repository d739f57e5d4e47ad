//! `wa-host rotate-key`: a new master key, every sealed secret of every tenant re-sealed
//! under it, then the old key retired. Hosts serving from the same data directory keep
//! going: they read the new key from the key file at their next seal, or at the first
//! envelope they cannot open, and every envelope names the key that sealed it.

use super::out;
use crate::{BoxError, Cli, data_dir};
use whatsapp_host::capabilities::crypto::{FLOW_KEY_PURPOSE, Vault};
use whatsapp_host::storage::{Database, SECRETS_BUCKET};

/// How many passes re-seal what a serving host wrote under the old key meanwhile.
const PASSES: usize = 3;

/// Re-seal every secret not under the current key; (re-sealed, left for another pass).
fn reseal_all(db: &Database, vault: &Vault) -> Result<(usize, usize), BoxError> {
    let (mut resealed, mut left) = (0, 0);
    for t in db.tenants()? {
        let mut next = t.clone();
        for (what, field) in [
            ("app secret", &mut next.app_secret_sealed),
            ("verify token", &mut next.verify_token_sealed),
        ] {
            if let Some(sealed) = field.as_ref() {
                match vault.reseal(&t.id, None, sealed) {
                    Ok(Some(fresh)) => {
                        *field = Some(fresh);
                        resealed += 1;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        return Err(format!(
                            "tenant {}'s {what} does not open ({e:?}); no key was retired",
                            t.id
                        )
                        .into());
                    }
                }
            }
        }
        if next != t {
            db.update_tenant(&next)?;
        }
    }
    for (tenant, key, sealed) in db.kv_scan(SECRETS_BUCKET)? {
        let purpose = (key == FLOW_KEY_PURPOSE).then_some(FLOW_KEY_PURPOSE);
        match vault.reseal(&tenant, purpose, &sealed) {
            Ok(None) => {}
            Ok(Some(fresh)) => match db.replace_secret(&tenant, &key, &sealed, &fresh)? {
                true => resealed += 1,
                // Written meanwhile (by a serving host): the next pass looks again.
                false => left += 1,
            },
            Err(e) => {
                return Err(format!(
                    "tenant {tenant}'s {key} does not open ({e:?}); no key was retired"
                )
                .into());
            }
        }
    }
    Ok((resealed, left))
}

/// Envelopes still sealed under a key other than `current`.
fn stale(db: &Database, current: [u8; 4]) -> Result<usize, BoxError> {
    let old = |s: &[u8]| Vault::sealed_key_id(s) != Some(current);
    let mut n = 0;
    for t in db.tenants()? {
        n += [&t.app_secret_sealed, &t.verify_token_sealed]
            .into_iter()
            .flatten()
            .filter(|s| old(s))
            .count();
    }
    n += db
        .kv_scan(SECRETS_BUCKET)?
        .iter()
        .filter(|(_, _, s)| old(s))
        .count();
    Ok(n)
}

pub fn rotate(cli: &Cli) -> Result<(), BoxError> {
    let data = data_dir(cli)?;
    let vault = &data.vault;
    // With the key from the environment the operator chose the new key already
    // (WA_MASTER_KEY) and listed the old ones (WA_PREVIOUS_MASTER_KEYS).
    let from_env = vault.key_file().is_none();
    let current = if from_env {
        vault.key_id()
    } else {
        vault.rotate()?
    };
    let mut resealed = 0;
    for _ in 0..PASSES {
        let (n, left) = reseal_all(&data.db, vault)?;
        resealed += n;
        if left == 0 {
            break;
        }
    }
    let remaining = stale(&data.db, current)?;
    let retired: Vec<String> = if remaining == 0 && !from_env {
        vault.retire_old_keys()?.iter().map(hex::encode).collect()
    } else {
        Vec::new()
    };
    out(serde_json::json!({
        "key_id": hex::encode(current),
        "resealed": resealed,
        "stale": remaining,
        "retired": retired,
    }))?;
    if remaining > 0 {
        return Err(format!("{remaining} secrets are still sealed under an old key (written while rotating?): run rotate-key again").into());
    }
    if from_env {
        eprintln!(
            "wa-host: every secret is sealed under WA_MASTER_KEY; WA_PREVIOUS_MASTER_KEYS can go"
        );
    }
    Ok(())
}
