"""Background tasks (Django's tasks framework; `django_tasks_db` by default, see settings.TASKS).

The top of background work: tasks call services, services never import tasks. Tasks take ids,
never model instances, and are enqueued once the surrounding transaction has committed
(`transaction.on_commit`), so a worker never looks for a row it cannot see yet. This module stays
at its path: the database backend stores each queued task's import path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.tasks import TaskResultStatus, task, task_backends
from django.utils import timezone
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from .domain.numbers import TrackingInputError
from .models import ImportJob, Shipment
from .ops.logging import logged_task
from .services import analytics_refresh, import_jobs, outbound_webhooks, outbox, scheduling
from .services import tracking as tracking_service
from .shipengine import ShipEngineError

logger = logging.getLogger("shiptrack.tasks")

#: Priority of fetches for bulk imports: below refreshes a person or the scheduler asked for.
IMPORT_PRIORITY = -10


@task()
@logged_task
def refresh_shipment(shipment_id: int) -> dict[str, Any]:
    """Poll one shipment. A failed call is recorded on the shipment (its next check backs off) and
    is not an error of the task: the scheduler tries again when the shipment is due."""
    try:
        result = tracking_service.refresh_shipment(shipment_id=shipment_id)
    except Shipment.DoesNotExist:
        return {"shipment_id": shipment_id, "ok": False, "error": "deleted"}
    except TrackingInputError as exc:  # its carrier was disabled after the task was queued
        return {"shipment_id": shipment_id, "ok": False, "error": exc.code}
    except ShipEngineError as exc:
        logger.info("refresh failed shipment=%s %s", shipment_id, exc.one_line())
        return {"shipment_id": shipment_id, "ok": False, "error": exc.one_line()}
    finally:
        scheduling.release(shipment_id)  # whatever happened, it may be queued again
    return {"shipment_id": shipment_id, "ok": True, "events_added": result.events_added}


@task()
@logged_task
def run_import(job_id: int) -> dict[str, Any]:
    job = import_jobs.run_job(job_id=job_id, enqueue=enqueue_import_fetches)
    return {"job_id": job.pk, "state": job.state, "imported": job.imported}


def enqueue_refreshes(shipment_ids: Sequence[int], *, priority: int = 0) -> None:
    """Queue refreshes once the current transaction commits (immediately outside one)."""
    ids = list(shipment_ids)
    if not ids:
        return
    refresh = refresh_shipment.using(priority=priority) if priority else refresh_shipment

    def _enqueue() -> None:
        if _queues_in_database():
            # One transaction for the lot: a bulk API request's 1,000 rows cost one commit,
            # not 1,000 (the database backend only writes rows; nothing runs here).
            with transaction.atomic():
                for shipment_id in ids:
                    refresh.enqueue(shipment_id)
            return
        for shipment_id in ids:
            refresh.enqueue(shipment_id)

    transaction.on_commit(_enqueue)


#: A request that queues more fetches than this queues one task that queues them (a bulk API
#: request must not spend most of its time writing 1,000 task rows).
FETCHES_QUEUED_IN_REQUEST = 50


@task()
@logged_task
def queue_refreshes(shipment_ids: list[int]) -> dict[str, Any]:
    """Queue a refresh for each shipment (the fan-out of a large request, done by a worker)."""
    enqueue_refreshes(shipment_ids)
    return {"queued": len(shipment_ids)}


def enqueue_fetches(shipment_ids: Sequence[int]) -> None:
    """The first fetch of shipments registered by a request: a refresh task per shipment, queued
    right away for a few, through one queue_refreshes task for many."""
    ids = list(shipment_ids)
    if len(ids) <= FETCHES_QUEUED_IN_REQUEST or not _queues_in_database():
        enqueue_refreshes(ids)
        return
    transaction.on_commit(lambda: queue_refreshes.enqueue(ids))


def enqueue_import_fetches(shipment_ids: Sequence[int]) -> None:
    enqueue_refreshes(shipment_ids, priority=IMPORT_PRIORITY)


def enqueue_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Claim the due shipments and queue a refresh for each; returns how many."""
    ids = scheduling.claim_due(now=now, limit=limit)
    enqueue_refreshes(ids)
    if ids:
        logger.info("scheduler queued %d refreshes", len(ids))
    return len(ids)


def enqueue_import(job_id: int) -> None:
    def _enqueue() -> None:
        result = run_import.enqueue(job_id)
        # The immediate backend (tests) has run the job already; keep the id for the status page.
        ImportJob.objects.filter(pk=job_id).update(task_result_id=str(result.id)[:64])

    transaction.on_commit(_enqueue)


def queue_depth() -> int | None:
    """Tasks waiting to run, when the configured backend can say (the database backend can)."""
    backend = task_backends["default"]
    if isinstance(backend, DatabaseBackend):
        return DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()
    return None


def _queues_in_database() -> bool:
    return isinstance(task_backends["default"], DatabaseBackend)


# --- Outgoing webhooks ------------------------------------------------------------------------
#: A retry due sooner than this is queued for its time; later ones wait for the scheduler's sweep
#: (run_worker), so a long schedule does not pile up future tasks.
RETRY_QUEUE_AHEAD_SECONDS = 120


@task()
@logged_task
def send_webhooks() -> dict[str, Any]:
    """Send the due webhook deliveries (services/outbound_webhooks.py); queue the next retry."""
    # A request dispatches only the outbox's first batch after its commit (a bulk request's
    # 1,000 records would otherwise wait for the scheduler's sweep): take the rest now, so their
    # deliveries go out in this run.
    outbox.dispatch()
    report = outbound_webhooks.send_due()
    retry_at = report.next_retry_at
    soon = retry_at is not None and (
        (retry_at - timezone.now()).total_seconds() <= RETRY_QUEUE_AHEAD_SECONDS
    )
    if soon and task_backends["default"].supports_defer:
        send_webhooks.using(run_after=retry_at).enqueue()
    return {
        "delivered": report.delivered,
        "failed_attempts": report.failed_attempts,
        "next_retry_at": retry_at.isoformat() if retry_at else None,
    }


def enqueue_webhook_sends() -> None:
    """Queue a send run when deliveries are due (after an outbox batch, on the scheduler's
    sweep, after a replay)."""
    if not outbound_webhooks.anything_due():
        return
    transaction.on_commit(send_webhooks.enqueue)


outbox.on_dispatched.append(enqueue_webhook_sends)


# --- Analytics and our estimate -----------------------------------------------------------------
# services.analytics (imported through analytics_refresh) is the outbox's first consumer: the
# rollups and estimates follow every change. What time changes is done on the scheduler's sweep.


def sweep_analytics() -> None:
    """The analytics' periodic work (run_worker's scheduler, refresh_due): what a failed update
    left, the recent history, the quiet-parcel count, estimates whose window or carrier date
    passed. Cheap when nothing is due."""
    report = analytics_refresh.sweep()
    if report["backlog"] or report["rechecked"] or report["carrier_dates_passed"]:
        logger.info("analytics sweep %s", report)
