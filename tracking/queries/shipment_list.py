"""The staff list: a list state (search, status, carrier, dates, needs attention, sort) turned
into a queryset, with the per-status counts the filter chips show.

Shared by the staff list, its CSV export and the admin's shipment search. The web layer reads the
state from the query string (web/staff/forms.py) and hands the cleaned values here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F
from django.utils import timezone

from ..domain import statuses
from ..domain.statuses import NEVER_FETCHED, NEVER_FETCHED_PARAM
from ..models import Carrier, Shipment, ShipmentQuerySet
from ..models.shipments import DEFAULT_QUIET_DAYS

ORDERINGS: dict[str, list[Any]] = {
    # NULLS LAST: never-updated shipments go last on PostgreSQL too (its DESC puts NULLs first);
    # 0006 gives PostgreSQL an index in this order, SQLite's own index already is.
    "-updated": [F("last_event_at").desc(nulls_last=True), "-id"],
    "updated": [F("last_event_at").asc(nulls_last=True), "id"],
    "eta": [F("estimated_delivery_date").asc(nulls_last=True), "id"],
    "-eta": [F("estimated_delivery_date").desc(nulls_last=True), "-id"],
}
DEFAULT_SORT = "-updated"
DEFAULT_PER_PAGE = 25


@dataclass(frozen=True)
class ListState:
    """What the staff asked for. Status values are API codes or NEVER_FETCHED_PARAM."""

    q: str = ""
    statuses: tuple[str, ...] = ()
    carrier: str = ""
    shipped_from: date | None = None
    shipped_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    attention: tuple[str, ...] = ()
    quiet_days: int = DEFAULT_QUIET_DAYS
    sort: str = DEFAULT_SORT
    per_page: int = DEFAULT_PER_PAGE

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.statuses
            or self.carrier
            or self.shipped_from
            or self.shipped_to
            or self.updated_from
            or self.updated_to
            or self.attention
        )

    def count_key(self) -> str:
        """Everything but status, sort and page size: what the status counts depend on."""
        parts = (
            self.q,
            self.carrier,
            self.shipped_from,
            self.shipped_to,
            self.updated_from,
            self.updated_to,
            self.attention,
            self.quiet_days,
        )
        return repr(parts)


@dataclass
class StatusCount:
    code: str  # an API code, or NEVER_FETCHED_PARAM
    label: str
    count: int
    selected: bool

    @property
    def css(self) -> str:
        return statuses.css(self.code)


@dataclass
class ListResult:
    state: ListState
    base: ShipmentQuerySet  # every filter except status: what the status counts are over
    queryset: ShipmentQuerySet  # every filter, ordered
    carriers: list[Carrier] = field(default_factory=list)
    unknown_carrier: bool = False

    @cached_property
    def raw_counts(self) -> dict[str, int]:
        """{status code: shipments}, "" for never fetched. One query; cached briefly when no
        search narrows it (over a whole table it is the costliest query of the page)."""
        ttl = settings.STAFF_STATUS_COUNTS_CACHE_SECONDS
        key = ""
        if ttl > 0 and not self.state.q:
            digest = hashlib.sha256(f"{self.base.db}|{self.state.count_key()}".encode())
            key = f"shiptrack:status-counts:{digest.hexdigest()[:32]}"
            hit = cache.get(key)
            if hit is not None:
                return dict(hit)
        base = self.base.order_by()
        cap = settings.STAFF_SEARCH_COUNT_CAP
        if self.state.q and cap > 0:
            # A broad search (a hub city matches a third of all shipments) would count every
            # match by status: seconds on a million rows. Count at most cap + 1 of them instead;
            # past the cap the counts are lower bounds and the page says so.
            base = base.model._default_manager.filter(pk__in=base.values("pk")[: cap + 1])
        rows = base.values_list("status_code").annotate(n=Count("pk"))
        counts = {code: n for code, n in rows}
        if key:
            cache.set(key, counts, ttl)
        return counts

    @property
    def capped(self) -> bool:
        """True when a search matched more shipments than it counted (see raw_counts)."""
        cap = settings.STAFF_SEARCH_COUNT_CAP
        return bool(self.state.q and cap > 0 and sum(self.raw_counts.values()) > cap)

    def status_counts(self) -> list[StatusCount]:
        selected = set(self.state.statuses)
        out = [
            StatusCount(code, statuses.words(code), self.raw_counts.get(code, 0), code in selected)
            for code in statuses.CODES
        ]
        # Codes the API sent that this program does not know: shown as sent.
        out += [
            StatusCount(code, code, n, code in selected)
            for code, n in sorted(self.raw_counts.items())
            if code and code not in statuses.API_DESCRIPTIONS
        ]
        if self.raw_counts.get(NEVER_FETCHED):
            out.append(
                StatusCount(
                    NEVER_FETCHED_PARAM,
                    statuses.words(NEVER_FETCHED),
                    self.raw_counts[NEVER_FETCHED],
                    NEVER_FETCHED_PARAM in selected,
                )
            )
        return out

    @property
    def total(self) -> int:
        """Shipments matching every filter, from the status counts (no extra COUNT query); a
        capped search pages through its first STAFF_SEARCH_COUNT_CAP matches."""
        if self.capped and not self.state.statuses:
            return settings.STAFF_SEARCH_COUNT_CAP
        if not self.state.statuses:
            return sum(self.raw_counts.values())
        wanted = {_code_of(s) for s in self.state.statuses}
        return sum(n for code, n in self.raw_counts.items() if code in wanted)


def _code_of(status_param: str) -> str:
    return NEVER_FETCHED if status_param == NEVER_FETCHED_PARAM else status_param


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _day_end(day: date) -> datetime:
    """The start of the next day (exclusive end); the last representable day ends with itself."""
    if day >= date.max:
        return timezone.make_aware(datetime.max)
    return _day_start(day + timedelta(days=1))


def filter_shipments(
    state: ListState, queryset: ShipmentQuerySet | None = None, *, now: datetime | None = None
) -> ListResult:
    now = now or timezone.now()
    qs: ShipmentQuerySet = queryset if queryset is not None else Shipment.objects.all()
    carriers = list(Carrier.objects.only("id", "code", "name", "is_active").order_by("name"))
    unknown_carrier = False
    if state.carrier:
        by_code = {c.code: c.pk for c in carriers}
        carrier_id = by_code.get(state.carrier)
        if carrier_id is None:
            unknown_carrier = True
        else:
            qs = qs.filter(carrier_id=carrier_id)
    if state.q:
        qs = qs.search(state.q)
    if state.shipped_from:
        qs = qs.filter(ship_date__gte=_day_start(state.shipped_from))
    if state.shipped_to:
        qs = qs.filter(ship_date__lt=_day_end(state.shipped_to))
    if state.updated_from:
        qs = qs.filter(last_event_at__gte=_day_start(state.updated_from))
    if state.updated_to:
        qs = qs.filter(last_event_at__lt=_day_end(state.updated_to))
    if state.attention:
        qs = qs.needs_attention(state.attention, quiet_days=state.quiet_days, now=now)
    base = qs
    if state.statuses:
        qs = qs.filter(status_code__in=[_code_of(s) for s in state.statuses])
    qs = qs.order_by(*ORDERINGS.get(state.sort, ORDERINGS[DEFAULT_SORT]))
    return ListResult(
        state=state, base=base, queryset=qs, carriers=carriers, unknown_carrier=unknown_carrier
    )
