"""The Django admin in a real browser: the API-health chart, "Sync from ShipEngine", and a
shipment page with its inline events, without a CSP violation."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.browser.conftest import screenshot
from tests.factories import CarrierFactory, ShipmentFactory, add_events, record_calls
from tests.test_admin import CARRIER_LIST, HEALTH
from tracking.admin.shipments import INLINE_EVENTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_pages_in_a_browser(live_server, browser_page):
    # An earlier transactional test may have flushed the seeded carriers: the factory brings its
    # own then, so this test passes in any order.
    fedex = CarrierFactory(code="fedex", name="FedEx")
    User.objects.create_superuser("boss", "boss@example.com", "correct-horse-battery")
    now = datetime.now(UTC)
    record_calls(now, 200)
    shipment = ShipmentFactory(
        carrier=fedex,
        tracking_number="794698432183",
        status_code="IT",
        status_description="In Transit",
    )
    add_events(shipment, 120)
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}{HEALTH}")
    assert page.locator("h1").inner_text() == "API health"
    assert page.locator("#calls-per-hour svg rect").count() > 10
    screenshot(page, "admin-api-health", full_page=True)

    page.goto(f"{live_server.url}{CARRIER_LIST}")
    page.click("text=Sync from ShipEngine")
    assert "added" in page.locator(".messagelist").inner_text()
    screenshot(page, "admin-carriers")

    page.goto(f"{live_server.url}{reverse('admin:tracking_shipment_change', args=[shipment.pk])}")
    assert page.locator("text=all 120 events").count() == 1
    inline = page.locator("#events-group")
    assert inline.locator("tbody tr.event-row").count() == INLINE_EVENTS
    page.evaluate("document.getElementById('events-heading').scrollIntoView()")
    screenshot(page, "admin-shipment")
    problems = page.problems
    assert not [m for m in problems if "Content Security Policy" in m or "Refused" in m], problems
