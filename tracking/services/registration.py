"""Shipments registered by other systems (the REST API): stored at once, fetched by a task.

`register_shipments(items=...)` takes up to a bulk request's worth of items and answers one outcome
per item, in order: created, existing (same carrier and normalised number; blank details are
filled in, never overwritten) or an input error with its field. Each item stands alone: a bad
item never stops the others, and a good one is stored whole (row, `shipment.created` change
record and fetch claim together). Nothing here calls ShipEngine: the caller queues the fetch of
`RegistrationReport.to_fetch` (tasks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..domain import carrier_formats
from ..domain.contacts import tidy_postcode
from ..domain.numbers import TrackingInputError, normalize_carrier_code, validate_tracking_number
from ..models import Carrier, Shipment, new_public_token
from . import shipment_rows
from .outbox import record_created

#: Field limits (the model's columns); longer values are refused, never cut.
LIMITS = {"reference": 100, "customer_name": 200, "customer_email": 254, "customer_postcode": 16}
DETAILS = ("reference", "customer_name", "customer_email", "customer_postcode", "language")


class RegistrationError(TrackingInputError):
    """Bad input for one item; `field` names the item's field it is about."""

    def __init__(self, code: str, message: Any, /, *, field: str, **params: Any) -> None:
        super().__init__(code, message, **params)
        self.field = field


@dataclass(frozen=True)
class ShipmentInput:
    tracking_number: str
    carrier_code: str = ""
    reference: str = ""
    customer_name: str = ""
    customer_email: str = ""
    customer_postcode: str = ""
    language: str = ""


@dataclass(frozen=True)
class Outcome:
    shipment_id: int | None = None
    created: bool = False
    error: RegistrationError | None = None


@dataclass
class RegistrationReport:
    outcomes: list[Outcome] = field(default_factory=list)
    #: New shipments, claimed for their first fetch (queue them once this has returned).
    to_fetch: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Checked:
    carrier_id: int
    carrier_active: bool
    number: str
    #: Carrier ids a stored shipment of this number may sit under (a detected number of the
    #: usps family may be stored as stamps_com).
    lookup_carrier_ids: tuple[int, ...]
    details: dict[str, str]


def _language(value: str) -> str:
    value = value.strip().lower().replace("_", "-")
    if not value:
        return ""
    codes = [code for code, _name in settings.LANGUAGES]
    if value in codes:
        return value
    if value.split("-", 1)[0] in codes:
        return value.split("-", 1)[0]  # "de-CH" is written in "de"
    raise RegistrationError(
        "language_unsupported",
        _("Language %(value)s is not offered; use one of %(codes)s."),
        field="language",
        value=repr(value[:20]),
        codes=", ".join(codes),
    )


def _details(item: ShipmentInput) -> dict[str, str]:
    values = {
        "reference": item.reference.strip(),
        "customer_name": item.customer_name.strip(),
        "customer_email": item.customer_email.strip(),
        "customer_postcode": tidy_postcode(item.customer_postcode),
    }
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            raise RegistrationError(
                "too_long",
                _("At most %(max)d characters."),
                field=name,
                max=limit,
            )
    if values["customer_email"]:
        try:
            validate_email(values["customer_email"])
        except ValidationError:
            raise RegistrationError(
                "email_invalid", _("Not an email address."), field="customer_email"
            ) from None
    values["language"] = _language(item.language)
    return values


def _check(item: ShipmentInput, carriers: dict[str, tuple[int, bool]]) -> _Checked:
    try:
        number = validate_tracking_number(item.tracking_number)
    except TrackingInputError as exc:
        raise RegistrationError(exc.code, exc.message, field="tracking_number") from None
    code = normalize_carrier_code(item.carrier_code)
    lookup_codes: tuple[str, ...]
    if code:
        if code not in carriers:
            raise RegistrationError(
                "carrier_unknown",
                _("Unknown carrier code %(code)s."),
                field="carrier_code",
                code=repr(code[:64]),
            )
        lookup_codes = (code,)
    else:
        found = carrier_formats.detect(number)
        if not found.is_certain or found.carrier not in carriers:
            raise RegistrationError(
                "carrier_code_required",
                _("The number's format does not say the carrier: send carrier_code%(hint)s."),
                field="carrier_code",
                hint=f" (one of {', '.join(found.candidates)})" if found.candidates else "",
            )
        code, number = found.carrier, found.number or number
        lookup_codes = tuple(c for c in found.codes if c in carriers) or (code,)
    carrier_id, active = carriers[code]
    return _Checked(
        carrier_id=carrier_id,
        carrier_active=active,
        number=number,
        lookup_carrier_ids=tuple(carriers[c][0] for c in lookup_codes),
        details=_details(item),
    )


def register_shipments(*, items: Sequence[ShipmentInput]) -> RegistrationReport:
    """Store new shipments and find known ones; see the module's text."""
    carriers = {
        c.code: (c.pk, c.is_active) for c in Carrier.objects.only("pk", "code", "is_active")
    }
    report = RegistrationReport(outcomes=[Outcome()] * len(items))
    checked: dict[int, _Checked] = {}
    for index, item in enumerate(items):
        try:
            checked[index] = _check(item, carriers)
        except RegistrationError as exc:
            report.outcomes[index] = Outcome(error=exc)
    if not checked:
        return report

    with transaction.atomic():
        numbers = {c.number for c in checked.values()}
        stored = {
            (row["carrier_id"], row["tracking_number"]): row
            for row in Shipment.objects.filter(tracking_number__in=numbers).values(
                "pk", "carrier_id", "tracking_number", *DETAILS
            )
        }
        to_insert: dict[tuple[int, str], tuple[_Checked, str]] = {}
        resolved: dict[int, tuple[int, str]] = {}  # item index -> stored key
        for index, good in checked.items():
            known = next(
                (
                    (cid, good.number)
                    for cid in (good.carrier_id, *good.lookup_carrier_ids)
                    if (cid, good.number) in stored
                ),
                None,
            )
            if known is not None:
                resolved[index] = known
                continue
            key = (good.carrier_id, good.number)
            if key not in to_insert and not good.carrier_active:
                report.outcomes[index] = Outcome(
                    error=RegistrationError(
                        "carrier_disabled",
                        _("The carrier is disabled: new packages cannot be added for it."),
                        field="carrier_code",
                    )
                )
                continue
            to_insert.setdefault(key, (good, new_public_token()))
            resolved[index] = key
        created_ids: list[int] = []
        if to_insert:
            _insert(to_insert)
            for row in Shipment.objects.filter(
                tracking_number__in={n for _c, n in to_insert}
            ).values("pk", "carrier_id", "tracking_number", "public_token", *DETAILS):
                key = (row["carrier_id"], row["tracking_number"])
                if key not in to_insert:
                    continue
                stored[key] = row
                # Our own token: we made the row. Another token: someone else stored the same
                # package a moment ago (ON CONFLICT DO NOTHING kept theirs): it is existing.
                if row["public_token"] == to_insert[key][1]:
                    created_ids.append(row["pk"])
            record_created(created_ids)
        created = set(created_ids)
        claimed_created: set[int] = set()
        for index, key in resolved.items():
            row = stored[key]
            pk = row["pk"]
            is_new = pk in created and pk not in claimed_created
            claimed_created.add(pk)
            if not is_new:
                _fill_blank(row, checked[index].details)
            report.outcomes[index] = Outcome(shipment_id=pk, created=is_new)
    report.to_fetch = created_ids
    return report


def _fill_blank(row: dict[str, Any], details: dict[str, str]) -> None:
    """Details sent again for a known package fill its empty fields; they never overwrite."""
    changes = {k: v for k, v in details.items() if v and not row.get(k)}
    if changes:
        Shipment.objects.filter(pk=row["pk"]).update(**changes, updated_at=timezone.now())
        row.update(changes)


def _insert(rows: dict[tuple[int, str], tuple[_Checked, str]]) -> None:
    shipment_rows.insert_new(
        [
            {
                "carrier": carrier_id,
                "tracking_number": number,
                "public_token": token,
                **item.details,
            }
            for (carrier_id, number), (item, token) in rows.items()
        ]
    )
