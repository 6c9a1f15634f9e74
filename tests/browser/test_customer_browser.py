"""The customer's side in a real browser: lookup by order, the language switcher, What to do
next, the support contact and Share this page; axe finds no serious or critical issue in light
or dark mode, in English and in German."""

import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.factories import ShipmentFactory
from tracking import services
from tracking.models import Shipment
from tracking.services import throttling

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SHIPTRACK_SHOTS_DIR", "")


@pytest.fixture
def browser_viewport() -> tuple[int, int]:
    return (420, 900)  # a phone


@pytest.fixture
def browser_console_levels() -> tuple[str, ...]:
    return ("error", "warning")


@pytest.fixture(autouse=True)
def _public_settings(browser_settings, transactional_db):
    browser_settings.PUBLIC_STALE_MINUTES = 0
    browser_settings.LANGUAGE_COOKIE_SECURE = False  # the live server speaks plain http
    throttling.reset()


def serious_violations(page) -> list[str]:
    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            found.append(f"{violation['id']}: {[n['target'] for n in violation['nodes']]}")
    return found


def check_both_schemes(page, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_violations(page) == [], (name, scheme)
        png = screenshot(page, f"{name}-{scheme}", full_page=True)
        if SHOTS:  # for a person to look at (not committed)
            with open(os.path.join(SHOTS, f"{name}-{scheme}.png"), "wb") as out:
                out.write(png)
    page.emulate_media(color_scheme="light")


def test_order_lookup_lists_the_parcels_and_opens_one(live_server, browser_page):
    page = browser_page
    first = services.track_shipment(carrier_code="ups", tracking_number="1Z12345E0205271688")
    second = services.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    Shipment.objects.update(
        reference="ORD-1001", customer_email="Ada@Example.com", last_checked_at=timezone.now()
    )
    page.goto(live_server.url + "/")
    page.fill("#id_order", "ORD-1001")
    page.fill("#id_contact", "wrong@example.com")
    with page.expect_navigation():
        page.click("text=Find my order")
    assert "could not find an order" in page.locator(".order-lookup .lookup-message").inner_text()
    assert page.input_value("#id_order") == "ORD-1001"
    # Focus (and so the phone's view) is on the order form, where the sentence is.
    assert page.evaluate("document.activeElement.id") == "id_order"
    check_both_schemes(page, "order-not-found")
    page.fill("#id_contact", "ada@example.COM")
    with page.expect_navigation():
        page.click("text=Find my order")
    assert page.locator("h1").inner_text() == "Order ORD-1001"
    assert page.locator(".order-parcel").count() == 2
    check_both_schemes(page, "order-parcels")
    with page.expect_navigation():
        page.locator(".order-parcel a").first.click()
    assert page.url.endswith(f"/t/{first.public_token}/") or page.url.endswith(
        f"/t/{second.public_token}/"
    )
    assert page.problems == []


def test_german_page_with_guidance_share_and_a_remembered_switch(live_server, browser_page):
    page = browser_page
    shipment = services.track_shipment(carrier_code="ups", tracking_number="1Z12345E0205271688")
    Shipment.objects.update(last_checked_at=timezone.now())
    url = f"{live_server.url}/t/{shipment.public_token}/"
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Rearrange the delivery" in page.locator(".next-steps h2").inner_text()
    # The copy button appears with JavaScript; the link works without it.
    assert page.locator("button[data-copy-target=share-url]").is_visible()
    check_both_schemes(page, "track-attempt-en")
    page.select_option("#language-select", "de")
    with page.expect_navigation():
        page.click("text=Change language")
    assert page.url == url
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator(".track-summary .badge").inner_text() == "Zustellversuch"
    assert "Zustellung ändern" in page.locator(".next-steps h2").inner_text()
    check_both_schemes(page, "track-attempt-de")
    # Remembered: another page opens in German too.
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Wo ist mein Paket?"
    check_both_schemes(page, "home-de")
    assert page.problems == []


def test_delivered_guidance_in_french(live_server, browser_page):
    page = browser_page
    shipment = ShipmentFactory(status_code="DE", signer="J SMITH", carrier__code="ups")
    Shipment.objects.update(last_checked_at=timezone.now())
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    page.goto(f"{live_server.url}/t/{shipment.public_token}/")
    assert "Si le colis n\u2019est pas là" in page.locator(".next-steps h2").inner_text()
    check_both_schemes(page, "track-delivered-fr")
    assert page.problems == []
