"""Request and response shapes (pydantic, through django-ninja), which the OpenAPI schema shows.

Requests are strict: unknown fields are refused (a typo such as `custmer_email` must not be
dropped silently), strings have limits, and text with NUL characters or unpaired surrogates
(which no database column can hold) is refused as invalid rather than failing on the insert.
"""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..models import ChangeKind


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode (no unpaired surrogates).") from None
    return value


Text100 = Annotated[str, Field(max_length=100), AfterValidator(_storable)]
Text200 = Annotated[str, Field(max_length=200), AfterValidator(_storable)]
Text64 = Annotated[str, Field(max_length=64), AfterValidator(_storable)]
Text254 = Annotated[str, Field(max_length=254), AfterValidator(_storable)]
Text16 = Annotated[str, Field(max_length=16), AfterValidator(_storable)]
Url = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_storable)]

EventType = Literal[
    "shipment.created",
    "shipment.updated",
    "shipment.status_changed",
    "shipment.delivered",
    "shipment.exception",
]
assert set(EventType.__args__) == set(ChangeKind.values)  # type: ignore[attr-defined]


class Strict(BaseModel):
    # Plain pydantic for requests: ninja.Schema's ORM-attribute validator costs a fifth of a
    # 1,000-item bulk request and reads nothing here.
    model_config = ConfigDict(extra="forbid")


# --- Errors -----------------------------------------------------------------------------------
class ErrorItem(Schema):
    code: str = Field(description="Stable, for programs: required, too_long, carrier_unknown, ...")
    message: str = Field(description="For people.")
    field: str | None = Field(None, description="The request field it is about, if one.")


class ErrorOut(Schema):
    errors: list[ErrorItem]


# --- Shipments --------------------------------------------------------------------------------
class ShipmentIn(Strict):
    tracking_number: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_storable)]
    carrier_code: Text64 | None = Field(
        None,
        description="ShipEngine carrier code (ups, fedex, usps, ...). Optional when the number's "
        "format names the carrier for certain; required otherwise.",
    )
    reference: Text100 | None = Field(None, description="Your order number.")
    customer_name: Text200 | None = None
    customer_email: Text254 | None = None
    customer_postcode: Text16 | None = None
    language: Text16 | None = Field(
        None, description="The customer's language for e-mails (en, de, fr, es, ...)."
    )


class BulkIn(Strict):
    shipments: list[ShipmentIn] = Field(max_length=1000, description="At most 1,000 items.")


class EventOut(Schema):
    occurred_at: str | None = Field(description="UTC, ISO 8601.")
    carrier_occurred_at: str | None = Field(description="The carrier's local time, as sent.")
    description: str
    city_locality: str
    state_province: str
    postal_code: str
    country_code: str
    company_name: str
    signer: str
    event_code: str
    carrier_detail_code: str | None
    status_code: str | None
    status_detail_code: str | None
    status_description: str | None
    status_detail_description: str | None
    carrier_status_code: str | None
    carrier_status_description: str | None
    latitude: float | None
    longitude: float | None
    proof_of_delivery_url: str | None


class PredictedDeliveryOut(Schema):
    """Our own delivery estimate: worked out by this service from the recent deliveries of the
    same carrier and lane, for parcels the carrier gave no date for or whose carrier date has
    passed. Never the carrier's promise."""

    date: str = Field(description="The most likely day (YYYY-MM-DD, UTC): the median.")
    earliest: str = Field(description="First day of the window (10th percentile).")
    latest: str = Field(description="Last day of the window (90th percentile).")
    window_share: float = Field(
        description="Share of comparable past parcels delivered within the window (0.8)."
    )
    based_on_parcels: int = Field(
        description="How many delivered parcels it rests on: those still on their way after as "
        "long as this one has been."
    )
    basis: Literal["lane", "origin", "carrier"] = Field(
        description="lane: same carrier, origin and destination region; origin: same carrier "
        "from the same region to anywhere (the destination is not known before the last mile); "
        "carrier: the carrier as a whole."
    )
    origin_region: str | None = Field(description="e.g. US-CA; null for basis carrier.")
    destination_region: str | None = Field(description="Only for basis lane.")
    reason: Literal["no_carrier_date", "carrier_date_passed"]
    computed_at: str = Field(description="UTC, ISO 8601.")
    source: Literal["our_estimate"] = Field(description="Always our_estimate.")


class ShipmentOut(Schema):
    id: int
    tracking_number: str
    carrier_code: str
    label_id: str | None
    reference: str | None
    customer_name: str | None
    customer_email: str | None
    customer_postcode: str | None
    language: str | None
    status_code: str | None = Field(
        description="ShipEngine's status code (AC, IT, DE, EX, UN, AT, NY, SP); null until the "
        "first answer."
    )
    status: str = Field(description="The status in plain words (English).")
    status_description: str | None
    status_detail_code: str | None
    status_detail_description: str | None
    carrier_status_code: str | None
    carrier_status_description: str | None
    ship_date: str | None
    estimated_delivery_date: str | None = Field(description="The carrier's estimate.")
    predicted_delivery_date: str | None = Field(
        description="Our estimate of the delivery day (YYYY-MM-DD, UTC), from the delivery "
        "history of the same carrier and lane; not the carrier's promise (that is "
        "estimated_delivery_date). Null when we have none: delivered, the carrier's date still "
        "ahead, or too little history. `predicted_delivery` gives its window and basis."
    )
    predicted_delivery: PredictedDeliveryOut | None = Field(
        description="Our estimate in full (null when predicted_delivery_date is null)."
    )
    actual_delivery_date: str | None
    signer: str | None
    exception_description: str | None
    last_event_at: str | None
    last_event_description: str | None
    last_event_location: str | None
    event_count: int
    tracking_url: str | None = Field(description="The carrier's own tracking page.")
    public_url: str = Field(description="The customer's tracking page on this site.")
    last_checked_at: str | None
    last_error_code: str | None
    created_at: str
    updated_at: str


class ShipmentDetailOut(ShipmentOut):
    events: list[EventOut] = Field(description="Newest first.")


class ShipmentPageOut(Schema):
    data: list[ShipmentOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")


class BulkItemOut(Schema):
    index: int = Field(description="The item's position in the request.")
    outcome: Literal["created", "existing", "error"]
    shipment: ShipmentOut | None
    errors: list[ErrorItem]


class BulkOut(Schema):
    created: int
    existing: int
    failed: int
    results: list[BulkItemOut]


class AcceptedOut(Schema):
    id: int
    queued: bool = Field(description="False when a fetch was already queued or running.")


# --- Webhook endpoints ------------------------------------------------------------------------
class WebhookEndpointIn(Strict):
    url: Url = Field(description="https URL that receives POSTs.")
    event_types: list[EventType] = Field(min_length=1, max_length=5)
    description: Text200 | None = None


class WebhookEndpointOut(Schema):
    id: int
    url: str
    event_types: list[str]
    description: str | None
    is_active: bool
    disabled_reason: str | None
    created_at: str


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(
        description="The signing secret (whsec_...). Shown only now: store it to verify signatures."
    )


class WebhookEndpointListOut(Schema):
    data: list[WebhookEndpointOut]
