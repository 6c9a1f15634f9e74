"""State shared by every process: the API rate limit, webhook receipts, public lookup counters."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone


class RateLimitState(models.Model):
    """One shared limiter (see services/api_rate_limit.py): the next free request slot and any 429 pause, as
    Unix times, so every worker and web process on every machine sees the same limit."""

    name = models.CharField(max_length=64, primary_key=True)
    next_slot = models.FloatField(default=0.0)
    paused_until = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return self.name


class WebhookReceiptQuerySet(models.QuerySet["WebhookReceipt"]):
    def older_than(self, days: int) -> WebhookReceiptQuerySet:
        return self.filter(received_at__lt=timezone.now() - timedelta(days=days))


class WebhookReceipt(models.Model):
    """One accepted webhook body, so that a replayed or re-sent delivery changes nothing."""

    digest = models.CharField(max_length=64, unique=True)  # sha256 of the raw body
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    resource_type = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    carrier_code = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=32)
    events_added = models.PositiveIntegerField(default=0)

    objects = WebhookReceiptQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.tracking_number} {self.outcome}"


class LookupThrottle(models.Model):
    """One counter per (key, time window), for the public lookup's per-address rate limit and the
    public page's refresh-on-open (see services/throttling.py). In the database so that every web process
    counts together; keys are keyed hashes, never raw client addresses."""

    key = models.CharField(max_length=64)
    window = models.BigIntegerField()  # start of the window, in seconds since the epoch
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="lookup_throttle_unique")
        ]
        indexes = [models.Index(fields=["window"], name="lookup_throttle_window")]

    def __str__(self) -> str:
        return f"{self.key[:8]}@{self.window}: {self.hits}"
