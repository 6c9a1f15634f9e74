"""CSV import jobs, their row errors and the shipments each created."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .shipments import Shipment


class ImportJob(models.Model):
    """A CSV import: rows checked and stored by a task, then the new shipments fetched."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        IMPORTING = "importing", _("Importing rows")
        FETCHING = "fetching", _("Fetching tracking")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    task_result_id = models.CharField(max_length=64, blank=True)
    fetch = models.BooleanField(default=True)
    total_rows = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    fetches_enqueued = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Crash safety: the last line whose rows are committed (a new run resumes after it), when the
    # running task last made progress, and how many runs it took (the reaper stops retrying).
    resume_line = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField()
    tracking_number = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportItem(models.Model):
    """A shipment an import created: its fetch progress is what the progress bar shows."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="items")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "shipment"], name="import_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.shipment_id}"
