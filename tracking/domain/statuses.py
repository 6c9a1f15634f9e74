"""Tracking status codes: what each means, and the one name people read for it.

The API's codes (seed table) and its own descriptions of them; the sets the rest of the program
asks about (final, needs attention); the CSS class that colours a status everywhere (badge, chip,
milestone, marker, chart); and the single vocabulary every page, chip, CSV and e-mail uses
(`words()`), translated per language. Codes not listed here are stored as sent and shown with the
API's own description.
"""

from __future__ import annotations

import re
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Status(StrEnum):
    ACCEPTED = "AC"
    IN_TRANSIT = "IT"
    DELIVERED = "DE"
    EXCEPTION = "EX"
    UNKNOWN = "UN"
    DELIVERY_ATTEMPT = "AT"
    NOT_YET_IN_SYSTEM = "NY"
    DELIVERED_TO_COLLECTION = "SP"


#: A shipment the API has never answered for has no status code yet; the staff filter calls
#: that value "none" in URLs.
NEVER_FETCHED = ""
NEVER_FETCHED_PARAM = "none"

CODES: tuple[str, ...] = tuple(s.value for s in Status)

#: The API's own description of each code (the seed table), used when an answer has none.
API_DESCRIPTIONS: dict[str, str] = {
    "AC": "Accepted",
    "IT": "In Transit",
    "DE": "Delivered",
    "EX": "Exception",
    "UN": "Unknown",
    "AT": "Delivery Attempt",
    "NY": "Not Yet In System",
    "SP": "Delivered To The Collection Location",
}

FINAL: frozenset[str] = frozenset({Status.DELIVERED, Status.DELIVERED_TO_COLLECTION})
ATTENTION: frozenset[str] = frozenset({Status.EXCEPTION, Status.DELIVERY_ATTEMPT})

#: The one name of each status, on every page and in every e-mail.
_WORDS: dict[str, Promise] = {
    "AC": _("Accepted by the carrier"),
    "IT": _("In transit"),
    "DE": _("Delivered"),
    "EX": _("Delivery problem"),
    "UN": _("Status unknown"),
    "AT": _("Delivery attempted"),
    "NY": _("Not yet with the carrier"),
    "SP": _("Ready for collection"),
    NEVER_FETCHED: _("Waiting for the first scan"),
}
OUT_FOR_DELIVERY_WORDS: Promise = _("Out for delivery")


def words(code: str, *, api_description: str = "") -> str:
    """The status in a few plain words. A code this program has never seen: the API's own
    description, else the code itself."""
    known = _WORDS.get(code)
    if known is not None:
        return str(known)
    return api_description or code


def css(code: str | None) -> str:
    """The CSS class for a status code: `status-XX` for the API's codes, `status-none` for anything
    else (a code never seen, or none), so a class name never comes from input."""
    code = (code or "").upper()
    return f"status-{code}" if code in API_DESCRIPTIONS else "status-none"


def is_final(code: str) -> bool:
    return code in FINAL


# status_detail_code values and carrier words that mean "on the van today". Detail codes change
# between API versions, so the description is checked too.
_OUT_FOR_DELIVERY_CODES = frozenset({"OUT_FOR_DELIVERY"})
_OUT_FOR_DELIVERY_TEXT = re.compile(
    r"out\s+for\s+delivery|on\s+\w+\s+vehicle\s+for\s+delivery|with\s+delivery\s+courier",
    re.IGNORECASE,
)


def is_out_for_delivery(*, status_detail_code: str, texts: tuple[str, ...]) -> bool:
    """Whether a scan (or a summary) says the parcel is on the van today."""
    if status_detail_code in _OUT_FOR_DELIVERY_CODES:
        return True
    return bool(_OUT_FOR_DELIVERY_TEXT.search(" ".join(t for t in texts if t)))


class Milestone(StrEnum):
    """The moments a customer wants to hear about ("only important updates")."""

    OUT_FOR_DELIVERY = "out_for_delivery"
    ATTEMPTED = "attempted"
    EXCEPTION = "exception"
    DELIVERED = "delivered"
    READY_FOR_COLLECTION = "ready_for_collection"


_MILESTONE_OF_STATUS: dict[str, Milestone] = {
    Status.DELIVERY_ATTEMPT: Milestone.ATTEMPTED,
    Status.EXCEPTION: Milestone.EXCEPTION,
    Status.DELIVERED: Milestone.DELIVERED,
    Status.DELIVERED_TO_COLLECTION: Milestone.READY_FOR_COLLECTION,
}
#: Milestones a parcel reaches once: later scans of the same kind are not news.
ONCE: frozenset[str] = frozenset({Milestone.DELIVERED, Milestone.READY_FOR_COLLECTION})


def milestone_of(*, status_code: str, out_for_delivery: bool) -> Milestone | None:
    """The milestone a status (of a scan or a shipment) stands for, if any."""
    if status_code == Status.IN_TRANSIT and out_for_delivery:
        return Milestone.OUT_FOR_DELIVERY
    return _MILESTONE_OF_STATUS.get(status_code)
