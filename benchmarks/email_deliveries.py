"""Customer e-mail benchmark: 10,000 milestones -> 10,000 e-mails to a local SMTP sink.

    .venv/bin/python benchmarks/email_deliveries.py                     # SQLite, var/bench/
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/email_deliveries.py

What runs, in this process (one worker): --count parcels, each with three scans, a confirmed
"only important ones" subscriber and one "delivered" change record in the outbox (made before the
clock starts). Timed: the outbox's fan-out (outbox.dispatch: the notification rows under their
dedupe keys) and the sends (notifications.send_due: claim, render in the subscriber's language,
inline the CSS, build the two-part message with its unsubscribe headers, SMTP over one kept-open
connection, record the outcome per message). The SMTP sink is aiosmtpd in another process on
127.0.0.1 (so it does not share this process's CPU); it counts what it accepted, and the run
fails unless every e-mail arrived once and every row says sent.

Baseline side by side, in the same run: the same pipeline into Django's in-memory mail backend
(no network, no SMTP), to show what SMTP itself costs. Goal (issue 14): >= 200 e-mails/s per
worker through SMTP. The process's CPU time per e-mail is reported too: on a shared machine the
wall-clock rate depends on what else runs. Everything the run adds is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import setup_django  # noqa: E402

SINK = textwrap.dedent(
    """
    import socket, sys, threading
    from aiosmtpd.controller import Controller

    class Handler:
        count = 0
        lock = threading.Lock()
        async def handle_DATA(self, server, session, envelope):
            with self.lock:
                self.count += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    for line in sys.stdin:  # "count" -> how many accepted so far; end of input -> stop
        print(handler.count, flush=True)
    controller.stop()
    """
)
TAG = "EMB"


def prepare(count: int) -> list[int]:
    from django.utils import timezone

    from tracking.models import Carrier, ChangeRecord, Shipment, Subscription, TrackingEvent

    now = timezone.now()
    carrier = Carrier.objects.get(code="ups")
    tag = f"{TAG}{int(time.time() * 1000) % 10**8}"
    Shipment.objects.bulk_create(
        [
            Shipment(
                carrier=carrier,
                tracking_number=f"{tag}{i:06d}",
                status_code="DE",
                status_description="Delivered",
                last_event_at=now - timedelta(minutes=5),
                last_event_description="Delivered, front door",
                actual_delivery_date=now - timedelta(minutes=5),
                language="en",
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    ids = list(
        Shipment.objects.filter(tracking_number__startswith=tag)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    events = []
    for sid in ids:
        for n, (status, text) in enumerate(
            (("IT", "Arrived at facility"), ("IT", "Out for delivery"), ("DE", "Delivered"))
        ):
            at = now - timedelta(hours=3 - n)
            events.append(
                TrackingEvent(
                    shipment_id=sid,
                    dedupe_key=f"{sid}-{n}",
                    occurred_at=at,
                    carrier_occurred_at=(at - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S"),
                    status_code=status,
                    description=text,
                    city_locality="ATLANTA",
                    state_province="GA",
                    postal_code="30301",
                    country_code="US",
                )
            )
    TrackingEvent.objects.bulk_create(events, batch_size=2000)
    Subscription.objects.bulk_create(
        [
            Subscription(shipment_id=sid, email=f"reader{sid}@example.com", confirmed_at=now)
            for sid in ids
        ],
        batch_size=1000,
    )
    ChangeRecord.objects.bulk_create(
        [
            ChangeRecord(
                shipment_id=sid,
                created_at=now,
                kinds=["shipment.updated", "shipment.status_changed", "shipment.delivered"],
                previous_status="IT",
                status="DE",
                events_added=1,
                milestone="delivered",
                milestone_key="delivered",
            )
            for sid in ids
        ],
        batch_size=1000,
    )
    return ids


def cleanup() -> None:
    from tracking.models import ChangeRecord, Shipment

    ChangeRecord.objects.filter(shipment__tracking_number__startswith=TAG).delete()
    # Notifications, subscriptions and events go with their shipments (CASCADE).
    Shipment.objects.filter(tracking_number__startswith=TAG).delete()


def run_once(*, backend: str, count: int) -> dict[str, float]:
    from django.conf import settings
    from django.core import mail

    from tracking.models import Notification, NotificationState
    from tracking.services import notifications, outbox

    sink = None
    if backend == "smtp":
        sink = subprocess.Popen(
            [sys.executable, "-c", SINK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert sink.stdout is not None and sink.stdin is not None
        port = int(sink.stdout.readline())
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
            }
        }
    else:
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
        mail.outbox = []
    try:
        outbox.dispatch(max_batches=10**6)  # nothing else waits in this database's outbox
        ids = prepare(count)
        started = time.perf_counter()
        outbox.dispatch(batch_size=500, max_batches=10**6)
        fanned = time.perf_counter() - started
        made = Notification.objects.filter(shipment_id__in=ids).count()
        assert made == count, (made, count)
        started, cpu = time.perf_counter(), time.process_time()
        report = notifications.send_due(batch_size=200, max_seconds=3600)
        sent, cpu = time.perf_counter() - started, time.process_time() - cpu
        states = Notification.objects.filter(shipment_id__in=ids, state=NotificationState.SENT)
        assert report.sent == count and states.count() == count, (report, states.count())
        if sink is not None:
            assert sink.stdin is not None and sink.stdout is not None
            sink.stdin.write("count\n")
            sink.stdin.flush()
            received = int(sink.stdout.readline())
        else:
            received = len(mail.outbox)
            mail.outbox = []
        assert received == count, (received, count)
        return {
            "fan_out_s": fanned,
            "send_s": sent,
            "per_second": count / sent,
            # This process's CPU per e-mail: what a core of its own would allow, whatever else
            # the machine is doing (the SMTP sink runs in another process).
            "cpu_ms_per_email": cpu / count * 1000,
        }
    finally:
        if sink is not None:
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(timeout=20)
        cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", default=None, help="SQLite file (default: DATABASE_URL or var/bench/emails.sqlite3)"
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--backends", default="smtp,locmem", help="runs, in this order")
    args = parser.parse_args(argv)
    db = args.db or (None if os.environ.get("DATABASE_URL") else "var/bench/emails.sqlite3")
    os.environ.setdefault("SITE_URL", "https://track.example.com")
    setup_django(db)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    load_before = f"{os.getloadavg()[0]:.2f}"
    results = {b: run_once(backend=b, count=args.count) for b in args.backends.split(",")}
    print(
        f"\nCustomer e-mails on {connection.vendor}, {args.count:,} milestones -> "
        f"{args.count:,} e-mails, one worker, Python {platform.python_version()}"
    )
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f} (2 cores shared)")
    for backend, r in results.items():
        print(
            f"{backend:7} fan-out {r['fan_out_s']:6.2f} s   sends {r['send_s']:6.2f} s   "
            f"{r['per_second']:6.0f} e-mails/s per worker   "
            f"CPU {r['cpu_ms_per_email']:.2f} ms per e-mail "
            f"(= {1000 / r['cpu_ms_per_email']:.0f}/s on a core of its own)"
        )
    print(json.dumps({k: {m: round(v, 3) for m, v in r.items()} for k, r in results.items()}))


if __name__ == "__main__":
    main()
