"""/api/v1/shipments: register (one or 1,000 at once), list, read, refresh.

Nothing here calls ShipEngine: a new shipment is stored at once and its first fetch is queued
(tasks.py), so a request takes milliseconds whatever the API is doing. Its status stays null
until the fetch has run (a `shipment.updated` webhook says when).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Header, Path, Query, Router
from pydantic import ValidationError as PydanticValidationError

from .. import tasks
from ..domain.statuses import NEVER_FETCHED, NEVER_FETCHED_PARAM
from ..models import Shipment
from ..presentation.api_resources import (
    EVENT_FIELDS,
    public_path,
    shipment_detail,
    shipment_resource,
)
from ..queries import api_shipments
from ..services import registration
from . import idempotent
from .auth import READ, WRITE
from .errors import ApiError, error, json_response, only_query, problem, validation_errors
from .schemas import (
    AcceptedOut,
    BulkOut,
    ErrorOut,
    ShipmentDetailOut,
    ShipmentIn,
    ShipmentOut,
    ShipmentPageOut,
)

router = Router(tags=["shipments"])

BULK_MAX = 1000
PAGE_DEFAULT = 50
PAGE_MAX = 100
ID_MAX = 2**63 - 1
LIST_PARAMETERS = (
    "status",
    "carrier",
    "reference",
    "updated_since",
    "needs_attention",
    "cursor",
    "limit",
)
ShipmentId = Annotated[int, Path(ge=1, le=ID_MAX, description="The shipment's id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Send the same key to retry safely: the first answer is returned again.",
    ),
]


def errors_for(*statuses: int) -> dict[int, Any]:
    return dict.fromkeys(statuses, ErrorOut)


def public_url(request: HttpRequest, shipment: Shipment) -> str:
    # SITE_URL, not the request's host: the address customers are given is the same whichever
    # host name or internal address the shop's system called the API on.
    return settings.SITE_URL.rstrip("/") + public_path(shipment)


def _resource(request: HttpRequest, shipment: Shipment) -> dict[str, Any]:
    return shipment_resource(shipment, public_url=public_url(request, shipment))


def _resources(request: HttpRequest, shipments: list[Shipment]) -> list[dict[str, Any]]:
    """Many at once: the public URL is built once and the token put in (a reverse() and an
    absolute-URI build per row cost a fifth of a 1,000-item bulk answer)."""
    if not shipments:
        return []
    template = public_url(request, shipments[0]).replace(shipments[0].public_token, "{token}")
    return [
        shipment_resource(s, public_url=template.replace("{token}", s.public_token))
        for s in shipments
    ]


def _input(item: ShipmentIn) -> registration.ShipmentInput:
    return registration.ShipmentInput(
        tracking_number=item.tracking_number,
        carrier_code=item.carrier_code or "",
        reference=item.reference or "",
        customer_name=item.customer_name or "",
        customer_email=item.customer_email or "",
        customer_postcode=item.customer_postcode or "",
        language=item.language or "",
    )


def _registration_error(exc: registration.RegistrationError) -> dict[str, Any]:
    return error(exc.code, exc.message, exc.field)


def _register(items: list[registration.ShipmentInput]) -> registration.RegistrationReport:
    report = registration.register_shipments(items=items)
    tasks.enqueue_fetches(report.to_fetch)
    return report


@router.post(
    "/shipments",
    auth=WRITE,
    response={200: ShipmentOut, 201: ShipmentOut, **errors_for(400, 401, 403, 409, 413, 422, 429)},
    summary="Register a shipment",
    description="201 with the new shipment, 200 with the stored one when the carrier and "
    "number are known already (empty details are filled in, never overwritten). Its first "
    "fetch is queued; `status_code` is null until it has run.",
)
def create_shipment(
    request: HttpRequest, payload: ShipmentIn, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    only_query(request)

    def run() -> HttpResponse:
        report = _register([_input(payload)])
        outcome = report.outcomes[0]
        if outcome.error is not None:
            return problem(422, [_registration_error(outcome.error)])
        assert outcome.shipment_id is not None
        shipment = Shipment.objects.select_related("carrier", "delivery_estimate").get(
            pk=outcome.shipment_id
        )
        return json_response(201 if outcome.created else 200, _resource(request, shipment))

    return idempotent.run(request, idempotency_key, run)


def _parse_bulk(request: HttpRequest) -> list[Any]:
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "wrong_type", "The body must be an object.", field=None)
    unknown = sorted(set(body) - {"shipments"})
    if unknown:
        raise ApiError(422, "unknown_field", "Unknown field.", field=str(unknown[0])[:100])
    items = body.get("shipments")
    if not isinstance(items, list):
        raise ApiError(
            422, "required", "Send the items as a list in `shipments`.", field="shipments"
        )
    if not items:
        raise ApiError(422, "too_short", "Send at least one item.", field="shipments")
    if len(items) > BULK_MAX:
        raise ApiError(
            422,
            "too_many_items",
            f"At most {BULK_MAX} items per request; this one has {len(items)}.",
            field="shipments",
        )
    return items


@router.post(
    "/shipments/bulk",
    auth=WRITE,
    response={200: BulkOut, **errors_for(400, 401, 403, 409, 413, 422, 429)},
    summary="Register up to 1,000 shipments",
    description="One result per item, in order: created, existing or error (with its reasons). "
    "Each item stands alone: a bad item never stops the others.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkIn"}}},
        }
    },
)
def bulk_create(request: HttpRequest, idempotency_key: IdempotencyKey = None) -> HttpResponse:
    only_query(request)

    def run() -> HttpResponse:
        raw_items = _parse_bulk(request)
        parsed: dict[int, registration.ShipmentInput] = {}
        results: list[dict[str, Any]] = [{} for _ in raw_items]
        for index, raw in enumerate(raw_items):
            try:
                parsed[index] = _input(ShipmentIn.model_validate(raw))
            except PydanticValidationError as exc:
                errors = validation_errors(exc.errors(include_input=False))
                results[index] = _bulk_error(index, errors)
        order = list(parsed)
        report = _register([parsed[i] for i in order])
        ids = [o.shipment_id for o in report.outcomes if o.shipment_id is not None]
        found = list(
            Shipment.objects.select_related("carrier", "delivery_estimate").filter(pk__in=ids)
        )
        resources = dict(zip((s.pk for s in found), _resources(request, found), strict=True))
        for index, outcome in zip(order, report.outcomes, strict=True):
            if outcome.error is not None:
                results[index] = _bulk_error(index, [_registration_error(outcome.error)])
                continue
            assert outcome.shipment_id is not None
            results[index] = {
                "index": index,
                "outcome": "created" if outcome.created else "existing",
                "shipment": resources[outcome.shipment_id],
                "errors": [],
            }
        counts = {"created": 0, "existing": 0, "error": 0}
        for result in results:
            counts[result["outcome"]] += 1
        return json_response(
            200,
            {
                "created": counts["created"],
                "existing": counts["existing"],
                "failed": counts["error"],
                "results": results,
            },
        )

    return idempotent.run(request, idempotency_key, run)


def _bulk_error(index: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"index": index, "outcome": "error", "shipment": None, "errors": errors}


def _encode_cursor(after: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _sep, value = raw.partition(":")
        after = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        after = 0
        prefix = ""
    if prefix != "after" or not 1 <= after <= ID_MAX:
        raise ApiError(400, "invalid_cursor", "Not a cursor this API gave out.", field="cursor")
    return after


def _since(value: str | None) -> datetime | None:
    """An ISO 8601 time (a plain number is not one, although pydantic would take it)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        raise ApiError(
            422,
            "wrong_type",
            "Not an ISO 8601 time (like 2026-12-01T08:00:00Z).",
            field="updated_since",
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        # In UTC here, where a time at the very edge of the calendar fails (9999-12-31T23:00-05:00
        # is in the year 10000), rather than in the database driver.
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ApiError(
            422, "out_of_range", "The time is outside the calendar in UTC.", field="updated_since"
        ) from None


def _codes(value: str | None, field: str) -> list[str]:
    codes = [part.strip() for part in (value or "").split(",") if part.strip()]
    for code in codes:
        if "\x00" in code:
            raise ApiError(422, "invalid", "Text may not contain NUL characters.", field=field)
    return codes


def _carrier_ids(value: str | None) -> list[int]:
    codes = [c.lower() for c in _codes(value, "carrier")]
    if not codes:
        return []
    known = api_shipments.carrier_ids(codes)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ApiError(
            422, "carrier_unknown", f"Unknown carrier code {unknown[0][:64]!r}.", field="carrier"
        )
    return list(known.values())


def _statuses(value: str | None) -> list[str]:
    codes = []
    for code in _codes(value, "status"):
        code = NEVER_FETCHED if code.lower() == NEVER_FETCHED_PARAM else code.upper()
        if not api_shipments.known_status(code):
            raise ApiError(
                422,
                "not_allowed",
                "Unknown status; use AC, IT, DE, EX, UN, AT, NY, SP or none (never fetched).",
                field="status",
            )
        codes.append(code)
    return codes


@router.get(
    "/shipments",
    auth=READ,
    response={200: ShipmentPageOut, **errors_for(400, 401, 403, 422, 429)},
    summary="List shipments, newest first",
    description="Cursor pagination: pass `next_cursor` as `cursor` for the next page. Shipments "
    "added meanwhile never shift a page. Filters combine with AND.",
)
def list_shipments(
    request: HttpRequest,
    status: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Status codes, comma-separated (IT,EX); none: never fetched.",
        ),
    ] = None,
    carrier: Annotated[
        str | None,
        Query(min_length=1, max_length=300, description="Carrier codes, comma-separated."),
    ] = None,
    reference: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Exact order reference.")
    ] = None,
    updated_since: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            description="Changed at or after this time (ISO 8601; UTC when no offset).",
            format="date-time",
        ),
    ] = None,
    needs_attention: Annotated[
        bool | None,
        Query(description="Exceptions, failed attempts, no news for days, failing refreshes."),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="`next_cursor` of the page before."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
) -> HttpResponse:
    only_query(request, *LIST_PARAMETERS)
    for name in LIST_PARAMETERS:
        # django-ninja reads `?reference=` as no parameter at all; an empty filter is a mistake.
        if request.GET.get(name) == "":
            raise ApiError(
                422, "too_short", "Leave the parameter out rather than empty.", field=name
            )
    if reference is not None and "\x00" in reference:
        raise ApiError(422, "invalid", "Text may not contain NUL characters.", field="reference")
    filters = api_shipments.ShipmentFilters(
        statuses=_statuses(status),
        carrier_ids=_carrier_ids(carrier),
        reference=(reference or "").strip(),
        updated_since=_since(updated_since),
        needs_attention=needs_attention,
    )
    page = api_shipments.shipment_page(
        filters, after=_decode_cursor(cursor) if cursor is not None else None, limit=limit
    )
    return json_response(
        200,
        {
            "data": _resources(request, page.shipments),
            "next_cursor": _encode_cursor(page.next_after) if page.next_after else None,
        },
    )


@router.get(
    "/shipments/{shipment_id}",
    auth=READ,
    response={200: ShipmentDetailOut, **errors_for(401, 403, 404, 422, 429)},
    summary="One shipment with its events (newest first)",
)
def get_shipment(request: HttpRequest, shipment_id: ShipmentId) -> HttpResponse:
    only_query(request)
    found = api_shipments.shipment_with_events(shipment_id, EVENT_FIELDS)
    if found is None:
        raise ApiError(404, "not_found", "No shipment with this id.")
    shipment, events = found
    return json_response(
        200, shipment_detail(shipment, events, public_url=public_url(request, shipment))
    )


@router.post(
    "/shipments/{shipment_id}/refresh",
    auth=WRITE,
    response={202: AcceptedOut, **errors_for(401, 403, 404, 409, 422, 429)},
    summary="Queue a fresh fetch from the carrier",
    description="202: queued (or already queued). The result arrives as a `shipment.updated` "
    "webhook, or read the shipment again.",
)
def refresh(request: HttpRequest, shipment_id: ShipmentId) -> HttpResponse:
    only_query(request)
    shipment = Shipment.objects.select_related("carrier").filter(pk=shipment_id).first()
    if shipment is None:
        raise ApiError(404, "not_found", "No shipment with this id.")
    if not shipment.carrier.is_active:
        raise ApiError(
            409, "carrier_disabled", "The carrier is disabled: its shipments are not refreshed."
        )
    return json_response(202, {"id": shipment.pk, "queued": tasks.enqueue_requested(shipment.pk)})
