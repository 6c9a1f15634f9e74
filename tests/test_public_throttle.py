"""The database-backed rate limit behind the public lookup."""

import pytest
from django.test import RequestFactory

from tracking.models import LookupThrottle
from tracking.services import throttling
from tracking.web import client_address

pytestmark = pytest.mark.django_db


def test_counts_per_key_and_window():
    key = throttling.shared_key("test", "a")
    results = [throttling.hit(key, limit=2, window_seconds=60, now=1000.0) for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert [r.hits for r in results] == [1, 2, 3]
    assert results[-1].retry_after == 20  # window 960..1020
    # Another key is counted on its own; the next window starts again at 1.
    assert throttling.hit(
        throttling.shared_key("test", "b"), limit=2, window_seconds=60, now=1000.0
    ).allowed
    assert throttling.hit(key, limit=2, window_seconds=60, now=1020.0).hits == 1
    assert LookupThrottle.objects.count() == 3


def test_counters_are_shared_through_the_database():
    key = throttling.shared_key("test", "shared")
    throttling.hit(key, limit=5, window_seconds=60, now=5.0)
    # Another process would find the same row: simulate by reading it back.
    row = LookupThrottle.objects.get(key=key)
    assert row.hits == 1 and row.window == 0
    assert throttling.hit(key, limit=5, window_seconds=60, now=6.0).hits == 2


def test_client_address_uses_remote_addr_and_groups_ipv6():
    rf = RequestFactory()
    assert client_address.client_address(rf.get("/", REMOTE_ADDR="203.0.113.9")) == "203.0.113.9"
    a = client_address.client_address(rf.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1"))
    b = client_address.client_address(rf.get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::2"))
    assert a == b == "2001:db8:1:2::/64"
    # A forged X-Forwarded-For is ignored unless a proxy header is configured.
    forged = rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_address.client_address(forged) == "203.0.113.9"


def test_client_address_from_a_trusted_proxy_header(settings):
    settings.PUBLIC_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    rf = RequestFactory()
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="198.51.100.7")
    assert client_address.client_address(request) == "198.51.100.7"
    assert client_address.client_address(rf.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


def test_keys_do_not_contain_the_address():
    key = client_address.client_key(RequestFactory().get("/", REMOTE_ADDR="203.0.113.9"))
    assert "203" not in key and len(key) == 64
