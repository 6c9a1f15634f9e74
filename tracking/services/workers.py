"""Worker heartbeats: each `run_worker` process writes its row every WORKER_HEARTBEAT_SECONDS;
one silent for WORKER_LOST_AFTER_SECONDS is taken for dead (SIGKILL, a crash, a lost machine),
and tasks.reap_lost_tasks hands its running task to the others."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import WorkerHeartbeat


def beat(worker_id: str, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={"seen_at": now, "pid": os.getpid(), "host": socket.gethostname()[:200]},
        )


def forget(worker_id: str) -> None:
    """A worker that stops cleanly says so (its tasks are finished or released already)."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def liveness(*, now: datetime | None = None) -> tuple[set[str], set[str]]:
    """(workers seen recently, workers that ever beat and are still on record)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORKER_LOST_AFTER_SECONDS)
    rows = list(WorkerHeartbeat.objects.values_list("worker_id", "seen_at"))
    return {w for w, seen in rows if seen >= cutoff}, {w for w, _ in rows}


def prune(*, now: datetime | None = None) -> int:
    """Rows of workers gone for a day (their tasks were reaped long ago)."""
    now = now or timezone.now()
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return deleted
