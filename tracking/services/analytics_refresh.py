"""The analytics' periodic work, on every scheduler run (run_worker, refresh_due): the shipments a
failed consumer left behind, the recent history per lane (hourly), the quiet-parcel snapshot
(every ANALYTICS_QUIET_REFRESH_MINUTES), and our estimates that time has changed.

Each refresh is claimed with a conditional UPDATE of AnalyticsState inside the refresh's own
transaction, so two schedulers never do the same one at once, and a failed refresh leaves the
previous one in place (and is tried again on the next run).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..domain import histograms, shipment_facts
from ..domain.lanes import ANY
from ..models import (
    AnalyticsBacklog,
    AnalyticsState,
    DailyRollup,
    DeliveryEstimate,
    LaneHistory,
    QuietLane,
    ShipmentFacts,
)
from . import analytics, estimates

logger = logging.getLogger("shiptrack.analytics")

HISTORY_REFRESH = timedelta(hours=1)


def history_window(today: date) -> tuple[date, date]:
    """The deliveries the history rests on: the last ANALYTICS_HISTORY_DAYS days to today."""
    return today - timedelta(days=settings.ANALYTICS_HISTORY_DAYS), today


def _claim(field: str, every: timedelta, now: datetime) -> bool:
    """Take this refresh if it is due (inside the caller's transaction: the row stays locked,
    so a second scheduler waits and then finds it done)."""
    AnalyticsState.objects.get_or_create(pk=1)
    due = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now - every})
    return bool(AnalyticsState.objects.filter(due, pk=1).update(**{field: now}))


def refresh_history(*, now: datetime | None = None, force: bool = False) -> bool:
    """Sum the recent transit times and longest gaps per carrier and lane from the daily
    rollups into LaneHistory (with the wider groups: origin to anywhere, the whole carrier).
    Returns whether it ran."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _claim("history_as_of", timedelta(0) if force else HISTORY_REFRESH, now):
            return False
        first, last = history_window(shipment_facts.utc_day(now))
        ops = connection.ops
        history = ops.quote_name(LaneHistory._meta.db_table)
        rollup = ops.quote_name(DailyRollup._meta.db_table)
        bucket = "CAST(key AS INTEGER)"
        where = "metric IN (%s, %s) AND day >= %s AND day <= %s"
        params = [
            shipment_facts.TRANSIT,
            shipment_facts.GAP,
            ops.adapt_datefield_value(first),
            ops.adapt_datefield_value(last),
        ]
        # Fixed model names only; every value goes through a placeholder.
        select = (
            f"SELECT metric, carrier_id, origin, destination, {bucket}, SUM(n) FROM {rollup} "  # noqa: S608
            f"WHERE {where} AND origin <> %s GROUP BY metric, carrier_id, origin, destination, key "
            f"UNION ALL SELECT metric, carrier_id, origin, %s, {bucket}, SUM(n) FROM {rollup} "
            f"WHERE {where} AND origin <> %s GROUP BY metric, carrier_id, origin, key "
            f"UNION ALL SELECT metric, carrier_id, origin, destination, {bucket}, SUM(n) "
            f"FROM {rollup} WHERE {where} AND origin = %s AND destination = %s "
            "GROUP BY metric, carrier_id, origin, destination, key"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {history}")  # noqa: S608
            cursor.execute(
                f"INSERT INTO {history} (metric, carrier_id, origin, destination, bucket, n) "
                + select,
                [*params, ANY, ANY, *params, ANY, *params, ANY, ANY],
            )
        regions = sorted(
            {r for r in ShipmentFacts.objects.values_list("origin", flat=True).distinct() if r}
            | {
                r
                for r in ShipmentFacts.objects.values_list("destination", flat=True).distinct()
                if r
            }
        )
        carrier_ids = sorted(ShipmentFacts.objects.values_list("carrier_id", flat=True).distinct())
        AnalyticsState.objects.filter(pk=1).update(regions=regions, carrier_ids=carrier_ids)
    return True


def usual_gaps() -> dict[tuple[int, str], int]:
    """{(carrier id, origin or ANY): the 90th percentile of the longest gap between scans of
    recently delivered parcels}, for groups with at least ESTIMATE_MIN_PARCELS parcels."""
    groups: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    rows = LaneHistory.objects.filter(metric=shipment_facts.GAP, destination=ANY).values_list(
        "carrier_id", "origin", "bucket", "n"
    )
    for carrier_id, origin, bucket, n in rows.order_by():
        groups[(carrier_id, origin)][bucket] = n
    out = {}
    for group, counts in groups.items():
        if sum(counts.values()) >= settings.ESTIMATE_MIN_PARCELS:
            p90 = histograms.percentile(counts, 0.9)
            if p90 is not None:
                out[group] = p90
    return out


def quiet_counts(*, now: datetime) -> dict[tuple[int, str, str], list[Any]]:
    """{(carrier, origin, where it is now): [usual gap bucket, on their way, quiet]}, with each
    carrier's totals under (carrier, ANY, ANY). Reads the open parcels' facts once."""
    gaps = usual_gaps()
    counts: dict[tuple[int, str, str], list[Any]] = {}
    rows = (
        ShipmentFacts.objects.filter(is_open=True, last_scan_at__isnull=False)
        .order_by()
        .values_list("carrier_id", "origin", "destination", "last_scan_at")
    )
    for carrier_id, origin, destination, last_scan_at in rows.iterator(chunk_size=20000):
        usual = gaps.get((carrier_id, origin), gaps.get((carrier_id, ANY)))
        quiet = usual is not None and now - last_scan_at >= histograms.bucket_end(usual)  # type: ignore[operator]
        for key, gap in (
            ((carrier_id, origin, destination), usual),
            ((carrier_id, ANY, ANY), gaps.get((carrier_id, ANY))),
        ):
            entry = counts.get(key)
            if entry is None:
                entry = counts[key] = [gap, 0, 0]
            entry[1] += 1
            entry[2] += quiet
    return counts


def refresh_quiet(*, now: datetime | None = None, force: bool = False) -> bool:
    """Count the parcels on their way per carrier and lane so far, and those quiet for longer
    than their usual gap, into QuietLane (replaced as a whole). Returns whether it ran."""
    now = now or timezone.now()
    every = timedelta(0) if force else timedelta(minutes=settings.ANALYTICS_QUIET_REFRESH_MINUTES)
    state = AnalyticsState.objects.filter(pk=1).values_list("quiet_as_of", flat=True).first()
    if state is not None and state >= now - every:
        return False
    # Counted before the write transaction: SQLite's one writer is held for the replace only.
    counts = quiet_counts(now=now)
    with transaction.atomic():
        if not _claim("quiet_as_of", every, now):
            return False  # another scheduler got there first
        QuietLane.objects.all().delete()
        QuietLane.objects.bulk_create(
            [
                QuietLane(
                    carrier_id=carrier_id,
                    origin=origin,
                    destination=destination,
                    usual_gap_bucket=gap,
                    open_parcels=open_parcels,
                    quiet_parcels=quiet_parcels,
                )
                for (carrier_id, origin, destination), (gap, open_parcels, quiet_parcels) in (
                    counts.items()
                )
            ],
            batch_size=2000,
        )
    return True


def retry_backlog(*, limit: int) -> int:
    """The shipments a failed consumer run left behind."""
    ids = list(AnalyticsBacklog.objects.order_by("pk").values_list("pk", flat=True)[:limit])
    if ids:
        analytics.update_shipments(ids)
        AnalyticsBacklog.objects.filter(pk__in=ids).delete()
    return len(ids)


def sweep(*, now: datetime | None = None) -> dict[str, Any]:
    """Everything periodic; cheap when nothing is due (a few indexed queries)."""
    now = now or timezone.now()
    limit = settings.ANALYTICS_SWEEP_BATCH
    report: dict[str, Any] = {"backlog": retry_backlog(limit=limit)}
    report["history"] = refresh_history(now=now)
    report["quiet"] = refresh_quiet(now=now)
    report.update(estimates.sweep(now=now, limit=limit))
    return report


def tidy_after_rebuild() -> str:
    """After a full rebuild has rewritten millions of rollup and facts rows, on PostgreSQL:
    VACUUM (ANALYZE), so the visibility map lets the pages' index-only scans skip the table (the
    365-day page's main query at 1M shipments: 138 ms with a heap fetch per row, 61 ms after);
    autovacuum would get there too, later. Only outside a transaction (VACUUM cannot run in
    one); returns what ran ("" for nothing).

    Not SQLite's ANALYZE: with statistics its planner skip-scanned the carriers of
    rollup_carrier_day for a one-origin page (310 ms at 1M) where without them it takes the
    lane index (96 ms); its default choice, the index with the most equal columns, is the right
    one for every page."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        return ""
    tables = ", ".join(
        connection.ops.quote_name(m._meta.db_table) for m in (DailyRollup, ShipmentFacts)
    )
    statement = f"VACUUM (ANALYZE) {tables}"
    with connection.cursor() as cursor:
        cursor.execute(statement)
    return statement


def rebuild_all(*, from_scratch: bool = False, progress: Any = None) -> dict[str, Any]:
    """The full recompute (manage.py rebuild_analytics): facts and rollups of every shipment,
    then the history, our estimate of every parcel on its way, and the quiet snapshot."""
    now = timezone.now()
    # Estimates wait for the history (on a first build there is none yet).
    report = analytics.rebuild(from_scratch=from_scratch, progress=progress)
    refresh_history(now=now, force=True)
    open_ids = list(
        ShipmentFacts.objects.filter(is_open=True, shipped_at__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    estimated = 0
    for start in range(0, len(open_ids), 2000):
        estimated += estimates.update_stored(open_ids[start : start + 2000], now=now)
    # Every open parcel went through update() above (renewed or removed); an older estimate
    # left over belongs to a parcel closed by a writer that bypassed the outbox (a restore, a
    # bulk load). Open parcels are excluded so a consumer's concurrent write is never lost.
    DeliveryEstimate.objects.filter(computed_at__lt=now).exclude(
        shipment_id__in=ShipmentFacts.objects.filter(is_open=True, shipped_at__isnull=False).values(
            "pk"
        )
    ).delete()
    refresh_quiet(now=now, force=True)
    today_start = datetime.combine(shipment_facts.utc_day(now), time(0), tzinfo=UTC)
    AnalyticsState.objects.filter(pk=1).update(etas_swept_until=today_start)
    return {
        "shipments": report.shipments,
        "estimates": estimated,
        "seconds": round((timezone.now() - now).total_seconds(), 1),
    }
