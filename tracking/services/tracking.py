"""Fetch from ShipEngine and store: add a package, track by label, refresh a stored one.

Every function is keyword-only and typed. The HTTP call never runs inside a database transaction
(a slow API must not hold SQLite's write lock or a PostgreSQL row lock); each answer is then
ingested in one transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..domain.numbers import (
    TrackingInputError,
    is_valid_carrier_code,
    normalize_carrier_code,
    validate_label_id,
    validate_tracking_number,
)
from ..models import Carrier, Shipment
from ..shipengine import BadResponseError, NotSent, ShipEngineClient, ShipEngineError
from . import api_client, throttling
from .ingest import IngestResult, ingest_tracking
from .outbox import record_created
from .refresh import record_failure

logger = logging.getLogger("shiptrack.services")


def get_carrier(code: str, *, active_only: bool = False) -> Carrier:
    qs = Carrier.objects.active() if active_only else Carrier.objects.all()
    try:
        return qs.get(code=normalize_carrier_code(code))
    except Carrier.DoesNotExist:
        raise TrackingInputError(
            "carrier_unknown", _("Unknown carrier code %(code)s."), code=repr(code)
        ) from None


def track_shipment(
    *,
    carrier_code: str,
    tracking_number: str,
    reference: str = "",
    customer_name: str = "",
    customer_email: str = "",
    client: ShipEngineClient | None = None,
    interactive: bool = False,
) -> Shipment:
    """Fetch a package from the API and store it. A new package is stored only once the API has
    answered; for a known one a failure is recorded on it and nothing else changes.
    `interactive=True` from views: a short retry budget (see api_client.get_client).

    Raises TrackingInputError for bad input and ShipEngineError when the API fails."""
    number = validate_tracking_number(tracking_number)
    carrier = get_carrier(carrier_code)
    existing = Shipment.objects.filter(carrier=carrier, tracking_number=number).first()
    if existing is None and not carrier.is_active:
        # A disabled carrier takes no new packages; the ones already stored stay readable.
        raise TrackingInputError(
            "carrier_disabled",
            _("The carrier %(name)s (%(code)s) is disabled: new packages cannot be added for it."),
            name=carrier.name,
            code=carrier.code,
        )
    client = client or api_client.get_client(interactive=interactive)
    try:
        info = client.get_tracking(carrier.code, number)
    except ShipEngineError as exc:
        if existing is not None and not isinstance(exc, NotSent):
            record_failure(shipment_id=existing.pk, error=exc)
        raise
    try:
        with transaction.atomic():
            shipment, created = Shipment.objects.get_or_create(
                carrier=carrier,
                tracking_number=number,
                defaults={
                    "reference": reference[:100],
                    "customer_name": customer_name[:200],
                    "customer_email": customer_email,
                },
            )
            if created:
                record_created([shipment.pk])
            _fill_blank(
                shipment,
                reference=reference,
                customer_name=customer_name,
                customer_email=customer_email,
            )
            try:
                result = ingest_tracking(shipment_id=shipment.pk, info=info)
            except (DatabaseError, ValueError, OverflowError) as exc:
                # Raised inside the block: all of it is rolled back, a new package is not stored.
                raise _unstorable(exc) from exc
    except BadResponseError as error:
        if existing is not None:
            record_failure(shipment_id=existing.pk, error=error)
        raise
    return result.shipment


def _fill_blank(shipment: Shipment, **values: str) -> None:
    """Staff details given again for a known package fill empty fields; they never overwrite."""
    changed = [k for k, v in values.items() if v and not getattr(shipment, k)]
    for name in changed:
        setattr(shipment, name, values[name])
    if changed:
        shipment.save(update_fields=[*changed, "updated_at"])


def track_label(*, label_id: str, client: ShipEngineClient | None = None) -> Shipment:
    """Track by ShipEngine label id (GET /v1/labels/{label_id}/track)."""
    label_id = validate_label_id(label_id)
    client = client or api_client.get_client()
    existing = Shipment.objects.filter(label_id=label_id).first()
    try:
        info = client.get_label_tracking(label_id)
    except ShipEngineError as exc:
        if existing is not None and not isinstance(exc, NotSent):
            record_failure(shipment_id=existing.pk, error=exc)
        raise
    with transaction.atomic():
        if existing is not None:
            shipment = existing
        else:
            # The answer's number and code get the same checks as anything a person types: a
            # formula, a 300-character number or an odd carrier code is refused, not stored.
            if not info.tracking_number:
                raise BadResponseError("The label's tracking answer has no tracking_number")
            try:
                number = validate_tracking_number(info.tracking_number)
            except TrackingInputError as exc:
                raise BadResponseError(
                    f"The label's tracking answer has an unusable tracking_number: {exc}"
                ) from None
            if not info.carrier_code:
                raise BadResponseError("The label's tracking answer has no carrier_code")
            if not is_valid_carrier_code(info.carrier_code):
                raise BadResponseError(
                    "The label's tracking answer has an unusable carrier_code "
                    f"{info.carrier_code[:40]!r}"
                )
            carrier, _created = Carrier.objects.get_or_create(
                code=info.carrier_code,
                defaults={"name": info.carrier_code.replace("_", " ").title()},
            )
            shipment, created = Shipment.objects.get_or_create(
                carrier=carrier, tracking_number=number
            )
            if created:
                record_created([shipment.pk])
            if shipment.label_id != label_id:
                shipment.label_id = label_id
                shipment.save(update_fields=["label_id", "updated_at"])
        result = ingest_tracking(shipment_id=shipment.pk, info=info)
    return result.shipment


def _unstorable(exc: Exception) -> BadResponseError:
    logger.exception("an answer could not be stored")
    return BadResponseError(f"The answer could not be stored ({type(exc).__name__})")


def refresh_shipment(
    *, shipment_id: int, client: ShipEngineClient | None = None, interactive: bool = False
) -> IngestResult:
    """Poll one stored shipment. On failure the error is recorded and re-raised."""
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    client = client or api_client.get_client(interactive=interactive)
    try:
        if shipment.label_id:
            info = client.get_label_tracking(shipment.label_id)
        else:
            info = client.get_tracking(shipment.carrier.code, shipment.tracking_number)
    except ShipEngineError as exc:
        if not isinstance(exc, NotSent):  # nothing was asked: nothing about it failed
            record_failure(shipment_id=shipment.pk, error=exc)
        raise
    try:
        return ingest_tracking(shipment_id=shipment.pk, info=info)
    except (DatabaseError, ValueError, OverflowError) as exc:
        # Something the client let through that the database refuses: a recorded failure with
        # back-off (the page says so), never a 500 or a task that fails again every minute.
        error = _unstorable(exc)
        record_failure(shipment_id=shipment.pk, error=error)
        raise error from exc


def refresh_if_stale(*, shipment: Shipment) -> tuple[Shipment, bool]:
    """The public page's refresh on open: an undelivered shipment not checked for
    PUBLIC_STALE_MINUTES is refreshed, at most once per that interval per shipment (however many
    people open it), through the shared API rate limit. Returns the shipment to show and whether
    a refresh failed."""
    minutes = settings.PUBLIC_STALE_MINUTES
    if minutes <= 0 or shipment.is_final or not shipment.carrier.is_active:
        return shipment, False
    now = timezone.now()
    if shipment.last_checked_at and shipment.last_checked_at > now - timedelta(minutes=minutes):
        return shipment, False
    claim = throttling.hit(
        throttling.shared_key("refresh-on-open", str(shipment.pk)),
        limit=1,
        window_seconds=minutes * 60,
    )
    if not claim.allowed:
        return shipment, False
    try:
        refresh_shipment(shipment_id=shipment.pk, interactive=True)
    except ShipEngineError as exc:
        logger.info("refresh on open failed shipment=%s: %s", shipment.pk, exc.one_line())
        failed = True
    else:
        failed = False
    return Shipment.objects.select_related("carrier").get(pk=shipment.pk), failed
