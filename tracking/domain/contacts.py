"""How a customer proves an order is theirs: the order number and the email or postcode stored
with it. One rule for how both sides are compared, used by the lookup and by every writer.

- Email: compared case-insensitively (the whole address, trimmed).
- Postcode: letters upper-cased, spaces, dashes and dots dropped ("sw1a 1aa" == "SW1A-1AA").
- Order number: trimmed; compared case-insensitively (shops print "ord-1001" and "ORD-1001").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORDER_MAX = 100
CONTACT_MAX = 254
POSTCODE_MAX = 16

_POSTCODE_NOISE = re.compile(r"[\s.\-]+")
#: What is left of a postcode once normalised: letters and digits (every country's postcodes are).
_POSTCODE = re.compile(r"[A-Z0-9]{2,12}")
# Control characters (CR, LF, NUL ...) never belong in an order number or a contact: they are
# how a header injection ("a@b.c\r\nBcc: x@y.z") arrives.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_postcode(value: str) -> str:
    """The comparable form of a postcode: upper case, without spaces, dashes and dots."""
    return _POSTCODE_NOISE.sub("", (value or "").upper())


def tidy_postcode(value: str) -> str:
    """A postcode as stored: trimmed, upper case, inner spaces collapsed to one ("SW1A 1AA")."""
    return " ".join((value or "").upper().split())


@dataclass(frozen=True)
class Contact:
    """What the customer typed in the contact field, read as an email or a postcode."""

    kind: str  # "email" | "postcode"
    value: str  # the comparable form: the email lower-cased, the postcode normalised


class ContactError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def read_order(value: str | None) -> str:
    """The order number as typed, trimmed; ContactError("order_required" | "order_too_long" |
    "order_invalid")."""
    text = (value or "").strip()
    if not text:
        raise ContactError("order_required")
    if len(text) > ORDER_MAX:
        raise ContactError("order_too_long")
    if _CONTROL.search(text):
        raise ContactError("order_invalid")
    return text


def read_contact(value: str | None) -> Contact:
    """An email (anything with an @) or a postcode; ContactError("contact_required" |
    "contact_too_long" | "email_invalid" | "postcode_invalid")."""
    text = (value or "").strip()
    if not text:
        raise ContactError("contact_required")
    if len(text) > CONTACT_MAX:
        raise ContactError("contact_too_long")
    if "@" in text:
        local, _, domain = text.rpartition("@")
        if (
            _CONTROL.search(text)
            or any(c.isspace() for c in text)
            or not local
            or "." not in domain
        ):
            raise ContactError("email_invalid")
        return Contact("email", text.lower())
    if _CONTROL.search(text):
        raise ContactError("postcode_invalid")
    postcode = normalise_postcode(text)
    if not _POSTCODE.fullmatch(postcode):
        raise ContactError("postcode_invalid")
    return Contact("postcode", postcode)
