"""The carriers as pages name them: the active ones for the public lookup's carrier menu, and
every carrier's name by code.

Cached (settings.CACHES) because every lookup page shows them; services/carriers.py clears the
cache whenever a carrier is enabled, disabled or added, so a change shows at once.
"""

from __future__ import annotations

from django.core.cache import cache

from ..models import Carrier

_CACHE_KEY = "shiptrack:active-carrier-choices"
_NAMES_KEY = "shiptrack:carrier-names"
_CACHE_SECONDS = 300


def active_carrier_choices() -> list[tuple[str, str]]:
    choices = cache.get(_CACHE_KEY)
    if choices is None:
        choices = list(Carrier.objects.active().order_by("name").values_list("code", "name"))
        cache.set(_CACHE_KEY, choices, _CACHE_SECONDS)
    return list(choices)


def carrier_names() -> dict[str, str]:
    """{code: name} of every carrier (the name of the carrier that carries a parcel)."""
    names = cache.get(_NAMES_KEY)
    if names is None:
        names = dict(Carrier.objects.values_list("code", "name"))
        cache.set(_NAMES_KEY, names, _CACHE_SECONDS)
    return dict(names)


def forget_carrier_choices() -> None:
    cache.delete_many([_CACHE_KEY, _NAMES_KEY])
