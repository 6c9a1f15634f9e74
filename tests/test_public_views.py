"""The public lookup and the shareable tracking page."""

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.html import parse, scripts_are_external_with_the_nonce
from tracking import services
from tracking.models import Carrier, LookupThrottle, Shipment, TrackingEvent
from tracking.services import throttling
from tracking.services import tracking as tracking_service
from tracking.shipengine import TransportError

UPS_AC = "1Z999AA10123456784"
UPS_DE = "1Z5R89390357567127"
SEED = "9405511899223197428490"
FEDEX_IT = "794698432183"
DHL_EX = "4582917364"
CANADA_UN = "7023210039414604"

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"|"X-CSRFToken": "[^"]*"|nonce="[^"]*"')


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.PUBLIC_LOOKUP_RATE_LIMIT = 100
    settings.PUBLIC_LOOKUP_FETCH_UNKNOWN = False
    settings.PUBLIC_STALE_MINUTES = 30
    throttling.reset()


def lookup(client, number, carrier="", **extra):
    return client.post(reverse("public:lookup"), {"number": number, "carrier": carrier}, **extra)


def page_url(shipment):
    return reverse("public:track_page", args=[shipment.public_token])


def fresh(shipment):
    """Mark as just checked, so that opening the page does not refresh it."""
    Shipment.objects.filter(pk=shipment.pk).update(last_checked_at=timezone.now())
    shipment.refresh_from_db()
    return shipment


def body(response) -> str:
    return CSRF.sub("", response.content.decode())


# --------------------------------------------------------------------------------------------
# Home and lookup
# --------------------------------------------------------------------------------------------
def test_home_is_the_lookup_form(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'action="/track/"' in html
    assert '<label for="id_number">Tracking number</label>' in html
    assert "style=" not in html  # CSP: no inline styles
    soup = parse(html)
    assert soup.select("[style]") == [] and soup.find_all("style") == []
    scripts_are_external_with_the_nonce(response)  # CSP: no inline scripts


def test_lookup_detects_carrier_and_redirects_to_the_token_page(client):
    shipment = services.track_shipment(carrier_code="ups", tracking_number=UPS_AC)
    response = lookup(client, "1z999 aa1 0123 4567 84")
    assert response.status_code == 303
    assert response["Location"] == page_url(shipment)


def test_lookup_finds_a_usps_number_stored_under_stamps_com(client):
    shipment = services.track_shipment(carrier_code="stamps_com", tracking_number=SEED)
    response = lookup(client, SEED)
    assert response.status_code == 303
    assert response["Location"] == page_url(shipment)


def test_lookup_with_a_chosen_carrier(client):
    shipment = services.track_shipment(carrier_code="canada_post", tracking_number=CANADA_UN)
    response = lookup(client, CANADA_UN, "canada_post")
    assert response.status_code == 303
    assert response["Location"] == page_url(shipment)


def test_get_on_the_lookup_url_goes_home(client):
    response = client.get(reverse("public:lookup"))
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_unknown_number_gets_a_helpful_sentence(client):
    response = lookup(client, "1Z999AA10123456799")
    assert response.status_code == 200
    assert "We could not find a parcel with that number and carrier" in response.content.decode()
    assert not Shipment.objects.exists()


def test_known_number_with_the_wrong_carrier_looks_exactly_like_an_unknown_one(client):
    services.track_shipment(carrier_code="ups", tracking_number=UPS_AC)
    known_wrong_carrier = lookup(client, UPS_AC, "fedex")
    unknown = lookup(client, "1Z999AA10123456799", "fedex")
    assert known_wrong_carrier.status_code == unknown.status_code == 200
    assert body(known_wrong_carrier).replace(UPS_AC, "N") == body(unknown).replace(
        "1Z999AA10123456799", "N"
    )


def test_ambiguous_format_goes_to_the_one_stored_parcel_or_offers_the_carriers(client):
    """A 12-digit number is FedEx's or Purolator's: stored under exactly one of them, it is that
    parcel (what choosing that carrier would give); otherwise one button per carrier."""
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    known = lookup(client, FEDEX_IT)
    assert known.status_code == 303 and known["Location"] == page_url(shipment)
    unknown = lookup(client, "794698432184")
    assert unknown.status_code == 200
    page = parse(unknown)
    assert "This number could be from FedEx or Purolator Canada" in page.get_text()
    buttons = page.select(".carrier-candidates form")
    assert [b.select_one("button").get_text(strip=True) for b in buttons] == [
        "FedEx",
        "Purolator Canada",
    ]
    for form, code in zip(buttons, ("fedex", "purolator_ca"), strict=True):
        assert form.select_one("input[name=carrier]")["value"] == code
        assert form.select_one("input[name=number]")["value"] == "794698432184"
    # The carriers the format fits still come first in the full list below.
    options = [o["value"] for o in page.select("select[name=carrier] option")]
    assert options[:3] == ["", "fedex", "purolator_ca"]


def test_ambiguous_number_stored_under_both_carriers_asks(client):
    services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    Shipment.objects.create(
        carrier=Carrier.objects.get(code="purolator_ca"), tracking_number=FEDEX_IT
    )
    response = lookup(client, FEDEX_IT)
    assert response.status_code == 200 and parse(response).select(".carrier-candidates form")


def test_unrecognised_format_asks_for_the_carrier(client):
    response = lookup(client, "ABC123")
    assert response.status_code == 200
    assert "We could not tell the carrier from this number" in response.content.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter your tracking number"),
        ("   ", "Enter your tracking number"),
        ("1" * 200, "That is too long for a tracking number"),
        ("包裹１２３４５", "only the letters A to Z and digits"),
        ("<script>alert(1)</script>", "only the letters A to Z and digits"),
        ("1' OR '1'='1'; DROP TABLE tracking_shipment; --", "only the letters A to Z and digits"),
        ("-1Z999", "only the letters A to Z and digits"),
    ],
)
def test_bad_input_gets_a_clear_message(client, value, message):
    services.track_shipment(carrier_code="ups", tracking_number=UPS_AC)
    response = lookup(client, value)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert 'aria-invalid="true"' in html
    assert "<script>alert(1)</script>" not in html  # echoed back escaped, never as markup
    assert Shipment.objects.count() == 1  # nothing lost


def test_bad_carrier_choice_gets_a_clear_message(client):
    response = lookup(client, UPS_AC, "no_such_carrier")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_lookups_are_rate_limited_per_client_address(client, settings):
    settings.PUBLIC_LOOKUP_RATE_LIMIT = 3
    services.track_shipment(carrier_code="ups", tracking_number=UPS_AC)
    for _ in range(3):
        assert lookup(client, UPS_AC, REMOTE_ADDR="203.0.113.7").status_code == 303
    blocked = lookup(client, UPS_AC, REMOTE_ADDR="203.0.113.7")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) >= 1
    assert "Please wait a moment" in blocked.content.decode()
    # Another address is counted on its own.
    assert lookup(client, UPS_AC, REMOTE_ADDR="198.51.100.1").status_code == 303
    # Addresses are stored only as keyed hashes.
    assert not LookupThrottle.objects.filter(key__contains="203.0.113.7").exists()


def test_only_lookups_that_read_data_count_towards_the_limit(client, settings):
    settings.PUBLIC_LOOKUP_RATE_LIMIT = 2
    lookup(client, "")  # refused by the form: reads nothing, counts nothing
    lookup(client, "<b>")
    assert lookup(client, UPS_AC).status_code != 429
    assert lookup(client, UPS_AC).status_code != 429
    too_many = lookup(client, UPS_AC)
    assert too_many.status_code == 429
    # The page keeps the number, ready to try again.
    assert parse(too_many).select_one("input[name=number]")["value"] == UPS_AC


def test_fetch_unknown_is_off_by_default(client):
    response = lookup(client, "1Z999AA10123456700")
    assert response.status_code == 200
    assert not Shipment.objects.exists()


def test_fetch_unknown_when_enabled(client, settings):
    settings.PUBLIC_LOOKUP_FETCH_UNKNOWN = True
    response = lookup(client, "1Z999AA10123456700")
    shipment = Shipment.objects.get(tracking_number="1Z999AA10123456700")
    assert response.status_code == 303
    assert response["Location"] == page_url(shipment)
    assert shipment.carrier.code == "ups"


def test_fetch_unknown_failure_answers_not_found(client, settings):
    settings.PUBLIC_LOOKUP_FETCH_UNKNOWN = True
    response = lookup(client, "FAULT-404", "ups")
    assert response.status_code == 200
    assert "We could not find a parcel" in response.content.decode()
    assert not Shipment.objects.exists()


# --------------------------------------------------------------------------------------------
# The tracking page
# --------------------------------------------------------------------------------------------
def test_token_is_random_and_not_derived_from_the_number():
    a = services.track_shipment(carrier_code="ups", tracking_number=UPS_AC)
    b = services.track_shipment(carrier_code="fedex", tracking_number=UPS_AC)
    assert len(a.public_token) == 43 and len(b.public_token) == 43
    assert a.public_token != b.public_token
    assert UPS_AC not in a.public_token


def test_tracking_page_shows_headline_milestones_timeline_and_map(
    client, django_assert_max_num_queries
):
    shipment = fresh(services.track_shipment(carrier_code="ups", tracking_number=UPS_DE))
    with django_assert_max_num_queries(3):
        response = client.get(page_url(shipment))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Delivered on" in html and "signed by J SMITH" in html
    assert 'class="milestones"' in html
    assert "Delivered, Front Door" in html  # timeline
    assert 'id="public-map-points"' in html and 'data-map="public-map-points"' in html
    assert f'href="{shipment.carrier_link}"' in html and shipment.carrier_link
    [updated] = [
        dt for dt in parse(html).find_all("dt") if dt.get_text(strip=True) == "Last updated"
    ]
    when = updated.find_next_sibling("dd").find("time")
    assert when.get_text(strip=True) == "now"  # just checked (fresh)
    assert abs(datetime.fromisoformat(when["datetime"]) - timezone.now()) < timedelta(minutes=5)
    assert "style=" not in html
    # CSP: the map's scripts are files with the nonce, its points a JSON block.
    scripts = scripts_are_external_with_the_nonce(response)
    assert {script["src"] for script in scripts} >= {
        "/static/leaflet/leaflet.js",
        "/static/js/shipment-map.js",
    }
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "same-origin"
    assert "private" in response["Cache-Control"]


def test_seed_example_headline_in_plain_words(client):
    shipment = fresh(services.track_shipment(carrier_code="stamps_com", tracking_number=SEED))
    html = client.get(page_url(shipment)).content.decode()
    assert "Delivered on Monday 20 September 2021 at 2:03 p.m. (UTC\N{MINUS SIGN}5)" in html
    assert (
        '<time datetime="2021-09-20T19:03:00+00:00" title="2021-09-20 19:03 UTC">2:03 p.m. (UTC\N{MINUS SIGN}5)</time>'
        in html
    )


def test_exception_headline(client):
    shipment = fresh(services.track_shipment(carrier_code="dhl_express", tracking_number=DHL_EX))
    html = client.get(page_url(shipment)).content.decode()
    assert "There is a problem with this delivery: Held by customs" in html


def test_page_without_coordinates_says_so_instead_of_a_map(client):
    shipment = fresh(services.track_shipment(carrier_code="canada_post", tracking_number=CANADA_UN))
    html = client.get(page_url(shipment)).content.decode()
    assert "No map: the carrier has not sent the locations" in html
    assert "data-map=" not in html
    assert "leaflet.js" not in html


@pytest.mark.parametrize("token", ["x", "a" * 43, "a" * 43 + "%3Cb%3E"])
def test_unknown_or_malformed_token_is_a_friendly_404(client, token):
    response = client.get(f"/t/{token}/")
    assert response.status_code == 404
    assert "This tracking link does not work" in response.content.decode()


def test_page_never_shows_private_fields(client):
    shipment = services.track_shipment(
        carrier_code="ups",
        tracking_number=UPS_DE,
        reference="ORDER-REF-q8Zt1",
        customer_name="Customer Name-w3Kx9",
        customer_email="private-mail-p4Lm2@example.org",
    )
    secrets = {
        "reference": "ORDER-REF-q8Zt1",
        "customer_name": "Customer Name-w3Kx9",
        "customer_email": "private-mail-p4Lm2@example.org",
        "notes": "STAFF-NOTE-h7Vb3",
        "raw": "RAW-ANSWER-k2Jd8",
        "last_error": "LAST-ERROR-z9Qa4",
        "company": "EVENT-COMPANY-m5Rc6",
    }
    Shipment.objects.filter(pk=shipment.pk).update(
        notes=secrets["notes"],
        raw_response={"secret": secrets["raw"], "events": [{"description": secrets["raw"]}]},
        last_error=secrets["last_error"],
        last_checked_at=timezone.now(),
    )
    TrackingEvent.objects.filter(shipment=shipment).update(company_name=secrets["company"])
    html = client.get(page_url(shipment)).content.decode()
    assert "Delivered" in html
    for name, value in secrets.items():
        assert value not in html, name
        assert value.lower() not in html.lower(), name


# --------------------------------------------------------------------------------------------
# Stale refresh on open
# --------------------------------------------------------------------------------------------
def _stale(shipment, hours=3):
    Shipment.objects.filter(pk=shipment.pk).update(
        last_checked_at=timezone.now() - timedelta(hours=hours)
    )


def test_stale_shipment_is_refreshed_on_open_once_per_interval(client, monkeypatch):
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    _stale(shipment)
    calls = []
    real = services.refresh_shipment

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(tracking_service, "refresh_shipment", counting)
    assert client.get(page_url(shipment)).status_code == 200
    shipment.refresh_from_db()
    assert len(calls) == 1
    assert shipment.last_checked_at > timezone.now() - timedelta(minutes=1)
    # Made stale again at once: the per-shipment claim stops a second call in the same interval.
    _stale(shipment)
    client.get(page_url(shipment))
    assert len(calls) == 1


def test_fresh_or_delivered_shipments_are_not_refreshed(client, monkeypatch):
    delivered = services.track_shipment(carrier_code="ups", tracking_number=UPS_DE)
    _stale(delivered)
    fresh_one = fresh(services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT))

    def boom(**kwargs):
        raise AssertionError("must not refresh")

    monkeypatch.setattr(tracking_service, "refresh_shipment", boom)
    assert client.get(page_url(delivered)).status_code == 200
    assert client.get(page_url(fresh_one)).status_code == 200


def test_refresh_disabled_with_zero(client, settings, monkeypatch):
    settings.PUBLIC_STALE_MINUTES = 0
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    _stale(shipment)
    monkeypatch.setattr(tracking_service, "refresh_shipment", lambda **kw: pytest.fail("refreshed"))
    assert client.get(page_url(shipment)).status_code == 200


def test_failed_refresh_keeps_last_known_state_with_a_quiet_note(client, monkeypatch):
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    _stale(shipment)

    def failing(*, shipment_id, client=None, interactive=False):
        services.record_failure(shipment_id=shipment_id, error=TransportError("timed out"))
        raise TransportError("timed out")

    monkeypatch.setattr(tracking_service, "refresh_shipment", failing)
    response = client.get(page_url(shipment))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Arriving" in html  # the last known headline
    assert "We could not reach the carrier just now" in html
    assert "timed out" not in html  # the error itself is for staff


def test_note_absent_when_all_is_well(client):
    shipment = fresh(services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT))
    assert "We could not reach the carrier" not in client.get(page_url(shipment)).content.decode()


# --------------------------------------------------------------------------------------------
# Branding
# --------------------------------------------------------------------------------------------
def test_branding_from_settings(client, settings):
    settings.BRAND_NAME = "Acme Parcels"
    settings.BRAND_LOGO_URL = "/static/brand/logo.svg"
    settings.BRAND_SUPPORT_URL = "https://help.example.com/"
    settings.BRAND_ACCENT_COLOR = "#ffcc00"
    html = client.get("/").content.decode()
    assert "Acme Parcels" in html
    assert 'src="/static/brand/logo.svg"' in html
    assert 'href="https://help.example.com/"' in html
    match = re.search(r'href="(/brand\.css\?v=[0-9a-f]+)"', html)
    assert match
    css = client.get(match.group(1))
    assert css["Content-Type"].startswith("text/css")
    # A light accent gets dark text on it, a dark one white text.
    assert css.content.decode() == ":root { --brand: #ffcc00; --on-brand: #111111; }\n"
    settings.BRAND_ACCENT_COLOR = "#123456"
    assert b"--on-brand: #ffffff" in client.get("/brand.css").content


def test_unsafe_branding_links_are_dropped(client, settings):
    settings.BRAND_LOGO_URL = "javascript:alert(1)"
    settings.BRAND_SUPPORT_URL = "//evil.example.com"
    html = client.get("/").content.decode()
    assert "javascript:" not in html
    assert "evil.example.com" not in html
