"""Outgoing webhook benchmark: 1,000 changes -> 1,000 signed deliveries to a receiver on loopback.

    .venv/bin/python benchmarks/webhook_deliveries.py                     # SQLite, var/bench/
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/webhook_deliveries.py

Measured in this process (one worker): the outbox's fan-out of 1,000 shipment.created change
records to one endpoint (outbox.dispatch: delivery rows with their frozen, signed-once-per-attempt
payloads) and the sends (outbound_webhooks.send_due: claim, sign, POST, record the attempt), over
HTTPS with keep-alive to a receiver in another process on 127.0.0.1 (a certificate for
"localhost" from a CA made for the run; WEBHOOK_ALLOW_PRIVATE_TARGETS=1 lets loopback through, as
the production checks would otherwise refuse it). The receiver verifies every signature with the
`standardwebhooks` package and counts them; the run fails unless all 1,000 arrive verified.
Baseline side by side: the same 1,000 sends over plain http (the https-only rule lifted for that
run), to show what TLS costs.
Everything the run adds is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import setup_django  # noqa: E402
from tests.certificates import make_certificates  # noqa: E402

RECEIVER = textwrap.dedent(
    """
    import http.server, json, ssl, sys, threading
    from standardwebhooks.webhooks import Webhook
    secret, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
    hook = Webhook(secret)
    state = {"verified": 0, "bad": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                hook.verify(body, dict(self.headers))
                ok = True
            except Exception:
                ok = False
            with lock:
                state["verified" if ok else "bad"] += 1
            self.send_response(200 if ok else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def do_GET(self):
            data = json.dumps(state).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if cert != "-":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def run_once(*, scheme: str, count: int, directory: Path) -> dict[str, float]:
    from django.conf import settings

    from tracking.models import Carrier, ChangeRecord, Shipment, WebhookDelivery, WebhookEndpoint
    from tracking.services import outbound_webhooks, outbox, webhook_targets

    ca, cert, key = make_certificates(directory, "localhost")
    secret = outbound_webhooks.new_secret()
    tls = scheme == "https"
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, secret, str(cert) if tls else "-", str(key)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        webhook_targets.certifi.where = lambda: str(ca)  # type: ignore[method-assign]
        if not tls:
            # The baseline: plain http, which the checks allow only with DEBUG on; DEBUG would
            # also log every query, so the scheme rule alone is lifted, for this run only.
            checked = webhook_targets.check_url
            webhook_targets.check_url = lambda url: checked(
                url.replace("http://", "https://", 1)
            ).__class__(  # type: ignore[assignment]
                scheme="http", host="localhost", port=port, path="/hooks"
            )
        # Nothing else waits in the outbox or the delivery table of this database.
        outbox.dispatch()
        WebhookEndpoint.objects.all().delete()
        endpoint = WebhookEndpoint.objects.create(
            url=f"{scheme}://localhost:{port}/hooks",
            event_types=["shipment.created"],
            secret=secret,
        )
        carrier = Carrier.objects.get(code="ups")
        tag = f"WHB{int(time.time() * 1000) % 10**8}"
        Shipment.objects.bulk_create(
            [Shipment(carrier=carrier, tracking_number=f"{tag}{i:05d}") for i in range(count)],
            batch_size=1000,
        )
        ids = list(
            Shipment.objects.filter(tracking_number__startswith=tag).values_list("pk", flat=True)
        )
        outbox.record_created(ids)
        started = time.perf_counter()
        outbox.dispatch(batch_size=200, max_batches=count)
        fanned = time.perf_counter() - started
        made = WebhookDelivery.objects.filter(endpoint=endpoint).count()
        assert made == count, (
            made,
            len(ids),
            ChangeRecord.objects.filter(shipment_id__in=ids).count(),
        )
        started = time.perf_counter()
        report = outbound_webhooks.send_due(batch_size=100, max_seconds=600)
        sent = time.perf_counter() - started
        with (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/")
            if not tls
            else _get_tls(port, ca) as answer
        ):
            state = json.loads(answer.read())
        assert report.delivered == count and state == {"verified": count, "bad": 0}, (report, state)
        return {"fan_out_s": fanned, "send_s": sent, "per_second": count / sent}
    finally:
        if not tls:
            webhook_targets.check_url = checked  # type: ignore[assignment]
        receiver.terminate()
        receiver.wait(timeout=10)
        ChangeRecord.objects.filter(shipment__tracking_number__startswith="WHB").delete()
        Shipment.objects.filter(tracking_number__startswith="WHB").delete()
        WebhookEndpoint.objects.all().delete()


def _get_tls(port: int, ca: Path):
    import ssl

    context = ssl.create_default_context(cafile=str(ca))
    return urllib.request.urlopen(f"https://localhost:{port}/", context=context)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        default=None,
        help="SQLite file (default: DATABASE_URL or var/bench/webhooks.sqlite3)",
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--schemes", default="https,http", help="runs, in this order")
    args = parser.parse_args(argv)
    db = args.db or (None if os.environ.get("DATABASE_URL") else "var/bench/webhooks.sqlite3")
    setup_django(db)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for scheme in args.schemes.split(","):
            results[scheme] = run_once(scheme=scheme, count=args.count, directory=Path(tmp))
    print(
        f"\nOutgoing webhooks on {connection.vendor}, {args.count:,} changes -> {args.count:,} "
        f"signed deliveries, one worker, Python {platform.python_version()}"
    )
    for scheme, r in results.items():
        print(
            f"{scheme:6} fan-out {r['fan_out_s'] * 1000:7.0f} ms   sends {r['send_s']:6.2f} s   "
            f"{r['per_second']:6.0f} deliveries/s per worker"
        )
    print(json.dumps({k: {m: round(v, 3) for m, v in r.items()} for k, r in results.items()}))


if __name__ == "__main__":
    main()
