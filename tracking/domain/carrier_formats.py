"""Which carrier a tracking number belongs to, from its format alone.

Used by the public lookup so a customer only types the number. A format that fits one carrier
(or one family: Stamps.com labels are USPS parcels) is decided automatically; a format shared by
several carriers (12 digits: FedEx or Purolator) is narrowed by check digits where the carrier
publishes one, otherwise the customer is asked. Nothing here looks at the database, so the answer
("we know the carrier" / "please choose") says nothing about which parcels exist.

Formats, from the carriers' published label specifications:
- UPS: "1Z" + 6 shipper characters + 2 service digits + 8 digits (18 characters).
- USPS: IMpb barcodes, 22 or 26 digits starting 91-95, optionally behind "420" + ZIP (5 or 9);
  20-digit domestic numbers starting 03 or 7x; UPU S10 "AB123456789US".
- FedEx: 12 digits (Express, mod-11 check with weights 1,3,7), 15 digits (Ground), 22 digits
  starting 96 (Ground barcode).
- DHL Express: 10-digit waybills; "JJD" + 18-20 digits (piece ids).
- DHL eCommerce: "GM" + 16-18 digits.
- Canada Post: 16 digits; S10 ending CA. Purolator: 3 letters + 9 digits (and 12 digits).
- OnTrac: C or D + 14 digits. Australia Post / NZ Post: S10 ending AU / NZ.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .numbers import without_separators

# Codes stored for the same parcels: a Stamps.com label is a USPS parcel and answers as usps.
FAMILIES: dict[str, tuple[str, ...]] = {
    "usps": ("usps", "stamps_com"),
    "australia_post": ("australia_post", "australia_post_mypost_business"),
}

_S10 = re.compile(r"^[A-Z]{2}\d{9}([A-Z]{2})$")
_S10_COUNTRY = {
    "US": "usps",
    "CA": "canada_post",
    "AU": "australia_post",
    "NZ": "new_zealand_post_international",
}


def fedex_express_check(number: str) -> bool:
    body, check = number[:-1], int(number[-1])
    weights = (1, 3, 7)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(body)))
    return total % 11 % 10 == check


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    carriers: tuple[str, ...]
    # Where several carriers share a format: carrier -> check-digit test that confirms it.
    checks: tuple[tuple[str, Callable[[str], bool]], ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(re.compile(r"^1Z[0-9A-Z]{16}$"), ("ups",)),
    Rule(re.compile(r"^(420\d{5}|420\d{9})?9[1-5](\d{20}|\d{24})$"), ("usps",)),
    Rule(re.compile(r"^(03|7\d)\d{18}$"), ("usps",)),
    Rule(re.compile(r"^96\d{20}$"), ("fedex",)),
    Rule(re.compile(r"^\d{15}$"), ("fedex",)),
    Rule(
        re.compile(r"^\d{12}$"),
        ("fedex", "purolator_ca"),
        checks=(("fedex", fedex_express_check),),
    ),
    Rule(re.compile(r"^\d{10}$"), ("dhl_express",)),
    Rule(re.compile(r"^JJD\d{18,20}$"), ("dhl_express",)),
    Rule(re.compile(r"^GM\d{16,18}$"), ("dhl_global_mail",)),
    Rule(re.compile(r"^\d{16}$"), ("canada_post",)),
    Rule(re.compile(r"^[A-Z]{3}\d{9}$"), ("purolator_ca",)),
    Rule(re.compile(r"^[CD]\d{14}$"), ("ontrac",)),
)


@dataclass(frozen=True)
class Detection:
    """`carrier`: the carrier when the format decides it, else "". `codes`: the carrier codes a
    parcel with this number may be stored under. `candidates`: carriers the format fits (shown to
    the customer when asked to choose)."""

    carrier: str
    codes: tuple[str, ...]
    candidates: tuple[str, ...]
    #: The number as the format knows it (dashes and dots dropped when only that form fits).
    number: str = ""

    @property
    def is_certain(self) -> bool:
        return bool(self.carrier)


UNKNOWN = Detection(carrier="", codes=(), candidates=())


def codes_for(carrier_code: str) -> tuple[str, ...]:
    """The carrier codes to look a number up under when the customer named `carrier_code`."""
    for family in FAMILIES.values():
        if carrier_code in family:
            return family
    return (carrier_code,)


def _certain(code: str, number: str) -> Detection:
    return Detection(carrier=code, codes=codes_for(code), candidates=(code,), number=number)


def _detect(number: str) -> Detection | None:
    s10 = _S10.match(number)
    if s10:
        code = _S10_COUNTRY.get(s10.group(1))
        return _certain(code, number) if code else None
    for rule in RULES:
        if not rule.pattern.match(number):
            continue
        if len(rule.carriers) == 1:
            return _certain(rule.carriers[0], number)
        confirmed = [code for code, check in rule.checks if check(number)]
        if len(confirmed) == 1:
            return _certain(confirmed[0], number)
        return Detection(carrier="", codes=(), candidates=rule.carriers, number=number)
    return None


def detect(number: str) -> Detection:
    """The carrier of a normalised tracking number (upper-case, no spaces), if its format says.
    A number pasted with dashes or dots ("1Z5R-8939-0357-5671-27") is tried without them too."""
    found = _detect(number)
    if found is None:
        bare = without_separators(number)
        found = _detect(bare) if bare != number else None
    return found or UNKNOWN
