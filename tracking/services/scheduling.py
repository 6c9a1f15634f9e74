"""What to refresh and when, and how a queued refresh is served.

A shipment is due when its refresh state is active and `next_check_at` has passed
(`Shipment.objects.needs_refresh()`); a given-up one never is. Queueing writes a `QueuedRefresh`
row per shipment: its unique shipment column is the database's guarantee that a shipment is
queued at most once, whichever scheduler, worker, cron job or import asks. Each row carries the
token of the one task that may serve it; a task whose token no longer matches (its row was
reaped as lost and the shipment queued again) skips the shipment, so a late duplicate task never
becomes a duplicate API call.

Bounded: the queue never holds more refreshes than the rate limit serves within
REFRESH_QUEUE_TIMEOUT_MINUTES (SHIPENGINE_RATE_LIMIT_PER_MINUTE x that), nor more than the calls of
the last 5 minutes say the workers really serve in that time; nothing is queued while ShipEngine's
shared pause is on. New packages (never fetched) are queued before older due ones.
A row older than the timeout is lost (its task is gone) and is deleted, so the shipment is
queued again. tasks.py turns each claim (a token and up to REFRESH_TASK_CHUNK shipments) into one
`refresh_many` task.

Serving (`serve`): a shipment that is no longer due, or was refreshed after it was queued (a
person, a webhook), is skipped; any failure is recorded on the shipment (never an unrecorded task
failure); a call that was never sent (the worker is stopping, the shared pause is longer than the
worker may wait) releases the rest of the chunk, so they are queued again, and loses nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from ..domain.refresh_policy import ACTIVE
from ..domain.statuses import FINAL
from ..models import ApiCall, QueuedRefresh, Shipment, ShipmentQuerySet
from ..shipengine import (
    BadResponseError,
    NotSent,
    ShipEngineClient,
    ShipEngineError,
    TrackingInfo,
)
from . import api_client, stopping
from .api_rate_limit import shared_rate_limiter
from .refresh import record_failure
from .tracking import fetch_answer, store_answers

logger = logging.getLogger("shiptrack.scheduler")

SCHEDULED = "scheduled"
IMPORT = "import"
#: A package registered through the REST API, fetched for the first time.
FIRST_FETCH = "first_fetch"
#: Asked for by someone (POST /api/v1/shipments/{id}/refresh): served even before it is due.
REQUESTED = "requested"


@dataclass(frozen=True)
class Claim:
    """Shipments queued together for one task, under one token."""

    token: str
    shipment_ids: list[int]
    reason: str = SCHEDULED


#: Minutes of API calls that say how fast refreshes are really served.
_OBSERVED_MINUTES = 5


def capacity(*, now: datetime | None = None) -> int:
    """The most refreshes the queue may hold: what is served within REFRESH_QUEUE_TIMEOUT_MINUTES
    at the rate limit, or at the rate calls were really made lately (slow answers, faults, too
    few workers) when that is lower, so that what is queued is served before it counts as lost.
    With no calls to go by (a fresh or idle system) it starts at two tasks' worth and grows with
    what the workers show they serve, one scheduler run at a time."""
    now = now or timezone.now()
    floor = 2 * max(1, settings.REFRESH_TASK_CHUNK)
    since = now - timedelta(minutes=_OBSERVED_MINUTES)
    recent = ApiCall.objects.filter(at__gte=since)
    calls = recent.count()
    rate = float(settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE)
    if calls < floor:
        return floor
    first = recent.aggregate(first=Min("at"))["first"] or since
    minutes = max(1.0, (now - first).total_seconds() / 60)
    rate = min(rate, calls / minutes)
    return max(floor, int(rate * settings.REFRESH_QUEUE_TIMEOUT_MINUTES))


def queued() -> int:
    return QueuedRefresh.objects.count()


def due(now: datetime | None = None) -> ShipmentQuerySet:
    """Due shipments nobody has queued yet, the longest-waiting first."""
    now = now or timezone.now()
    return (
        Shipment.objects.needs_refresh(now)
        .filter(queued_refresh__isnull=True)
        .order_by(F("next_check_at").asc(nulls_first=True), "pk")
    )


def release_stale(*, now: datetime | None = None) -> int:
    """Rows older than the queue timeout are lost (their task is gone): delete them."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.REFRESH_QUEUE_TIMEOUT_MINUTES)
    deleted, _ = QueuedRefresh.objects.filter(queued_at__lt=cutoff).delete()
    if deleted:
        logger.warning("refresh queue: %d lost refreshes released to be queued again", deleted)
    return deleted


def _queue(ids: Sequence[int], *, reason: str, now: datetime) -> list[Claim]:
    """Insert a row per shipment (ON CONFLICT DO NOTHING: one already queued stays as it is),
    in chunks of REFRESH_TASK_CHUNK, each chunk under its own token."""
    claims: list[Claim] = []
    size = max(1, settings.REFRESH_TASK_CHUNK)
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        token = uuid.uuid4().hex
        with transaction.atomic():
            QueuedRefresh.objects.bulk_create(
                [
                    QueuedRefresh(shipment_id=pk, token=token, queued_at=now, reason=reason)
                    for pk in chunk
                ],
                ignore_conflicts=True,
            )
            mine = set(
                QueuedRefresh.objects.filter(token=token).values_list("shipment_id", flat=True)
            )
        ordered = [pk for pk in chunk if pk in mine]
        if ordered:
            claims.append(Claim(token, ordered, reason))
    return claims


def claim_due(*, now: datetime | None = None, limit: int | None = None) -> list[Claim]:
    """Queue up to `limit` (default REFRESH_BATCH_SIZE) due shipments, within the queue's room.
    Safe to run from several processes at once (the unique row settles races)."""
    now = now or timezone.now()
    release_stale(now=now)
    if shared_rate_limiter().paused_for() > 0:
        return []  # ShipEngine asked us to wait: queueing now would only fill the queue
    limit = settings.REFRESH_BATCH_SIZE if limit is None else limit
    limit = min(limit, capacity(now=now) - queued())
    if limit <= 0:
        return []
    # New packages first (their first fetch is what a person or an import is waiting for).
    ids = list(due(now).filter(last_checked_at__isnull=True).values_list("pk", flat=True)[:limit])
    if len(ids) < limit:
        more = due(now).exclude(pk__in=ids).values_list("pk", flat=True)[: limit - len(ids)]
        ids += list(more)
    return _queue(ids, reason=SCHEDULED, now=now)


def claim(
    shipment_ids: Sequence[int], *, reason: str = IMPORT, now: datetime | None = None
) -> list[Claim]:
    """Queue these shipments (an import's new rows) as far as the queue has room; the rest stay
    due and the scheduler queues them first (they were never fetched)."""
    now = now or timezone.now()
    if reason == REQUESTED:
        # Someone asked (and the API's per-key limit bounds how often): never refused for room.
        return _queue(list(shipment_ids), reason=reason, now=now)
    room = capacity() - queued()
    if room <= 0:
        return []
    return _queue(list(shipment_ids)[:room], reason=reason, now=now)


def _still_due(shipment: Shipment, queued_at: datetime, reason: str, now: datetime) -> bool:
    if shipment.last_checked_at and shipment.last_checked_at > queued_at:
        return False  # refreshed after it was queued (a person, a webhook, another task)
    if not shipment.carrier.is_active:
        return False
    if reason == REQUESTED:
        return True  # asked for: even delivered, given up or not due yet (as "Refresh now")
    if shipment.status_code in FINAL or shipment.refresh_state != ACTIVE:
        return False
    return shipment.next_check_at is None or shipment.next_check_at <= now


@dataclass
class Served:
    refreshed: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0
    events_added: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "refreshed": self.refreshed,
            "failed": self.failed,
            "skipped": self.skipped,
            "released": self.released,
            "events_added": self.events_added,
        }


def _done(shipment_id: int, token: str) -> None:
    QueuedRefresh.objects.filter(shipment_id=shipment_id, token=token).delete()


def _release(shipment_ids: Sequence[int], token: str) -> int:
    deleted, _ = QueuedRefresh.objects.filter(shipment_id__in=shipment_ids, token=token).delete()
    return deleted


#: Seconds a worker keeps fetched answers before storing them: answers of one chunk are stored
#: together (one transaction, one outbox dispatch), but none waits long for a slow API.
STORE_EVERY_SECONDS = 2.0


def serve(
    *,
    shipment_ids: Sequence[int],
    token: str,
    now: datetime | None = None,
    client: ShipEngineClient | None = None,
) -> Served:
    """Refresh the shipments of one claim (the refresh_many task): fetch each answer, store them
    in batches (`tracking.store_answers`); a shipment leaves the queue with its stored answer, so
    a worker that dies holding fetched answers loses nothing (they are queued and fetched again)."""
    result = Served()
    ids = list(shipment_ids)
    rows = {
        pk: (queued_at, reason)
        for pk, queued_at, reason in QueuedRefresh.objects.filter(
            shipment_id__in=ids, token=token
        ).values_list("shipment_id", "queued_at", "reason")
    }
    shipments = Shipment.objects.select_related("carrier").in_bulk([i for i in ids if i in rows])
    client = client or api_client.get_client()
    fetched: list[tuple[int, TrackingInfo]] = []
    oldest = 0.0

    def store() -> None:
        stored = store_answers(answers=fetched, on_stored=lambda done: _release(done, token))
        for (shipment_id, _info), outcome in zip(fetched, stored, strict=True):
            if isinstance(outcome, ShipEngineError):
                result.failed += 1
                result.errors.append(f"{shipment_id}: {outcome.code}")
                _done(shipment_id, token)
            else:
                result.refreshed += 1
                result.events_added += outcome.events_added
        fetched.clear()

    for position, shipment_id in enumerate(ids):
        if fetched and time.monotonic() - oldest >= STORE_EVERY_SECONDS:
            store()
        if shipment_id not in rows:
            result.skipped += 1  # served by another task, or reaped and queued again
            continue
        if stopping.should_stop():
            result.released += _release(ids[position:], token)
            break
        shipment = shipments.get(shipment_id)
        if shipment is None or not _still_due(shipment, *rows[shipment_id], now or timezone.now()):
            result.skipped += 1
            _done(shipment_id, token)
            continue
        try:
            info = fetch_answer(shipment=shipment, client=client)
        except NotSent as exc:
            # Nothing was asked of the API: give the rest back to the queue, unharmed.
            logger.info("refresh chunk released (%s): %s", exc.code, exc.one_line())
            result.released += _release(ids[position:], token)
            break
        except ShipEngineError as exc:  # recorded on the shipment by fetch_answer
            result.failed += 1
            result.errors.append(f"{shipment_id}: {exc.code}")
        except Exception as exc:
            # A bug: recorded on the shipment (with back-off), never a silent task failure that
            # the scheduler repeats every minute.
            logger.exception("refresh of shipment %s failed unexpectedly", shipment_id)
            record_failure(
                shipment_id=shipment_id,
                error=BadResponseError(f"The answer could not be read: {type(exc).__name__}"),
            )
            result.failed += 1
            result.errors.append(f"{shipment_id}: {type(exc).__name__}")
        else:
            if not fetched:
                oldest = time.monotonic()
            fetched.append((shipment_id, info))
            continue
        _done(shipment_id, token)
    if fetched:
        store()
    return result
