"""A stored shipment, shaped like the API's tracking answer (`track --json`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..models import Shipment, TrackingEvent


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _or_none(value: str) -> str | None:
    return value or None


def event_as_api_dict(event: TrackingEvent) -> dict[str, Any]:
    return {
        "occurred_at": _utc(event.occurred_at),
        "carrier_occurred_at": _or_none(event.carrier_occurred_at),
        "description": event.description,
        "city_locality": event.city_locality,
        "state_province": event.state_province,
        "postal_code": event.postal_code,
        "country_code": event.country_code,
        "company_name": event.company_name,
        "signer": event.signer,
        "event_code": event.event_code,
        "carrier_detail_code": _or_none(event.carrier_detail_code),
        "status_code": _or_none(event.status_code),
        "status_detail_code": _or_none(event.status_detail_code),
        "status_description": _or_none(event.status_description),
        "status_detail_description": _or_none(event.status_detail_description),
        "carrier_status_code": _or_none(event.carrier_status_code),
        "carrier_status_description": _or_none(event.carrier_status_description),
        "latitude": event.latitude,
        "longitude": event.longitude,
        "proof_of_delivery_url": _or_none(event.proof_of_delivery_url),
    }


def shipment_as_api_dict(shipment: Shipment, events: Iterable[TrackingEvent]) -> dict[str, Any]:
    """Summary fields and `events` (pass them newest first), times in UTC ISO 8601."""
    return {
        "tracking_number": shipment.tracking_number,
        "tracking_url": _or_none(shipment.carrier_link),
        "status_code": _or_none(shipment.status_code),
        "status_detail_code": _or_none(shipment.status_detail_code),
        "status_detail_description": _or_none(shipment.status_detail_description),
        "carrier_code": shipment.api_carrier_code or shipment.carrier.code,
        "carrier_id": shipment.api_carrier_id,
        "carrier_detail_code": _or_none(shipment.carrier_detail_code),
        "status_description": _or_none(shipment.status_description),
        "carrier_status_code": _or_none(shipment.carrier_status_code),
        "carrier_status_description": _or_none(shipment.carrier_status_description),
        "ship_date": _utc(shipment.ship_date),
        "estimated_delivery_date": _utc(shipment.estimated_delivery_date),
        "actual_delivery_date": _utc(shipment.actual_delivery_date),
        "exception_description": _or_none(shipment.exception_description),
        "events": [event_as_api_dict(e) for e in events],
    }
