"""What the pages say and how they behave, in a real browser: accessibility in light and dark
mode on every page kind, no map marker hidden under another, the staff list on a phone and at
1,366 px, the search box after Back, focus after "Refresh now", import errors without a reload."""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tracking import services
from tracking.models import ImportJob, ImportRowError, Shipment

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
sync_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
expect = sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-truth-staff-1"
DELIVERED = ("ups", "1Z5R89390357567127")  # Louisville -> Atlanta -> Decatur, signed


def serious(page) -> list[str]:
    results = axe_module.Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def in_both_schemes(page) -> dict[str, list[str]]:
    found = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(250)  # let colour transitions finish before measuring
        found[scheme] = serious(page)
    page.emulate_media(color_scheme="light")
    return found


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("truth", "t@example.com", PASSWORD)


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/staff/login/")
    page.fill("#id_username", "truth")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/$"))


@pytest.fixture
def delivered(db) -> Shipment:
    shipment = services.track_shipment(carrier_code=DELIVERED[0], tracking_number=DELIVERED[1])
    Shipment.objects.update(last_checked_at=timezone.now())
    return shipment


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_public_page_accessible_in_both_schemes_and_no_marker_hidden(
    live_server, browser_page, settings, delivered
):
    settings.PUBLIC_STALE_MINUTES = 0
    page = browser_page
    page.goto(f"{live_server.url}/t/{delivered.public_token}/")
    page.wait_for_selector(".map-marker")
    page.wait_for_timeout(300)
    assert in_both_schemes(page) == {"light": [], "dark": []}
    # Atlanta (3) and Decatur (4-5) are 15 km apart: at the fitted zoom they would overlap.
    boxes = [m.bounding_box() for m in page.locator(".leaflet-marker-icon.map-marker").all()]
    assert len(boxes) == 3
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not boxes_overlap(a, b), (a, b)
    # The timeline numbers its scans like the markers.
    numbers = [t.strip() for t in page.locator(".timeline-marker").all_inner_texts()]
    assert sorted(int(n) for n in numbers) == [1, 2, 3, 4, 5]


def test_staff_pages_and_admin_accessible_in_both_schemes(
    live_server, browser_page, staff, delivered
):
    page = browser_page
    log_in(page, live_server)
    assert in_both_schemes(page) == {"light": [], "dark": []}, "staff list"
    page.goto(f"{live_server.url}/staff/?q=zzzz")  # every chip at zero
    assert in_both_schemes(page) == {"light": [], "dark": []}, "empty list"
    page.goto(f"{live_server.url}/staff/shipments/{delivered.pk}/")
    page.click("summary:has-text('Last raw API answer')")
    assert in_both_schemes(page) == {"light": [], "dark": []}, "shipment page"
    for path in (
        "/admin/",
        "/admin/tracking/carrier/",
        "/admin/tracking/shipment/",
        f"/admin/tracking/shipment/{delivered.pk}/change/",
        "/admin/tracking/trackingevent/",
        "/admin/tracking/apicall/health/",
    ):
        page.goto(live_server.url + path)
        assert in_both_schemes(page) == {"light": [], "dark": []}, path


def test_staff_list_on_a_phone_and_at_1366(live_server, browser_page, staff, delivered):
    for number in ("794698432183", "1Z999AA10123456784", "4582917364"):
        services.track_shipment(
            carrier_code="ups" if number.startswith("1Z") else "fedex",
            tracking_number=number,
            reference=f"ORD-10428-{number[-2:]}",
        )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    first_row = page.locator(".shipment-row").first.bounding_box()
    assert first_row["y"] < 844, "the first result is on the first screen"
    assert first_row["width"] <= width
    page.set_viewport_size({"width": 1366, "height": 900})
    page.wait_for_timeout(100)
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the table is not clipped"


def test_search_box_shows_the_query_of_the_results_after_back(
    live_server, browser_page, staff, delivered
):
    services.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    page = browser_page
    log_in(page, live_server)
    length = page.evaluate("history.length")
    page.locator("#id_q").press_sequentially("Memphis", delay=400)  # pauses between keys
    expect(page.locator("#results .row-link")).to_have_text(["794698432183"])
    assert page.evaluate("history.length") == length  # the search replaced the entry
    page.locator("#results .row-link").first.click()
    page.wait_for_url(re.compile(r"/staff/shipments/\d+/"))
    page.go_back()
    page.wait_for_url(re.compile(r"q=Memphis"))
    expect(page.locator("#id_q")).to_have_value("Memphis")
    expect(page.locator("#results .row-link")).to_have_text(["794698432183"])


def test_focus_returns_to_the_refreshed_region(live_server, browser_page, staff, delivered):
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/staff/shipments/{delivered.pk}/")
    page.locator("button", has_text="Refresh now").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".refresh-result")
    expect(page.locator(".refresh-result")).to_be_focused()


def test_skip_link_jumps_to_the_results(live_server, browser_page, staff, delivered):
    page = browser_page
    log_in(page, live_server)
    page.focus("#id_q")  # where the page puts the cursor
    page.keyboard.press("Tab")  # the Search button
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to the results"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results"


def test_import_errors_appear_when_the_job_finishes(live_server, browser_page, staff):
    page = browser_page
    log_in(page, live_server)
    job = ImportJob.objects.create(
        file_name="bad.csv",
        file_path="/nonexistent",
        state=ImportJob.State.IMPORTING,
        total_rows=4,
        rows_processed=1,
    )
    page.goto(f"{live_server.url}/staff/import/{job.pk}/")
    ImportRowError.objects.create(job=job, line=3, tracking_number="X!", message="bad number")
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.DONE, rows_processed=4, error_count=1, imported=3
    )
    expect(page.locator(".import-errors td", has_text="bad number")).to_be_visible(timeout=10_000)
    assert "task" not in page.locator(".import-state").inner_text().lower()
