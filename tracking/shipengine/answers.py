"""Typed answers: what the tracking and carrier calls return, read tolerantly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import BadResponseError, ErrorDetail
from .fields import TooDeep, code, integer, number, parse_utc, sanitized, text


@dataclass(frozen=True)
class TrackEvent:
    """One `track_event`. `carrier_occurred_at` keeps the carrier's text (usually naive local time)."""

    occurred_at: datetime | None
    carrier_occurred_at: str = ""
    description: str = ""
    city_locality: str = ""
    state_province: str = ""
    postal_code: str = ""
    country_code: str = ""
    company_name: str = ""
    signer: str = ""
    event_code: str = ""
    carrier_detail_code: str = ""
    status_code: str = ""
    status_detail_code: str = ""
    status_description: str = ""
    status_detail_description: str = ""
    carrier_status_code: str = ""
    carrier_status_description: str = ""
    latitude: float | None = None
    longitude: float | None = None
    proof_of_delivery_url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrackEvent:
        carrier_text = text(data.get("carrier_occurred_at"))
        occurred = parse_utc(data.get("occurred_at"))
        if occurred is None and carrier_text:
            # No UTC time: the carrier's own time is the best we have (better than dropping it).
            occurred = parse_utc(carrier_text)
        latitude = number(data.get("latitude"), -90, 90)
        longitude = number(data.get("longitude"), -180, 180)
        if latitude is None or longitude is None:
            latitude = longitude = None
        return cls(
            occurred_at=occurred,
            carrier_occurred_at=carrier_text,
            description=text(data.get("description")),
            city_locality=text(data.get("city_locality")),
            state_province=text(data.get("state_province")),
            postal_code=text(data.get("postal_code")),
            country_code=code(data.get("country_code"), 2),
            company_name=text(data.get("company_name")),
            signer=text(data.get("signer")),
            event_code=text(data.get("event_code")),
            carrier_detail_code=text(data.get("carrier_detail_code")),
            status_code=code(data.get("status_code"), 8),
            status_detail_code=code(data.get("status_detail_code")),
            status_description=text(data.get("status_description")),
            status_detail_description=text(data.get("status_detail_description")),
            carrier_status_code=text(data.get("carrier_status_code")),
            carrier_status_description=text(data.get("carrier_status_description")),
            latitude=latitude,
            longitude=longitude,
            proof_of_delivery_url=text(data.get("proof_of_delivery_url")),
        )


@dataclass(frozen=True)
class TrackingInfo:
    """A `tracking_information` answer. Events are sorted newest first, whatever order they came in."""

    tracking_number: str
    status_code: str
    status_description: str = ""
    status_detail_code: str = ""
    status_detail_description: str = ""
    tracking_url: str = ""
    carrier_code: str = ""
    carrier_id: int | None = None
    carrier_status_code: str = ""
    carrier_status_description: str = ""
    carrier_detail_code: str = ""
    ship_date: datetime | None = None
    estimated_delivery_date: datetime | None = None
    actual_delivery_date: datetime | None = None
    exception_description: str = ""
    events: tuple[TrackEvent, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> TrackingInfo:
        if not isinstance(data, Mapping):
            raise BadResponseError(
                f"Tracking answer is a JSON {type(data).__name__}, expected an object"
            )
        try:
            # NUL bytes out, strings and numbers cut to what a database holds, depth bounded:
            # what is stored as the raw answer can always be stored.
            data = sanitized(data)
        except TooDeep as exc:
            raise BadResponseError(f"Tracking answer is unreadable: {exc}") from None
        raw_events = data.get("events")
        if raw_events is None:
            raw_events = []
        if not isinstance(raw_events, list):
            raise BadResponseError("Tracking answer has 'events' that is not a list")
        events = [TrackEvent.from_json(e) for e in raw_events if isinstance(e, Mapping)]
        # Newest first; events without any time sink to the end, keeping their given order.
        events.sort(key=lambda e: e.occurred_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return cls(
            tracking_number=text(data.get("tracking_number")),
            status_code=code(data.get("status_code"), 8),
            status_description=text(data.get("status_description")),
            status_detail_code=code(data.get("status_detail_code")),
            status_detail_description=text(data.get("status_detail_description")),
            tracking_url=text(data.get("tracking_url")),
            carrier_code=text(data.get("carrier_code")).lower(),
            carrier_id=integer(data.get("carrier_id")),
            carrier_status_code=text(data.get("carrier_status_code")),
            carrier_status_description=text(data.get("carrier_status_description")),
            carrier_detail_code=text(data.get("carrier_detail_code")),
            ship_date=parse_utc(data.get("ship_date")),
            estimated_delivery_date=parse_utc(data.get("estimated_delivery_date")),
            actual_delivery_date=parse_utc(data.get("actual_delivery_date")),
            exception_description=text(data.get("exception_description")),
            events=tuple(events),
            raw=dict(data),
        )


@dataclass(frozen=True)
class CarrierAccount:
    """One entry of GET /v1/carriers (the fields shiptrack uses)."""

    carrier_code: str
    carrier_id: str = ""
    nickname: str = ""
    friendly_name: str = ""
    connection_status: str = ""
    disabled_by_billing_plan: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CarrierAccount:
        return cls(
            carrier_code=text(data.get("carrier_code")).lower(),
            carrier_id=text(data.get("carrier_id")),
            nickname=text(data.get("nickname")),
            friendly_name=text(data.get("friendly_name")),
            connection_status=text(data.get("connection_status")),
            disabled_by_billing_plan=bool(data.get("disabled_by_billing_plan") or False),
        )


@dataclass(frozen=True)
class CarrierList:
    """GET /v1/carriers. A 207 answer carries carriers *and* errors: both are kept."""

    carriers: tuple[CarrierAccount, ...]
    errors: tuple[ErrorDetail, ...] = ()
    http_status: int = 200
    request_id: str = ""

    @property
    def partial(self) -> bool:
        return bool(self.errors) or self.http_status == 207


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def capped_raw(raw: Mapping[str, Any], max_bytes: int) -> dict[str, Any]:
    """The raw answer to store: as it came when it fits in `max_bytes` (as JSON), else its
    summary fields with as many of its events (newest as sent first) as fit, and a note
    `_shiptrack_truncated` saying what was left out. The events themselves are stored in full
    by the ingest either way; only this copy for people to read is cut."""
    data = dict(raw)
    total = _size(data)
    if total <= max_bytes:
        return data
    events = data.pop("events", None)
    events = events if isinstance(events, list) else []
    note: dict[str, Any] = {"original_bytes": total, "events_total": len(events)}
    budget = max_bytes - _size(data) - 200
    kept: list[Any] = []
    for event in events:
        cost = _size(event) + 2
        if cost > budget:
            break
        kept.append(event)
        budget -= cost
    if budget < 0:  # even the summary is too large: keep the note alone
        return {"_shiptrack_truncated": {**note, "events_kept": 0, "summary_kept": False}}
    data["events"] = kept
    data["_shiptrack_truncated"] = {**note, "events_kept": len(kept)}
    return data


@dataclass(frozen=True)
class Label:
    """A label (GET /v1/labels/{label_id}): the fields tracking needs."""

    label_id: str
    tracking_number: str
    carrier_code: str
    carrier_id: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Label:
        if not isinstance(data, Mapping):
            raise BadResponseError(
                f"Label answer is a JSON {type(data).__name__}, expected an object"
            )
        return cls(
            label_id=text(data.get("label_id")),
            tracking_number=text(data.get("tracking_number")),
            carrier_code=text(data.get("carrier_code")).lower(),
            carrier_id=text(data.get("carrier_id")),
        )
