"""Pruning what is kept only for a while: API-call records, webhook receipts, finished lookup
counters, stored Idempotency-Key answers, finished outgoing webhook deliveries. Batched, each
batch its own short transaction, so a large backlog never holds the write lock for long. Run by the scheduler, `refresh_due` and `prune_api_calls`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import (
    ApiCall,
    DeliveryState,
    IdempotencyRecord,
    LookupThrottle,
    WebhookDelivery,
    WebhookReceipt,
)
from .search_index import compact_tallies
from .throttling import KEEP_SECONDS


def _delete_in_batches(queryset: QuerySet, order: str, batch_size: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by(order).values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            queryset.model._default_manager.filter(pk__in=ids).delete()
            deleted += len(ids)


def prune_api_calls(
    *, days: int | None = None, now: datetime | None = None, batch_size: int = 5000
) -> int:
    """Delete ApiCall rows older than `days` (default API_CALL_RETENTION_DAYS); returns how many."""
    days = settings.API_CALL_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValueError("days must be 0 or more")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return _delete_in_batches(ApiCall.objects.filter(at__lt=cutoff), "at", batch_size)


def housekeeping(*, now: datetime | None = None, batch_size: int = 5000) -> dict[str, int]:
    """Everything past its retention goes; returns how many rows of each kind."""
    now = now or timezone.now()
    receipts_cutoff = now - timedelta(days=settings.WEBHOOK_RECEIPT_RETENTION_DAYS)
    windows_cutoff = int(time.time()) - KEEP_SECONDS
    return {
        "api_calls": prune_api_calls(now=now, batch_size=batch_size),
        "webhook_receipts": _delete_in_batches(
            WebhookReceipt.objects.filter(received_at__lt=receipts_cutoff),
            "received_at",
            batch_size,
        ),
        "lookup_counters": _delete_in_batches(
            LookupThrottle.objects.filter(window__lt=windows_cutoff), "window", batch_size
        ),
        "idempotency_records": _delete_in_batches(
            IdempotencyRecord.objects.filter(
                created_at__lt=now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
            ),
            "created_at",
            batch_size,
        ),
        # Finished deliveries only: a pending one is still owed to its endpoint.
        "webhook_deliveries": _delete_in_batches(
            WebhookDelivery.objects.exclude(state=DeliveryState.PENDING).filter(
                created_at__lt=now - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
            ),
            "created_at",
            batch_size,
        ),
        "status_tallies_folded": compact_tallies(),
    }
