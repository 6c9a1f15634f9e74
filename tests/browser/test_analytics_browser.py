"""The analytics page and our estimate in a real browser: no serious or critical axe finding in
light and dark mode, charts drawn with their labels, the GET form and a CSV download without
JavaScript, a phone-width page without sideways scrolling; screenshots to look at."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.analytics_support import parcel
from tracking.models import DeliveryEstimate
from tracking.services import analytics_refresh

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-analytics-1"
STATES = ["CA", "TX", "NY", "IL", "GA", "WA"]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("analyst", password=PASSWORD, is_staff=True)


@pytest.fixture
def history(db, settings):
    """Three carriers' parcels over four weeks: delivered, late, on their way, in trouble."""
    settings.ESTIMATE_MIN_PARCELS = 5
    rng = random.Random(17)
    now = timezone.now()
    made = []
    for i in range(120):
        carrier = ("ups", "fedex", "usps")[i % 3]
        start = now - timedelta(days=rng.randint(3, 28), hours=rng.randint(0, 23))
        origin, middle, destination = rng.choice(STATES[:2]), rng.choice(STATES), rng.choice(STATES)
        hours = rng.randint(30, 120) * (1.5 if carrier == "usps" else 1)
        roll = rng.random()
        if roll < 0.65:
            journey = ((0, "AC", origin), (hours / 2, "IT", middle), (hours, "DE", destination))
            eta = start + timedelta(hours=hours + rng.choice([-30, 10, 30]))
        elif roll < 0.75:
            journey = ((0, "AC", origin), (20, "EX", middle))
            eta = None
        elif roll < 0.82:
            journey = ((0, "AC", origin), (30, "IT", middle), (45, "AT", destination))
            eta = start + timedelta(days=2)
        else:
            start = now - timedelta(hours=rng.randint(5, 90))
            journey = ((0, "AC", origin), (3, "IT", middle))
            eta = None
        made.append(parcel(journey, carrier=carrier, start=start, eta=eta))
    analytics_refresh.rebuild_all()
    return made


def log_in(page, live_server, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path.split("?")[0])))


def serious(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_the_analytics_page_in_light_and_dark(live_server, browser_page, staff, history):
    page = browser_page
    log_in(page, live_server, "/staff/analytics/")
    assert page.locator("section.chart-card").count() == 6
    for slug in ("per-day", "status", "transit", "on-time", "incidents", "quiet"):
        chart = page.locator(f"#{slug} svg.chart")
        assert chart.is_visible(), slug
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 40, (slug, box)
    # Each bar says its numbers in words beside it.
    assert page.locator("#on-time svg text").filter(has_text="on time").count() >= 3
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(200)
        assert serious(page) == [], scheme
        screenshot(page, f"staff-analytics-{scheme}", full_page=True)
    page.emulate_media(color_scheme="light")
    assert page.problems == []


def test_choosing_a_carrier_and_downloading_a_csv_without_javascript(
    live_server, new_context, browser_settings, staff, history
):
    context = new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "/staff/analytics/")
    page.select_option("#id_carrier", label="UPS")
    page.select_option("#id_period", "90")
    page.click("button:text('Show')")
    page.wait_for_url(re.compile(r"carrier=ups"))
    assert "period=90" in page.url
    assert page.locator("#transit thead th").first.inner_text() == "Lane"
    with page.expect_download() as info:
        page.click("#transit a[download]")
    download = info.value
    assert download.suggested_filename.startswith("transit-")
    assert "Lane,Delivered parcels" in Path(download.path()).read_text()


def test_a_phone_gets_the_page_without_sideways_scrolling(
    live_server, new_context, browser_settings, staff, history
):
    context = new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "/staff/analytics/?period=90")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(page, "staff-analytics-phone")


def test_our_estimate_on_the_staff_and_public_pages(
    live_server, browser_page, staff, history, settings
):
    settings.PUBLIC_STALE_MINUTES = 0  # show the stored parcel, not a sandbox journey for it
    estimate = DeliveryEstimate.objects.select_related("shipment").first()
    assert estimate is not None
    page = browser_page
    log_in(page, live_server, f"/staff/shipments/{estimate.shipment_id}/")
    assert page.locator(".our-estimate dt").inner_text() == "Our estimate"
    assert serious(page) == []
    screenshot(page, "staff-our-estimate")
    page.goto(f"{live_server.url}/t/{estimate.shipment.public_token}/")
    assert "not a date from the carrier" in page.locator(".our-estimate").inner_text()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious(page) == [], scheme
    screenshot(page, "public-our-estimate")
