//! Builds a crate of this workspace as a wasm32-wasip2 component, for build scripts
//! (`host/build.rs` builds the plugin, `tests/build.rs` the hostile test component).
//! Each gets its own target directory beside the workspace's, never inside the outer
//! build's lock.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Build `package` with the `guest` profile into `target/<dir>` and return the `.wasm`.
pub fn build_component(root: &Path, package: &str, dir: &str) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "-p",
            package,
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags are for the host target, not for wasm.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run cargo to build a component");
    if !status.success() {
        panic!(
            "building {package} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
        );
    }
    let wasm = target_dir
        .join("wasm32-wasip2/guest")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(wasm.exists(), "{} was not produced", wasm.display());
    wasm
}
