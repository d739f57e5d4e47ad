//! Builds a crate of this workspace as a wasm32-wasip2 component, for build scripts
//! (`host/build.rs` builds the plugin, `tests/build.rs` the hostile test component).
//! Each gets its own target directory beside the workspace's, never inside the outer
//! build's lock.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Build `package` with the `guest` profile into `target/<dir>` and return the `.wasm`.
pub fn build_component(root: &Path, package: &str, dir: &str) -> PathBuf {
    let outer_target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target_dir = outer_target.join(dir);
    ensure_wasm_target(&outer_target);
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
    cmd.env("CARGO_ENCODED_RUSTFLAGS", GUEST_RUSTFLAGS);
    let status = cmd.status().expect("run cargo to build a component");
    if !status.success() {
        panic!("building {package} for wasm32-wasip2 failed; cargo's errors are above");
    }
    let wasm = target_dir
        .join("wasm32-wasip2/guest")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(wasm.exists(), "{} was not produced", wasm.display());
    wasm
}

/// The compilation target of every component.
const WASM_TARGET: &str = "wasm32-wasip2";

/// The flags every component is built with. WebAssembly SIMD (`simd128`, in every
/// runtime we target: wasmtime, V8) lets LLVM copy and compare 16 bytes at a time: the
/// component comes out 19 KB smaller (1.5 %), as fast (`wa-host bench`).
/// `examples/node/build.mjs` and `examples/wasmtime-cli/run.sh` build into the same
/// target directory and pass the same flags: a difference would make cargo rebuild.
const GUEST_RUSTFLAGS: &str = "-Ctarget-feature=+simd128";

/// Make sure the toolchain building us has the wasm32-wasip2 standard library.
///
/// `rust-toolchain.toml` lists the target, but rustup adds a toolchain file's targets only
/// when it installs the toolchain: a machine that already had Rust 1.95 lacks it, and the
/// guest's build would die with "can't find crate for `core`". So when the target is
/// missing and rustup drives this build, add it to this very toolchain and go on; without
/// rustup, stop with the command that fixes it.
fn ensure_wasm_target(outer_target: &Path) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = |root: &Option<PathBuf>| {
        root.as_ref()
            .is_some_and(|r| r.join("lib/rustlib").join(WASM_TARGET).join("lib").is_dir())
    };
    if installed(&sysroot) {
        return;
    }
    let fix = format!("rustup target add {WASM_TARGET}");
    // rustup's proxy names the toolchain it chose (from rust-toolchain.toml) in the
    // environment of everything it starts; without it, this build is not rustup's.
    let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") else {
        panic!(
            "the {WASM_TARGET} target is not installed for {rustc} (sysroot {}), and this \
             build does not run under rustup. Install that toolchain's standard library for \
             {WASM_TARGET}; with rustup: `{fix}`",
            sysroot.as_deref().unwrap_or(Path::new("unknown")).display()
        );
    };
    // host/build.rs and tests/build.rs may get here at the same time: one adds, the other
    // waits and then finds the target there.
    std::fs::create_dir_all(outer_target).expect("create the target directory");
    let lock = std::fs::File::create(outer_target.join(".wasm-target.lock"))
        .expect("create the target lock file");
    lock.lock().expect("lock the target lock file");
    if installed(&sysroot) {
        return;
    }
    println!(
        "cargo:warning=the {WASM_TARGET} target was missing from toolchain {toolchain}; running `{fix} --toolchain {toolchain}`"
    );
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET, "--toolchain", &toolchain])
        .status();
    match status {
        Ok(s) if s.success() && installed(&sysroot) => {}
        Ok(s) => panic!("`{fix} --toolchain {toolchain}` failed ({s}); run it by hand"),
        Err(e) => panic!("could not run rustup ({e}); run `{fix}` by hand"),
    }
}
