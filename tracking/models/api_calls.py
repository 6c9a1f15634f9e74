"""The record of ShipEngine calls, kept briefly for the API-health page. Never the API key."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone


class ApiCallQuerySet(models.QuerySet["ApiCall"]):
    def failures(self) -> ApiCallQuerySet:
        return self.exclude(error_code="")

    def older_than(self, days: int) -> ApiCallQuerySet:
        return self.filter(at__lt=timezone.now() - timedelta(days=days))


class ApiCall(models.Model):
    """One HTTP attempt to ShipEngine, kept briefly for the API-health view. Never the API key."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    method = models.CharField(max_length=8)
    endpoint = models.CharField(max_length=100)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    error_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # The parcel the call was about (the API-health page names and links it).
    carrier_code = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    label_id = models.CharField(max_length=64, blank=True)

    objects = ApiCallQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["error_code", "-at"], name="apicall_error_at")]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} {self.http_status or self.error_code}"
