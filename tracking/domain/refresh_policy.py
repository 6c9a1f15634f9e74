"""When to poll a shipment next: by status, never once final, not after a long silence, later
after each failure. Pure: the caller passes the policy (from settings) and the shipment's facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .statuses import FINAL


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
