"""Staff notes on a shipment (many, each with its author and time) and the needs-attention queue's
"handled" marks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from .shipments import Shipment

NOTE_MAX = 4000


class ShipmentNoteQuerySet(models.QuerySet["ShipmentNote"]):
    def newest_first(self) -> ShipmentNoteQuerySet:
        return self.order_by("-created_at", "-id")

    def counts_for(self, shipment_ids: list[int]) -> dict[int, int]:
        """{shipment id: notes} for one page of shipments, in one query on the shipment index."""
        if not shipment_ids:
            return {}
        rows = (
            self.filter(shipment_id__in=shipment_ids)
            .values_list("shipment_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        return dict(rows)


class ShipmentNote(models.Model):
    """What a person wrote about a shipment. Never shown on the public page or in emails."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="staff_notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: The author's name as it was when the note was written (kept when the account is deleted).
    author_name = models.CharField(max_length=150, blank=True)
    body = models.TextField(_("note"), max_length=NOTE_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShipmentNoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shipment", "-created_at"], name="note_shipment_newest")]

    def __str__(self) -> str:
        return f"{self.author_name or '?'}: {self.body[:40]}"


class AttentionHandled(models.Model):
    """A person looked at a shipment in the needs-attention queue and dealt with it. The queue
    leaves it out while the shipment is as it was then (see still_handled)."""

    shipment = models.OneToOneField(
        Shipment, on_delete=models.CASCADE, related_name="attention_handled"
    )
    handled_at = models.DateTimeField()
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.ForeignKey(ShipmentNote, null=True, blank=True, on_delete=models.SET_NULL)
    # What the shipment looked like when it was handled.
    event_count = models.PositiveIntegerField()
    status_code = models.CharField(max_length=8, blank=True)
    consecutive_failures = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"handled {self.shipment_id} at {self.handled_at:%Y-%m-%d %H:%M}"


def still_handled() -> Exists:
    """For a Shipment queryset: its "handled" mark still holds, nothing new since (no new
    event, the same status, no further failed refresh). The mark stores what it saw; any change
    ends it."""
    return Exists(
        AttentionHandled.objects.filter(
            shipment_id=OuterRef("pk"),
            event_count=OuterRef("event_count"),
            status_code=OuterRef("status_code"),
            consecutive_failures__gte=OuterRef("consecutive_failures"),
        )
    )
