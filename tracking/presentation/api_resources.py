"""A shipment as the REST API and the outgoing webhooks show it to other systems.

One shape for both, so a shop reads the same fields from `GET /api/v1/shipments/{id}` and from a
`shipment.*` webhook. Times are UTC ISO 8601 ("Z"); a field with nothing to say is null, never
"". `public_url` is the customer's tracking page (the caller makes it absolute).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import reverse

from ..domain import statuses
from ..models import Shipment
from .api_answer import or_none, utc_iso
from .estimates import api_estimate, stored_estimate


def public_path(shipment: Shipment) -> str:
    return reverse("public:track_page", args=[shipment.public_token])


def predicted_delivery_date(shipment: Shipment) -> str | None:
    """Our own estimate of the delivery day (YYYY-MM-DD, a UTC day), kept apart from the
    carrier's estimated_delivery_date: null when we have none (delivered, a carrier date still
    ahead, too little history). `predicted_delivery` beside it gives the window and basis."""
    estimate = stored_estimate(shipment)
    return estimate.predicted_on.isoformat() if estimate else None


def shipment_resource(shipment: Shipment, *, public_url: str) -> dict[str, Any]:
    """The summary of one shipment (list items, bulk results, webhook payloads)."""
    return {
        "id": shipment.pk,
        "tracking_number": shipment.tracking_number,
        "carrier_code": shipment.carrier.code,
        "label_id": or_none(shipment.label_id),
        "reference": or_none(shipment.reference),
        "customer_name": or_none(shipment.customer_name),
        "customer_email": or_none(shipment.customer_email),
        "customer_postcode": or_none(shipment.customer_postcode),
        "language": or_none(shipment.language),
        "status_code": or_none(shipment.status_code),
        "status": statuses.words(shipment.status_code, api_description=shipment.status_description),
        "status_description": or_none(shipment.status_description),
        "status_detail_code": or_none(shipment.status_detail_code),
        "status_detail_description": or_none(shipment.status_detail_description),
        "carrier_status_code": or_none(shipment.carrier_status_code),
        "carrier_status_description": or_none(shipment.carrier_status_description),
        "ship_date": utc_iso(shipment.ship_date),
        "estimated_delivery_date": utc_iso(shipment.estimated_delivery_date),
        "predicted_delivery_date": predicted_delivery_date(shipment),
        "predicted_delivery": api_estimate(shipment),
        "actual_delivery_date": utc_iso(shipment.actual_delivery_date),
        "signer": or_none(shipment.signer),
        "exception_description": or_none(shipment.exception_description),
        "last_event_at": utc_iso(shipment.last_event_at),
        "last_event_description": or_none(shipment.last_event_description),
        "last_event_location": or_none(shipment.last_event_location),
        "event_count": shipment.event_count,
        "tracking_url": or_none(shipment.carrier_link),
        "public_url": public_url,
        "last_checked_at": utc_iso(shipment.last_checked_at),
        "last_error_code": or_none(shipment.last_error_code),
        "created_at": utc_iso(shipment.created_at),
        "updated_at": utc_iso(shipment.updated_at),
    }


#: The event columns the API shows, read as plain rows (a model instance per event is most of
#: the time of a 200-event answer).
EVENT_FIELDS = (
    "occurred_at",
    "carrier_occurred_at",
    "description",
    "city_locality",
    "state_province",
    "postal_code",
    "country_code",
    "company_name",
    "signer",
    "event_code",
    "carrier_detail_code",
    "status_code",
    "status_detail_code",
    "status_description",
    "status_detail_description",
    "carrier_status_code",
    "carrier_status_description",
    "latitude",
    "longitude",
    "proof_of_delivery_url",
)
#: Text columns stored as "" when the carrier sent nothing: null in the answer.
_NULL_WHEN_EMPTY = frozenset(
    {
        "carrier_occurred_at",
        "carrier_detail_code",
        "status_code",
        "status_detail_code",
        "status_description",
        "status_detail_description",
        "carrier_status_code",
        "carrier_status_description",
        "proof_of_delivery_url",
    }
)


def event_resource(row: Mapping[str, Any]) -> dict[str, Any]:
    """Every field the carrier sent for one scan (ShipEngine's track_event names), from a row of
    EVENT_FIELDS; the same fields and values as event_as_api_dict() of `track --json`."""
    out = {}
    for name in EVENT_FIELDS:
        value = row[name]
        if name == "occurred_at":
            value = utc_iso(value)
        elif name in _NULL_WHEN_EMPTY:
            value = value or None
        out[name] = value
    return out


def shipment_detail(
    shipment: Shipment, events: Iterable[Mapping[str, Any]], *, public_url: str
) -> dict[str, Any]:
    """The summary and its events (rows of EVENT_FIELDS, newest first)."""
    return {
        **shipment_resource(shipment, public_url=public_url),
        "events": [event_resource(e) for e in events],
    }
