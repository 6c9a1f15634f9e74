"""Identifiers people and other systems type or send: tracking numbers, label ids, carrier codes.

One rule for each, used by every entry point (staff form, public lookup, CSV import, the REST API,
webhooks, the search box and `manage.py track`), so they all accept and refuse the same things.
Errors carry a code and a translatable message; each edge words them for its own reader.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TRACKING_NUMBER_MAX = 64
LABEL_ID_MAX = 25
CARRIER_CODE_MAX = 64

_WHITESPACE = re.compile(r"\s+", re.UNICODE)
# Letters and digits, with dashes, dots and underscores inside: a leading "-", "+", "=" or "@"
# would let a spreadsheet read the number as a formula.
_TRACKING_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9\-_.]*$")
_SEPARATORS = re.compile(r"[\-.]")
_LABEL_ID = re.compile(r"^se(-[a-z0-9]+)+$")
_CARRIER_CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


class TrackingInputError(ValueError):
    """Bad input from a person, a file or another system. `code` is stable (API error codes,
    tests); `message` is for people, translated when shown."""

    def __init__(self, code: str, message: Promise | str, /, **params: Any) -> None:
        self.code = code
        self.params = params
        self._message = message
        super().__init__(code)

    @property
    def message(self) -> str:
        return str(self._message) % self.params if self.params else str(self._message)

    def __str__(self) -> str:
        return self.message


def normalize_tracking_number(value: str | None) -> str:
    """Whitespace removed (all of it, Unicode included), upper-cased."""
    return _WHITESPACE.sub("", value or "").upper()


def without_separators(number: str) -> str:
    """The number without dashes and dots ("1Z5R-8939-0357" as printed on some receipts)."""
    return _SEPARATORS.sub("", number)


def validate_tracking_number(value: str | None) -> str:
    """The normalised number, or TrackingInputError."""
    number = normalize_tracking_number(value)
    if not number:
        raise TrackingInputError("tracking_number_required", _("Enter a tracking number."))
    if len(number) > TRACKING_NUMBER_MAX:
        raise TrackingInputError(
            "tracking_number_too_long",
            _("A tracking number has at most %(max)d characters; this one has %(length)d."),
            max=TRACKING_NUMBER_MAX,
            length=len(number),
        )
    if not _TRACKING_NUMBER.match(number):
        raise TrackingInputError(
            "tracking_number_invalid",
            _(
                "A tracking number has only letters and digits (and sometimes dashes, dots or "
                "underscores between them)."
            ),
        )
    return number


def normalize_label_id(value: str | None) -> str:
    return (value or "").strip().lower()


def validate_label_id(value: str | None) -> str:
    label_id = normalize_label_id(value)
    if len(label_id) > LABEL_ID_MAX or not _LABEL_ID.match(label_id):
        raise TrackingInputError(
            "label_id_invalid",
            _("%(value)s is not a ShipEngine label id (like se-324658)."),
            value=repr(label_id[:40]),
        )
    return label_id


def normalize_carrier_code(value: str | None) -> str:
    return (value or "").strip().lower()


def is_valid_carrier_code(value: str | None) -> bool:
    """ShipEngine's carrier_code pattern (lower-case words joined by _), at most 64 characters."""
    code = value or ""
    return len(code) <= CARRIER_CODE_MAX and bool(_CARRIER_CODE.match(code))
