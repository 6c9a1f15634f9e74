"""The public tracking page at scale (web/public/views.py): conditional GET (ETag, Last-Modified,
304 without a body), a cached rendering keyed on the shipment's state with the per-request parts
(CSP nonce, CSRF token, "how long ago") filled in for each response."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.html import parse
from tracking import services
from tracking.models import Shipment, TrackingEvent
from tracking.queries.carriers import forget_carrier_choices
from tracking.web.public import views

pytestmark = pytest.mark.django_db
FEDEX_IT = "794698432183"


@pytest.fixture
def shipment(db):
    stored = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    Shipment.objects.filter(pk=stored.pk).update(last_checked_at=timezone.now())
    stored.refresh_from_db()
    return stored


def url(shipment: Shipment) -> str:
    return reverse("public:track_page", args=[shipment.public_token])


def nonce_of(response) -> str:
    found = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert found, response["Content-Security-Policy"]
    return found.group(1)


def test_a_page_opened_again_is_served_from_its_cached_rendering(
    client, shipment, django_assert_num_queries
):
    views.page_cache().clear()
    forget_carrier_choices()
    with django_assert_num_queries(3):  # the shipment, its events, the carriers' names (cached)
        first = client.get(url(shipment))
    with django_assert_num_queries(1):  # the shipment only: the events come with the rendering
        second = client.get(url(shipment))
    assert first.status_code == second.status_code == 200
    assert parse(first).select_one("h1").get_text() == parse(second).select_one("h1").get_text()
    for response in (first, second):
        body = response.content.decode()
        assert "@@shiptrack" not in body  # every hole filled
        nonce = nonce_of(response)
        scripts = parse(body).select("script[src]")
        assert scripts and all(s["nonce"] == nonce for s in scripts)
    assert nonce_of(first) != nonce_of(second)  # a fresh nonce for each response, cached or not
    assert "Accept-Language" in second["Vary"]


def test_etag_and_last_modified_answer_304_until_the_shipment_changes(client, shipment):
    response = client.get(url(shipment))
    etag, modified = response["ETag"], response["Last-Modified"]
    assert response["Cache-Control"] == "private, no-cache"
    again = client.get(url(shipment), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["X-Robots-Tag"] == "noindex, nofollow"
    # A new scan: a new page, never the cached one.
    TrackingEvent.objects.create(
        shipment=shipment,
        dedupe_key="new-scan",
        occurred_at=timezone.now(),
        description="Arrived at the depot in Quux",
    )
    Shipment.objects.filter(pk=shipment.pk).update(
        event_count=shipment.event_count + 1, updated_at=timezone.now() + timedelta(seconds=2)
    )
    changed = client.get(url(shipment), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "Arrived at the depot in Quux" in changed.content.decode()
    assert changed["Last-Modified"] != modified


def test_the_how_long_ago_words_are_of_the_moment_and_change_the_etag(
    client, shipment, settings, monkeypatch
):
    settings.PUBLIC_STALE_MINUTES = 0  # no refresh on open: the stored state stays as it is
    first = client.get(url(shipment))
    assert "now" in parse(first).select_one(".facts time").get_text()
    # The same stored state an hour later: the words (and so the ETag) differ.
    later_words = views._time_words(shipment)[0].replace("now", "1\xa0hour ago")
    monkeypatch.setattr(views, "_time_words", lambda s: (later_words, ""))
    later = client.get(url(shipment), HTTP_IF_NONE_MATCH=first["ETag"])
    assert later.status_code == 200
    assert "hour" in parse(later).select_one(".facts time").get_text()


def test_no_cache_at_zero_seconds(client, shipment, settings, django_assert_num_queries):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    views.page_cache().clear()
    client.get(url(shipment))
    with django_assert_num_queries(2):
        client.get(url(shipment))
