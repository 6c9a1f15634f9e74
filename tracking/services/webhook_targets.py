"""Where outgoing webhooks may go, and the one way they are sent.

A shop names the URL, so the URL is untrusted: it could point at this machine, the cloud's
metadata service or the office network (server-side request forgery). Rules:

- https only; http only to localhost (or a loopback address) while DEBUG is on;
- no user:password@ in the URL, a host is required;
- every address the host resolves to must be public, unless WEBHOOK_ALLOW_PRIVATE_TARGETS (or,
  with DEBUG, loopback): private, loopback, link-local, shared, reserved and multicast ranges are
  refused, IPv4-mapped IPv6 included;
- the connection goes to the address that was checked (TLS still verifies the certificate for
  the host name), so a DNS answer that changes between check and connect cannot redirect it;
- connect and read timeouts, no retries inside the call (the delivery schedule retries), and
  redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
#: Response bytes kept for the delivery log.
KEEP_BYTES = 1024


class TargetRefused(ValueError):
    """The URL (or what its host resolves to) is not a place webhooks may go."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    #: Path and query, as sent in the request line.
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    #: The first KEEP_BYTES of the body, decoded leniently.
    body: str


def _ip_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return True
    if settings.DEBUG and ip.is_loopback:
        return True
    return ip.is_global


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_local_host(host: str) -> bool:
    ip = _literal_ip(host)
    return host in LOCAL_NAMES or (ip is not None and ip.is_loopback)


def check_url(url: str) -> Target:
    """The URL's target if its form is allowed (no DNS lookup yet), else TargetRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("Not a valid URL.") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in {"https", "http"}:
        raise TargetRefused("Webhook URLs must start with https://.")
    if not host:
        raise TargetRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Credentials in the URL are not allowed; use the signature.")
    if scheme == "http" and not (settings.DEBUG and _is_local_host(host)):
        raise TargetRefused("Webhook URLs must use https (http only to localhost with DEBUG on).")
    ip = _literal_ip(host)
    if ip is not None and not _ip_allowed(ip):
        raise TargetRefused(f"{host} is a private, loopback or reserved address.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path
    )


def resolve(target: Target) -> str:
    """The address to connect to: the host's first address, once every address it resolves to
    has passed the rules (one refused address refuses the host: it could be chosen next)."""
    literal = _literal_ip(target.host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetRefused(f"Cannot resolve {target.host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"{target.host} has no address.")
    for address in addresses:
        if not _ip_allowed(ipaddress.ip_address(address.split("%", 1)[0])):
            raise TargetRefused(
                f"{target.host} resolves to {address}, a private, loopback or reserved address."
            )
    return addresses[0]


class Sender:
    """Sends POSTs to checked addresses, keeping one connection pool per (address, host) so a
    run of deliveries to one endpoint reuses its connection. Close it when done."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._timeout = urllib3.Timeout(
            connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT
        )

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, address, target.port, target.host)
        pool = self._pools.get(key)
        if pool is None:
            if target.scheme == "https":
                context = ssl.create_default_context(cafile=certifi.where())
                pool = urllib3.HTTPSConnectionPool(
                    host=address,
                    port=target.port,
                    timeout=self._timeout,
                    retries=False,
                    maxsize=1,
                    ssl_context=context,
                    server_hostname=target.host,
                    assert_hostname=target.host,
                )
            else:
                pool = urllib3.HTTPConnectionPool(
                    host=address, port=target.port, timeout=self._timeout, retries=False, maxsize=1
                )
            self._pools[key] = pool
        return pool

    def post(self, target: Target, address: str, *, body: bytes, headers: dict[str, str]) -> Answer:
        """One POST; raises urllib3/OS errors for a failure to get any answer."""
        pool = self._pool(target, address)
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        try:
            data = response.read(KEEP_BYTES)
        finally:
            # Drain a short, known remainder so the connection can be reused; otherwise drop
            # the connection rather than read an unbounded body.
            remaining = response.length_remaining
            if remaining is not None and remaining <= 65536:
                response.drain_conn()
            else:
                response.close()
            response.release_conn()
        return Answer(status=response.status, body=data.decode("utf-8", "replace"))

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
