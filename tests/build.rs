//! Builds the hostile test component (`tests/hostile-guest`) for wasm32-wasip2; its path
//! reaches the tests as `WA_HOSTILE_WASM`.

#[path = "../host/build_component.rs"]
mod build_component;

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    for p in ["tests/hostile-guest", "wit", "host/build_component.rs"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let wasm = build_component::build_component(&root, "whatsapp-hostile-guest", "hostile");
    println!("cargo:rustc-env=WA_HOSTILE_WASM={}", wasm.display());
}
