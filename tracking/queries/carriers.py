"""The active carriers as (code, name) pairs, for the public lookup's carrier menu.

Cached (settings.CACHES) because every lookup page shows them; services/carriers.py clears the
cache whenever a carrier is enabled, disabled or added, so a change shows at once.
"""

from __future__ import annotations

from django.core.cache import cache

from ..models import Carrier

_CACHE_KEY = "shiptrack:active-carrier-choices"
_CACHE_SECONDS = 300


def active_carrier_choices() -> list[tuple[str, str]]:
    choices = cache.get(_CACHE_KEY)
    if choices is None:
        choices = list(Carrier.objects.active().order_by("name").values_list("code", "name"))
        cache.set(_CACHE_KEY, choices, _CACHE_SECONDS)
    return list(choices)


def forget_carrier_choices() -> None:
    cache.delete(_CACHE_KEY)
