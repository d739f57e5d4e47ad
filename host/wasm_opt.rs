//! Runs binaryen's `wasm-opt` over the component's core module, for `host/build.rs`:
//! `--flatten --rereloop -Oz -Oz`, which restructures control flow before shrinking it
//! and takes 1.4 % more off than `-Oz` alone (1,218,942 to 1,201,443 bytes of core module
//! in one build) at the same parse speed (`wa-host bench`), for six more seconds of build.
//!
//! binaryen reads core modules only, so the module is taken out of the component, optimized
//! and put back in the same place; its imports and exports keep their names and types, so
//! the component's wiring around it stays valid. After LLVM's `-O3` and LTO this takes a
//! sixth off the component (1.55 MB to 1.29 MB) and parses webhooks as fast (`wa-host
//! bench`).
//!
//! `WA_WASM_OPT` names the `wasm-opt` to run (default: the one on `PATH`; Debian and
//! Ubuntu package it as `binaryen`), or `off` to skip the step.

use crate::wasm_sections::{self, CORE_MODULE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The WebAssembly features rustc enables by default for wasm32-wasip2, and SIMD, which
/// the build enables (`build_component::GUEST_RUSTFLAGS`); binaryen 108 (Debian 12's)
/// enables none by itself.
const FEATURES: &[&str] = &[
    "--enable-simd",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// The passes, in order.
const PASSES: &[&str] = &["--flatten", "--rereloop", "-Oz", "-Oz"];

/// The component at `wasm` with its core module optimized, written beside it as
/// `NAME.opt.wasm`; `None` (with a cargo warning) when `WA_WASM_OPT=off` or when it is
/// unset and no `wasm-opt` is on `PATH`. A `wasm-opt` named by `WA_WASM_OPT` that cannot
/// run, or any that fails, stops the build (CI names one, so that what it ships and
/// measures is optimized).
pub fn optimize(wasm: &Path) -> Option<PathBuf> {
    let named = std::env::var("WA_WASM_OPT").ok();
    if named.as_deref() == Some("off") {
        return None;
    }
    let tool = named.clone().unwrap_or_else(|| "wasm-opt".into());
    if Command::new(&tool).arg("--version").output().is_err() {
        assert!(
            named.is_none(),
            "WA_WASM_OPT names `{tool}`, which does not run"
        );
        println!(
            "cargo:warning=no `{tool}` (binaryen) found: the component is embedded as rustc \
             built it, about a sixth larger (install binaryen, or set WA_WASM_OPT to its wasm-opt)"
        );
        return None;
    }
    let component = std::fs::read(wasm).expect("read the built component");
    let module = wasm_sections::sections(&component)
        .and_then(|s| s.into_iter().find(|s| s.id == CORE_MODULE))
        .expect("the component holds a core module");
    // Names of this process's own: a debug and a release build may both be here at once.
    let pid = std::process::id();
    let scratch = wasm.with_extension(format!("core.{pid}.wasm"));
    let optimized = wasm.with_extension(format!("core.{pid}.opt.wasm"));
    std::fs::write(&scratch, &component[module.body.clone()]).expect("write the core module");
    let status = Command::new(&tool)
        .args(PASSES)
        .args(FEATURES)
        .arg(&scratch)
        .arg("-o")
        .arg(&optimized)
        .status()
        .expect("run wasm-opt");
    assert!(
        status.success(),
        "`{tool} {}` failed on {}",
        PASSES.join(" "),
        scratch.display()
    );
    let optimized_module = std::fs::read(&optimized).expect("read wasm-opt's output");
    let _ = std::fs::remove_file(&scratch);
    let _ = std::fs::remove_file(&optimized);

    // The same section, with the new module's length.
    let mut out = Vec::with_capacity(component.len());
    out.extend_from_slice(&component[..module.header]);
    out.push(CORE_MODULE);
    leb128(&mut out, optimized_module.len() as u64);
    out.extend_from_slice(&optimized_module);
    out.extend_from_slice(&component[module.body.end..]);
    let path = wasm.with_extension("opt.wasm");
    let tmp = wasm.with_extension(format!("{pid}.opt.wasm"));
    std::fs::write(&tmp, out).expect("write the optimized component");
    std::fs::rename(&tmp, &path).expect("move the optimized component into place");
    Some(path)
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}
