"""What to refresh and when: picks due shipments and claims each, so it is queued at most once.

The per-status intervals, the give-up rule and the failure back-off are the refresh policy
(services/refresh.py); a shipment is due when `next_check_at` has passed
(`Shipment.objects.needs_refresh()`). A claimed shipment carries `refresh_queued_at` until its
task finishes, so neither a second scheduler run, another worker's scheduler, cron nor an import
can queue it twice. A claim older than REFRESH_QUEUE_TIMEOUT_MINUTES is treated as lost (a worker
that died mid-task) and may be claimed again. tasks.py queues what these functions claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Shipment, ShipmentQuerySet

_CLAIM_CHUNK = 500


def _not_queued(now: datetime) -> Q:
    stale = now - timedelta(minutes=settings.REFRESH_QUEUE_TIMEOUT_MINUTES)
    return Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=stale)


def due(now: datetime | None = None) -> ShipmentQuerySet:
    """Due shipments nobody has queued yet, the longest-waiting (and never-fetched) first."""
    now = now or timezone.now()
    return (
        Shipment.objects.needs_refresh(now)
        .filter(_not_queued(now))
        .order_by(F("next_check_at").asc(nulls_first=True), "pk")
    )


def _claim(queryset: ShipmentQuerySet, count: int, now: datetime) -> list[int]:
    """Mark up to `count` rows of `queryset` as queued; returns their ids. Runs inside the
    caller's transaction: on PostgreSQL rows another scheduler holds are skipped, on SQLite the
    write lock (IMMEDIATE transactions) makes concurrent claims take turns."""
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    ids = list(queryset.values_list("pk", flat=True)[:count])
    if ids:
        Shipment.objects.filter(pk__in=ids).filter(_not_queued(now)).update(refresh_queued_at=now)
    return ids


def claim_due(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim up to `limit` (default REFRESH_BATCH_SIZE) due shipments. Safe to run from several
    processes at once."""
    now = now or timezone.now()
    limit = settings.REFRESH_BATCH_SIZE if limit is None else limit
    claimed: list[int] = []
    while len(claimed) < limit:
        with transaction.atomic():
            ids = _claim(due(now), min(_CLAIM_CHUNK, limit - len(claimed)), now)
        if not ids:
            break
        claimed += ids
    return claimed


def claim(shipment_ids: Sequence[int], *, now: datetime | None = None) -> list[int]:
    """Claim these shipments (an import's new rows), skipping any already queued."""
    now = now or timezone.now()
    claimed: list[int] = []
    for start in range(0, len(shipment_ids), _CLAIM_CHUNK):
        chunk = list(shipment_ids[start : start + _CLAIM_CHUNK])
        with transaction.atomic():
            qs = Shipment.objects.filter(pk__in=chunk).filter(_not_queued(now)).order_by("pk")
            claimed += _claim(qs, len(chunk), now)
    return claimed


def release(shipment_id: int) -> None:
    """The shipment's task has run (whatever happened): it may be queued again."""
    Shipment.objects.filter(pk=shipment_id).update(refresh_queued_at=None)
