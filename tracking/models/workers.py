"""The refresh queue's ledger and the workers' heartbeats (see services/scheduling.py and
services/workers.py)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class QueuedRefresh(models.Model):
    """One queued refresh of one shipment. The unique shipment column is the database's promise
    that a shipment is never queued twice; the token ties the row to the one task that may serve
    it (a task whose token no longer matches skips the shipment)."""

    shipment = models.OneToOneField(
        "tracking.Shipment", on_delete=models.CASCADE, related_name="queued_refresh"
    )
    token = models.CharField(max_length=32)
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    #: Why it was queued: "scheduled", "import" (a new package's first fetch).
    reason = models.CharField(max_length=16, default="scheduled")

    def __str__(self) -> str:
        return f"{self.shipment_id} queued {self.queued_at:%H:%M:%S} ({self.reason})"


class WorkerHeartbeat(models.Model):
    """A worker process says it is alive every few seconds; the tasks of one that stopped saying
    so (killed, crashed, its machine gone) are handed to the others (tasks.reap_lost_tasks)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    pid = models.PositiveIntegerField(default=0)
    host = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid}) {self.seen_at:%H:%M:%S}"
