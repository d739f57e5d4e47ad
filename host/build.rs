//! Builds the component from `../guest` for wasm32-wasip2 with its own target directory,
//! so that `cargo run -p whatsapp-host` needs no extra step, then runs binaryen's
//! `wasm-opt` over it when one is installed (`wasm_opt.rs`). The path of the `.wasm` the
//! host embeds reaches the crate as `WA_GUEST_WASM`.

mod build_component;
mod wasm_opt;
mod wasm_sections;

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
        "host/wasm_opt.rs",
        "host/wasm_sections.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=WA_GUEST_WASM_PREBUILT");
    println!("cargo:rerun-if-env-changed=WA_WASM_OPT");
    if let Ok(prebuilt) = std::env::var("WA_GUEST_WASM_PREBUILT") {
        println!("cargo:rustc-env=WA_GUEST_WASM={prebuilt}");
        println!("cargo:rustc-env=WA_GUEST_WASM_OPT=0");
        return;
    }
    let built = build_component::build_component(&root, "whatsapp-guest", "guest");
    let optimized = wasm_opt::optimize(&built);
    println!(
        "cargo:rustc-env=WA_GUEST_WASM_OPT={}",
        u8::from(optimized.is_some())
    );
    let wasm = optimized.unwrap_or(built);
    println!("cargo:rustc-env=WA_GUEST_WASM={}", wasm.display());
}
