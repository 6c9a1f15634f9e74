"""Ingest benchmark: 1,000 tracking answers of 30 events each, on the path workers and webhooks
run (`ingest_tracking`: one answer per transaction, the outbox dispatched after each commit),
then all of them again; the ORM's bulk paths and the raw SQL measured side by side in the same
run, and the obvious per-event `get_or_create` as a baseline.

    .venv/bin/python benchmarks/ingest.py --db /work/bench/ingest.sqlite3        # SQLite
    DATABASE_URL=postgres://.../bench_ingest .venv/bin/python benchmarks/ingest.py  # PostgreSQL
    ... [--answers 1000] [--events 30] [--baseline 200] [--markdown out.md]

The SQLite file is deleted and created again; a PostgreSQL database must exist and is emptied
(migrated, its shipments and events deleted). Variants, each on its own 1,000 new shipments:

- raw/raw: what ingest.py ships (events by one `INSERT ... ON CONFLICT DO NOTHING` executemany,
  the summary by a hand-built UPDATE);
- ORM events: `TrackingEvent.objects.bulk_create(..., ignore_conflicts=True)` instead;
- ORM summary: `Shipment.objects.filter(pk=...).update(**changes)` instead;
- ORM/ORM: both.

For each, the total and the time inside the two functions (so the ratio compares like with like).
Target (issue 12): <= 3 s for the 1,000 first answers on the path workers run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NONE = "\u2013"  # en dash: no figure
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


def setup_django(db: str | None) -> str:
    if db:
        path = Path(db).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("give --db FILE (SQLite) or DATABASE_URL (an empty PostgreSQL database)")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "shiptrack.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from tracking.models import ChangeRecord, Shipment

    ChangeRecord.objects.all().delete()
    Shipment.objects.all().delete()  # events, places links and tallies go with them
    return connection.vendor


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


def orm_insert_events(rows, now) -> None:
    """The ORM alternative to ingest._insert_events: ON CONFLICT DO NOTHING on both databases."""
    from tracking.models import TrackingEvent
    from tracking.services.ingest import event_values

    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(shipment_id=sid, dedupe_key=key, created_at=now, **event_values(ev))
            for sid, key, ev in rows
        ],
        ignore_conflicts=True,
    )


def raw_save_summary(shipment_id: int, changes: dict) -> None:
    """The hand-built UPDATE ingest.py used before: values prepared by the model's own fields,
    without the ORM's per-call query compilation (ingest.py now ships the ORM's update())."""
    from django.db import connection, models

    from tracking.models import Shipment

    meta = Shipment._meta
    columns, params = [], []
    for name, value in changes.items():
        field = meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        columns.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    params.append(shipment_id)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(columns)} WHERE id = %s", params)


class Timer:
    """Wraps a function and adds up the time spent in it."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.seconds = 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file (deleted first); default: DATABASE_URL")
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--baseline", type=int, default=200, help="answers for get_or_create")
    parser.add_argument("--markdown", help="also write the tables to this file")
    args = parser.parse_args()
    vendor = setup_django(args.db)

    from tracking.models import Carrier, Shipment, TrackingEvent
    from tracking.services import ingest

    answers = [make_answer(i, args.events) for i in range(args.answers)]
    carriers = list(Carrier.objects.order_by("code")[:6])

    def new_shipments(carrier: Carrier, count: int) -> list[int]:
        created = Shipment.objects.bulk_create(
            Shipment(carrier=carrier, tracking_number=a.tracking_number) for a in answers[:count]
        )
        return [s.pk for s in created]

    shipped_insert, shipped_save = ingest._insert_events, ingest._save_summaries

    def orm_save_summaries(changes: dict) -> None:
        for shipment_id, values in changes.items():
            Shipment.objects.filter(pk=shipment_id).update(**values)

    def raw_save_summaries(changes: dict) -> None:
        for shipment_id, values in changes.items():
            raw_save_summary(shipment_id, values)

    variants = [
        ("shipped events and summary", shipped_insert, shipped_save),
        ("ORM bulk_create events, ORM update() summary", orm_insert_events, orm_save_summaries),
        ("shipped events, raw UPDATE summary", shipped_insert, raw_save_summaries),
        ("ORM bulk_create events, raw UPDATE summary", orm_insert_events, raw_save_summaries),
    ]
    # Where the rest of an ingest goes (the same in every variant).
    from tracking.services import outbox, search_index

    dispatching = Timer(outbox.dispatch)
    linking = Timer(search_index.link_places)
    outbox.dispatch = dispatching
    ingest.link_places = linking
    results = []
    extras: list[tuple[str, bool, float, float]] = []
    load_before = os.getloadavg()[0]
    for index, (label, insert, save) in enumerate(variants):
        ids = new_shipments(carriers[index], args.answers)
        for again in (False, True):
            inserting, saving = Timer(insert), Timer(save)
            ingest._insert_events, ingest._save_summaries = inserting, saving
            dispatching.seconds = linking.seconds = 0.0
            before = TrackingEvent.objects.count()
            started = time.perf_counter()
            said = 0
            for sid, answer in zip(ids, answers, strict=True):
                said += ingest.ingest_tracking(shipment_id=sid, info=answer).events_added
            seconds = time.perf_counter() - started
            added = TrackingEvent.objects.count() - before
            results.append(
                (
                    label,
                    "again" if again else "first",
                    seconds,
                    inserting.seconds,
                    saving.seconds,
                    said,
                    added,
                )
            )
            extras.append((label, again, linking.seconds, dispatching.seconds))
    ingest._insert_events, ingest._save_summaries = shipped_insert, shipped_save

    # For comparison, not the headline: the same answers in batches of 100 per transaction
    # (`ingest_many`), what a batching worker (a refresh_many task) would run.
    batched_ids = new_shipments(carriers[5], args.answers)
    before = TrackingEvent.objects.count()
    started = time.perf_counter()
    pairs = list(zip(batched_ids, answers, strict=True))
    for at in range(0, len(pairs), 100):
        ingest.ingest_many(answers=pairs[at : at + 100])
    batched = (time.perf_counter() - started, TrackingEvent.objects.count() - before)
    Shipment.objects.filter(pk__in=batched_ids).delete()

    # The links of the search places: the hand-written INSERT against bulk_create, the same
    # rows (8 places per answer, as above), in a transaction rolled back afterwards.
    from django.db import transaction

    from tracking.models import Place, ShipmentPlace

    place_ids = list(Place.objects.values_list("pk", flat=True)[:8])
    link_ids = new_shipments(carriers[5], args.answers)
    link_times = {}
    for name, write in (
        (
            "ORM bulk_create(ignore_conflicts=True)",
            lambda sid: ShipmentPlace.objects.bulk_create(
                [ShipmentPlace(shipment_id=sid, place_id=p) for p in place_ids],
                ignore_conflicts=True,
            ),
        ),
        (
            "raw INSERT ... ON CONFLICT (shipped)",
            lambda sid: search_index.insert_links([(sid, p) for p in place_ids]),
        ),
    ):
        with transaction.atomic():
            started = time.perf_counter()
            for sid in link_ids:
                write(sid)
            link_times[name] = time.perf_counter() - started
            transaction.set_rollback(True)

    # The baseline: one get_or_create per event, the way a first version is usually written.
    base_ids = new_shipments(carriers[4], args.baseline)
    base = list(Shipment.objects.filter(pk__in=base_ids).order_by("pk"))
    baseline = []
    for again in (False, True):
        before = TrackingEvent.objects.count()
        started = time.perf_counter()
        for shipment, answer in zip(base, answers, strict=False):
            for ev in answer.events:
                TrackingEvent.objects.get_or_create(
                    shipment=shipment,
                    occurred_at=ev.occurred_at,
                    description=ev.description,
                    city_locality=ev.city_locality,
                    defaults={
                        "dedupe_key": f"{ev.occurred_at.isoformat()}|{ev.description}",
                        "postal_code": ev.postal_code,
                    },
                )
            shipment.status_code = answer.status_code
            shipment.save()
        seconds = time.perf_counter() - started
        baseline.append(
            ("again" if again else "first", seconds, TrackingEvent.objects.count() - before)
        )

    n = args.answers
    lines = [
        f"Database: {vendor}; {n:,} answers x {args.events} events, one answer per transaction "
        f"(`ingest_tracking`, the outbox dispatched after each commit). Machine: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
        "",
        "| variant | pass | total s | ms per answer | in event insert s | in summary update s | rows added |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, which, seconds, ins, upd, _said, added in results:
        lines.append(
            f"| {label} | {which} | {seconds:.2f} | {seconds / n * 1000:.2f} | {ins:.2f} "
            f"| {upd:.2f} | {added:,} |"
        )
    for which, seconds, added in baseline:
        lines.append(
            f"| baseline: get_or_create per event ({args.baseline} answers) | {which} "
            f"| {seconds:.2f} | {seconds / args.baseline * 1000:.2f} | {NONE} | {NONE} | {added:,} |"
        )
    first = {
        label: (ins, upd, s) for label, which, s, ins, upd, _x, _a in results if which == "first"
    }
    raw_ins, orm_upd, shipped_total = first[variants[0][0]]
    orm_ins = first[variants[1][0]][0]
    raw_upd = first[variants[2][0]][1]
    link_s, dispatch_s = next((ln, d) for label, again, ln, d in extras if not again)
    lines += [
        "",
        f"Of the shipped first pass: {link_s:.2f} s recording the search places, "
        f"{dispatch_s:.2f} s in the outbox dispatch that runs after each commit.",
        "",
        f"Event insert: raw {raw_ins:.2f} s vs ORM bulk_create {orm_ins:.2f} s "
        f"(ORM / raw = {orm_ins / raw_ins:.2f}x). Summary update: raw {raw_upd:.2f} s vs ORM "
        f"update() {orm_upd:.2f} s (ORM / raw = {orm_upd / raw_upd:.2f}x). Raw SQL stays only "
        "where the ratio is 2x or more.",
        f"Shipped path, first pass: {shipped_total:.2f} s for {n:,} answers "
        f"({'meets' if shipped_total <= 3 else 'misses'} the 3 s target).",
    ]
    lines.append(
        f"For comparison (not the path that runs today): ingest_many, 100 answers per "
        f"transaction: {batched[0]:.2f} s for {n:,} answers, {batched[1]:,} rows."
    )
    orm_links, raw_links = link_times.values()
    lines.append(
        f"Place links, {n:,} answers x {len(place_ids)}: ORM bulk_create {orm_links:.2f} s, "
        f"raw {raw_links:.2f} s (ORM / raw = {orm_links / raw_links:.2f}x)."
    )
    again_ok = all(
        added == 0 for _l, which, _s, _i, _u, _said, added in results if which == "again"
    )
    lines.append(f"Every second pass added 0 rows: {'yes' if again_ok else 'NO'}.")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    sys.exit(0 if again_ok else 1)


if __name__ == "__main__":
    main()
