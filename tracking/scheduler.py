"""What to refresh and when: picks due shipments and queues each at most once at a time.

The per-status intervals, the give-up rule and the failure back-off are in
`services.next_check_at` (settings REFRESH_*); a shipment is due when `next_check_at` has passed
(`Shipment.objects.needs_refresh()`). A queued shipment carries `refresh_queued_at` until its task
finishes, so neither a second scheduler run, another worker's scheduler, cron nor an import can
queue it twice. A claim older than REFRESH_QUEUE_TIMEOUT_MINUTES is treated as lost (a worker that
died mid-task) and may be queued again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import ApiCall, Shipment, WebhookReceipt
from .tasks import enqueue_refreshes

logger = logging.getLogger("shiptrack.scheduler")

_CLAIM_CHUNK = 500


def _not_queued(now: datetime) -> Q:
    stale = now - timedelta(minutes=settings.REFRESH_QUEUE_TIMEOUT_MINUTES)
    return Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=stale)


def due(now: datetime | None = None):
    """Due shipments nobody has queued yet, the longest-waiting (and never-fetched) first."""
    now = now or timezone.now()
    return (
        Shipment.objects.needs_refresh(now)
        .filter(_not_queued(now))
        .order_by(F("next_check_at").asc(nulls_first=True), "pk")
    )


def _claim(queryset, count: int, now: datetime) -> list[int]:
    """Mark up to `count` rows of `queryset` as queued; returns their ids. Runs inside the
    caller's transaction: on PostgreSQL rows another scheduler holds are skipped, on SQLite the
    write lock (IMMEDIATE transactions) makes concurrent claims take turns."""
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    ids = list(queryset.values_list("pk", flat=True)[:count])
    if ids:
        Shipment.objects.filter(pk__in=ids).filter(_not_queued(now)).update(refresh_queued_at=now)
    return ids


def enqueue_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Queue a refresh for every due shipment (up to `limit`, default REFRESH_BATCH_SIZE).
    Returns how many were queued. Safe to run from several processes at once."""
    now = now or timezone.now()
    limit = settings.REFRESH_BATCH_SIZE if limit is None else limit
    queued = 0
    while queued < limit:
        with transaction.atomic():
            ids = _claim(due(now), min(_CLAIM_CHUNK, limit - queued), now)
            enqueue_refreshes(ids)
        if not ids:
            break
        queued += len(ids)
    if queued:
        logger.info("scheduler queued %d refreshes", queued)
    return queued


def enqueue_shipments(shipment_ids: list[int], *, priority: int = 0) -> int:
    """Queue refreshes for these shipments (an import's new rows), skipping any already queued."""
    now = timezone.now()
    queued = 0
    for start in range(0, len(shipment_ids), _CLAIM_CHUNK):
        chunk = shipment_ids[start : start + _CLAIM_CHUNK]
        with transaction.atomic():
            qs = Shipment.objects.filter(pk__in=chunk).filter(_not_queued(now)).order_by("pk")
            ids = _claim(qs, len(chunk), now)
            enqueue_refreshes(ids, priority=priority)
        queued += len(ids)
    return queued


def housekeeping() -> dict[str, int]:
    """Old webhook receipts and API-call records go; run with the scheduler."""
    receipts, _ = WebhookReceipt.objects.older_than(
        settings.WEBHOOK_RECEIPT_RETENTION_DAYS
    ).delete()
    calls, _ = ApiCall.objects.older_than(settings.API_CALL_RETENTION_DAYS).delete()
    return {"webhook_receipts": receipts, "api_calls": calls}
