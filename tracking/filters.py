"""Staff shipment filtering, shared by the staff list and the CSV export.

`filter_shipments(request.GET)` reads the whole list state from the query string (search, status,
carrier, date ranges, "needs attention", sort) and returns the filtered, ordered queryset and the
cleaned values. Invalid values are reported on the form and ignored, never a server error.
Status counts are computed on demand (one GROUP BY over everything but the status filter).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.http import QueryDict
from django.utils import timezone

from .forms import NEVER_FETCHED, ShipmentFilterForm
from .models import FINAL_STATUSES, Carrier, Shipment, ShipmentQuerySet, Status

ORDERINGS: dict[str, list[Any]] = {
    # NULLS LAST: never-updated shipments go last on PostgreSQL too (its DESC puts NULLs first);
    # 0006 gives PostgreSQL an index in this order, SQLite's own index already is.
    "-updated": [F("last_event_at").desc(nulls_last=True), "-id"],
    "updated": [F("last_event_at").asc(nulls_last=True), "id"],
    "eta": [F("estimated_delivery_date").asc(nulls_last=True), "id"],
    "-eta": [F("estimated_delivery_date").desc(nulls_last=True), "-id"],
}
DEFAULT_SORT = "-updated"

# The list state kept in the URL, in this order (the paginator and the status chips rebuild
# links from it).
STATE_KEYS = (
    "q",
    "status",
    "carrier",
    "shipped_from",
    "shipped_to",
    "updated_from",
    "updated_to",
    "attention",
    "quiet_days",
    "sort",
    "per_page",
)


@dataclass
class StatusCount:
    code: str
    label: str
    count: int
    selected: bool


@dataclass
class FilterResult:
    form: ShipmentFilterForm
    cleaned: dict[str, Any]
    base: ShipmentQuerySet  # every filter except status: what the status counts are over
    queryset: ShipmentQuerySet  # every filter, ordered
    carriers: list[Carrier] = field(default_factory=list)

    @property
    def q(self) -> str:
        return str(self.cleaned.get("q") or "")

    @property
    def statuses(self) -> list[str]:
        return list(self.cleaned.get("status") or [])

    @property
    def sort(self) -> str:
        return str(self.cleaned.get("sort") or DEFAULT_SORT)

    @property
    def per_page(self) -> int:
        return int(self.cleaned.get("per_page") or 25)

    @property
    def is_filtered(self) -> bool:
        return any(
            self.cleaned.get(k) for k in STATE_KEYS if k not in ("sort", "per_page", "quiet_days")
        )

    @cached_property
    def raw_counts(self) -> dict[str, int]:
        """{status code: shipments}, "" for never fetched. One query; cached briefly when no
        search narrows it (over a whole table it is the costliest query of the page)."""
        ttl = int(getattr(settings, "STAFF_STATUS_COUNTS_CACHE_SECONDS", 0))
        key = ""
        if ttl > 0 and not self.q:
            state = repr(sorted((k, v) for k, v in self.cleaned.items() if k in _COUNT_KEYS))
            digest = hashlib.sha256(f"{self.base.db}|{state}".encode()).hexdigest()[:32]
            key = f"shiptrack:status-counts:{digest}"
            hit = cache.get(key)
            if hit is not None:
                return dict(hit)
        base = self.base.order_by()
        cap = int(getattr(settings, "STAFF_SEARCH_COUNT_CAP", 0))
        if self.q and cap > 0:
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
        cap = int(getattr(settings, "STAFF_SEARCH_COUNT_CAP", 0))
        return bool(self.q and cap > 0 and sum(self.raw_counts.values()) > cap)

    def status_counts(self) -> list[StatusCount]:
        known = dict(Status.choices)
        selected = set(self.statuses)
        out = [
            StatusCount(code, str(label), self.raw_counts.get(code, 0), code in selected)
            for code, label in known.items()
        ]
        # Codes the API sent that this program does not know: shown as sent.
        out += [
            StatusCount(code, code, n, code in selected)
            for code, n in sorted(self.raw_counts.items())
            if code and code not in known
        ]
        if self.raw_counts.get(""):
            out.append(
                StatusCount(
                    NEVER_FETCHED,
                    str(_NEVER_FETCHED_LABEL),
                    self.raw_counts[""],
                    NEVER_FETCHED in selected,
                )
            )
        return out

    @property
    def total(self) -> int:
        """Shipments matching every filter, from the status counts (no extra COUNT query); a
        capped search pages through its first STAFF_SEARCH_COUNT_CAP matches."""
        if self.capped and not self.statuses:
            return int(settings.STAFF_SEARCH_COUNT_CAP)
        if not self.statuses:
            return sum(self.raw_counts.values())
        wanted = {"" if s == NEVER_FETCHED else s for s in self.statuses}
        return sum(n for code, n in self.raw_counts.items() if code in wanted)


_COUNT_KEYS = {k for k in STATE_KEYS if k not in ("status", "sort", "per_page")}
_NEVER_FETCHED_LABEL = dict(ShipmentFilterForm.base_fields["status"].choices)[NEVER_FETCHED]  # type: ignore[attr-defined]


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_shipments(
    params: QueryDict, queryset: ShipmentQuerySet | None = None, *, now: datetime | None = None
) -> FilterResult:
    now = now or timezone.now()
    form = ShipmentFilterForm(params)
    form.is_valid()  # errors are shown on the form; only the valid fields filter
    cleaned: dict[str, Any] = dict(getattr(form, "cleaned_data", {}))
    qs: ShipmentQuerySet = queryset if queryset is not None else Shipment.objects.all()

    carriers = list(Carrier.objects.only("id", "code", "name", "is_active").order_by("name"))
    if cleaned.get("carrier"):
        by_code = {c.code: c.pk for c in carriers}
        carrier_id = by_code.get(cleaned["carrier"])
        if carrier_id is None:
            form.add_error("carrier", f"Unknown carrier {cleaned['carrier']!r}.")
            cleaned.pop("carrier", None)
        else:
            qs = qs.filter(carrier_id=carrier_id)

    if cleaned.get("q"):
        qs = qs.search(cleaned["q"])
    if cleaned.get("shipped_from"):
        qs = qs.filter(ship_date__gte=_day_start(cleaned["shipped_from"]))
    if cleaned.get("shipped_to"):
        qs = qs.filter(ship_date__lt=_day_start(cleaned["shipped_to"] + timedelta(days=1)))
    if cleaned.get("updated_from"):
        qs = qs.filter(last_event_at__gte=_day_start(cleaned["updated_from"]))
    if cleaned.get("updated_to"):
        qs = qs.filter(last_event_at__lt=_day_start(cleaned["updated_to"] + timedelta(days=1)))

    attention = cleaned.get("attention") or []
    if attention:
        quiet_days = cleaned.get("quiet_days") or ShipmentFilterForm.DEFAULT_QUIET_DAYS
        reasons = Q(pk__in=[])
        if "exception" in attention:
            reasons |= Q(status_code=Status.EXCEPTION)
        if "attempt" in attention:
            reasons |= Q(status_code=Status.DELIVERY_ATTEMPT)
        if "quiet" in attention:
            cutoff = now - timedelta(days=quiet_days)
            reasons |= ~Q(status_code__in=FINAL_STATUSES) & (
                Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True, created_at__lt=cutoff)
            )
        if "failed" in attention:
            reasons |= Q(consecutive_failures__gt=0)
        qs = qs.filter(reasons)

    base = qs
    statuses = cleaned.get("status") or []
    if statuses:
        codes = ["" if s == NEVER_FETCHED else s for s in statuses]
        qs = qs.filter(status_code__in=codes)
    sort = cleaned.get("sort") or DEFAULT_SORT
    qs = qs.order_by(*ORDERINGS[sort])
    return FilterResult(form=form, cleaned=cleaned, base=base, queryset=qs, carriers=carriers)


def state_query(cleaned: dict[str, Any], **changes: Any) -> str:
    """The list state as a query string (without page), with `changes` applied; None removes."""
    out = QueryDict(mutable=True)
    values = {k: cleaned.get(k) for k in STATE_KEYS}
    values.update(changes)
    for key in STATE_KEYS:
        value = values.get(key)
        if value in (None, "", []):
            continue
        if key == "sort" and value == DEFAULT_SORT:
            continue
        if key == "per_page" and int(value) == 25:
            continue
        if isinstance(value, list | tuple):
            out.setlist(key, [str(v) for v in value])
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out.urlencode()
