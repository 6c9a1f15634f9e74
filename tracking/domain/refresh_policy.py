"""When to poll a shipment next: by status, never once final, not after a long silence, later
after each failure. Pure: the caller passes the policy (from settings) and the shipment's facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .statuses import FINAL

#: Refresh states of a shipment: polled on its schedule, or given up (no news for give_up_days;
#: never due until a fetch a person asks for, or a webhook, brings news).
ACTIVE = "active"
GIVEN_UP = "given_up"


@dataclass(frozen=True)
class RefreshPolicy:
    #: Minutes between polls by status code; "" for never fetched, "*" for codes not listed.
    intervals: Mapping[str, int]
    give_up_days: int
    failure_backoff_minutes: int
    failure_backoff_max_minutes: int


def next_check_at(
    *,
    status_code: str,
    last_news: datetime | None,
    consecutive_failures: int,
    now: datetime,
    policy: RefreshPolicy,
) -> datetime | None:
    """The next poll, or None: never again (final, or no news for `give_up_days`)."""
    if status_code in FINAL:
        return None
    if last_news and now - last_news > timedelta(days=policy.give_up_days):
        return None
    minutes = policy.intervals.get(status_code, policy.intervals.get("*", 240))
    if consecutive_failures:
        backoff = policy.failure_backoff_minutes * 2 ** min(consecutive_failures - 1, 30)
        minutes = min(backoff, policy.failure_backoff_max_minutes)
    return now + timedelta(minutes=minutes)


def refresh_state(*, status_code: str, next_check: datetime | None) -> str:
    """GIVEN_UP when the policy stops polling a shipment that is not final, else ACTIVE."""
    return GIVEN_UP if next_check is None and status_code not in FINAL else ACTIVE
