"""A burst of signed ShipEngine 'track' webhook deliveries, over real HTTP, each ingested once.

    .venv/bin/python benchmarks/webhook_burst.py                 # SQLite, 1,000 + 100 replays
    DATABASE_URL=postgres://.../bench_webhooks .venv/bin/python benchmarks/webhook_burst.py

What runs: a fresh database with --deliveries shipments (a new SQLite file, or the PostgreSQL
database DATABASE_URL names, emptied first); the app under gunicorn with the repository's
gunicorn.conf.py (production sizing; WEB_CONCURRENCY / GUNICORN_THREADS override it) verifying
signatures against the sandbox's JWKS (served by the sandbox HTTP server in this process);
--deliveries distinct API_TRACK bodies (one per shipment, signed beforehand with the sandbox key,
so signing is not timed) plus --replays exact replays of some of them, sent by --concurrency
client threads at once. Reported: wall time of the burst, deliveries per second, latency
percentiles, and the checks: every distinct delivery stored once (one receipt each, events
unique), every replay answered "duplicate". Target (issue 12): 1,000 deliveries <= 10 s on
PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.shell import django_shell  # noqa: E402
from tracking.sandbox import Sandbox, make_server  # noqa: E402  (Django-free)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--replays", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--markdown", help="also write the result line to this file")
    args = parser.parse_args()

    sandbox = Sandbox()
    jwks_server = make_server(sandbox)
    threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
    database_url = os.environ.get("DATABASE_URL", "")
    db_path = ROOT / "var" / f"bench-webhooks-{os.getpid()}.sqlite3"
    if not database_url:
        database_url = f"sqlite:///{db_path}"
    vendor = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shiptrack.settings",
        "DEBUG": "0",
        "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESSLOG": "",
        "GUNICORN_LOGLEVEL": "warning",
        "SHIPENGINE_API_KEY": "bench-key",
        "SHIPENGINE_BASE_URL": f"http://127.0.0.1:{jwks_server.server_port}",
        "SHIPENGINE_WEBHOOK_JWKS_URL": f"http://127.0.0.1:{jwks_server.server_port}/jwks",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "ERROR",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    numbers = [f"HOOK{i:07d}" for i in range(args.deliveries)]
    setup = (
        "from tracking.models import Carrier, ChangeRecord, Shipment, WebhookReceipt\n"
        "ChangeRecord.objects.all().delete(); WebhookReceipt.objects.all().delete()\n"
        "Shipment.objects.all().delete()\n"
        "c, _ = Carrier.objects.get_or_create(code='fedex', defaults={'name': 'FedEx'})\n"
        f"Shipment.objects.bulk_create([Shipment(carrier=c, tracking_number=f'HOOK{{i:07d}}') for i in range({args.deliveries})], batch_size=1000)\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True
    )

    bodies = [sandbox.track_webhook_body("fedex", n) for n in numbers]
    expected_events = sum(len(json.loads(b)["data"]["events"]) for b in bodies)
    signed = [(b, sandbox.sign_webhook(b)) for b in bodies]
    rng = random.Random(6)
    replays = [rng.choice(signed) for _ in range(args.replays)]

    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env
    )
    url = f"http://127.0.0.1:{port}/webhooks/shipengine/track/"
    try:
        for _ in range(100):
            try:
                requests.get(url, timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        local = threading.local()

        def send(item: tuple[bytes, dict[str, str]]) -> tuple[int, str, float]:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            body, headers = item
            t0 = time.perf_counter()
            r = session.post(
                url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=60
            )
            return r.status_code, r.json().get("outcome", r.text[:80]), time.perf_counter() - t0

        # Warm up each web worker's JWKS cache and imports with one delivery of a spare body.
        spare = sandbox.track_webhook_body("fedex", "WARMUP0001")
        for _ in range(20):
            send((spare, sandbox.sign_webhook(spare)))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            first = list(pool.map(send, signed))
            second = list(pool.map(send, replays))
        wall = time.perf_counter() - started
    finally:
        web.terminate()
        web.wait()
        jwks_server.shutdown()

    check = (
        "from tracking.models import TrackingEvent, WebhookReceipt, Shipment\n"
        "from django.db.models import Count\n"
        "dupes = TrackingEvent.objects.values('shipment_id', 'dedupe_key').annotate(n=Count('id')).filter(n__gt=1).count()\n"
        "print(WebhookReceipt.objects.filter(outcome='ingested').count(), TrackingEvent.objects.count(), dupes,"
        " Shipment.objects.filter(events__isnull=False).distinct().count())\n"
    )
    out = django_shell(check, env)
    receipts, events, dupes, with_events = (int(x) for x in out.split())
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)  # (SQLite only)

    latencies = sorted(t for _, _, t in first + second)
    outcomes: dict[str, int] = {}
    for status, outcome, _ in first + second:
        key = f"{status}:{outcome}"
        outcomes[key] = outcomes.get(key, 0) + 1
    replay_ok = all(o == "duplicate" for _, o, _ in second)
    sizing = django_shell(
        "import runpy; c = runpy.run_path('gunicorn.conf.py'); print(c['workers'], c['threads'])",
        env,
    )
    print(
        f"webhook_burst: {args.deliveries} signed deliveries + {args.replays} replays, "
        f"{args.concurrency} concurrent senders, gunicorn.conf.py (workers x threads: {sizing}), "
        f"{vendor}; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    total = len(first) + len(second)
    first_wall = sorted(t for _, _, t in first)
    line = (
        f"wall_s={wall:.2f} deliveries_per_s={total / wall:.0f} "
        f"p50_ms={statistics.median(latencies) * 1000:.0f} "
        f"p95_ms={latencies[int(0.95 * (len(latencies) - 1))] * 1000:.0f} "
        f"max_ms={latencies[-1] * 1000:.0f} outcomes={outcomes}"
    )
    print(line)
    if args.markdown:
        Path(args.markdown).write_text(
            f"{vendor} {sizing} {line} first_p50_ms={statistics.median(first_wall) * 1000:.0f}\n"
        )
    print(
        f"checks: receipts={receipts} (want {args.deliveries}) events={events} "
        f"(want {expected_events}) duplicate_events={dupes} shipments_with_events={with_events} "
        f"replays_all_duplicate={replay_ok}"
    )
    ok = receipts == args.deliveries and events == expected_events and dupes == 0 and replay_ok
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
