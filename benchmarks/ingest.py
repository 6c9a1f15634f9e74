"""Ingest benchmark: 1,000 tracking answers of 30 events each into SQLite, then all of them again.

    .venv/bin/python benchmarks/ingest.py [--answers 1000] [--events 30] [--baseline 1000]

Target (issue 2): the first pass under 3 s in all, the second pass adds zero rows. In the same run,
a baseline: the obvious per-event `get_or_create` ingest on the same answers, so the figure has
something to be compared with. Uses its own SQLite file under var/bench/ (deleted first).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(db_path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiptrack.test_settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


PLACES = [
    ("LOS ANGELES", "CA", "90021", 34.03, -118.24),
    ("PHOENIX", "AZ", "85043", 33.44, -112.20),
    ("DALLAS", "TX", "75261", 32.90, -97.04),
    ("MEMPHIS", "TN", "38118", 35.04, -89.98),
    ("LOUISVILLE", "KY", "40209", 38.17, -85.74),
    ("INDIANAPOLIS", "IN", "46241", 39.72, -86.29),
    ("NEWARK", "NJ", "07114", 40.69, -74.17),
    ("NEW YORK", "NY", "10001", 40.75, -74.00),
]


def make_answer(i: int, events: int):
    """A journey of `events` scans over 8 facilities (arrive, sort, depart... as carriers scan)."""
    from tracking.shipengine import TrackingInfo

    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)
    scans = []
    for h in range(events):
        city, state, postal, lat, lon = PLACES[h * len(PLACES) // events]
        when = start + timedelta(hours=h)
        scans.append(
            {
                "occurred_at": when.isoformat(),
                "carrier_occurred_at": when.replace(tzinfo=None).isoformat(),
                "description": f"Scan {h}",
                "city_locality": city,
                "state_province": state,
                "postal_code": postal,
                "country_code": "US",
                "event_code": "IT",
                "status_code": "IT",
                "status_description": "In Transit",
                "carrier_status_code": "IT",
                "carrier_status_description": f"Scan {h}",
                "latitude": lat,
                "longitude": lon,
            }
        )
    return TrackingInfo.from_json(
        {
            "tracking_number": f"BENCH{i:08d}",
            "status_code": "IT",
            "status_description": "In Transit",
            "carrier_code": "ups",
            "carrier_id": 1,
            "carrier_status_code": "IT",
            "events": list(reversed(scans)),
        }
    )


def naive_ingest(shipment, info) -> None:
    """The baseline: one get_or_create per event, the way a first version is usually written."""
    from tracking.models import TrackingEvent

    for ev in info.events:
        TrackingEvent.objects.get_or_create(
            shipment=shipment,
            occurred_at=ev.occurred_at,
            description=ev.description,
            city_locality=ev.city_locality,
            defaults={
                "dedupe_key": f"{ev.occurred_at.isoformat()}|{ev.description}",
                "postal_code": ev.postal_code,
                "latitude": ev.latitude,
                "longitude": ev.longitude,
            },
        )
    shipment.status_code = info.status_code
    shipment.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--baseline", type=int, default=1000, help="answers for the baseline")
    parser.add_argument(
        "--batch", type=int, default=100, help="answers per transaction, batch mode"
    )
    args = parser.parse_args()

    db_path = ROOT / "var" / "bench" / "ingest.sqlite3"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    setup_django(db_path)

    from tracking.models import Carrier, Shipment, TrackingEvent
    from tracking.services import ingest_many, ingest_tracking

    answers = [make_answer(i, args.events) for i in range(args.answers)]

    def new_shipments(code: str, count: int) -> list[int]:
        carrier = Carrier.objects.get(code=code)
        created = Shipment.objects.bulk_create(
            Shipment(carrier=carrier, tracking_number=a.tracking_number) for a in answers[:count]
        )
        return [s.pk for s in created]

    def timed(ids: list[int], batch: int) -> tuple[float, int, int]:
        """Seconds, events the ingest says it added, rows really added."""
        rows_before = TrackingEvent.objects.count()
        pairs = list(zip(ids, answers, strict=False))
        started = time.perf_counter()
        added = 0
        if batch == 1:
            for sid, answer in pairs:
                added += ingest_tracking(shipment_id=sid, info=answer).events_added
        else:
            for at in range(0, len(pairs), batch):
                added += sum(r.events_added for r in ingest_many(answers=pairs[at : at + batch]))
        seconds = time.perf_counter() - started
        return seconds, added, TrackingEvent.objects.count() - rows_before

    n, e, b = args.answers, args.events, args.batch
    rows: list[tuple[str, int, float, int, int]] = []
    # One answer per transaction, as a single refresh or webhook does...
    single = new_shipments("ups", n)
    rows.append(("ingest_tracking, 1 per tx, first", n, *timed(single, 1)))
    rows.append(("ingest_tracking, 1 per tx, again", n, *timed(single, 1)))
    # ...and a batch per transaction, as a batch of refreshes or an import does.
    batched = new_shipments("dhl_express", n)
    rows.append((f"ingest_many, {b} per tx, first", n, *timed(batched, b)))
    rows.append((f"ingest_many, {b} per tx, again", n, *timed(batched, b)))

    # The baseline: one get_or_create per event.
    baseline_ids = new_shipments("fedex", args.baseline)
    base = Shipment.objects.filter(pk__in=baseline_ids).order_by("pk")
    for label in ("baseline get_or_create, first", "baseline get_or_create, again"):
        before = TrackingEvent.objects.count()
        started = time.perf_counter()
        for shipment, answer in zip(base, answers, strict=False):
            naive_ingest(shipment, answer)
        seconds = time.perf_counter() - started
        added = TrackingEvent.objects.count() - before
        rows.append((label, args.baseline, seconds, added, added))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite file (WAL)"
    )
    print(f"{'':36} {'answers':>8} {'seconds':>8} {'ms/answer':>10} {'rows added':>11}")
    for label, count, seconds, _said, added in rows:
        print(f"{label:36} {count:>8} {seconds:>8.2f} {seconds / count * 1000:>10.2f} {added:>11}")
    firsts = {label: (seconds, added) for label, _c, seconds, _s, added in rows}
    again_zero = all(
        added == 0 for label, _c, _s, said, added in rows if "again" in label and said == 0
    )
    again_zero = again_zero and all(
        added == 0 and said == 0 for label, _c, _s, said, added in rows if "again" in label
    )
    single_s = firsts["ingest_tracking, 1 per tx, first"][0]
    batch_s = firsts[f"ingest_many, {b} per tx, first"][0]
    print(f"{n} answers x {e} events; zero rows added again: {'yes' if again_zero else 'NO'}")
    print(
        f"under 3 s: 1 per tx {single_s:.2f} s {'yes' if single_s < 3 else 'no'}; "
        f"{b} per tx {batch_s:.2f} s {'yes' if batch_s < 3 else 'no'}"
    )
    sys.exit(0 if again_zero and min(single_s, batch_s) < 3 else 1)


if __name__ == "__main__":
    main()
