"""/healthz: is this process able to serve? For load balancers, uptime checks and on-call people.

Answers 200 with a small JSON document when the database answers, 503 when it does not. It shows
counts and ages only: no settings, no hostnames, no error messages (those go to the log). The task
backlog comes from the configured task backend (null when that backend cannot count its queue).
"""

import logging
import time
from datetime import datetime

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import tasks
from ..models import Shipment

logger = logging.getLogger("shiptrack.health")


def _age_seconds(since: datetime | None, now: datetime) -> int | None:
    if since is None:
        return None
    return max(0, int((now - since).total_seconds()))


def _oldest_due_refresh(now: datetime) -> datetime | None:
    """When the longest-waiting due shipment became due. Two index walks that stop at the first
    row (next_check_at's index; the primary key for never-checked shipments, whose created_at
    grows with the id) rather than an aggregate over every shipment."""
    due = Shipment.objects.needs_refresh(now).order_by()
    scheduled = (
        due.filter(next_check_at__isnull=False)
        .order_by("next_check_at")
        .values_list("next_check_at", flat=True)
        .first()
    )
    never_checked = (
        due.filter(next_check_at__isnull=True)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    candidates = [value for value in (scheduled, never_checked) if value is not None]
    return min(candidates) if candidates else None


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("healthz: the database is unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    try:
        backlog = tasks.queue_depth()
        oldest_due = _oldest_due_refresh(now)
    except DatabaseError:
        # Reachable but not usable (for example migrations not run yet).
        logger.exception("healthz: the database answered but a health query failed")
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    return JsonResponse(
        {
            "status": "ok",
            "database": "ok",
            "task_backlog": backlog,
            "oldest_due_refresh_seconds": _age_seconds(oldest_due, now),
            "checked_in_ms": int((time.monotonic() - started) * 1000),
        }
    )
