// Build the component (the same one the reference host embeds) and transpile it with jco
// into gen/: core wasm modules plus an `instantiate(getCoreModule, imports)` function, so
// each tenant gets an instance of its own with its own imports (see host.mjs).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const wasm = process.env.WA_COMPONENT ??
  join(root, 'target/guest/wasm32-wasip2/guest/whatsapp_guest.wasm');

if (!process.env.WA_COMPONENT) {
  // The flags host/build_component.rs builds every component with (GUEST_RUSTFLAGS): the
  // same, so that cargo reuses the host's build instead of redoing it.
  execFileSync('cargo', ['build', '--locked', '--quiet', '-p', 'whatsapp-guest',
    '--target', 'wasm32-wasip2', '--profile', 'guest', '--target-dir', join(root, 'target/guest')],
  { cwd: root, stdio: 'inherit',
    env: { ...process.env, CARGO_ENCODED_RUSTFLAGS: '-Ctarget-feature=+simd128' } });
}
execFileSync('npx', ['jco', 'transpile', wasm, '--name', 'whatsapp', '--instantiation', 'async',
  '--quiet', '-o', 'gen'], { cwd: dirname(fileURLToPath(import.meta.url)), stdio: 'inherit' });
