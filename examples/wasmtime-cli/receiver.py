"""A stand-in for the platform: takes the events the ingress component forwards.

Checks `x-wa-signature-256` (HMAC-SHA256 of the body with the forward secret), appends
each accepted event as one JSON line to the output file, answers 200 (401 when the
signature does not match). Listens on 127.0.0.1 only.

    python3 receiver.py PORT SECRET OUT_FILE
"""

import hashlib
import hmac
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT, SECRET, OUT = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        given = self.headers.get("x-wa-signature-256", "")
        ok = hmac.compare_digest(expected, given)
        if ok:
            with open(OUT, "ab") as f:
                f.write(body + b"\n")
        self.send_response(200 if ok else 401)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
