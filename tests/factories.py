"""Test data (factory-boy): carriers, shipments and events, made the same way in every module.

- `CarrierFactory(code="fedex")` returns the seeded carrier when there is one (migration 0002's
  seed, or a carrier an earlier line of the test made) and creates it otherwise (transactional
  tests run after others have emptied the tables).
- `ShipmentFactory(tracking_number=..., carrier__code="ups", ...)`; `in_transit=True` gives a
  parcel on its way (IT, shipped two days ago, last event an hour ago).
- `TrackingEventFactory(shipment=...)`, each with its own dedupe key; `add_events()` stores a
  numbered series of scans in one query.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from tracking.models import ApiCall, Carrier, Shipment, TrackingEvent
from tracking.services import search_index


class CarrierFactory(DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = "ups"
    name = factory.LazyAttribute(lambda carrier: carrier.code)


class ShipmentFactory(DjangoModelFactory):
    class Meta:
        model = Shipment

    class Params:
        in_transit = factory.Trait(
            status_code="IT",
            status_description="In Transit",
            last_event_at=factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1)),
            ship_date=factory.LazyFunction(lambda: timezone.now() - timedelta(days=2)),
        )

    carrier = factory.SubFactory(CarrierFactory)
    tracking_number = factory.Sequence(lambda n: f"TEST{n:08d}")


class TrackingEventFactory(DjangoModelFactory):
    class Meta:
        model = TrackingEvent

    shipment = factory.SubFactory(ShipmentFactory)
    dedupe_key = factory.Sequence(lambda n: f"test-event-{n}")
    occurred_at = factory.LazyFunction(timezone.now)
    description = factory.Sequence(lambda n: f"Scan {n}")


def add_events(
    shipment: Shipment,
    count: int,
    *,
    start: datetime | None = None,
    step: timedelta = timedelta(minutes=10),
    city: str = "MEMPHIS",
    postal: str = "38118",
    **fields: Any,
) -> list[TrackingEvent]:
    """`count` in-transit scans "Scan number 0", "Scan number 1", ... at `city`, `step` apart from
    `start` (three days ago unless given), every other one with coordinates, in one INSERT. The
    shipment's event count follows, as after an ingest; its summary (status, last event) is left
    as the test made it."""
    start = start or timezone.now() - timedelta(days=3)
    events = []
    for i in range(count):
        at = start + step * i
        values: dict[str, Any] = {
            "occurred_at": at,
            "carrier_occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S"),
            "description": f"Scan number {i}",
            "city_locality": city,
            "postal_code": postal,
            "country_code": "US",
            "status_code": "IT",
            "latitude": 35.0 + i / 1000 if i % 2 == 0 else None,
            "longitude": -90.0 if i % 2 == 0 else None,
            **fields,
        }
        events.append(TrackingEventFactory.build(shipment=shipment, **values))
    created = TrackingEvent.objects.bulk_create(events)
    # The ingest records each new place for the staff search; these events skip the ingest.
    search_index.link_places(visits=[(e.shipment_id, e) for e in created])
    Shipment.objects.filter(pk=shipment.pk).update(event_count=shipment.events.count())
    shipment.refresh_from_db(fields=["event_count"])
    return created


def record_calls(now: datetime, count: int) -> None:
    """`count` GET /v1/tracking calls, one every 3 minutes back from `now`: every tenth a 429,
    every tenth but one a 500, the rest answered."""
    ApiCall.objects.bulk_create(
        ApiCall(
            at=now - timedelta(minutes=3 * i),
            method="GET",
            endpoint="/v1/tracking",
            http_status=429 if i % 10 == 0 else (500 if i % 10 == 1 else 200),
            duration_ms=100 + i,
            error_code="rate_limit_exceeded"
            if i % 10 == 0
            else ("unspecified" if i % 10 == 1 else ""),
            request_id=f"req-{i}",
        )
        for i in range(count)
    )
