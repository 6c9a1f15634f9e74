"""How good our delivery estimate is, on generated parcels whose true delivery time is known,
against the naive baseline (the carrier-wide median transit time).

    python benchmarks/estimates.py --db var/bench/estimates.sqlite3 [--per-day 250] [--markdown out.md]

The parcels: four carriers, each with its own typical speed and spread, from three warehouse
regions to ten destination regions; a lane's median transit grows with its distance, each
parcel's transit is log-normal around it, and one in fifteen is held up one to four days more.
Scans: the first at the origin, two hub scans on the way, "out for delivery" in the destination
region six hours before the delivery, the delivery. Three in five parcels carry a carrier date
(the lane's median plus 15 %, as a day); the others none.

The history: the parcels first scanned in the --history-days before the cutoff are stored,
and the real pipeline builds the rollups and the lane history from them (the full rebuild, then
the history refresh as of the cutoff). The test: the parcels first scanned in the --test-days
after the cutoff, never stored; each is predicted from its scans up to the moment of the
prediction, with the history as of the cutoff (nothing later is seen):

- at its first scan (an hour after it),
- a day after the first scan, if not delivered by then,
- the day after its carrier date, if it was not delivered by then (the case our estimate is
  for beside "no carrier date"),
- at the "out for delivery" scan (the lane is known).

Reported for each: the mean absolute error in days (predicted day against the true delivery
day, UTC days), the share of deliveries inside the window (our 10th-90th percentile window; for
the baseline the carrier-wide 10th-90th percentile window), and how many parcels got an estimate
(too little history: none). The baseline never predicts a day before the prediction's own day.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import setup_django  # noqa: E402

#: carrier: (median hours on an average lane, spread of the log-normal)
CARRIERS = {
    "ups": (44.0, 0.22),
    "fedex": (38.0, 0.3),
    "usps": (64.0, 0.42),
    "dhl_express": (80.0, 0.35),
}
#: region: (x, y) on a rough map of the US, for the lanes' distances
REGIONS = {
    "CA": (0, 5),
    "WA": (0, 9),
    "CO": (4, 6),
    "TX": (5, 2),
    "IL": (8, 7),
    "TN": (9, 4),
    "GA": (10, 3),
    "OH": (10, 7),
    "NY": (13, 8),
    "FL": (11, 0),
}
ORIGINS = ("CA", "TX", "GA")
DELAYED = 1 / 15


@dataclass
class Journey:
    carrier: str
    origin: str
    destination: str
    shipped_at: datetime
    delivered_at: datetime
    eta: datetime | None

    def scans(self) -> list[tuple[datetime, str, str, str]]:
        """(time, status, state, detail code)."""
        transit = self.delivered_at - self.shipped_at
        hub1 = _between(self.origin, self.destination, 0.35)
        hub2 = _between(self.origin, self.destination, 0.7)
        out_at = self.delivered_at - min(timedelta(hours=6), transit / 4)
        return [
            (self.shipped_at, "AC", self.origin, "PICKED_UP"),
            (self.shipped_at + transit * 0.3, "IT", hub1, "HUB_SCAN_OUT"),
            (self.shipped_at + transit * 0.6, "IT", hub2, "HUB_SCAN_IN"),
            (out_at, "IT", self.destination, "OUT_FOR_DELIVERY"),
            (self.delivered_at, "DE", self.destination, "DELIVERED"),
        ]


def _between(a: str, b: str, share: float) -> str:
    (ax, ay), (bx, by) = REGIONS[a], REGIONS[b]
    x, y = ax + (bx - ax) * share, ay + (by - ay) * share
    return min(REGIONS, key=lambda r: (REGIONS[r][0] - x) ** 2 + (REGIONS[r][1] - y) ** 2)


def lane_median_hours(carrier: str, origin: str, destination: str) -> float:
    (ax, ay), (bx, by) = REGIONS[origin], REGIONS[destination]
    distance = math.hypot(ax - bx, ay - by) / 14  # 0 .. about 1
    return CARRIERS[carrier][0] * (0.55 + 0.9 * distance)


def journeys(rng: random.Random, first_day: date, days: int, per_day: int) -> list[Journey]:
    out = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        for _ in range(per_day):
            carrier = rng.choice(list(CARRIERS))
            origin = rng.choice(ORIGINS)
            destination = rng.choice(list(REGIONS))
            shipped = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                hours=rng.uniform(8, 20)
            )
            median = lane_median_hours(carrier, origin, destination)
            hours = median * math.exp(rng.gauss(0, CARRIERS[carrier][1]))
            if rng.random() < DELAYED:
                hours += rng.uniform(24, 96)
            eta = None
            if rng.random() < 0.6:
                promised = (shipped + timedelta(hours=median * 1.15)).date()
                eta = datetime(promised.year, promised.month, promised.day, tzinfo=UTC)
            out.append(
                Journey(
                    carrier, origin, destination, shipped, shipped + timedelta(hours=hours), eta
                )
            )
    return out


def store(history: list[Journey]) -> None:
    """The history parcels as shipments and events, the way the ingest leaves them."""
    from tracking.models import Carrier, Shipment, TrackingEvent

    carriers = {c.code: c for c in Carrier.objects.filter(code__in=list(CARRIERS))}
    for start in range(0, len(history), 2000):
        chunk = history[start : start + 2000]
        shipments = Shipment.objects.bulk_create(
            [
                Shipment(
                    carrier=carriers[j.carrier],
                    tracking_number=f"EST{start + i:09d}",
                    status_code="DE",
                    status_description="Delivered",
                    estimated_delivery_date=j.eta,
                    actual_delivery_date=j.delivered_at,
                    last_event_at=j.delivered_at,
                    event_count=5,
                )
                for i, j in enumerate(chunk)
            ]
        )
        events = []
        for shipment, j in zip(shipments, chunk, strict=True):
            for k, (at, status, state, detail) in enumerate(j.scans()):
                events.append(
                    TrackingEvent(
                        shipment=shipment,
                        dedupe_key=f"e{k}",
                        occurred_at=at,
                        status_code=status,
                        status_detail_code=detail,
                        country_code="US",
                        state_province=state,
                        description=detail.replace("_", " ").capitalize(),
                    )
                )
        TrackingEvent.objects.bulk_create(events, batch_size=5000)


def day_of(value: datetime) -> date:
    return value.astimezone(UTC).date()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an SQLite file (made afresh); default: DATABASE_URL")
    parser.add_argument("--per-day", type=int, default=250)
    parser.add_argument("--history-days", type=int, default=120)
    parser.add_argument("--test-days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    if args.db:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    elif not os.environ.get("DATABASE_URL"):
        parser.error("give --db or set DATABASE_URL (the benchmark empties the shipments)")
    setup_django(args.db)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from tracking.domain import estimates as rules
    from tracking.domain import shipment_facts
    from tracking.domain.lanes import ANY
    from tracking.domain.shipment_facts import Scan, Summary
    from tracking.models import Carrier, LaneHistory, Shipment
    from tracking.services import analytics, analytics_refresh

    call_command("migrate", verbosity=0)
    if not args.db:
        Shipment.objects.all().delete()
    rng = random.Random(args.seed)
    cutoff = date(2026, 9, 1)
    history = journeys(
        rng, cutoff - timedelta(days=args.history_days), args.history_days, args.per_day
    )
    # Only what was delivered by the cutoff is history.
    cutoff_at = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
    history = [j for j in history if j.delivered_at < cutoff_at]
    tests = journeys(rng, cutoff, args.test_days, args.per_day)
    started = time.monotonic()
    store(history)
    analytics.rebuild(from_scratch=True)
    analytics_refresh.refresh_history(now=cutoff_at, force=True)
    build_seconds = time.monotonic() - started

    carrier_ids = dict(Carrier.objects.filter(code__in=list(CARRIERS)).values_list("code", "pk"))
    lane_history: dict[int, dict[tuple[str, str], dict[int, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for c, o, d, b, n in LaneHistory.objects.filter(metric=shipment_facts.TRANSIT).values_list(
        "carrier_id", "origin", "destination", "bucket", "n"
    ):
        lane_history[c][(o, d)][b] = n
    min_parcels = settings.ESTIMATE_MIN_PARCELS

    # situation -> method -> list of (error days, inside window)
    found: dict[str, dict[str, list[tuple[int, bool]]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, int] = defaultdict(int)
    none: dict[str, int] = defaultdict(int)
    bases: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def predict(situation: str, j: Journey, at: datetime) -> None:
        carrier_id = carrier_ids[j.carrier]
        seen = [s for s in j.scans() if s[0] <= at]
        scans = [
            Scan(
                id=i,
                occurred_at=t,
                status_code=st,
                country_code="US",
                state_province=state,
                status_detail_code=detail,
            )
            for i, (t, st, state, detail) in enumerate(seen)
        ]
        summary = Summary(carrier_id, seen[-1][1], j.eta, None)
        facts = shipment_facts.compute(summary, scans)
        truth = day_of(j.delivered_at)
        counts[situation] += 1
        ours = rules.estimate(
            facts=facts, history=lane_history[carrier_id], now=at, min_parcels=min_parcels
        )
        if ours is None:
            none[situation] += 1
        else:
            bases[situation][ours.basis] += 1
            found[situation]["ours"].append(
                (abs((ours.predicted_on - truth).days), ours.earliest_on <= truth <= ours.latest_on)
            )
        naive = rules.naive(
            shipped_at=j.shipped_at, carrier_history=lane_history[carrier_id][(ANY, ANY)]
        )
        if naive is not None:
            today = day_of(at)
            predicted, low, high = (max(x, today) for x in naive)
            found[situation]["naive"].append((abs((predicted - truth).days), low <= truth <= high))

    for j in tests:
        predict("at the first scan", j, j.shipped_at + timedelta(hours=1))
        day_later = j.shipped_at + timedelta(days=1)
        if j.delivered_at > day_later:
            predict("a day after the first scan, not yet delivered", j, day_later)
        if j.eta is not None and day_of(j.delivered_at) > day_of(j.eta):
            predict("the carrier's date has passed", j, j.eta + timedelta(days=1))
        out_at = j.scans()[3][0]
        predict("at the out-for-delivery scan", j, out_at + timedelta(minutes=1))

    lines = [
        f"Parcels: {len(history):,} delivered by the cutoff as history "
        f"({args.history_days} days, {args.per_day} a day; the last "
        f"{settings.ANALYTICS_HISTORY_DAYS} days of it used), {len(tests):,} test parcels over "
        f"{args.test_days} days; database {connection.vendor}; history built by the real "
        f"pipeline in {build_seconds:.0f} s; ESTIMATE_MIN_PARCELS = {min_parcels}; seed {args.seed}.",
        "",
        "| when the estimate is made | parcels | with our estimate | our MAE (days) | naive MAE (days) | inside our window | inside the naive window | our estimate rests on |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    everything: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for situation in counts:
        ours = found[situation]["ours"]
        naive = found[situation]["naive"]
        everything["ours"] += ours
        everything["naive"] += naive
        basis = ", ".join(f"{k} {v:,}" for k, v in sorted(bases[situation].items()))
        lines.append(
            f"| {situation} | {counts[situation]:,} | {len(ours) / counts[situation]:.0%} | "
            f"**{statistics.mean(e for e, _ in ours):.2f}** | {statistics.mean(e for e, _ in naive):.2f} | "
            f"**{sum(w for _, w in ours) / len(ours):.0%}** | {sum(w for _, w in naive) / len(naive):.0%} | {basis} |"
        )
    ours, naive = everything["ours"], everything["naive"]
    lines.append(
        f"| all of them | {sum(counts.values()):,} | {len(ours) / sum(counts.values()):.0%} | "
        f"**{statistics.mean(e for e, _ in ours):.2f}** | {statistics.mean(e for e, _ in naive):.2f} | "
        f"**{sum(w for _, w in ours) / len(ours):.0%}** | {sum(w for _, w in naive) / len(naive):.0%} | |"
    )
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
