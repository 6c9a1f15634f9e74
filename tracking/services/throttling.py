"""Fixed-window rate limits counted in the database, so every web process shares them.

    result = throttling.hit(client_key(request), limit=10, window_seconds=60)
    if not result.allowed: ... 429, Retry-After: result.retry_after

One row per (key, window): an atomic `UPDATE ... SET hits = hits + 1` and, the first time in a
window, an INSERT (a concurrent INSERT of the same row loses to the unique constraint and retries
the UPDATE). Rows of finished windows are deleted by housekeeping.py. Keys are HMACs of the
client address (web/client_address.py), so the table holds no addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import LookupThrottle

#: Windows older than this are deleted by housekeeping: long enough for any limit.
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ThrottleResult:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the window ends


def keyed(raw: str) -> str:
    """An HMAC of `raw` under SECRET_KEY: a counter key that reveals nothing."""
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


def shared_key(scope: str, value: str) -> str:
    return keyed(f"{scope}:{value}")


def hit(key: str, *, limit: int, window_seconds: int, now: float | None = None) -> ThrottleResult:
    """Count one hit for `key` and say whether it is within `limit` hits per window."""
    now = time.time() if now is None else now
    window_seconds = max(1, int(window_seconds))
    window = int(now // window_seconds) * window_seconds
    retry_after = max(1, int(window + window_seconds - now))
    hits = _increment(key, window)
    return ThrottleResult(allowed=hits <= limit, hits=hits, limit=limit, retry_after=retry_after)


def _increment(key: str, window: int) -> int:
    for _attempt in range(3):
        with transaction.atomic():
            updated = LookupThrottle.objects.filter(key=key, window=window).update(
                hits=F("hits") + 1
            )
            if updated:
                return (
                    LookupThrottle.objects.filter(key=key, window=window)
                    .values_list("hits", flat=True)
                    .first()
                    or 1
                )
        try:
            with transaction.atomic():
                LookupThrottle.objects.create(key=key, window=window, hits=1)
        except IntegrityError:
            continue  # another process created it first: count on its row
        return 1
    return 1


def reset() -> None:
    """Forget every counter (tests, or after changing the limits)."""
    LookupThrottle.objects.all().delete()
