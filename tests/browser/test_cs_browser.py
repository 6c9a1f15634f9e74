"""The customer-service flow in a browser: the keyboard through the list (/, j/k, arrows, Enter),
bulk refresh with its progress, a note added in place, the queue; axe in light and dark."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tracking import services
from tracking.models import BulkAction, ShipmentNote

from .conftest import screenshot

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-cs-staff-1"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("agent", password=PASSWORD, is_staff=True)


@pytest.fixture
def demo(db):
    return [
        services.track_shipment(carrier_code=c, tracking_number=n, reference=r)
        for c, n, r in [
            ("fedex", "794698432183", "ORD-1001"),
            ("ups", "1Z5R89390357567127", "ORD-1002"),
            ("dhl_express", "4582917364", "ORD-1003"),
        ]
    ]


def log_in(page, live_server, next_path="/staff/"):
    page.goto(f"{live_server.url}{next_path}")
    page.fill("#id_username", "agent")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/"))


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


def serious(page) -> dict[str, list[str]]:
    found = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(250)
        results = axe_module.Axe().run(page)
        found[scheme] = [
            f"{v['id']}: {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
    page.emulate_media(color_scheme="light")
    return found


def test_the_keyboard_finds_and_opens_a_shipment(live_server, browser_page, staff, demo):
    page = browser_page
    log_in(page, live_server)
    links = [t.strip() for t in page.locator("#results a.row-link").all_inner_texts()]
    page.locator("h1, body").first.evaluate("el => document.activeElement.blur()")
    page.keyboard.press("/")
    assert focused(page) == "id_q"
    page.keyboard.press("ArrowDown")
    assert focused(page) == links[0]
    page.keyboard.press("j")
    assert focused(page) == links[1]
    page.keyboard.press("ArrowDown")
    assert focused(page) == links[2]
    page.keyboard.press("k")
    assert focused(page) == links[1]
    screenshot(page, "staff-keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/shipments/\d+/"))
    assert page.locator("#tracking-number").inner_text() == links[1]
    assert page.problems == [] or all("404" in p for p in page.problems)


def test_bulk_refresh_shows_its_progress(live_server, browser_page, staff, demo):
    page = browser_page
    log_in(page, live_server)
    page.locator("input.row-select").nth(0).check()
    page.locator("input.row-select").nth(1).check()
    page.click("button[name=kind][value=refresh]")
    page.wait_for_url(re.compile(r"/staff/bulk/\d+/"))
    expect(page.locator("#bulk-progress")).to_contain_text("2 done, 0 failed, of 2")
    assert BulkAction.objects.get().state == "done"
    screenshot(page, "staff-bulk-refresh")
    assert serious(page) == {"light": [], "dark": []}
    page.click("text=Back to the list")
    page.wait_for_url(re.compile(r"/staff/"))


def test_a_note_is_added_in_place_and_the_link_copied(live_server, browser_page, staff, demo):
    page = browser_page
    shipment = demo[0]
    log_in(page, live_server, f"/staff/shipments/{shipment.pk}/")
    expect(page.locator(".customer-link-actions .copy-button")).to_be_visible()
    page.evaluate("window.__samePage = true")
    page.fill("#id_note_body", "Customer called, asked for the link")
    page.click("#notes button[type=submit]")
    expect(page.locator("#notes .note-body").first).to_have_text(
        "Customer called, asked for the link"
    )
    assert page.evaluate("window.__samePage") is True
    expect(page.locator("#id_note_body")).to_have_value("")
    assert ShipmentNote.objects.filter(shipment=shipment).count() == 1
    screenshot(page, "staff-notes")
    assert serious(page) == {"light": [], "dark": []}
    page.goto(f"{live_server.url}/staff/attention/")
    assert serious(page) == {"light": [], "dark": []}
    screenshot(page, "staff-attention")
