"""Posts N signed webhooks, each with one distinct message, to the ingress component
over one keep-alive connection, and fails unless every POST is answered 200.

The ingress forwards each event to the platform with a `content-length` body: the path
on which waki 0.5.1 reported false failures (guest/README.md). A false failure there
would answer Meta 503 (and the platform would get the event again on Meta's retry), so
here any answer but 200 is a failure. run.sh then checks that the platform got each
message exactly once. Loopback only; bounded by N and by a timeout per request.

    python3 post_loop.py URL APP_SECRET N
"""

import hashlib
import hmac
import http.client
import json
import sys
import urllib.parse

URL, SECRET, N = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
u = urllib.parse.urlsplit(URL)
assert u.hostname in ("127.0.0.1", "localhost"), "loopback only"
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
failures = []
for n in range(N):
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Loop"}, "wa_id": "15551234567"}],
            "messages": [{"from": "15551234567", "id": f"wamid.LOOP{n:05d}", "timestamp": "1764072000",
                          "type": "text", "text": {"body": f"loop {n}"}}]}}]}]}).encode()
    sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    conn.request("POST", u.path, body, {"content-type": "application/json", "x-hub-signature-256": sig})
    r = conn.getresponse()
    answer = r.read()
    if r.status != 200:
        failures.append((n, r.status, answer[:200]))
print(f"{N} POSTs, {len(failures)} not answered 200", file=sys.stderr)
if failures:
    print(f"first: {failures[0]}", file=sys.stderr)
    sys.exit(1)
