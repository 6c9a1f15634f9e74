"""Tracking events: every scan the carrier reported, stored once (dedupe key) and never deleted."""

from __future__ import annotations

from django.db import models


class TrackingEventQuerySet(models.QuerySet["TrackingEvent"]):
    def newest_first(self) -> TrackingEventQuerySet:
        return self.order_by("-occurred_at", "-id")


class TrackingEvent(models.Model):
    shipment = models.ForeignKey(
        "tracking.Shipment", on_delete=models.CASCADE, related_name="events"
    )
    # Identity of the event across polls, webhooks and retries; see domain/event_identity.py.
    dedupe_key = models.CharField(max_length=64, editable=False)

    occurred_at = models.DateTimeField(null=True, blank=True)  # UTC
    carrier_occurred_at = models.CharField(max_length=40, blank=True)  # as the carrier sent it
    description = models.CharField(max_length=500, blank=True)
    city_locality = models.CharField(max_length=200, blank=True)
    state_province = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=32, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    event_code = models.CharField(max_length=64, blank=True)
    carrier_detail_code = models.CharField(max_length=64, blank=True)
    status_code = models.CharField(max_length=8, blank=True)
    status_detail_code = models.CharField(max_length=64, blank=True)
    status_description = models.CharField(max_length=200, blank=True)
    status_detail_description = models.CharField(max_length=500, blank=True)
    carrier_status_code = models.CharField(max_length=64, blank=True)
    carrier_status_description = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    proof_of_delivery_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrackingEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "dedupe_key"], name="event_unique_per_shipment"
            )
        ]
        indexes = [
            models.Index(fields=["shipment", "-occurred_at"], name="event_shipment_time"),
            # No plain index on city or postal code: the search reaches events' places through
            # SQLite's trigram table (0003) or PostgreSQL's UPPER() indexes (0006); plain ones
            # served no query and cost every event insert.
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description}"
            if self.occurred_at
            else self.description
        )

    @property
    def location(self) -> str:
        parts = [self.city_locality, self.state_province, self.postal_code, self.country_code]
        return ", ".join(p for p in parts if p)

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None
