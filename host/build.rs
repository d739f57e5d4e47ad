//! Builds the component from `../guest` for wasm32-wasip2 with its own target directory,
//! so that `cargo run -p whatsapp-host` needs no extra step. The path of the built
//! `.wasm` reaches the crate as `WA_GUEST_WASM`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    for p in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=WA_GUEST_WASM_PREBUILT");
    if let Ok(prebuilt) = std::env::var("WA_GUEST_WASM_PREBUILT") {
        println!("cargo:rustc-env=WA_GUEST_WASM={prebuilt}");
        return;
    }
    // Beside the workspace's own target directory, never inside the outer build's lock.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "-p",
            "whatsapp-guest",
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
    let status = cmd
        .status()
        .expect("run cargo to build the guest component");
    if !status.success() {
        panic!(
            "building the guest component failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`)"
        );
    }
    let wasm = target_dir.join("wasm32-wasip2/guest/whatsapp_guest.wasm");
    assert!(wasm.exists(), "{} was not produced", wasm.display());
    println!("cargo:rustc-env=WA_GUEST_WASM={}", wasm.display());
}
