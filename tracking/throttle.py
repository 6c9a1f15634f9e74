"""Fixed-window rate limits counted in the database, so every web process shares them.

    result = throttle.hit(client_key(request), limit=10, window_seconds=60)
    if not result.allowed: ... 429, Retry-After: result.retry_after

One row per (key, window): an atomic `UPDATE ... SET hits = hits + 1` and, the first time in a
window, an INSERT (a concurrent INSERT of the same row loses to the unique constraint and retries
the UPDATE). Rows of finished windows are deleted now and then. Keys are HMACs of the client
address, so the table holds no addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest

from .models import LookupThrottle

# Windows older than this are deleted (on about 1 in 50 new windows): long enough for any limit.
_KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ThrottleResult:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the window ends


def _key(raw: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the header named by PUBLIC_CLIENT_IP_HEADER when a
    trusted proxy sets it (its left-most value). IPv6 clients are grouped by /64, since one
    subscriber usually holds a whole /64."""
    header = getattr(settings, "PUBLIC_CLIENT_IP_HEADER", "")
    raw = ""
    if header:
        raw = request.META.get(header, "").split(",")[0].strip()
    raw = raw or request.META.get("REMOTE_ADDR", "") or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_key(request: HttpRequest, scope: str = "lookup") -> str:
    return _key(f"{scope}:{client_address(request)}")


def shared_key(scope: str, value: str) -> str:
    return _key(f"{scope}:{value}")


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
        if random.random() < 0.02:  # housekeeping odds, not security
            LookupThrottle.objects.filter(window__lt=window - _KEEP_SECONDS).delete()
        return 1
    return 1


def reset() -> None:
    """Forget every counter (tests, or after changing the limits)."""
    LookupThrottle.objects.all().delete()
