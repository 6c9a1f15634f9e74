"""Tolerant readers for the fields of an answer: real answers carry nulls, numbers where strings
belong, and timestamps in every form."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any


def text(value: Any) -> str:
    """A string field: null/missing -> "", numbers -> their text, anything else -> str()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value).strip()


def code(value: Any, max_length: int = 64) -> str:
    return text(value).upper()[:max_length]


def number(value: Any, low: float, high: float) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    if parsed != parsed or not (low <= parsed <= high):  # NaN or out of range
        return None
    return parsed


def integer(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp. Returns an aware datetime when the text has an offset (or Z),
    a naive one when it has none, None when it is empty or unreadable.

    Accepts `2021-09-20T19:03:00Z`, `...+02:00`, `...-0500`, `.123` up to nanoseconds, a space instead of
    `T`, and a bare date.
    """
    raw = text(value)
    if not raw:
        return None
    raw = _FRACTION.sub(r"\1", raw, count=1)
    if raw.endswith(("z", "Z")):
        raw = raw[:-1] + "+00:00"
    if _DATE_ONLY.match(raw):
        raw += "T00:00:00"
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def parse_utc(value: Any) -> datetime | None:
    """A timestamp meant to be UTC (`occurred_at`, the dates of the summary): naive means UTC."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
