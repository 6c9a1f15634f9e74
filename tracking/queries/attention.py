"""The needs-attention queue: shipments a person should look at, by reason, minus the ones marked
handled that have not changed since. Also the per-reason counts the staff list shows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from ..models import Shipment, ShipmentQuerySet, still_handled
from ..models.shipments import ATTENTION_REASONS, DEFAULT_QUIET_DAYS, attention_q


def reason_counts(
    queryset: ShipmentQuerySet,
    *,
    quiet_days: int = DEFAULT_QUIET_DAYS,
    now: datetime | None = None,
    cache_key: str = "",
) -> dict[str, int]:
    """{reason: shipments of `queryset` that meet it, "all": all of them}, in one aggregate query. With `cache_key`
    (an unfiltered list: the costliest case) the answer is kept as briefly as the status counts."""
    ttl = settings.STAFF_STATUS_COUNTS_CACHE_SECONDS
    key = ""
    if cache_key and ttl > 0:
        digest = hashlib.sha256(f"{queryset.db}|{cache_key}|{quiet_days}".encode()).hexdigest()
        key = f"shiptrack:attention-counts:{digest[:32]}"
        hit = cache.get(key)
        if hit is not None:
            return dict(hit)
    now = now or timezone.now()
    row = queryset.order_by().aggregate(
        all=Count("pk"),
        **{
            reason: Count("pk", filter=attention_q([reason], quiet_days=quiet_days, now=now))
            for reason in ATTENTION_REASONS
        },
    )
    counts = {name: int(row[name] or 0) for name in ("all", *ATTENTION_REASONS)}
    if key:
        cache.set(key, counts, ttl)
    return counts


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
