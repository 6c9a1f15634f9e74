"""The client's address, for per-address limits on public pages."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from ..services import throttling


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the header named by PUBLIC_CLIENT_IP_HEADER when a trusted proxy sets it
    (its left-most value). IPv6 clients are grouped by /64, since one subscriber usually holds a
    whole /64."""
    header = settings.PUBLIC_CLIENT_IP_HEADER
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
    return throttling.keyed(f"{scope}:{client_address(request)}")
