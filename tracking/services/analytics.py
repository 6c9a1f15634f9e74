"""Keeping the analytics current: an outbox consumer that updates the daily rollups (and our
estimates) for every shipment that changed, and a full recompute for backfill and checks.

How a change reaches the rollups: the ingest writes a ChangeRecord in its transaction; the outbox
hands it to `fan_out()` after the commit (and on every scheduler sweep). For each shipment in the
batch, `update_shipments()` locks its ShipmentFacts row, works out its facts again from the
stored summary and scans (domain/shipment_facts.py), and adds the difference between what it
counts as now and what it counted as before to DailyRollup (`INSERT ... ON CONFLICT DO UPDATE SET
n = n + ...`). The same function is the full recompute (`rebuild()`), chunk by chunk: it is
idempotent, so running it again, or while changes arrive, leaves exact numbers.

Nothing here edits the ingest: a page never scans all shipments or events, and a failure here
never holds back the outbox's other consumers (the batch is kept for the next sweep, see
`fan_out`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.db.models.signals import post_delete
from django.utils import timezone

from ..domain import shipment_facts
from ..domain.lanes import ANY
from ..domain.shipment_facts import Facts, Scan, Summary
from ..models import (
    AnalyticsBacklog,
    AnalyticsState,
    ChangeRecord,
    DailyRollup,
    Shipment,
    ShipmentFacts,
    TrackingEvent,
)
from . import estimates, outbox

logger = logging.getLogger("shiptrack.analytics")

_SUMMARY_FIELDS = (
    "id",
    "carrier_id",
    "status_code",
    "estimated_delivery_date",
    "actual_delivery_date",
)
_SCAN_FIELDS = (
    "shipment_id",
    "id",
    "occurred_at",
    "status_code",
    "country_code",
    "state_province",
    "status_detail_code",
    "status_detail_description",
    "description",
    "carrier_status_description",
)


# --- facts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Current:
    """A shipment as the raw tables say it is now."""

    summary: Summary
    facts: Facts


def read_current(shipment_ids: Sequence[int]) -> dict[int, Current]:
    """Summary and facts of each shipment from the raw tables (two queries; shipments that no
    longer exist are left out)."""
    ids = list(shipment_ids)
    summaries = {
        row[0]: Summary(*row[1:])
        for row in Shipment.objects.filter(pk__in=ids).order_by().values_list(*_SUMMARY_FIELDS)
    }
    scans: dict[int, list[Scan]] = defaultdict(list)
    rows = TrackingEvent.objects.filter(shipment_id__in=list(summaries)).order_by()
    for row in rows.values_list(*_SCAN_FIELDS):
        scans[row[0]].append(Scan(*row[1:]))
    return {
        sid: Current(summary, shipment_facts.compute(summary, scans.get(sid, ())))
        for sid, summary in summaries.items()
    }


_FACT_COLUMNS = [
    f.name
    for f in ShipmentFacts._meta.concrete_fields
    if f.name != "shipment"  # the key
]


# --- rollups --------------------------------------------------------------------------------
#: (metric, day, carrier id, origin, destination, key) -> change in n
Delta = dict[tuple[str, date, int, str, str, str], int]


def _add(delta: Delta, facts: Facts | None, sign: int) -> None:
    if facts is None:
        return
    for metric, day, origin, destination, key in shipment_facts.contributions(facts):
        k = (metric, day, facts.carrier_id, origin, destination, key)
        delta[k] = delta.get(k, 0) + sign


def apply_delta(delta: Delta) -> int:
    """Add each change to its rollup row (created when new); rows brought to zero are deleted.
    Returns the number of rows touched."""
    changes = sorted((k, n) for k, n in delta.items() if n)
    if not changes:
        return 0
    ops = connection.ops
    table = ops.quote_name(DailyRollup._meta.db_table)
    # Fixed model names only; every value goes through a placeholder.
    sql = (
        f"INSERT INTO {table} (metric, day, carrier_id, origin, destination, key, n) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (metric, carrier_id, origin, destination, day, key) "
        f"DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    params = [
        (metric, ops.adapt_datefield_value(day), carrier, origin, destination, key, n)
        for (metric, day, carrier, origin, destination, key), n in changes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    if any(n < 0 for _k, n in changes):
        DailyRollup.objects.filter(n=0).delete()  # the partial index rollup_empty serves this
    return len(changes)


def update_shipments(
    shipment_ids: Iterable[int], *, now: datetime | None = None, with_estimates: bool = True
) -> int:
    """Bring the facts, rollups and our estimates of these shipments in line with the raw tables,
    in one transaction; returns how many shipments were looked at. Safe to run concurrently and
    again: each shipment's facts row is locked first, and only the difference is added."""
    ids = sorted(set(shipment_ids))
    if not ids:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        carriers = dict(
            Shipment.objects.filter(pk__in=ids).order_by().values_list("id", "carrier_id")
        )
        # A row to lock for a shipment seen the first time (it counts for nothing yet), in id
        # order so that two workers never wait on each other in a circle.
        ShipmentFacts.objects.bulk_create(
            [ShipmentFacts(shipment_id=sid, carrier_id=carriers[sid]) for sid in sorted(carriers)],
            ignore_conflicts=True,
        )
        locked = ShipmentFacts.objects.filter(pk__in=ids).order_by("pk")
        if connection.features.has_select_for_update:
            locked = locked.select_for_update()
        before = {row.pk: row.as_facts() for row in locked}
        # Read after the lock: a worker that applied a newer state first is seen.
        current = read_current(list(before))
        delta: Delta = {}
        for sid, old in before.items():
            new = current.get(sid)
            _add(delta, old, -1)
            _add(delta, new.facts if new else None, +1)
        apply_delta(delta)
        ShipmentFacts.objects.bulk_create(
            [ShipmentFacts.of(sid, c.facts, computed_at=now) for sid, c in current.items()],
            update_conflicts=True,
            unique_fields=["shipment"],
            update_fields=_FACT_COLUMNS,
            batch_size=500,
        )
        if with_estimates:
            estimates.update(
                {sid: (c.facts, c.summary.estimated_delivery_date) for sid, c in current.items()},
                now=now,
            )
    return len(ids)


def fan_out(records: Sequence[ChangeRecord]) -> None:
    """The outbox consumer. Runs in the dispatch transaction, inside its own savepoint: if it
    fails, the shipments are kept in AnalyticsBacklog for the sweep and the other consumers
    (webhooks) go on."""
    ids = sorted({r.shipment_id for r in records})
    try:
        with transaction.atomic():
            update_shipments(ids)
    except Exception:  # the batch must still reach the webhooks; the sweep retries this part
        logger.exception("analytics update failed for %d shipments; the sweep retries", len(ids))
        keep_for_later(ids)


def keep_for_later(shipment_ids: Sequence[int]) -> None:
    AnalyticsBacklog.objects.bulk_create(
        [AnalyticsBacklog(shipment_id=sid) for sid in shipment_ids], ignore_conflicts=True
    )


def _forget_deleted(sender: type[ShipmentFacts], instance: ShipmentFacts, **kwargs: Any) -> None:
    """A deleted shipment (its facts go with it) stops counting."""
    delta: Delta = {}
    _add(delta, instance.as_facts(), -1)
    apply_delta(delta)


post_delete.connect(_forget_deleted, sender=ShipmentFacts, dispatch_uid="analytics-forget")
# First: later consumers (webhook payloads) read the estimate this one writes.
outbox.CONSUMERS.insert(0, fan_out)


# --- the full recompute ---------------------------------------------------------------------
@dataclass
class RebuildReport:
    shipments: int = 0
    seconds: float = 0.0


def rebuild(
    *,
    from_scratch: bool = False,
    chunk: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildReport:
    """Recompute every shipment's facts and rollups from the raw tables. `from_scratch` first
    empties the rollups and facts (one transaction), so rows of a bug or a lost change go too;
    without it only differences are applied. Either way changes arriving meanwhile are exact."""
    started = timezone.now()
    if from_scratch:
        with transaction.atomic(), connection.cursor() as cursor:
            for model in (DailyRollup, ShipmentFacts):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    bounds = Shipment.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    report = RebuildReport()
    if low is None:
        high = low = 0
    else:
        start = low
        while start <= high:
            ids = list(
                Shipment.objects.filter(pk__gte=start, pk__lt=start + chunk)
                .order_by()
                .values_list("pk", flat=True)
            )
            report.shipments += update_shipments(ids, with_estimates=False)
            start += chunk
            if progress:
                progress(min(start - low, high - low + 1), high - low + 1)
    finished = timezone.now()
    AnalyticsState.objects.update_or_create(pk=1, defaults={"rebuilt_at": finished})
    report.seconds = (finished - started).total_seconds()
    return report


@dataclass
class CheckReport:
    shipments: int = 0
    rows: int = 0  # carrier-wide rollup rows compared
    #: (metric, day, carrier id, key): (stored, from the raw tables), the first differences
    differences: dict[tuple[str, date, int, str], tuple[int, int]] = field(default_factory=dict)
    different: int = 0


def check(*, chunk: int = 2000, show: int = 20) -> CheckReport:
    """Compare the carrier-wide rollups with the raw tables, writing nothing: every shipment's
    facts worked out again and added up (in memory, carrier-wide rows only)."""
    expected: dict[tuple[str, date, int, str], int] = defaultdict(int)
    report = CheckReport()
    last = 0
    while True:
        ids = list(
            Shipment.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            break
        last = ids[-1]
        for current in read_current(ids).values():
            for metric, day, origin, _dest, key in shipment_facts.contributions(current.facts):
                if origin == ANY:
                    expected[(metric, day, current.facts.carrier_id, key)] += 1
        report.shipments += len(ids)
    stored = {
        (metric, day, carrier_id, key): n
        for metric, day, carrier_id, key, n in DailyRollup.objects.filter(
            origin=ANY, destination=ANY
        )
        .order_by()
        .values_list("metric", "day", "carrier_id", "key", "n")
    }
    report.rows = len(stored)
    for k in sorted(set(stored) | set(expected)):
        if stored.get(k, 0) != expected.get(k, 0):
            report.different += 1
            if len(report.differences) < show:
                report.differences[k] = (stored.get(k, 0), expected.get(k, 0))
    return report
