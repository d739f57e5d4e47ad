"""Time how long pywa takes to parse WhatsApp webhook bodies into its typed updates.

Usage: python host/bench/pywa.py FIXTURES_DIR [--passes N]

FIXTURES_DIR holds JSON files, each mapping a name to a full webhook POST body
({"object": "whatsapp_business_account", "entry": [...]}). Every payload is
re-serialised to bytes once, before timing, and handed to pywa as the request body.

What is timed, per payload: exactly the parsing part of pywa's per-request path,
``Server.webhook_update_handler`` -> ``Server._call_handlers`` (pywa/server.py, 4.5):

  1. ``get_update_hash(body)``                  blake2s of the body (pywa's update id)
  2. ``RawUpdate(body, ...)``                   ``json.loads`` of the bytes
  3. ``wa._get_handler_type(raw)``              update-type detection from field/type
  4. ``wa._handlers_to_updates[h].from_update`` construction of the typed object
                                                (Message, MessageStatus, CallbackButton,
                                                 TemplateStatusUpdate, AccountUpdate, ...)

If step 3 finds no type (or raises, which the server also treats as "no type"),
or step 4 raises (the server logs it and moves on), the payload counts as
"unrecognised" and only the work pywa did up to there is timed: the server would
then hand the RawUpdate to raw-update handlers only.

What pywa skips here, compared with our `wa-host bench` (which times signature
verification + parsing of each payload through our component):
  * no X-Hub-Signature-256 HMAC check (``webhook_update_validator``), no HTTP server,
    no duplicate-update cache, no listeners and no user handlers (none registered);
  * update filtering by phone/WABA id is off (``filter_updates=False``): fixtures
    carry several different ids, and a filtered update would never be parsed;
  * pywa reads only ``entry[0].changes[0]`` and only the first element of
    ``messages`` / ``statuses`` / ``calls`` / ... ; our component reads all of them.
So pywa's number is a lower bound for its real per-request cost.

Method: warm-up passes, then N passes over all payloads; each pass is timed with
``time.perf_counter_ns()`` and divided by the number of payloads; the reported
``ns_per_payload`` is the median of those per-pass means. Prints one JSON line.
"""

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# This file is itself named pywa.py: drop its folder from sys.path so that
# `import pywa` finds the library, not this script.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

try:
    import pywa
    from pywa import WhatsApp
    from pywa._logging import get_update_hash
    from pywa.types import RawUpdate
except ImportError as e:
    sys.exit(
        f"pywa is not importable with {sys.executable} ({e}).\n"
        "Install it, e.g.: python3 -m venv /tmp/pywa-venv && "
        "/tmp/pywa-venv/bin/pip install 'pywa==4.5.*', then run this with /tmp/pywa-venv/bin/python"
    )


def load_bodies(fixtures_dir: Path) -> list[bytes]:
    bodies = []
    for path in sorted(fixtures_dir.glob("*.json")):
        for payload in json.loads(path.read_text()).values():
            bodies.append(json.dumps(payload).encode())
    return bodies


def parse(wa: WhatsApp, body: bytes):
    """pywa's per-request parse: body bytes -> typed update (or None if unrecognised)."""
    raw = RawUpdate(body, hmac_header=None, update_hash=get_update_hash(body))
    try:
        handler_type = wa._get_handler_type(raw)
    except (KeyError, ValueError, TypeError, IndexError):  # as Server._call_handlers
        return None
    if handler_type is None:
        return None
    try:
        return wa._handlers_to_updates[handler_type].from_update(client=wa, update=raw)
    except Exception:  # Server._call_handlers logs and drops it
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fixtures_dir", type=Path)
    ap.add_argument("--passes", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()

    bodies = load_bodies(args.fixtures_dir)
    if not bodies:
        sys.exit(f"no payloads found in {args.fixtures_dir}")

    # Offline client: no token (no HTTP session), no server (no routes, no threads).
    wa = WhatsApp(phone_id="0", token=None, server=None, verify_token=None,
                  filter_updates=False)
    # pywa warns on unknown shapes; keep log I/O out of the timing.
    logging.getLogger("pywa").setLevel(logging.CRITICAL)

    unrecognised = sum(parse(wa, b) is None for b in bodies)
    for _ in range(args.warmup):
        for b in bodies:
            parse(wa, b)

    clock = time.perf_counter_ns
    per_pass = []
    for _ in range(args.passes):
        t0 = clock()
        for b in bodies:
            parse(wa, b)
        per_pass.append((clock() - t0) / len(bodies))

    print(json.dumps({
        "pywa_version": pywa.__version__,
        "python": platform.python_version(),
        "payloads": len(bodies),
        "passes": args.passes,
        "ns_per_payload": round(statistics.median(per_pass), 1),
        "unrecognised": unrecognised,
    }))


if __name__ == "__main__":
    main()
