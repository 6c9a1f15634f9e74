"""Fetch from ShipEngine and store: add a package, track by label, refresh a stored one.

Every function is keyword-only and typed. The HTTP call never runs inside a database transaction
(a slow API must not hold SQLite's write lock or a PostgreSQL row lock); each answer is then
ingested in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..domain.numbers import (
    TrackingInputError,
    is_valid_carrier_code,
    normalize_carrier_code,
    normalize_tracking_number,
    validate_label_id,
    validate_tracking_number,
)
from ..models import Carrier, Shipment
from ..shipengine import (
    BadResponseError,
    NotSent,
    ShipEngineClient,
    ShipEngineError,
    TrackingInfo,
)
from . import api_client, throttling
from .ingest import IngestResult, ingest_many, ingest_tracking
from .outbox import record_created
from .refresh import record_failure

logger = logging.getLogger("shiptrack.services")

StrOrPromise = str | Promise


def _carrier_disabled(carrier: Carrier, consequence: StrOrPromise) -> TrackingInputError:
    return TrackingInputError(
        "carrier_disabled",
        _("The carrier %(name)s (%(code)s) is disabled. %(consequence)s"),
        name=carrier.name,
        code=carrier.code,
        consequence=consequence,
    )


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
        raise _carrier_disabled(carrier, _("New packages cannot be added for it."))
    client = client or api_client.get_client(interactive=interactive)
    try:
        info = _same_parcel(client.get_tracking(carrier.code, number), number)
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


def _same_parcel(info: TrackingInfo, number: str) -> TrackingInfo:
    """The answer, unless it is about another parcel (after normalising spaces and case): then a
    BadResponseError, so that nothing is stored under the number that was asked for."""
    answered = normalize_tracking_number(info.tracking_number)
    if answered and answered != number:
        raise BadResponseError(
            f"ShipEngine answered for another parcel ({answered[:64]}) than the one asked for"
        )
    return info


def _label(client: ShipEngineClient, label_id: str) -> tuple[str, str]:
    """The label's tracking number and carrier code (GET /v1/labels/{id}), checked like any
    number and carrier code typed in: an answer that is neither is refused, not stored."""
    label = client.get_label(label_id)
    try:
        number = validate_tracking_number(label.tracking_number)
    except TrackingInputError as exc:
        raise BadResponseError(f"The label's tracking number is unusable: {exc.message}") from None
    if not is_valid_carrier_code(label.carrier_code):
        raise BadResponseError("The label's carrier_code is not a carrier code")
    return number, label.carrier_code


def track_label(*, label_id: str, client: ShipEngineClient | None = None) -> Shipment:
    """Track by ShipEngine label id: GET /v1/labels/{label_id} names the carrier and the number
    (the label's track answer may not carry a carrier_code), then /v1/labels/{id}/track."""
    label_id = validate_label_id(label_id)
    client = client or api_client.get_client()
    existing = Shipment.objects.select_related("carrier").filter(label_id=label_id).first()
    try:
        if existing is None:
            number, carrier_code = _label(client, label_id)
        else:
            number, carrier_code = existing.tracking_number, existing.carrier.code
        info = _same_parcel(client.get_label_tracking(label_id), number)
    except ShipEngineError as exc:
        if existing is not None and not isinstance(exc, NotSent):
            record_failure(shipment_id=existing.pk, error=exc)
        raise
    with transaction.atomic():
        if existing is not None:
            shipment = existing
        else:
            carrier, _created = Carrier.objects.get_or_create(
                code=carrier_code,
                defaults={"name": carrier_code.replace("_", " ").title()},
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
    """Poll one stored shipment. On failure the error is recorded and re-raised. A disabled
    carrier's shipments are not refreshed (TrackingInputError "carrier_disabled"): the staff
    page, the admin, the API and the workers all refuse it here."""
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    info = fetch_answer(
        shipment=shipment, client=client or api_client.get_client(interactive=interactive)
    )
    try:
        return ingest_tracking(shipment_id=shipment.pk, info=info)
    except (DatabaseError, ValueError, OverflowError) as exc:
        # Something the client let through that the database refuses: a recorded failure with
        # back-off (the page says so), never a 500 or a task that fails again every minute.
        error = _unstorable(exc)
        record_failure(shipment_id=shipment.pk, error=error)
        raise error from exc


def fetch_answer(*, shipment: Shipment, client: ShipEngineClient) -> TrackingInfo:
    """The API's answer for a stored shipment (its carrier loaded), not yet stored. A failure is
    recorded on the shipment (unless nothing was sent) and re-raised."""
    if not shipment.carrier.is_active:
        raise _carrier_disabled(shipment.carrier, _("Its packages are no longer refreshed."))
    try:
        if shipment.label_id:
            info = client.get_label_tracking(shipment.label_id)
        else:
            info = client.get_tracking(shipment.carrier.code, shipment.tracking_number)
        return _same_parcel(info, shipment.tracking_number)
    except ShipEngineError as exc:
        if not isinstance(exc, NotSent):  # nothing was asked: nothing about it failed
            record_failure(shipment_id=shipment.pk, error=exc)
        raise


def store_answers(
    *,
    answers: list[tuple[int, TrackingInfo]],
    on_stored: Callable[[list[int]], object] = lambda ids: None,
) -> list[IngestResult | BadResponseError]:
    """Store answers a worker fetched, in one transaction (one commit and one outbox dispatch
    for the lot, where one per answer cost 8-10 ms each); `on_stored(ids)` runs inside it, so
    what was served leaves the queue with its answers. When the batch fails (a value the
    database refuses, a shipment deleted meanwhile) each answer is stored on its own, and only
    the bad one fails: recorded on its shipment with back-off, returned as its error."""
    try:
        with transaction.atomic():
            results: list[IngestResult | BadResponseError] = list(ingest_many(answers=answers))
            on_stored([sid for sid, _info in answers])
        return results
    except Exception:  # each answer is tried again on its own below
        logger.info("a batch of %s answers failed; storing them one by one", len(answers))
    results = []
    for shipment_id, info in answers:
        try:
            with transaction.atomic():
                results.append(ingest_tracking(shipment_id=shipment_id, info=info))
                on_stored([shipment_id])
        except Shipment.DoesNotExist:
            results.append(BadResponseError("The shipment was deleted meanwhile"))
        except Exception as exc:  # a bug or a refused value: recorded, never lost silently
            error = _unstorable(exc)
            record_failure(shipment_id=shipment_id, error=error)
            results.append(error)
    return results


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
