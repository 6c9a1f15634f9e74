"""The staff portal in a real browser (Debian's chromium through Playwright): log in, search as
you type, filter, open a shipment, count its map markers, refresh in place, add a package."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from tracking import services
from tracking.models import Shipment, TrackingEvent

from .conftest import screenshot, watch

# The carriers come from a data migration, which a flush removes: tests/conftest.py puts them back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-browser-staff-1"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("agent", password=PASSWORD, is_staff=True)


@pytest.fixture
def demo(db):
    """A few of the sandbox's demo parcels, fetched the normal way."""
    shipments = {}
    for carrier, number, ref, name in [
        ("fedex", "794698432183", "ORD-1001", "Ada Lovelace"),
        ("ups", "1Z5R89390357567127", "ORD-1002", "Grace Hopper"),
        ("dhl_express", "4582917364", "ORD-1003", "Alan Turing"),
        ("ups", "1Z999AA10123456784", "ORD-1004", "Katherine Johnson"),
        ("ups", "1Z12345E0205271688", "ORD-1005", "Edsger Dijkstra"),
    ]:
        shipments[number] = services.track_shipment(
            carrier_code=carrier, tracking_number=number, reference=ref, customer_name=name
        )
    return shipments


def log_in(page, live_server, next_path="/staff/"):
    page.goto(f"{live_server.url}{next_path}")
    assert "/staff/login/" in page.url
    page.fill("#id_username", "agent")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/"))


def problems(page) -> list[str]:
    # The browser asks for /favicon.ico on its own; there is none.
    return [p for p in page.problems if "404" not in p]


def marker_numbers(page) -> list[int]:
    """The event numbers the map's markers stand for. Scans at one place share a marker
    labelled "4\u20135", so every event with coordinates appears exactly once."""
    numbers: list[int] = []
    for text in page.locator(".map-marker").all_inner_texts():
        first, _, last = text.strip().partition("\u2013")
        numbers.extend(range(int(first), int(last or first) + 1))
    return sorted(numbers)


def rows(page):
    return page.locator("#results .row-link")


def row_numbers(page) -> list[str]:
    return [t.strip() for t in page.locator("#results .row-link").all_inner_texts()]


def test_log_in_search_as_you_type_filter_and_go_back(live_server, browser_page, staff, demo):
    page = browser_page
    log_in(page, live_server)
    assert sorted(row_numbers(page)) == sorted(demo)
    assert page.evaluate("document.activeElement.id") == "id_q"  # the search box has focus

    # Typing, no Enter: the results follow (htmx, debounced), the URL keeps the state.
    page.evaluate("window.__samePage = true")
    page.locator("#id_q").press_sequentially("7946", delay=60)
    expect(rows(page)).to_have_text(["794698432183"], timeout=10_000)
    page.wait_for_url(re.compile(r"[?&]q=7946"))
    assert page.evaluate("window.__samePage") is True  # no full page load
    screenshot(page, "staff-search")

    # A customer name, then an event's city.
    page.fill("#id_q", "")
    page.locator("#id_q").press_sequentially("turing", delay=40)
    expect(rows(page)).to_have_text(["4582917364"])
    page.fill("#id_q", "")
    page.locator("#id_q").press_sequentially("Memphis", delay=40)
    expect(rows(page)).to_have_text(["794698432183"])

    # Clear the search, filter by status: the counts are on the chips.
    page.fill("#id_q", "")
    page.locator("#id_q").dispatch_event("input")
    expect(rows(page)).to_have_count(len(demo))
    chip = page.locator("#status-filter label", has=page.locator("input[value=EX]"))
    assert chip.locator(".count").inner_text() == "1"
    chip.click()
    expect(rows(page)).to_have_text(["4582917364"])
    page.wait_for_url(re.compile(r"status=EX"))
    screenshot(page, "staff-filtered")

    # The pasted link shows the same page; the back button returns to the unfiltered list.
    filtered_url = page.url
    page.go_back()
    expect(rows(page)).to_have_count(len(demo))
    other = page.context.new_page()
    other.goto(filtered_url)
    assert [t.strip() for t in other.locator("#results .row-link").all_inner_texts()] == [
        "4582917364"
    ]
    assert other.locator("#status-filter input[value=EX]").is_checked()
    other.close()
    assert problems(page) == []


def test_open_a_shipment_map_markers_and_refresh_in_place(live_server, browser_page, staff, demo):
    page = browser_page
    log_in(page, live_server)
    shipment = demo["794698432183"]
    page.locator(".row-link", has_text="794698432183").click()
    page.wait_for_url(re.compile(rf"/staff/shipments/{shipment.pk}/"))
    located = TrackingEvent.objects.filter(shipment=shipment, latitude__isnull=False).count()
    assert located > 1
    page.wait_for_selector(".map-marker")
    assert marker_numbers(page) == list(range(1, located + 1))
    assert page.locator(".timeline-item").count() == shipment.events.count()
    assert page.locator("h1 .copy-button").is_visible()
    assert "In transit" in page.locator(".status-words").inner_text()
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.wait_for_timeout(400)  # let the map settle before the picture
    screenshot(page, "staff-shipment")

    # Lose an event, then "Refresh now": it comes back, in place.
    TrackingEvent.objects.filter(shipment=shipment).order_by("occurred_at").first().delete()
    # The app never deletes an event; its every write moves updated_at, which the page's cached
    # timeline is keyed on (web/staff/tracking_part.py). Do here what such a write would.
    Shipment.objects.filter(pk=shipment.pk).update(updated_at=timezone.now())
    page.reload()
    before = page.locator(".timeline-item").count()
    page.evaluate("window.__samePage = true")
    page.click("text=Refresh now")
    page.wait_for_selector(".refresh-result.is-ok")
    assert "1 new event" in page.locator(".refresh-result").inner_text()
    assert page.locator(".timeline-item").count() == before + 1
    assert page.evaluate("window.__samePage") is True
    page.wait_for_selector(".map-marker")
    assert marker_numbers(page) == list(range(1, located + 1))
    assert problems(page) == []


def test_refresh_failure_is_shown_on_the_page(live_server, browser_page, staff, demo):
    page = browser_page
    broken = Shipment.objects.create(
        carrier=demo["794698432183"].carrier, tracking_number="FAULT-404", status_code="IT"
    )
    log_in(page, live_server, f"/staff/shipments/{broken.pk}/")
    page.click("text=Refresh now")
    alert = page.locator(".refresh-result.is-error[role=alert]")
    alert.wait_for()
    assert "The tracking number was not found" in alert.inner_text()
    assert page.locator(".map-empty").count() == 1  # no coordinates: the empty state, no map


def test_add_a_package_and_the_api_error_keeps_the_input(live_server, browser_page, staff):
    page = browser_page
    log_in(page, live_server)
    page.click("nav >> text=Add")
    page.select_option("#id_carrier", "ups")
    page.fill("#id_tracking_number", "FAULT-404")
    page.fill("#id_reference", "ORD-7")
    page.click("text=Add and fetch tracking")
    page.wait_for_selector(".form-errors")
    assert "not found" in page.locator(".form-errors").inner_text()
    assert page.input_value("#id_tracking_number") == "FAULT-404"
    assert page.input_value("#id_reference") == "ORD-7"
    screenshot(page, "staff-add-error")

    page.fill("#id_tracking_number", "1Z5R89390357567127")
    page.click("text=Add and fetch tracking")
    page.wait_for_url(re.compile(r"/staff/shipments/\d+/"))
    assert "Delivered" in page.locator(".status-words").inner_text()
    assert Shipment.objects.get(tracking_number="1Z5R89390357567127").reference == "ORD-7"

    # The same package again opens it instead of adding a duplicate.
    page.click("nav >> text=Add")
    page.select_option("#id_carrier", "ups")
    page.fill("#id_tracking_number", "1z5r 8939 0357 5671 27")
    page.click("text=Add and fetch tracking")
    page.wait_for_selector("text=already tracked")
    assert Shipment.objects.filter(tracking_number="1Z5R89390357567127").count() == 1


def test_search_works_without_javascript(live_server, new_context, browser_settings, staff, demo):
    page = watch(new_context(java_script_enabled=False).new_page())
    log_in(page, live_server)
    page.fill("#id_q", "ORD-1003")
    page.click(".search-row button[type=submit]")
    page.wait_for_url(re.compile(r"q=ORD-1003"))
    assert row_numbers(page) == ["4582917364"]
    page.check("#status-filter input[value=DE]")
    page.click("text=Apply filters")
    page.wait_for_url(re.compile(r"status=DE"))
    assert row_numbers(page) == []
    assert "Nothing matches" in page.content()
