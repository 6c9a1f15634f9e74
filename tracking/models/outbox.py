"""The outbox: one record per change of a shipment, written in the same transaction as the change.

Side effects (customer e-mails, outgoing webhooks) are delivered from these records by tasks, so a
crash between the commit and the send loses nothing, and a change that did not happen (a replayed
webhook, a poll that found nothing new) sends nothing. See services/outbox.py.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ChangeKind(models.TextChoices):
    """The event types other systems subscribe to (outgoing webhooks use these names)."""

    CREATED = "shipment.created"
    UPDATED = "shipment.updated"
    STATUS_CHANGED = "shipment.status_changed"
    DELIVERED = "shipment.delivered"
    EXCEPTION = "shipment.exception"


class ChangeRecordQuerySet(models.QuerySet["ChangeRecord"]):
    def undispatched(self) -> ChangeRecordQuerySet:
        return self.filter(dispatched_at__isnull=True)


class ChangeRecord(models.Model):
    shipment = models.ForeignKey(
        "tracking.Shipment", on_delete=models.CASCADE, related_name="changes"
    )
    created_at = models.DateTimeField()
    #: Every kind this change is (a delivery is also a status change and an update).
    kinds = models.JSONField(default=list)
    previous_status = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=8, blank=True)
    events_added = models.PositiveIntegerField(default=0)
    #: The customer-facing milestone this change reached (domain.statuses.Milestone), if any,
    #: and the key that makes it happen once: "delivered", or "exception:<event key>" (a second,
    #: different exception is news; the same scan from a poll and a webhook is not).
    milestone = models.CharField(max_length=32, blank=True)
    milestone_key = models.CharField(max_length=120, blank=True)
    #: When the consumers (e-mails, webhooks) took it; null: not yet.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    objects = ChangeRecordQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                name="change_undispatched",
                condition=Q(dispatched_at__isnull=True),
            ),
            models.Index(fields=["shipment", "id"], name="change_shipment"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}: {', '.join(self.kinds)}"
