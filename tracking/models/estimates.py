"""Our own delivery estimate, kept apart from the carrier's ETA (Shipment.estimated_delivery_date).

A row exists only while we have an estimate: for a parcel on its way that the carrier gave no
date for, or whose carrier date has passed, when enough parcels of the same carrier and lane
were delivered recently (services/estimates.py). It is never shown as the carrier's promise.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..domain import estimates
from ..domain.lanes import REGION_MAX


class EstimateBasis(models.TextChoices):
    """Which history it rests on, most specific first."""

    LANE = estimates.LANE, _("the same carrier and lane")
    ORIGIN = estimates.ORIGIN, _("the same carrier from the same region")
    CARRIER = estimates.CARRIER, _("the same carrier")


class EstimateReason(models.TextChoices):
    NO_CARRIER_DATE = estimates.NO_CARRIER_DATE, _("the carrier gave no date")
    CARRIER_DATE_PASSED = estimates.CARRIER_DATE_PASSED, _("the carrier's date has passed")


class DeliveryEstimate(models.Model):
    shipment = models.OneToOneField(
        "tracking.Shipment",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="delivery_estimate",
    )
    #: The median of the history's remaining transit times, as a UTC day.
    predicted_on = models.DateField()
    #: The 80 % window: the 10th and 90th percentiles.
    earliest_on = models.DateField()
    latest_on = models.DateField()
    #: How many delivered parcels it rests on (those of the history still on their way after as
    #: long as this one has been).
    parcels = models.PositiveIntegerField()
    basis = models.CharField(max_length=8, choices=EstimateBasis.choices)
    origin = models.CharField(max_length=REGION_MAX, blank=True)
    destination = models.CharField(max_length=REGION_MAX, blank=True)
    reason = models.CharField(max_length=20, choices=EstimateReason.choices)
    computed_at = models.DateTimeField()
    #: When it must be worked out again if nothing changes before: the window's first day over.
    recheck_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("our delivery estimate")

    def __str__(self) -> str:
        return f"our estimate for shipment {self.shipment_id}: {self.predicted_on}"
