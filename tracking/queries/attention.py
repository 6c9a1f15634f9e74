"""The needs-attention queue: shipments a person should look at, by reason, minus the ones marked
handled that have not changed since. Also the per-reason counts the staff list shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum
from django.utils import timezone

from ..domain.statuses import FINAL, Status
from ..models import Shipment, ShipmentQuerySet, ShipmentTally, still_handled
from ..models.shipments import ATTENTION_REASONS, DEFAULT_QUIET_DAYS, attention_q


def reason_counts(
    queryset: ShipmentQuerySet,
    *,
    quiet_days: int = DEFAULT_QUIET_DAYS,
    now: datetime | None = None,
) -> dict[str, int]:
    """{reason: shipments of `queryset` that meet it, "all": all of them}, in one aggregate
    query (the queue's tabs, over the shipments waiting in it)."""
    now = now or timezone.now()
    row = queryset.order_by().aggregate(
        all=Count("pk"),
        **{
            reason: Count("pk", filter=attention_q([reason], quiet_days=quiet_days, now=now))
            for reason in ATTENTION_REASONS
        },
    )
    return {name: int(row[name] or 0) for name in ("all", *ATTENTION_REASONS)}


@dataclass(frozen=True)
class ReasonCounts:
    """How many shipments ticking each "needs attention" reason alone would find, over every
    shipment; `capped`: the reasons counted only up to the cap (the list says "10,000+")."""

    counts: dict[str, int]
    capped: frozenset[str]


def list_reason_counts(
    *, quiet_days: int = DEFAULT_QUIET_DAYS, now: datetime | None = None
) -> ReasonCounts:
    """The staff list's counts beside each reason, each from an index, never a scan of every
    shipment: exceptions and failed attempts from the status tallies the database keeps
    (models/search.py), failing refreshes from their partial index (few rows), quiet parcels by
    walking the last-event index up to STAFF_REASON_COUNT_CAP (a quiet backlog can be most of the
    table: past the cap it is "more than"). Four small queries, kept as briefly as the status
    counts (STAFF_STATUS_COUNTS_CACHE_SECONDS).

    The walk's cost grows with the cap (at 1M shipments on SQLite, reading a row per entry of
    the last-event index: 56 ms for 10,000 entries, 5 ms for 1,000; from the status index alone
    much less). A badge beside a checkbox needs no more than "1,000+"; the queue and the
    filtered list count exactly."""
    ttl = settings.STAFF_STATUS_COUNTS_CACHE_SECONDS
    key = f"shiptrack:list-reason-counts:{quiet_days}"
    hit = cache.get(key) if ttl > 0 else None
    if hit is not None:
        return ReasonCounts(dict(hit[0]), frozenset(hit[1]))
    now = now or timezone.now()
    cutoff = now - timedelta(days=quiet_days)
    by_status = {
        code: int(n or 0)
        for code, n in ShipmentTally.objects.values("status_code")
        .annotate(n=Sum("shipments"))
        .values_list("status_code", "n")
    }
    failed = Shipment.objects.refresh_failing().count()
    cap = max(1, settings.STAFF_REASON_COUNT_CAP)
    # Open = any status present but the final ones, named one by one: then the walk is a range
    # of (status, last event) per status in shipment_status_order, the index alone, no row read.
    # Ordered as that index is, so that PostgreSQL never prefers a sequential scan that stops
    # at the cap (cheap when most parcels are quiet, a whole-table read when few are).
    open_codes = sorted(code for code, n in by_status.items() if n > 0 and code not in FINAL)
    scanned = Shipment.objects.filter(status_code__in=open_codes, last_event_at__lt=cutoff)
    quiet = scanned.order_by("status_code", "-last_event_at", "-id").values("id")[: cap + 1].count()
    if quiet <= cap:
        open_ = Shipment.objects.exclude(status_code__in=FINAL)
        never = open_.filter(last_event_at__isnull=True, created_at__lt=cutoff).order_by("-id")
        quiet += never[: cap + 1 - quiet].count()
    counts = {
        "exception": max(0, int(by_status.get(Status.EXCEPTION) or 0)),
        "attempt": max(0, int(by_status.get(Status.DELIVERY_ATTEMPT) or 0)),
        "quiet": min(quiet, cap),
        "failed": failed,
    }
    capped = frozenset({"quiet"} if quiet > cap else set())
    if ttl > 0:
        cache.set(key, (counts, sorted(capped)), ttl)
    return ReasonCounts(counts, capped)


@dataclass
class Queue:
    reason: str  # "" = every reason
    queryset: ShipmentQuerySet  # ordered: longest waiting first
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return self.counts[self.reason] if self.reason else self.counts["all"]


def attention_queue(
    *, reason: str = "", quiet_days: int = DEFAULT_QUIET_DAYS, now: datetime | None = None
) -> Queue:
    """Every shipment needing attention and not handled since it last changed; `reason` narrows
    it to one. Counts: one per reason plus "all", in one query."""
    now = now or timezone.now()
    open_items = Shipment.objects.needs_attention(quiet_days=quiet_days, now=now).exclude(
        still_handled()
    )
    counts = reason_counts(open_items, quiet_days=quiet_days, now=now)
    qs = open_items
    if reason in ATTENTION_REASONS:
        qs = qs.filter(attention_q([reason], quiet_days=quiet_days, now=now))
    else:
        reason = ""
    # Oldest news first: the ones waiting longest for someone.
    qs = qs.order_by("last_event_at", "id")
    return Queue(reason=reason, queryset=qs, counts=counts)
