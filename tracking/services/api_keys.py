"""API keys: make one (the key is returned once and only its hash stored), find the key a
request carries, count it against the key's rate limit, revoke it.

A key looks like `stk_<8 characters>_<43 characters>`: the part before the second underscore is
the prefix the admin shows; the whole key is 256 random bits after it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ApiKey, ApiScope
from . import throttling

KEY_PREFIX = "stk_"
#: Keys longer than this are not keys (and are not hashed): a cheap bound on bad input.
KEY_MAX_LENGTH = 100
#: last_used_at is written at most this often per key.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    #: The key itself: shown once, never stored.
    raw: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in ApiScope.values]
    if unknown:
        raise ValueError(
            f"Unknown scope(s) {', '.join(unknown)}; use {', '.join(ApiScope.values)}."
        )
    if not wanted:
        raise ValueError("A key needs at least one scope.")
    return [s for s in ApiScope.values if s in wanted]


def create_key(
    *, name: str, scopes: Iterable[str], rate_limit_per_minute: int | None = None
) -> NewKey:
    """A new key; `NewKey.raw` is the only copy of the key there will ever be."""
    name = name.strip()
    if not name:
        raise ValueError("A key needs a name.")
    if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
        raise ValueError("The rate limit is at least 1 request a minute.")
    clean = _clean_scopes(scopes)
    public = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name[:100],
            prefix=f"{KEY_PREFIX}{public}",
            key_hash=hash_key(raw),
            scopes=clean,
            rate_limit_per_minute=rate_limit_per_minute,
        )
    return NewKey(api_key=key, raw=raw)


def prepare_new_key(key: ApiKey) -> str:
    """Fill a key made in the admin form (prefix and hash); returns the key to show once."""
    public = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    key.prefix = f"{KEY_PREFIX}{public}"
    key.key_hash = hash_key(raw)
    key.scopes = _clean_scopes(key.scopes or [])
    return raw


def authenticate(raw: str) -> ApiKey | None:
    """The usable key `raw` is, or None. Records the use (at most once a minute)."""
    raw = raw.strip()
    if not raw.startswith(KEY_PREFIX) or len(raw) > KEY_MAX_LENGTH:
        return None
    key = ApiKey.objects.usable().filter(key_hash=hash_key(raw)).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def count_request(key: ApiKey) -> throttling.ThrottleResult:
    """One request against the key's per-minute limit (shared by every web process)."""
    limit = key.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
    return throttling.hit(
        throttling.shared_key("api-key", str(key.pk)), limit=limit, window_seconds=60
    )


def revoke(*, key_ids: Iterable[int]) -> int:
    """Revoke keys (they stop working at once); returns how many were still usable."""
    return ApiKey.objects.usable().filter(pk__in=list(key_ids)).update(revoked_at=timezone.now())
