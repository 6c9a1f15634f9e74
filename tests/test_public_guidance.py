"""The tracking page's "What to do next", support contact, "Share this page" and freshness."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ShipmentFactory, TrackingEventFactory
from tests.html import one, parse
from tracking import services
from tracking.models import Shipment

pytestmark = pytest.mark.django_db

DHL_CUSTOMS = "4582917364"
UPS_ATTEMPT = "1Z12345E0205271688"
USPS_LOCKER = "9205590164917312751089"
UPS_DE = "1Z5R89390357567127"
FEDEX_IT = "794698432183"


def open_page(client, shipment, **headers):
    Shipment.objects.filter(pk=shipment.pk).update(last_checked_at=timezone.now())
    response = client.get(reverse("public:track_page", args=[shipment.public_token]), **headers)
    assert response.status_code == 200
    return parse(response)


def next_steps(soup):
    return soup.select_one(".next-steps")


def test_customs_hold_says_what_it_means_and_whom_to_ask(client):
    shipment = services.track_shipment(carrier_code="dhl_express", tracking_number=DHL_CUSTOMS)
    box = next_steps(open_page(client, shipment))
    assert one(box, "h2").get_text(strip=True) == "What to do next: Held at customs"
    text = box.get_text(" ", strip=True)
    assert "import duties and taxes" in text
    assert "Contact the shop you ordered from" in text  # the support contact's default
    link = one(box, ".next-links a")
    assert link["href"] == shipment.carrier_link and link["rel"] == [
        "noopener",
        "noreferrer",
        "external",
    ]


def test_other_exception_is_not_called_customs(client):
    shipment = ShipmentFactory(
        status_code="EX", exception_description="Address incomplete", carrier__code="ups"
    )
    box = next_steps(open_page(client, shipment))
    assert "There is a problem with the delivery" in one(box, "h2").text
    assert "customs" not in box.get_text().lower()


def test_attempted_delivery_points_to_the_carrier_to_rearrange(client):
    shipment = services.track_shipment(carrier_code="ups", tracking_number=UPS_ATTEMPT)
    box = next_steps(open_page(client, shipment))
    assert "Rearrange the delivery" in one(box, "h2").text
    assert "rearrange the delivery on the carrier's website" in box.get_text()
    assert one(box, ".next-links a")["href"] == shipment.carrier_link


def test_attempted_delivery_without_a_carrier_link_names_the_carrier(client):
    shipment = ShipmentFactory(status_code="AT", carrier__code="ontrac")
    shipment.carrier.tracking_url_template = ""
    shipment.carrier.save()
    box = next_steps(open_page(client, shipment))
    assert "contact ontrac with your tracking number" in box.get_text(" ", strip=True).lower()
    assert box.select(".next-links a") == []


def test_ready_for_collection_says_where_from_the_event(client):
    shipment = services.track_shipment(carrier_code="usps", tracking_number=USPS_LOCKER)
    box = next_steps(open_page(client, shipment))
    assert "Collect your parcel" in one(box, "h2").text
    assert "Collect it from the pickup point in Seattle" in box.get_text(" ", strip=True)


def test_ready_for_collection_without_a_place_does_not_make_one_up(client):
    shipment = ShipmentFactory(status_code="SP")
    TrackingEventFactory(shipment=shipment, status_code="SP", city_locality="")
    box = next_steps(open_page(client, shipment))
    assert "says which pickup point has it" in box.get_text()


def test_delivered_shows_signer_proof_and_not_received_contact(client, settings):
    settings.SUPPORT_CONTACT = "Call 0800 123 456 (Mon-Fri 9-17)"
    shipment = ShipmentFactory(status_code="DE", signer="J SMITH")
    TrackingEventFactory(
        shipment=shipment, status_code="DE", proof_of_delivery_url="https://carrier.example/pod/1"
    )
    box = next_steps(open_page(client, shipment))
    text = box.get_text(" ", strip=True)
    assert "Signed for by J SMITH." in text
    assert "Not received?" in text
    assert "Call 0800 123 456 (Mon-Fri 9-17)" in text
    assert one(box, ".next-links a")["href"] == "https://carrier.example/pod/1"


def test_delivered_without_signer_or_proof_promises_neither(client):
    shipment = ShipmentFactory(status_code="DE")
    box = next_steps(open_page(client, shipment))
    assert "Signed for" not in box.get_text()
    assert box.select(".next-links a") == []


def test_in_transit_needs_no_guidance_but_support_is_always_shown(client, settings):
    settings.BRAND_SUPPORT_URL = "mailto:help@shop.example"
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    soup = open_page(client, shipment)
    assert next_steps(soup) is None
    help_box = one(soup, ".track-help")
    assert "Contact the shop you ordered from" in help_box.get_text()
    assert one(help_box, "a[href='mailto:help@shop.example']")


def test_guidance_in_german(client):
    shipment = services.track_shipment(carrier_code="ups", tracking_number=UPS_ATTEMPT)
    box = next_steps(open_page(client, shipment, HTTP_ACCEPT_LANGUAGE="de"))
    assert one(box, "h2").get_text(strip=True) == "Was Sie jetzt tun können: Zustellung ändern"


def test_share_is_a_plain_link_with_a_copy_button_for_javascript(client, settings):
    settings.SITE_URL = "https://track.shop.example/"
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    soup = open_page(client, shipment)
    path = reverse("public:track_page", args=[shipment.public_token])
    link = one(soup, "#share-url")
    assert link["href"] == link.get_text(strip=True) == f"https://track.shop.example{path}"
    button = one(soup, "button[data-copy-target=share-url]")
    assert button.has_attr("hidden")  # shown by js/public-share.js; the link works without it
    assert [s["src"] for s in soup.select("script[src*=public-share]")]
    mail = one(soup, ".track-help a[href^='mailto:?']")
    assert "track.shop.example" in mail["href"]


def test_the_page_says_how_fresh_it_is(client):
    shipment = services.track_shipment(carrier_code="fedex", tracking_number=FEDEX_IT)
    soup = open_page(client, shipment)
    facts = {dt.get_text(strip=True): dt.find_next_sibling("dd") for dt in soup.select(".facts dt")}
    fresh = facts["Last updated"]
    assert one(fresh, "time")["datetime"]
    assert "now" in fresh.get_text() or "minute" in fresh.get_text()
