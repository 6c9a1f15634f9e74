"""The public lookup and tracking page in a real browser (Debian's chromium through Playwright),
with an automated accessibility check (axe): no serious or critical violations."""

import os
from pathlib import Path

import pytest
from django.utils import timezone

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tracking import services
from tracking.models import Shipment
from tracking.services import throttling

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

playwright_sync = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def browser_page(settings):
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_SECURE = False
    settings.PUBLIC_STALE_MINUTES = 0
    throttling.reset()
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        context = browser.new_context(viewport={"width": 420, "height": 900})
        page = context.new_page()
        # No internet: map tiles get an empty answer (the markers still draw).
        page.route("**/*.tile.openstreetmap.org/**", lambda route: route.fulfill(status=204))
        problems: list[str] = []
        page.on(
            "console",
            lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.problems = problems  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def serious_violations(page) -> list[str]:
    results = axe_module.Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def _mark_fresh():
    Shipment.objects.update(last_checked_at=timezone.now())


def test_lookup_lands_on_the_tracking_page_with_headline_timeline_and_markers(
    live_server, browser_page
):
    page = browser_page
    shipment = services.track_shipment(carrier_code="ups", tracking_number="1Z5R89390357567127")
    _mark_fresh()
    page.goto(live_server.url + "/")
    assert page.evaluate("document.activeElement.id") == "id_number"  # focused on load
    assert serious_violations(page) == []

    page.fill("#id_number", "1z5r 8939 0357 5671 27")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/t/{shipment.public_token}/")
    headline = page.locator("h1#headline").inner_text()
    assert headline.startswith("Delivered on ") and headline.endswith("signed by J SMITH")
    assert page.locator(".timeline-item").count() == shipment.events.count()
    page.wait_for_selector(".map-marker")
    # Sandbox journey: Louisville x2, Atlanta, Decatur x2 -> three markers "1-2", "3", "4-5" (en dash).
    markers = page.locator(".leaflet-marker-icon.map-marker")
    assert markers.all_inner_texts() == ["1\u20132", "3", "4\u20135"]
    assert page.locator(".map-marker.is-latest").inner_text() == "4\u20135"
    assert page.locator("path.map-route").count() == 1
    assert serious_violations(page) == []
    assert [p[:300] for p in page.problems if "Content Security Policy" in p] == []


def test_ambiguous_number_offers_the_carriers_then_shows_the_page(live_server, browser_page):
    page = browser_page
    shipment = services.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    _mark_fresh()
    # An ambiguous number we do not hold: one button per carrier it could be from.
    page.goto(live_server.url + "/")
    page.fill("#id_number", "794698432184")
    page.click("button.lookup-button")
    page.wait_for_selector(".lookup-message")
    assert "FedEx or Purolator Canada" in page.locator(".lookup-message").inner_text()
    assert page.locator(".candidate-button").all_inner_texts() == ["FedEx", "Purolator Canada"]
    assert serious_violations(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="FedEx", exact=True).click()
    assert "could not find a parcel" in page.locator(".lookup-message").inner_text()
    # The one a FedEx parcel has: straight to its page, no question asked.
    page.fill("#id_number", "7946 9843 2183")
    page.click("button.lookup-button")
    page.wait_for_url(f"**/t/{shipment.public_token}/")
    page.wait_for_selector(".map-marker")
    markers = page.locator(".leaflet-marker-icon.map-marker")
    assert markers.all_inner_texts() == ["1\u20132", "3", "4\u20135", "6", "7"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "public-page.png"), full_page=True)
    page.locator(".map-marker.is-latest").click()
    assert "At local FedEx facility" in page.locator(".leaflet-popup-content").inner_text()
    assert page.locator("h1#headline").inner_text().startswith("Arriving ")
    assert [p[:300] for p in page.problems if "Content Security Policy" in p] == []


def test_bad_input_and_unknown_number_in_the_browser(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/")
    page.fill("#id_number", "<b>nope</b>")
    page.click("button.lookup-button")
    error = page.locator("#number-error")
    assert "only the letters A to Z and digits" in error.inner_text()
    assert page.locator("#id_number").get_attribute("aria-invalid") == "true"
    assert serious_violations(page) == []
    page.fill("#id_number", "1Z999AA10123456799")
    page.click("button.lookup-button")
    assert "We could not find a parcel" in page.locator(".lookup-message").inner_text()
