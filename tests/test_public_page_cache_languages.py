"""The public page's cached rendering and its ETag are per language: a German reader never gets
the English page from the cache, nor a 304 for it, and shared caches are told (Vary)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from tests.html import one, parse
from tracking import services
from tracking.models import Shipment
from tracking.queries.carriers import forget_carrier_choices
from tracking.web.public import views

pytestmark = pytest.mark.django_db
FEDEX_IT = "794698432183"


@pytest.fixture
def page_url(db, settings):
    settings.PUBLIC_STALE_MINUTES = 0  # the stored state stays as it is
    stored = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    Shipment.objects.filter(pk=stored.pk).update(last_checked_at=timezone.now())
    views.page_cache().clear()
    forget_carrier_choices()
    return reverse("public:track_page", args=[stored.public_token])


def badge(response) -> str:
    return one(response, ".track-summary .badge").get_text(strip=True)


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response["Vary"].split(",")}


def test_each_language_has_its_own_cached_rendering(client, page_url, django_assert_num_queries):
    with django_assert_num_queries(3):  # rendered: the shipment, its events, carrier names
        german = client.get(page_url, HTTP_ACCEPT_LANGUAGE="de")
    with django_assert_num_queries(2):  # rendered again for English (names cached), not reused
        english = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en")
    with django_assert_num_queries(1):  # the German rendering, from the cache
        german_again = client.get(page_url, HTTP_ACCEPT_LANGUAGE="de")
    assert badge(german) == badge(german_again) == "Unterwegs"
    assert badge(english) == "In transit"
    assert parse(german_again).html["lang"] == "de"
    # The "how long ago" words are filled in per response, in the reader's language.
    words = one(german_again, ".facts time").get_text()
    assert words == "jetzt" or words.startswith("vor "), words


def test_the_etag_differs_by_language_so_no_304_across_languages(client, page_url):
    german = client.get(page_url, HTTP_ACCEPT_LANGUAGE="de")
    english = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en")
    assert german["ETag"] != english["ETag"]
    crossed = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=german["ETag"])
    assert crossed.status_code == 200 and badge(crossed) == "In transit"
    same = client.get(page_url, HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH=german["ETag"])
    assert same.status_code == 304
    for response in (german, english, crossed, same):
        assert {"accept-language", "cookie"} <= vary(response)
        assert response["Content-Language"] in {"de", "en"}


def test_the_switchers_cookie_chooses_the_rendering_and_the_etag(client, page_url):
    plain = client.get(page_url, HTTP_ACCEPT_LANGUAGE="de")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(page_url, HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH=plain["ETag"])
    assert french.status_code == 200
    assert badge(french) == "En transit"
    assert french["ETag"] != plain["ETag"]
