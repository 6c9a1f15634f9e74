"""The client's address, for per-address limits on public pages (and the login lockout).

Behind a reverse proxy REMOTE_ADDR is the proxy. PUBLIC_CLIENT_IP_HEADER names the header the
proxies fill (e.g. HTTP_X_FORWARDED_FOR). Each proxy *appends* the address it received the request
from, so everything left of the hops our own proxies wrote is whatever the client chose to send:
the client's address is counted from the right, never taken from the left.

- TRUSTED_PROXY_IPS (addresses or networks of our proxies): the request must come from one of them
  (else the header is ignored); walking the header from the right, our proxies' own entries are
  skipped and the first other address is the client.
- otherwise TRUSTED_PROXY_COUNT (default 1: one nginx in front): the client is the
  TRUSTED_PROXY_COUNT-th entry from the right.

IPv6 clients are grouped by /64 (one subscriber usually holds a whole /64). django-ipware was
considered; see docs/operations.md ("Behind a proxy") for why this is done by hand.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from ..services import throttling

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _parse(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = raw.strip().strip('"')
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    nets = _networks(tuple(settings.TRUSTED_PROXY_IPS))
    return address is not None and any(address in net for net in nets)


def client_ip(request: HttpRequest) -> str:
    """The client's address as text ("unknown" when there is none to read)."""
    remote = _parse(request.META.get("REMOTE_ADDR", "") or "")
    header = settings.PUBLIC_CLIENT_IP_HEADER
    chosen = remote
    if header and request.META.get(header):
        hops = [_parse(h) for h in str(request.META[header]).split(",")[-50:]]
        if settings.TRUSTED_PROXY_IPS:
            if _trusted(remote):
                chosen = next((h for h in reversed(hops) if h and not _trusted(h)), remote)
        else:
            count = max(1, int(settings.TRUSTED_PROXY_COUNT))
            # Fewer hops than proxies: the header is not what our proxies write; the left-most
            # one is all there is (it was still written by the proxy nearest the client).
            picked = hops[-count] if len(hops) >= count else hops[0]
            chosen = picked or remote
    return str(chosen) if chosen is not None else "unknown"


def client_address(request: HttpRequest) -> str:
    """client_ip(), with IPv6 addresses grouped by /64: the key the limits count under."""
    raw = client_ip(request)
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_key(request: HttpRequest, scope: str = "lookup") -> str:
    return throttling.keyed(f"{scope}:{client_address(request)}")


def client_ip_for_axes(request: HttpRequest | None) -> str | None:
    """django-axes (login lockout) reads the client address the same way (the address itself:
    its table stores an IP address, not a /64; None when there is none, as after force_login)."""
    if request is None:
        return None
    address = client_ip(request)
    return None if address == "unknown" else address
