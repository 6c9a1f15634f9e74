"""Background tasks (Django's tasks framework; `django_tasks_db` by default, see settings.TASKS).

The top of background work: tasks call services, services never import tasks. Tasks take ids,
never model instances, and are enqueued once the surrounding transaction has committed
(`transaction.on_commit`), so a worker never looks for a row it cannot see yet. This module stays
at its path: the database backend stores each queued task's import path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import TaskResultStatus, task, task_backends
from django.utils import timezone
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from .domain.numbers import TrackingInputError
from .models import ImportJob, Shipment
from .ops.logging import logged_task
from .services import (
    analytics_refresh,
    import_jobs,
    notifications,
    outbound_webhooks,
    outbox,
    scheduling,
    staff_work,
    workers,
)
from .services import tracking as tracking_service
from .shipengine import ShipEngineError

logger = logging.getLogger("shiptrack.tasks")

#: Task priorities (higher runs first): an import's rows, then new packages' first fetches, then
#: the scheduled refreshes. Imports never wait behind a refresh backlog.
IMPORT_PRIORITY = 20
IMPORT_FETCH_PRIORITY = 10
REFRESH_PRIORITY = 0


@task()
@logged_task
def refresh_many(shipment_ids: list[int], token: str) -> dict[str, Any]:
    """Poll the shipments of one claim (services/scheduling.py): each one that is still due and
    still this task's, every failure recorded on its shipment, the rest released when the worker
    stops or ShipEngine's pause is longer than a worker waits."""
    return scheduling.serve(shipment_ids=shipment_ids, token=token).as_dict()


@task()
@logged_task
def refresh_shipment(shipment_id: int) -> dict[str, Any]:
    """Poll one shipment (tasks queued before refresh_many existed, and callers that want one).
    A failed call is recorded on the shipment (its next check backs off); not an error here."""
    try:
        result = tracking_service.refresh_shipment(shipment_id=shipment_id)
    except Shipment.DoesNotExist:
        return {"shipment_id": shipment_id, "ok": False, "error": "deleted"}
    except TrackingInputError as exc:  # its carrier was disabled after the task was queued
        return {"shipment_id": shipment_id, "ok": False, "error": exc.code}
    except ShipEngineError as exc:
        logger.info("refresh failed shipment=%s %s", shipment_id, exc.one_line())
        return {"shipment_id": shipment_id, "ok": False, "error": exc.one_line()}
    return {"shipment_id": shipment_id, "ok": True, "events_added": result.events_added}


@task()
@logged_task
def run_import(job_id: int) -> dict[str, Any]:
    job = import_jobs.run_job(job_id=job_id, enqueue=enqueue_import_fetches)
    return {"job_id": job.pk, "state": job.state, "imported": job.imported}


@task()
@logged_task
def run_bulk_action(action_id: int) -> dict[str, Any]:
    """Selected shipments from the staff list: refresh, export or note (services/staff_work.py)."""
    action = staff_work.run_bulk(action_id=action_id)
    return {"action_id": action.pk, "done": action.done, "failed": action.failed}


def enqueue_bulk(action_id: int) -> None:
    # Ahead of the scheduled refreshes: a person is watching its progress.
    transaction.on_commit(
        lambda: run_bulk_action.using(priority=IMPORT_FETCH_PRIORITY).enqueue(action_id)
    )


def enqueue_claims(claims: Sequence[scheduling.Claim], *, priority: int = REFRESH_PRIORITY) -> None:
    """One refresh_many task per claim, once the current transaction commits."""
    claims = list(claims)
    if not claims:
        return
    refresh = refresh_many.using(priority=priority)

    def _enqueue() -> None:
        if _queues_in_database():
            # One transaction for the lot: a bulk request's task rows cost one commit, not one
            # each (the database backend only writes rows; nothing runs here).
            with transaction.atomic():
                for claim in claims:
                    refresh.enqueue(claim.shipment_ids, claim.token)
            return
        for claim in claims:
            refresh.enqueue(claim.shipment_ids, claim.token)

    transaction.on_commit(_enqueue)


def enqueue_refreshes(shipment_ids: Sequence[int], *, priority: int = REFRESH_PRIORITY) -> int:
    """Queue these shipments now (each at most once: one already queued is left as it is), as
    far as the queue has room; returns how many were queued."""
    claims = scheduling.claim(shipment_ids, reason=scheduling.SCHEDULED)
    enqueue_claims(claims, priority=priority)
    return sum(len(c.shipment_ids) for c in claims)


def enqueue_import_fetches(claims: Sequence[scheduling.Claim]) -> None:
    enqueue_claims(claims, priority=IMPORT_FETCH_PRIORITY)


def enqueue_fetches(shipment_ids: Sequence[int]) -> int:
    """The first fetch of shipments registered by a request (the REST API), ahead of the
    scheduled backlog, as far as the queue has room (the rest stay due, never-fetched first)."""
    claims = scheduling.claim(shipment_ids, reason=scheduling.FIRST_FETCH)
    enqueue_claims(claims, priority=IMPORT_FETCH_PRIORITY)
    return sum(len(c.shipment_ids) for c in claims)


def enqueue_requested(shipment_id: int) -> bool:
    """A refresh someone asked for (POST /api/v1/shipments/{id}/refresh): served even when the
    shipment's next check is later. False when it is queued already or the queue is full."""
    claims = scheduling.claim([shipment_id], reason=scheduling.REQUESTED)
    enqueue_claims(claims, priority=IMPORT_FETCH_PRIORITY)
    return bool(claims)


def enqueue_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Claim the due shipments (within the queue's bound) and queue them; returns how many."""
    claims = scheduling.claim_due(now=now, limit=limit)
    enqueue_claims(claims)
    count = sum(len(c.shipment_ids) for c in claims)
    if count:
        logger.info("scheduler queued %d refreshes in %d tasks", count, len(claims))
    return count


def enqueue_import(job_id: int) -> None:
    def _enqueue() -> None:
        result = run_import.using(priority=IMPORT_PRIORITY).enqueue(job_id)
        # The immediate backend (tests) has run the job already; keep the id for the status page.
        ImportJob.objects.filter(pk=job_id).update(task_result_id=str(result.id)[:64])

    transaction.on_commit(_enqueue)


def reap_lost_tasks(*, now: datetime | None = None) -> int:
    """Tasks left RUNNING by a worker that died (SIGKILL, a crash): the database backend never
    hands them out again by itself. A task whose worker stopped beating (services/workers.py) --
    or, for workers without a heartbeat (plain db_worker), one running longer than
    REFRESH_QUEUE_TIMEOUT_MINUTES -- is made READY again for another worker; after
    TASK_MAX_DELIVERIES deliveries it is marked FAILED instead (an import job then says so, with a
    retry button). Returns how many tasks were handed on or failed."""
    backend = task_backends["default"]
    if not isinstance(backend, DatabaseBackend):
        return 0
    now = now or timezone.now()
    alive, known = workers.liveness(now=now)
    too_old = now - timedelta(minutes=settings.REFRESH_QUEUE_TIMEOUT_MINUTES)
    reaped = 0
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only(
        "id", "worker_ids", "started_at", "task_path", "args_kwargs"
    )
    for result in running:
        worker = result.worker_ids[-1] if result.worker_ids else ""
        if worker in known:
            lost = worker not in alive
        else:
            lost = bool(result.started_at and result.started_at < too_old)
        if not lost:
            continue
        if len(result.worker_ids) >= settings.TASK_MAX_DELIVERIES:
            reaped += DBTaskResult.objects.filter(
                pk=result.pk, status=TaskResultStatus.RUNNING
            ).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path="tracking.tasks.WorkerLost",
                traceback=f"Its worker stopped {len(result.worker_ids)} times while running it.",
            )
            if result.task_path.endswith(".run_import"):
                import_jobs.mark_interrupted(job_id=int(result.args_kwargs["args"][0]))
            logger.warning(
                "task %s given up: its worker died %d times", result.pk, len(result.worker_ids)
            )
            continue
        reaped += DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )
        logger.warning("task %s handed on: worker %s stopped beating", result.pk, worker)
    # An import whose task is gone altogether (pruned, deleted by hand): failed, with Retry.
    waiting = (TaskResultStatus.READY, TaskResultStatus.RUNNING)
    reaped += import_jobs.orphaned(
        task_alive=lambda task_id: DBTaskResult.objects.filter(
            pk=task_id, status__in=waiting
        ).exists(),
        now=now,
    )
    return reaped


def release_running(task_id: str) -> int:
    """A stopping worker gives its task back (READY again) when it cannot finish in time."""
    return DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY, started_at=None
    )


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


# --- Customer e-mails -------------------------------------------------------------------------
@task()
@logged_task
def send_notifications() -> dict[str, Any]:
    """Send the due customer e-mails (services/notifications.py); queue the next retry."""
    outbox.dispatch()  # as for webhooks: the rest of a bulk request's records, now
    report = notifications.send_due()
    retry_at = report.next_retry_at
    soon = retry_at is not None and (
        (retry_at - timezone.now()).total_seconds() <= RETRY_QUEUE_AHEAD_SECONDS
    )
    if soon and task_backends["default"].supports_defer:
        send_notifications.using(run_after=retry_at).enqueue()
    return {
        "sent": report.sent,
        "failed_attempts": report.failed_attempts,
        "next_retry_at": retry_at.isoformat() if retry_at else None,
    }


def enqueue_notification_sends() -> None:
    """Queue a send run when e-mails are due (after an outbox batch, a subscription or a staff
    send, and on the scheduler's sweep for retries that came due)."""
    if not notifications.anything_due():
        return
    transaction.on_commit(send_notifications.enqueue)


outbox.on_dispatched.append(enqueue_notification_sends)
notifications.on_queued.append(enqueue_notification_sends)


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
