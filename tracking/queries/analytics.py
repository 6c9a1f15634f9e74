"""The analytics page's reads: a few GROUP BYs over the daily rollups and the quiet snapshot,
never over shipments or events.

Without a lane filter the carrier-wide rows (origin = destination = "*") are read, a few per day
and carrier; with a lane, that lane's rows. Figures are grouped by carrier, or by lane when one
carrier is chosen (its lanes, each summed over the period). Four queries whatever the period:
freshness, shipments per day with their status now, the period's other figures, the quiet
snapshot (plus the carriers for the menu, in the view).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet, Sum

from ..domain import histograms
from ..domain import shipment_facts as facts
from ..domain.analytics_figures import Filters, Group, Report, Transit
from ..domain.lanes import ANY
from ..models import AnalyticsState, ChangeRecord, DailyRollup, QuietLane


@dataclass(frozen=True)
class Freshness:
    #: The oldest change the rollups have not taken yet (None: they have taken every change).
    waiting_since: datetime | None
    rebuilt_at: datetime | None
    history_as_of: datetime | None
    quiet_as_of: datetime | None
    regions: list[str]
    carrier_ids: list[int]


def freshness() -> Freshness:
    """Two queries: the analytics state and the oldest change still waiting in the outbox."""
    state = AnalyticsState.objects.filter(pk=1).first() or AnalyticsState()
    waiting = (
        ChangeRecord.objects.undispatched()
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return Freshness(
        waiting_since=waiting,
        rebuilt_at=state.rebuilt_at,
        history_as_of=state.history_as_of,
        quiet_as_of=state.quiet_as_of,
        regions=list(state.regions or []),
        carrier_ids=list(state.carrier_ids or []),
    )


def _rows(filters: Filters, *metrics: str) -> QuerySet[DailyRollup]:
    rows = DailyRollup.objects.filter(
        metric__in=metrics, day__gte=filters.start, day__lte=filters.end
    )
    if filters.has_lane or filters.by_lane:
        # Lane rows only (carrier-wide rows have "*" at both ends, lane rows at neither).
        rows = rows.exclude(origin=ANY)
        if filters.origin:
            rows = rows.filter(origin=filters.origin)
        if filters.destination:
            rows = rows.filter(destination=filters.destination)
    else:
        rows = rows.filter(origin=ANY, destination=ANY)
    if filters.carrier_id is not None:
        rows = rows.filter(carrier_id=filters.carrier_id)
    return rows.order_by()


def report(filters: Filters) -> Report:
    """Everything the page shows for these filters (three queries)."""
    per_day: dict[date, int] = dict.fromkeys(filters.days, 0)
    status_now: dict[str, int] = defaultdict(int)
    shipped = _rows(filters, facts.SHIPPED).values_list("day", "key").annotate(total=Sum("n"))
    for day, key, total in shipped:
        per_day[day] = per_day.get(day, 0) + total
        status_now[key] += total
    out = Report(
        filters=filters,
        per_day=sorted(per_day.items()),
        status_now=dict(status_now),
    )
    lane = filters.by_lane
    histories: dict[Group, dict[int, int]] = defaultdict(dict)
    punctual: dict[Group, dict[str, int]] = defaultdict(dict)
    grouped = (
        _rows(filters, facts.TRANSIT, facts.PUNCTUAL, facts.INCIDENT)
        .values_list("metric", "carrier_id", *(("origin", "destination") if lane else ()), "key")
        .annotate(total=Sum("n"))
    )
    for row in grouped:
        metric, carrier_id, *rest = row
        if lane:
            origin, destination, key, total = rest
        else:
            (key, total), origin, destination = rest, ANY, ANY
        group = (carrier_id, origin, destination)
        if metric == facts.TRANSIT:
            histories[group][int(key)] = total
        elif metric == facts.PUNCTUAL:
            punctual[group][key] = total
        else:
            kind, _sep, reason = key.partition(":")
            incident = (group, kind, reason)
            out.incidents[incident] = out.incidents.get(incident, 0) + total
    out.transit = {
        group: Transit(
            parcels=sum(counts.values()),
            median=histograms.percentile(counts, 0.5),
            p90=histograms.percentile(counts, 0.9),
        )
        for group, counts in histories.items()
    }
    out.punctuality = dict(punctual)
    out.quiet = quiet(filters)
    return out


def quiet(filters: Filters) -> dict[Group, tuple[int, int, int | None]]:
    """Parcels on their way now and how many are quiet, per carrier (per lane so far when one
    carrier is chosen), from the last snapshot. The period does not apply: this is now."""
    rows = QuietLane.objects.all()
    if filters.has_lane:
        if filters.origin:
            rows = rows.filter(origin=filters.origin)
        if filters.destination:
            rows = rows.filter(destination=filters.destination)
        rows = rows.exclude(origin=ANY)
    elif filters.by_lane:
        rows = rows.exclude(origin=ANY)
    else:
        rows = rows.filter(origin=ANY, destination=ANY)
    if filters.carrier_id is not None:
        rows = rows.filter(carrier_id=filters.carrier_id)
    out: dict[Group, tuple[int, int, int | None]] = {}
    lane = filters.by_lane
    for carrier_id, origin, destination, open_n, quiet_n, gap in rows.values_list(
        "carrier_id", "origin", "destination", "open_parcels", "quiet_parcels", "usual_gap_bucket"
    ):
        group = (carrier_id, origin, destination) if lane else (carrier_id, ANY, ANY)
        before = out.get(group, (0, 0, gap))
        out[group] = (before[0] + open_n, before[1] + quiet_n, before[2])
    return out
