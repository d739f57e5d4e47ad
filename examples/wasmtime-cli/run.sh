#!/usr/bin/env bash
# The component under the stock wasmtime CLI, proven end to end:
#   1. `wac plug` the plugin with the CLI provider (crypto + named buckets), so only
#      standard WASI imports remain;
#   2. one `messages.send` through `wasmtime run --invoke` to the Graph sandbox;
#   3. the webhook-ingress component under `wasmtime serve`: the GET handshake, a signed
#      POST forwarded to a platform stand-in, a forged one refused.
# Installs wasmtime-cli 48.0.8 and wac-cli 0.12.0 into target/tools when they are missing.
# Everything listens on 127.0.0.1. Exits non-zero if anything fails.
#
#   examples/wasmtime-cli/run.sh
#   WA_HOST=/path/to/wa-host examples/wasmtime-cli/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
here=$root/examples/wasmtime-cli
tools=$root/target/tools
export PATH="$tools/bin:$PATH"

# --- the tools ---------------------------------------------------------------------------
if ! wasmtime --version 2>/dev/null | grep -q '^wasmtime 48\.'; then
  echo "installing wasmtime-cli 48.0.8 into $tools (a few minutes, once)" >&2
  cargo install --locked --quiet wasmtime-cli@48.0.8 --root "$tools" --target-dir "$tools/build" \
    --no-default-features --features run,serve,cranelift,component-model,component-model-async,wasi-config,wasi-keyvalue,wasi-http,pooling-allocator,parallel-compilation
fi
if ! wac --version 2>/dev/null | grep -q ' 0\.12\.'; then
  echo "installing wac-cli 0.12.0 into $tools (a few minutes, once)" >&2
  cargo install --locked --quiet wac-cli@0.12.0 --root "$tools" --target-dir "$tools/build" --no-default-features
fi
# The two installs share one build directory (common crates build once); the binaries
# are in $tools/bin now, and the 1.5 GB of intermediate files would only fill the disk.
rm -rf "$tools/build"

# --- the components ----------------------------------------------------------------------
# The ingress uses whatsapp-guest without its adapter (default-features = false); built
# in the same target directory, cargo would either unify the features or overwrite the
# plugin's .wasm with the adapter-less one. So it gets a directory of its own.
# The flags host/build_component.rs builds every component with (GUEST_RUSTFLAGS).
build() {
  CARGO_ENCODED_RUSTFLAGS=-Ctarget-feature=+simd128 \
    cargo build --locked --quiet --target wasm32-wasip2 --profile guest "$@"
}
build --target-dir target/guest -p whatsapp-guest -p whatsapp-cli-provider
build --target-dir target/ingress -p whatsapp-ingress
built=target/guest/wasm32-wasip2/guest
out=target/wasmtime-cli
mkdir -p "$out"
wac plug "$built/whatsapp_guest.wasm" --plug "$built/whatsapp_cli_provider.wasm" -o "$out/whatsapp-cli.wasm"
cp target/ingress/wasm32-wasip2/guest/whatsapp_ingress.wasm "$out/whatsapp-ingress.wasm"
echo "composed $out/whatsapp-cli.wasm ($(wc -c <"$out/whatsapp-cli.wasm") bytes)" >&2

if [ -z "${WA_HOST:-}" ]; then
  cargo build --release --quiet -p whatsapp-host
  WA_HOST=$root/target/release/wa-host
fi
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not come up" >&2; return 1; }

# --- 1. one send through `wasmtime run --invoke` -----------------------------------------
sandbox_port=$(free_port)
sandbox=http://127.0.0.1:$sandbox_port
WA_DATA_DIR=$work/host "$WA_HOST" sandbox --listen "127.0.0.1:$sandbox_port" & pids+=($!)
wait_http "$sandbox/"

key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
tenant=(-S config -S "config-var=crypto-key=$key" -S config-var=tenant-id=acme)
# The CLI's key-value data is text, so the provider seals to hex. (The token is on this
# command line: fine for the sandbox's; a real one belongs in the reference host.)
sealed=$(wasmtime run "${tenant[@]}" -S keyvalue --invoke 'seal-text("sandbox-access-token")' \
  "$built/whatsapp_cli_provider.wasm" | tr -d '"')
result=$(wasmtime run -S http -S keyvalue "${tenant[@]}" \
  -S config-var=phone-number-id=106540352242922 -S "config-var=graph-origin=$sandbox" \
  -S config-var=window-policy=off -S "keyvalue-in-memory-data=secrets/access-token=$sealed" \
  --invoke 'send({to: "+15551234567", content: text({body: "Hello from the wasmtime CLI", preview-url: false}), reply-to: none, biz-opaque-callback-data: none})' \
  "$out/whatsapp-cli.wasm")
echo "wasmtime run: $result"
case $result in
  'ok({message-id: "wamid.'*) ;;
  *) echo "the send through wasmtime run did not succeed" >&2; exit 1 ;;
esac

# --- 2. the webhook-ingress component under `wasmtime serve` -----------------------------
ingress_port=$(free_port); platform_port=$(free_port)
forwarded=$work/forwarded.jsonl
python3 "$here/receiver.py" "$platform_port" platform-secret "$forwarded" & pids+=($!)
wasmtime serve --addr "127.0.0.1:$ingress_port" -S cli -S config \
  -S config-var=app-secret=cli-app-secret -S config-var=verify-token=cli-verify \
  -S "config-var=forward-url=http://127.0.0.1:$platform_port/events" \
  -S config-var=forward-secret=platform-secret -S config-var=tenant-id=acme \
  "$out/whatsapp-ingress.wasm" 2>"$work/serve.log" & pids+=($!)
ingress=http://127.0.0.1:$ingress_port/webhook
wait_http "$ingress"

challenge=$(curl -fsS "$ingress?hub.mode=subscribe&hub.verify_token=cli-verify&hub.challenge=1158201444")
[ "$challenge" = 1158201444 ] || { echo "handshake answered '$challenge'" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "$ingress?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
[ "$code" = 403 ] || { echo "a wrong verify token got $code, not 403" >&2; exit 1; }

body='{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"15551234567"}],"messages":[{"from":"15551234567","id":"wamid.CLI1","timestamp":"1764072000","type":"text","text":{"body":"Is my order on its way?"}}]}}]}]}'
sign() { python3 -c 'import hmac,hashlib,sys; print("sha256="+hmac.new(sys.argv[1].encode(),sys.argv[2].encode(),hashlib.sha256).hexdigest())' "$1" "$2"; }
code=$(curl -s -o "$work/answer" -w '%{http_code}' -X POST "$ingress" -H 'content-type: application/json' \
  -H "x-hub-signature-256: $(sign cli-app-secret "$body")" --data-binary "$body")
[ "$code" = 200 ] || { echo "the signed POST got $code: $(cat "$work/answer")" >&2; cat "$work/serve.log" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ingress" -H 'content-type: application/json' \
  -H "x-hub-signature-256: $(sign not-the-secret "$body")" --data-binary "$body")
[ "$code" = 401 ] || { echo "a forged POST got $code, not 401" >&2; exit 1; }
echo "forwarded: $(cat "$forwarded")"
grep -q '"type":"message"' "$forwarded" && grep -q '"text":"Is my order on its way?"' "$forwarded" \
  && [ "$(wc -l <"$forwarded")" = 1 ] || { echo "the platform did not get exactly the one event" >&2; exit 1; }

# 1,000 more, each forwarded with a content-length body: no false failure, and the
# platform gets every message exactly once (guest/README.md says why this is checked).
python3 "$here/post_loop.py" "$ingress" cli-app-secret 1000
distinct=$(grep -o '"message_id":"wamid.LOOP[0-9]*"' "$forwarded" | sort -u | wc -l)
loops=$(grep -c 'wamid.LOOP' "$forwarded")
[ "$distinct" = 1000 ] && [ "$loops" = 1000 ] ||
  { echo "the platform got $loops loop events, $distinct distinct, not 1000" >&2; exit 1; }
echo "wasmtime CLI: run and serve both passed" >&2
