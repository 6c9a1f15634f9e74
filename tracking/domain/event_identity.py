"""The identity of a tracking event across polls, webhooks and retries."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Protocol

_WHITESPACE = re.compile(r"\s+", re.UNICODE)


class Scan(Protocol):
    """Where an event happened: a shipengine.TrackEvent, or a stored TrackingEvent."""

    @property
    def city_locality(self) -> str: ...
    @property
    def state_province(self) -> str: ...
    @property
    def postal_code(self) -> str: ...
    @property
    def country_code(self) -> str: ...


class EventFacts(Scan, Protocol):
    """What the key is built from (a shipengine.TrackEvent has all of it)."""

    @property
    def occurred_at(self) -> datetime | None: ...
    @property
    def carrier_occurred_at(self) -> str: ...
    @property
    def event_code(self) -> str: ...
    @property
    def carrier_status_code(self) -> str: ...
    @property
    def description(self) -> str: ...


def _folded(value: str) -> str:
    return _WHITESPACE.sub(" ", value or "").strip().casefold()


def event_key(event: EventFacts) -> str:
    """Built from what the carrier reports about the event itself (when, what, where), not from
    fields the API fills in later (status codes, coordinates), so an enriched re-send of the same
    scan is recognised as the same event."""
    when = event.occurred_at.isoformat() if event.occurred_at else event.carrier_occurred_at
    parts = [
        when,
        _folded(event.event_code),
        _folded(event.carrier_status_code),
        _folded(event.description),
        _folded(event.city_locality),
        _folded(event.state_province),
        _folded(event.postal_code),
        _folded(event.country_code),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
