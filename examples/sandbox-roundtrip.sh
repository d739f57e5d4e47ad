#!/usr/bin/env bash
# The host as separate processes, the way a platform runs it: a Graph sandbox, the
# webhook server, a tenant added from the command line, one send, and the recorded
# events. Exits non-zero if the three statuses do not arrive.
#
#   examples/sandbox-roundtrip.sh            # uses target/release/wa-host (builds it)
#   WA_HOST=/path/to/wa-host examples/sandbox-roundtrip.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${WA_HOST:-}" ]; then
  cargo build --release --quiet -p whatsapp-host
  WA_HOST=$PWD/target/release/wa-host
fi
export WA_DATA_DIR; WA_DATA_DIR=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$WA_DATA_DIR"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sandbox_port=$(free_port); server_port=$(free_port); admin_port=$(free_port)
sandbox=http://127.0.0.1:$sandbox_port

"$WA_HOST" sandbox --listen "127.0.0.1:$sandbox_port" --webhook-url "http://127.0.0.1:$server_port/webhook" & pids+=($!)
printf 'sandbox-access-token\n' | "$WA_HOST" tenant add acme \
  --phone-number-id 106540352242922 --waba-id 102290129340398 --graph-origin "$sandbox" --token-stdin \
  --set app-id=1189009012345678
WA_APP_SECRET=sandbox-app-secret "$WA_HOST" serve --listen "127.0.0.1:$server_port" \
  --admin-listen "127.0.0.1:$admin_port" & pids+=($!)
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# The customer writes first (through the sandbox, as Meta would deliver it): that opens
# the 24-hour window a free-form reply needs.
curl -fsS -X POST "$sandbox/sandbox/inbound" -H 'content-type: application/json' \
  -d '{"phone_number_id":"106540352242922","from":"15551234567","text":"Hi! Is my order on its way?"}' >/dev/null
for _ in $(seq 100); do "$WA_HOST" events list | grep -q '"type":"message"' && break; sleep 0.1; done
"$WA_HOST" --allow-egress "$sandbox" send --tenant acme --to +15551234567 --text "Yes, it ships today"
for _ in $(seq 100); do
  [ "$("$WA_HOST" events list | grep -c '"type":"status"')" -ge 3 ] && break
  sleep 0.1
done
"$WA_HOST" events list
for s in sent delivered read; do
  "$WA_HOST" events list | grep -q "\"status\":\"$s\"" || { echo "no $s status arrived" >&2; exit 1; }
done
echo "round trip complete" >&2

# Templates: one of the test corpus's (written from Meta's templates guide) submitted,
# reviewed by the sandbox, listed, synced into the tenant's cache, read and deleted.
egress=(--allow-egress "$sandbox")
corpus="$(dirname "$0")/../tests/data/templates/messages.json"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["order_confirmed"]))' "$corpus" \
  > "$WA_DATA_DIR/order_confirmed.json"
id=$("$WA_HOST" "${egress[@]}" templates create --tenant acme "$WA_DATA_DIR/order_confirmed.json" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 50); do
  "$WA_HOST" "${egress[@]}" templates get --tenant acme "$id" | grep -q '"status":"APPROVED"' && break
  sleep 0.1
done
"$WA_HOST" "${egress[@]}" templates list --tenant acme --status APPROVED --all | grep -q '"name":"order_confirmed"' ||
  { echo "the template was not approved" >&2; exit 1; }
"$WA_HOST" "${egress[@]}" templates sync --tenant acme
"$WA_HOST" "${egress[@]}" templates delete --tenant acme order_confirmed
echo "templates complete" >&2

# Media: an upload read back with its digest checked, and a resumable upload in small
# chunks whose handle is what a template's media header takes.
head -c 20000 /dev/urandom > "$WA_DATA_DIR/photo.png"
mid=$("$WA_HOST" "${egress[@]}" media upload --tenant acme --kind image --mime-type image/png "$WA_DATA_DIR/photo.png" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$WA_HOST" "${egress[@]}" media download --tenant acme "$mid" -o "$WA_DATA_DIR/back.png"
cmp "$WA_DATA_DIR/photo.png" "$WA_DATA_DIR/back.png" || { echo "the download differs" >&2; exit 1; }
"$WA_HOST" "${egress[@]}" media delete --tenant acme "$mid"
"$WA_HOST" "${egress[@]}" media upload-resumable --tenant acme --mime-type image/png --chunk-size 6000 \
  "$WA_DATA_DIR/photo.png" | grep -q '"handle":"4::' || { echo "no upload handle" >&2; exit 1; }
echo "media complete" >&2

# Flows: a DRAFT with its JSON (Meta's validation errors come back), published; the
# tenant's data-exchange key pair (only the public key is printed).
fid=$("$WA_HOST" "${egress[@]}" flows create --tenant acme --name "Sign up" --category SIGN_UP |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo '{"version":"7.1","screens":[{"id":"WELCOME","terminal":true,"layout":{"type":"SingleColumnLayout","children":[]}}]}' |
  "$WA_HOST" "${egress[@]}" flows upload-json --tenant acme "$fid" - | grep -q '"validation_errors":\[\]' ||
  { echo "the flow JSON was not accepted" >&2; exit 1; }
"$WA_HOST" "${egress[@]}" flows publish --tenant acme "$fid"
"$WA_HOST" "${egress[@]}" flows get --tenant acme "$fid" | grep -q '"status":"PUBLISHED"' ||
  { echo "the flow was not published" >&2; exit 1; }
"$WA_HOST" flows keygen --tenant acme | grep -q 'BEGIN PUBLIC KEY' || { echo "no public key" >&2; exit 1; }
echo "flows complete" >&2

# Catalog: products from a CSV (one of them refused locally, reported by line), pushed
# with the catalog token connected separately.
printf 'sandbox-access-token\n' | "$WA_HOST" tenant set-catalog-token acme
cat > "$WA_DATA_DIR/products.csv" <<'CSV'
retailer_id,name,price,currency,availability,image_url
sku-1,Aloe Blue Elf,12.99,USD,in stock,https://shop.example/1.jpg
sku-2,Buddha's Temple,19.50,USD,in stock,https://shop.example/2.jpg
sku-3,Black Prince,7.00,usd,in stock,https://shop.example/3.jpg
CSV
if "$WA_HOST" "${egress[@]}" catalog push --tenant acme --catalog 1234567890 "$WA_DATA_DIR/products.csv" > "$WA_DATA_DIR/report"; then
  echo "the bad row was not reported" >&2; exit 1
fi
grep -q '"retailer_id":"sku-3"' "$WA_DATA_DIR/report" || { echo "sku-3 missing from the report" >&2; exit 1; }
[ "$("$WA_HOST" "${egress[@]}" catalog list --tenant acme --catalog 1234567890 | wc -l)" -eq 2 ] ||
  { echo "two products expected in the catalog" >&2; exit 1; }
echo "catalog complete" >&2

# Connecting a business through Meta's OAuth dialog: a tenant with no token or number,
# `wa-host connect` prints the dialog's URL and waits on a loopback callback; curl plays
# the browser (the sandbox approves at once and redirects back). Then a number is
# chosen and registered, and the checklist says what is left to do.
callback_port=$(free_port)
WA_APP_ID=740271835411211 "$WA_HOST" tenant add gym --graph-origin "$sandbox" --set window-policy=off
WA_APP_ID=740271835411211 WA_APP_SECRET=sandbox-app-secret "$WA_HOST" "${egress[@]}" connect --tenant gym \
  --listen "127.0.0.1:$callback_port" > "$WA_DATA_DIR/connect.out" & connect=$!
for _ in $(seq 300); do [ -s "$WA_DATA_DIR/connect.out" ] && break; sleep 0.1; done
url=$(head -1 "$WA_DATA_DIR/connect.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorize_url"])')
callback=$(curl -fsS -o /dev/null -w '%{redirect_url}' "$url")
curl -fsS "$callback" >/dev/null
wait "$connect"
grep -q '"credential":"connected"' "$WA_DATA_DIR/connect.out" || { echo "gym did not connect" >&2; exit 1; }
if grep -q 'EAAS' "$WA_DATA_DIR/connect.out"; then echo "connect printed a token" >&2; exit 1; fi
# acme has the sandbox's first number: gym takes the second, registered with its PIN.
"$WA_HOST" numbers select --tenant gym 106540352242923
printf '246813\n' | WA_APP_ID=740271835411211 "$WA_HOST" "${egress[@]}" numbers register --tenant gym 106540352242923
WA_APP_ID=740271835411211 WA_APP_SECRET=sandbox-app-secret "$WA_HOST" "${egress[@]}" health --tenant gym > "$WA_DATA_DIR/health.json"
python3 - "$WA_DATA_DIR/health.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
items = {i["check"]: i["ok"] for i in h["readiness"]["items"]}
number = {i["check"]: i["ok"] for i in h["readiness"]["numbers"][0]["items"]}
# Connected and registered; not subscribed, verified or synced yet: the checklist says so.
assert items["credential-valid"] and items["identity-known"], h
assert number["number-registered"] and not number["sender-ready"], h
assert not items["app-subscribed"] and not h["readiness"]["ready"], h
PY
"$WA_HOST" "${egress[@]}" send --tenant gym --to +15551234567 --text "Your class starts at 7" >/dev/null
echo "connect complete" >&2
