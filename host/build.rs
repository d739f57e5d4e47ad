//! Builds the component from `../guest` for wasm32-wasip2 with its own target directory,
//! so that `cargo run -p whatsapp-host` needs no extra step. The path of the built
//! `.wasm` reaches the crate as `WA_GUEST_WASM`.

mod build_component;

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    for p in [
        "guest/src",
        "guest/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
        "host/build_component.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=WA_GUEST_WASM_PREBUILT");
    if let Ok(prebuilt) = std::env::var("WA_GUEST_WASM_PREBUILT") {
        println!("cargo:rustc-env=WA_GUEST_WASM={prebuilt}");
        return;
    }
    let wasm = build_component::build_component(&root, "whatsapp-guest", "guest");
    println!("cargo:rustc-env=WA_GUEST_WASM={}", wasm.display());
}
