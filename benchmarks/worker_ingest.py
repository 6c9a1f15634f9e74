"""The workers' real path: 1,000 queued shipments served by `scheduling.serve` (the refresh_many
task) in chunks of REFRESH_TASK_CHUNK, each answer 30 events, from a client that answers at once
(so that the storing is measured, not the API). Against, in the same run, the same path storing
each answer in its own transaction (STORE_EVERY_SECONDS = 0, what serve did before).

    .venv/bin/python benchmarks/worker_ingest.py --db var/bench/worker.sqlite3        # SQLite
    DATABASE_URL=postgres://.../bench_ingest .venv/bin/python benchmarks/worker_ingest.py

The SQLite file is deleted and created again; a PostgreSQL database is emptied (benchmarks/ingest.py
`setup_django`). Target (issue 12): <= 3 s for the 1,000 first answers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.ingest import make_answer, setup_django  # noqa: E402


class InstantClient:
    """The client's two calls serve() makes, answered from memory."""

    def __init__(self, answers: dict) -> None:
        self.answers = answers

    def get_tracking(self, carrier_code: str, tracking_number: str):
        return self.answers[tracking_number]

    def get_label_tracking(self, label_id: str):
        raise AssertionError("no labels here")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file (deleted first); default: DATABASE_URL")
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    vendor = setup_django(args.db)

    from django.conf import settings

    from tracking.domain.refresh_policy import ACTIVE
    from tracking.models import Carrier, QueuedRefresh, Shipment, TrackingEvent
    from tracking.services import scheduling

    answers = [make_answer(i, args.events) for i in range(args.answers)]
    client = InstantClient({a.tracking_number: a for a in answers})
    carriers = list(Carrier.objects.filter(is_active=True).order_by("code")[:2])
    chunk = settings.REFRESH_TASK_CHUNK
    rows = []
    load_before = os.getloadavg()[0]
    for carrier, (label, bound) in zip(
        carriers,
        [
            ("batched per chunk (shipped)", scheduling.STORE_EVERY_SECONDS),
            ("baseline: one transaction per answer", 0.0),
        ],
        strict=True,
    ):
        scheduling.STORE_EVERY_SECONDS = bound
        ids = [
            s.pk
            for s in Shipment.objects.bulk_create(
                Shipment(carrier=carrier, tracking_number=a.tracking_number) for a in answers
            )
        ]
        for again in (False, True):
            QueuedRefresh.objects.all().delete()
            # The answers' scans are months old, so the first pass gives them up: due again.
            Shipment.objects.filter(pk__in=ids).update(
                next_check_at=None, last_checked_at=None, refresh_state=ACTIVE
            )
            # One claim per chunk, as the scheduler's tasks get them (its room is not the point).
            claims = [
                _claim(scheduling, QueuedRefresh, ids[at : at + chunk])
                for at in range(0, len(ids), chunk)
            ]
            before = TrackingEvent.objects.count()
            started = time.perf_counter()
            refreshed = 0
            for shipment_ids, token in claims:
                served = scheduling.serve(
                    shipment_ids=shipment_ids,
                    token=token,
                    client=client,  # type: ignore[arg-type]
                )
                refreshed += served.refreshed
            seconds = time.perf_counter() - started
            added = TrackingEvent.objects.count() - before
            rows.append((label, "again" if again else "first", seconds, refreshed, added))
    n = args.answers
    print(
        f"Database: {vendor}; {n:,} queued shipments x {args.events} events served by "
        f"scheduling.serve in chunks of {chunk}, an instant client. Machine: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.\n"
    )
    print("| path | pass | total s | ms per answer | refreshed | rows added |")
    print("|---|---|---:|---:|---:|---:|")
    for label, which, seconds, refreshed, added in rows:
        print(
            f"| {label} | {which} | {seconds:.2f} | {seconds / n * 1000:.2f} "
            f"| {refreshed:,} | {added:,} |"
        )


def _claim(scheduling, queued_refresh, ids: list[int]) -> tuple[list[int], str]:
    """Queue these ids under one token, as claim() does (without its room check)."""
    import uuid

    from django.utils import timezone

    token = uuid.uuid4().hex
    now = timezone.now()
    queued_refresh.objects.bulk_create(
        [
            queued_refresh(shipment_id=i, token=token, queued_at=now, reason=scheduling.SCHEDULED)
            for i in ids
        ]
    )
    return ids, token


if __name__ == "__main__":
    main()
