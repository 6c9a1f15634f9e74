"""The public pages in the reader's language; staff pages stay English."""

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from tests.html import one, parse, texts
from tracking import services
from tracking.models import Shipment

pytestmark = pytest.mark.django_db

FEDEX_IT = "794698432183"
UPS_DE = "1Z5R89390357567127"


def page(client, shipment, **headers):
    Shipment.objects.filter(pk=shipment.pk).update(last_checked_at=timezone.now())
    return client.get(reverse("public:track_page", args=[shipment.public_token]), **headers)


@pytest.mark.parametrize(
    ("accept", "lang", "h1"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Wo ist mein Paket?"),
        ("fr-CH, fr;q=0.9", "fr", "Où est mon colis ?"),
        ("es", "es", "¿Dónde está mi paquete?"),
        ("en-GB", "en", "Where is my parcel?"),
        # A language we do not have, or a header that is not one: English.
        ("ja, zh;q=0.8", "en", "Where is my parcel?"),
        ("\x00;;q=abc,,", "en", "Where is my parcel?"),
    ],
)
def test_language_from_accept_language(client, accept, lang, h1):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    soup = parse(response)
    assert soup.html["lang"] == lang
    assert one(soup, "h1").get_text(strip=True) == h1
    assert response["Content-Language"] == lang
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary


def test_the_switcher_is_remembered_in_a_cookie(client):
    home = parse(client.get("/", HTTP_ACCEPT_LANGUAGE="de"))
    switch = one(home, "form.language-switch")
    assert switch["action"] == reverse("public:set_language")
    assert [o["value"] for o in switch.select("option")] == ["en", "de", "fr", "es"]
    assert one(switch, "option[selected]")["value"] == "de"
    assert one(home, "label[for=language-select]")
    response = client.post(reverse("public:set_language"), {"language": "fr", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    cookie = response.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    # The choice wins over the browser's header from now on.
    again = client.get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert parse(again).html["lang"] == "fr"


def test_an_unknown_language_changes_nothing_and_says_so(client):
    response = client.post(reverse("public:set_language"), {"language": "xx", "next": "/"})
    assert response.status_code == 400
    assert django_settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert "Language not available" in one(response, "h1").text
    # The page offers the languages there are.
    assert one(response, "form.language-switch select")


def test_the_switcher_does_not_redirect_elsewhere(client):
    response = client.post(
        reverse("public:set_language"), {"language": "de", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_after_a_post_the_switcher_returns_home(client):
    response = client.post(reverse("public:order_lookup"), {"order": "X1", "contact": "a@b.cd"})
    assert one(response, "form.language-switch input[name=next]")["value"] == "/"
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    url = reverse("public:track_page", args=[shipment.public_token])
    assert one(page(client, shipment), "form.language-switch input[name=next]")["value"] == url


def test_status_words_headline_and_dates_in_german_carrier_words_as_sent(client):
    shipment = services.track_shipment(carrier_code="ups", tracking_number=UPS_DE)
    soup = parse(page(client, shipment, HTTP_ACCEPT_LANGUAGE="de"))
    assert one(soup, ".track-summary .badge").get_text(strip=True) == "Zugestellt"
    headline = one(soup, "#headline").get_text(" ", strip=True)
    assert headline.startswith("Zugestellt am ") and "unterschrieben von J SMITH" in headline
    # A German weekday and month ("Sonntag, 29. November um 06:00"), the 24-hour clock.
    assert any(
        day in headline
        for day in ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
    )
    assert " um " in headline and "a.m." not in headline and "p.m." not in headline
    # The carrier's own words are shown as it sent them.
    descriptions = [e.description for e in shipment.events.all() if e.description]
    timeline = one(soup, ".track-timeline").get_text(" ", strip=True)
    assert descriptions and all(d in timeline for d in descriptions)
    assert "Sendungsnummer" in texts(soup, ".visually-hidden")


def test_staff_pages_stay_english_whatever_the_browser_or_cookie_says(staff_client):
    services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    staff_client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "de"
    response = staff_client.get(reverse("staff:shipment_list"), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    soup = parse(response)
    assert soup.html["lang"] == "en"
    assert response["Content-Language"] == "en"
    assert "In transit" in soup.get_text()
    assert "Unterwegs" not in soup.get_text()
    admin = staff_client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="fr", follow=True)
    assert parse(admin).html["lang"] == "en"


def test_the_api_answers_in_english(client):
    response = client.get("/api/v1/shipments", HTTP_ACCEPT_LANGUAGE="de")
    assert response["Content-Language"] == "en"


def test_brand_css_does_not_vary_by_language(client):
    response = client.get(reverse("public:brand_css"), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert "Accept-Language" not in response.get("Vary", "")
