"""Our delivery estimates: worked out again whenever a shipment changes (services/analytics.py
calls `update()` in the outbox consumer's transaction), when a carrier's date passes, and when
an estimate's window starts without a delivery (`sweep()`, on every scheduler run).

The history is LaneHistory (the recent transit times per carrier and lane, refreshed from the
daily rollups by services/analytics_refresh.py); the rule is domain/estimates.py. A row exists
only while we have an estimate: a parcel that no longer needs one (delivered, a carrier date
ahead) or whose history is too thin has none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..domain import estimates as rules
from ..domain import shipment_facts
from ..domain.lanes import ANY
from ..domain.shipment_facts import Facts
from ..domain.statuses import FINAL
from ..models import AnalyticsState, DeliveryEstimate, LaneHistory, Shipment, ShipmentFacts

#: {carrier id: {(origin, destination): {bucket: parcels}}}
Histories = dict[int, dict[tuple[str, str], dict[int, int]]]


#: Groups per history query: SQLite refuses a WHERE nested deeper than 1000 (each OR is a
#: level), and a batch of parcels on many lanes asks for more groups than that.
GROUPS_PER_QUERY = 200


def load_history(wanted: Mapping[int, set[tuple[str, str]]]) -> Histories:
    """The transit history of these (carrier, origin, destination) groups, in a query per
    GROUPS_PER_QUERY groups."""
    groups = sorted((c, o, d) for c, pairs in wanted.items() for o, d in pairs)
    out: Histories = defaultdict(lambda: defaultdict(dict))
    for start in range(0, len(groups), GROUPS_PER_QUERY):
        condition = Q(pk__in=[])
        for carrier_id, origin, destination in groups[start : start + GROUPS_PER_QUERY]:
            condition |= Q(carrier_id=carrier_id, origin=origin, destination=destination)
        rows = LaneHistory.objects.filter(condition, metric=shipment_facts.TRANSIT).values_list(
            "carrier_id", "origin", "destination", "bucket", "n"
        )
        for carrier_id, origin, destination, bucket, n in rows.order_by():
            out[carrier_id][(origin, destination)][bucket] = n
    return out


def update(
    items: Mapping[int, tuple[Facts, datetime | None]], *, now: datetime | None = None
) -> int:
    """Work out the estimate of each shipment ({id: (facts, carrier's ETA)}) and store it, or
    remove the one it had; returns how many have one now. Call inside a transaction."""
    if not items:
        return 0
    now = now or timezone.now()
    today = shipment_facts.utc_day(now)
    needing: dict[int, tuple[Facts, str]] = {}
    wanted: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for sid, (facts, carrier_eta) in items.items():
        reason = rules.reason_for(facts, carrier_eta, today)
        if reason is None:
            continue
        needing[sid] = (facts, reason)
        for _basis, origin, destination in rules.levels(facts):
            wanted[facts.carrier_id].add((origin, destination))
    history = load_history(wanted)
    rows = []
    for sid, (facts, reason) in needing.items():
        found = rules.estimate(
            facts=facts,
            history=history.get(facts.carrier_id, {}),
            now=now,
            min_parcels=settings.ESTIMATE_MIN_PARCELS,
        )
        if found is None:
            continue
        rows.append(
            DeliveryEstimate(
                shipment_id=sid,
                predicted_on=found.predicted_on,
                earliest_on=found.earliest_on,
                latest_on=found.latest_on,
                parcels=found.parcels,
                basis=found.basis,
                origin="" if found.origin == ANY else found.origin,
                destination="" if found.destination == ANY else found.destination,
                reason=reason,
                computed_at=now,
                recheck_at=found.recheck_at(),
            )
        )
    kept = {row.shipment_id for row in rows}
    gone = [sid for sid in items if sid not in kept]
    if gone:
        DeliveryEstimate.objects.filter(shipment_id__in=gone).delete()
    if rows:
        DeliveryEstimate.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["shipment"],
            update_fields=[
                f.name for f in DeliveryEstimate._meta.concrete_fields if f.name != "shipment"
            ],
            batch_size=500,
        )
    return len(rows)


def update_stored(shipment_ids: list[int], *, now: datetime | None = None) -> int:
    """update() from the stored facts (kept current by the outbox consumer): for the sweep."""
    facts = {row.pk: row.as_facts() for row in ShipmentFacts.objects.filter(pk__in=shipment_ids)}
    etas = dict(
        Shipment.objects.filter(pk__in=list(facts))
        .order_by()
        .values_list("id", "estimated_delivery_date")
    )
    with transaction.atomic():
        return update({sid: (f, etas.get(sid)) for sid, f in facts.items()}, now=now)


def sweep(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """The estimates time changes: those whose window started without a delivery, and the
    parcels whose carrier date passed since the last sweep. At most `limit` of each
    (ANALYTICS_SWEEP_BATCH) per run; the rest wait for the next."""
    now = now or timezone.now()
    limit = settings.ANALYTICS_SWEEP_BATCH if limit is None else limit
    due = list(
        DeliveryEstimate.objects.filter(recheck_at__lte=now)
        .order_by("recheck_at")
        .values_list("shipment_id", flat=True)[:limit]
    )
    update_stored(due, now=now)
    return {
        "rechecked": len(due),
        "carrier_dates_passed": _passed_carrier_dates(now=now, limit=limit),
    }


def _passed_carrier_dates(*, now: datetime, limit: int) -> int:
    """Parcels on their way whose carrier date ended since the last sweep get our estimate.
    The window [swept until, start of today) is claimed with one conditional UPDATE, so two
    schedulers never both take it."""
    today_start = datetime.combine(shipment_facts.utc_day(now), time(0), tzinfo=UTC)
    state, _ = AnalyticsState.objects.get_or_create(pk=1)
    since = state.etas_swept_until or today_start - timedelta(days=settings.ANALYTICS_HISTORY_DAYS)
    if since >= today_start:
        return 0
    until = min(today_start, since + timedelta(days=1))  # a day at a time: a bounded run
    claimed = AnalyticsState.objects.filter(pk=1, etas_swept_until=state.etas_swept_until).update(
        etas_swept_until=until
    )
    if not claimed:
        return 0
    ids = list(
        Shipment.objects.filter(
            estimated_delivery_date__gte=since, estimated_delivery_date__lt=until
        )
        .exclude(status_code__in=FINAL)
        .order_by()
        .values_list("pk", flat=True)
    )
    done = 0
    for start in range(0, len(ids), max(limit, 1)):
        done += update_stored(ids[start : start + limit], now=now)
    return done
