"""Tolerant readers for the fields of an answer: real answers carry nulls, numbers where strings
belong, and timestamps in every form. Hostile ones carry worse (400-digit numbers, year 9999 with
an offset, NUL bytes, megabyte strings, nesting thousands deep): every reader here returns a value
the database and the pages can hold, or None, and never raises for what the text says."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

#: Longest text kept from one field (the model's columns cut further; TextFields stop here).
MAX_TEXT = 10_000
#: Deeper answers are refused as unreadable (real ones are 4 levels deep).
MAX_DEPTH = 32
#: The range of a BIGINT column (PostgreSQL and SQLite alike).
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
#: Years a real tracking event can have; anything else is a carrier's placeholder or an attack.
FIRST_YEAR, LAST_YEAR = 1970, 2999


class TooDeep(ValueError):
    """The answer nests deeper than MAX_DEPTH."""


def clean_text(value: str, max_length: int = MAX_TEXT) -> str:
    """NUL bytes removed (PostgreSQL text cannot hold them), at most `max_length` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:max_length]


def text(value: Any, max_length: int = MAX_TEXT) -> str:
    """A string field: null/missing -> "", numbers -> their text, anything else -> str()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and abs(value) > 10**50:
        return ""  # a number that long is no identifier (and str() of a huge int is slow)
    if isinstance(value, (dict, list)):
        try:
            value = json.dumps(value, sort_keys=True)
        except (RecursionError, ValueError, TypeError):
            return ""
    return clean_text(str(value).strip(), max_length)


def code(value: Any, max_length: int = 64) -> str:
    return text(value, max_length).upper()


def number(value: Any, low: float, high: float) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        parsed = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int of 400 digits
        return None
    if not math.isfinite(parsed) or not (low <= parsed <= high):
        return None
    return parsed


def integer(value: Any, low: int = BIGINT_MIN, high: int = BIGINT_MAX) -> int | None:
    """An integer within [low, high] (default: what a BIGINT holds), else None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    raw = str(value).strip() if not isinstance(value, int) else value
    if isinstance(raw, str) and len(raw) > 25:
        return None
    try:
        parsed = int(raw)
    except ValueError:
        return None
    return parsed if low <= parsed <= high else None


_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp. Returns an aware datetime when the text has an offset (or Z),
    a naive one when it has none, None when it is empty, unreadable or outside the years
    FIRST_YEAR..LAST_YEAR.

    Accepts `2021-09-20T19:03:00Z`, `...+02:00`, `...-0500`, `.123` up to nanoseconds, a space instead of
    `T`, and a bare date.
    """
    raw = text(value, 64)
    if not raw:
        return None
    raw = _FRACTION.sub(r"\1", raw, count=1)
    if raw.endswith(("z", "Z")):
        raw = raw[:-1] + "+00:00"
    if _DATE_ONLY.match(raw):
        raw += "T00:00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return None
    return parsed


def parse_utc(value: Any) -> datetime | None:
    """A timestamp meant to be UTC (`occurred_at`, the dates of the summary): naive means UTC."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def sanitized(data: Any, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of decoded JSON that any database can store: NUL bytes removed from every string
    and key, strings cut to MAX_TEXT, numbers out of the float range dropped (None). Raises
    TooDeep past `max_depth` levels. Iterative, so no depth can exhaust Python's stack."""
    root: list[Any] = [None]
    # (source, target container, key in target, depth)
    stack: list[tuple[Any, Any, Any, int]] = [(data, root, 0, 0)]
    while stack:
        value, target, key, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= max_depth:
                raise TooDeep(f"the answer is nested more than {max_depth} levels deep")
            copy: dict[str, Any] = {}
            target[key] = copy
            for k, v in value.items():
                name = clean_text(str(k), 200)
                copy[name] = None
                stack.append((v, copy, name, depth + 1))
        elif isinstance(value, list):
            if depth >= max_depth:
                raise TooDeep(f"the answer is nested more than {max_depth} levels deep")
            items: list[Any] = [None] * len(value)
            target[key] = items
            for i, v in enumerate(value):
                stack.append((v, items, i, depth + 1))
        elif isinstance(value, str):
            target[key] = clean_text(value)
        elif isinstance(value, bool) or value is None:
            target[key] = value
        elif isinstance(value, int):
            target[key] = value if BIGINT_MIN <= value <= BIGINT_MAX else None
        elif isinstance(value, float):
            target[key] = value if math.isfinite(value) else None
        else:
            target[key] = text(value)
    return root[0]
