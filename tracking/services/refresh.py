"""The refresh policy as settings configure it, and what a failed fetch records."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..domain import refresh_policy
from ..models import Shipment
from ..ops.logging import redact
from ..shipengine import ShipEngineError


def policy() -> refresh_policy.RefreshPolicy:
    return refresh_policy.RefreshPolicy(
        intervals=settings.REFRESH_INTERVALS,
        give_up_days=settings.REFRESH_GIVE_UP_DAYS,
        failure_backoff_minutes=settings.REFRESH_FAILURE_BACKOFF_MINUTES,
        failure_backoff_max_minutes=settings.REFRESH_FAILURE_BACKOFF_MAX_MINUTES,
    )


def next_check_at(shipment: Shipment, *, now: datetime) -> datetime | None:
    """When to poll `shipment` next (None: never again); see domain/refresh_policy.py."""
    return refresh_policy.next_check_at(
        status_code=shipment.status_code,
        # No news for too long: the last event, or for a package that never had one, when added.
        last_news=shipment.last_event_at or shipment.created_at,
        consecutive_failures=shipment.consecutive_failures,
        now=now,
        policy=policy(),
    )


def schedule(shipment: Shipment, *, now: datetime) -> tuple[datetime | None, str]:
    """(next_check_at, refresh_state): when to poll next, and whether polling has given up."""
    when = next_check_at(shipment, now=now)
    return when, refresh_policy.refresh_state(status_code=shipment.status_code, next_check=when)


def record_failure(
    *, shipment_id: int, error: ShipEngineError, now: datetime | None = None
) -> Shipment:
    """A failed fetch: note the error and when to try again; touch nothing else."""
    now = now or timezone.now()
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        shipment.consecutive_failures += 1
        shipment.last_error = redact(error.one_line())[:2000]
        shipment.last_error_code = redact(error.code)[:64]
        shipment.last_error_at = now
        shipment.last_checked_at = now
        shipment.next_check_at, shipment.refresh_state = schedule(shipment, now=now)
        shipment.save(
            update_fields=[
                "refresh_state",
                "consecutive_failures",
                "last_error",
                "last_error_code",
                "last_error_at",
                "last_checked_at",
                "next_check_at",
                "updated_at",
            ]
        )
    return shipment
