"""Background tasks (Django's tasks framework; `django_tasks_db` by default, see settings.TASKS).

Tasks take ids, never model instances, and are enqueued once the surrounding transaction has
committed (`transaction.on_commit`), so a worker never looks for a row it cannot see yet.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.tasks import task

from . import services
from .logging_utils import logged_task
from .models import Shipment
from .shipengine import ShipEngineError

logger = logging.getLogger("shiptrack.tasks")

#: Priority of fetches for bulk imports: below refreshes a person or the scheduler asked for.
IMPORT_PRIORITY = -10


@task()
@logged_task  # one log line per run, with its id and timing
def refresh_shipment(shipment_id: int) -> dict[str, Any]:
    """Poll one shipment. A failed call is recorded on the shipment (its next check backs off) and
    is not an error of the task: the scheduler tries again when the shipment is due."""
    try:
        result = services.refresh_shipment(shipment_id=shipment_id)
    except Shipment.DoesNotExist:
        return {"shipment_id": shipment_id, "ok": False, "error": "deleted"}
    except ShipEngineError as exc:
        logger.info("refresh failed shipment=%s %s", shipment_id, exc.one_line())
        return {"shipment_id": shipment_id, "ok": False, "error": exc.one_line()}
    finally:
        # Whatever happened, this shipment may be queued again.
        Shipment.objects.filter(pk=shipment_id).update(refresh_queued_at=None)
    return {"shipment_id": shipment_id, "ok": True, "events_added": result.events_added}


@task()
@logged_task  # one log line per run, with its id and timing
def run_import(job_id: int) -> dict[str, Any]:
    from .imports import run_job

    job = run_job(job_id=job_id)
    return {"job_id": job.pk, "state": job.state, "imported": job.imported}


def enqueue_refreshes(shipment_ids: list[int], *, priority: int = 0) -> None:
    """Queue refreshes once the current transaction commits (immediately outside one)."""
    ids = list(shipment_ids)
    if not ids:
        return
    refresh = refresh_shipment.using(priority=priority) if priority else refresh_shipment

    def _enqueue() -> None:
        for shipment_id in ids:
            refresh.enqueue(shipment_id)

    transaction.on_commit(_enqueue)


def enqueue_import(job_id: int) -> None:
    from .models import ImportJob

    def _enqueue() -> None:
        result = run_import.enqueue(job_id)
        # The immediate backend (tests) has run the job already; keep the id for the status page.
        ImportJob.objects.filter(pk=job_id).update(task_result_id=str(result.id)[:64])

    transaction.on_commit(_enqueue)
