"""Parcels with chosen journeys for the analytics and estimate tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from tests.factories import CarrierFactory, ShipmentFactory, TrackingEventFactory
from tracking.models import Shipment, TrackingEvent

#: (hours after the first scan, status code, state) of each scan; country US.
Journey = Sequence[tuple[float, str, str]]

COAST_TO_COAST: Journey = ((0, "AC", "CA"), (20, "IT", "TX"), (50, "DE", "NY"))


def parcel(
    journey: Journey = COAST_TO_COAST,
    *,
    carrier: str = "ups",
    start: datetime | None = None,
    eta: datetime | None = None,
    **fields: Any,
) -> Shipment:
    """A shipment whose summary follows its last scan, with its scans stored."""
    start = start or timezone.now() - timedelta(days=3)
    last_hours, last_status, _state = journey[-1]
    last_at = start + timedelta(hours=last_hours)
    shipment = ShipmentFactory(
        carrier=CarrierFactory(code=carrier),
        status_code=last_status,
        estimated_delivery_date=eta,
        actual_delivery_date=last_at if last_status in ("DE", "SP") else None,
        last_event_at=last_at,
        event_count=len(journey),
        **fields,
    )
    TrackingEvent.objects.bulk_create(
        TrackingEventFactory.build(
            shipment=shipment,
            occurred_at=start + timedelta(hours=hours),
            status_code=status,
            country_code="US",
            state_province=state,
            description=f"{status} scan",
        )
        for hours, status, state in journey
    )
    return shipment
