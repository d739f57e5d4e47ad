#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 30): what `.ci/run` does, and how to
# fuzz longer by hand (`tests/fuzz/run.sh 600`). Installs cargo-fuzz into target/tools when it
# is missing. Uses the nightly toolchain when rustup has one; otherwise the pinned
# stable one with RUSTC_BOOTSTRAP=1 (its ASan runtime ships with it).
# A crash leaves its input in tests/fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
tools=$PWD/target/tools
export PATH="$tools/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --version 0.13.2 --locked --root "$tools"
fi
if rustup toolchain list | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  echo "fuzz: no nightly toolchain; using $(rustc --version) with RUSTC_BOOTSTRAP=1" >&2
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' tests/fuzz/Cargo.toml | grep -v '^whatsapp-fuzz$')
"${fuzz[@]}" build --fuzz-dir tests/fuzz -O --target-dir target/fuzz
mkdir -p target/fuzz
for t in $targets; do
  echo "== fuzz $t for ${seconds}s" >&2
  log=target/fuzz/$t.log
  if ! "${fuzz[@]}" run --fuzz-dir tests/fuzz -O --target-dir target/fuzz "$t" -- -max_total_time="$seconds" >"$log" 2>&1; then
    grep -E -A 20 'panicked|ERROR|Failing input' "$log" >&2 || tail -40 "$log" >&2
    echo "fuzz $t failed; its input is in tests/fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E '^Done' "$log" >&2
done
