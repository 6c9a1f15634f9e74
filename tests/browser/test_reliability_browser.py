"""The pages issue 11 added or changed, in a real browser, light and dark: the login lockout, an
interrupted import with its Retry button, a long timeline's pages. No serious or critical axe
finding; screenshots under var/screenshots/ for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tracking.models import Carrier, ImportJob, Shipment, TrackingEvent

sync_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-reliability-staff-1"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def serious(page) -> list[str]:
    results = axe_module.Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def check_and_shoot(page, name: str) -> dict[str, list[str]]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(250)
        page.screenshot(path=str(SHOTS / f"{name}-{scheme}.png"), caret="initial")
        found[scheme] = serious(page)
    page.emulate_media(color_scheme="light")
    return found


def log_in(page, live_server, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/staff/login/")
    page.fill("#id_username", "rel-browser")
    page.fill("#id_password", password)
    page.click("button[type=submit]")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("rel-browser", password=PASSWORD, is_staff=True)


def test_the_lockout_page_says_why_and_for_how_long(live_server, browser_page, staff, settings):
    page = browser_page
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(page, live_server, password="wrong")
    log_in(page, live_server)
    body = page.locator("main, body").first.inner_text()
    assert "Too many failed log-ins" in body and "Try again in 15 minutes" in body
    assert check_and_shoot(page, "staff-locked-out") == {"light": [], "dark": []}


def test_an_interrupted_import_offers_retry_and_a_long_timeline_pages(
    live_server, browser_page, staff, tmp_path
):
    path = tmp_path / "x.csv"
    path.write_text("carrier_code,tracking_number\nfedex,RETRYB01\n")
    job = ImportJob.objects.create(
        file_name="orders.csv",
        file_path=str(path),
        state=ImportJob.State.FAILED,
        imported=4000,
        resume_line=4001,
        attempts=3,
        message="The import was interrupted 3 times (the worker running it stopped). 4000 rows "
        "were imported, up to line 4001; Retry goes on from there.",
    )
    shipment = Shipment.objects.create(
        carrier=Carrier.objects.get(code="fedex"), tracking_number="LONG1", status_code="IT"
    )
    base = timezone.now() - timedelta(days=20)
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                shipment=shipment,
                dedupe_key=f"{i:064d}",
                occurred_at=base + timedelta(minutes=30 * i),
                description=f"Scan {i}",
                city_locality="MEMPHIS",
                status_code="IT",
            )
            for i in range(450)
        ]
    )
    Shipment.objects.filter(pk=shipment.pk).update(event_count=450)
    page = browser_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/staff/import/{job.pk}/")
    sync_api.expect(page.locator("form.import-retry button")).to_have_text("Retry")
    assert check_and_shoot(page, "staff-import-retry") == {"light": [], "dark": []}
    page.goto(f"{live_server.url}/staff/shipments/{shipment.pk}/?events=2")
    sync_api.expect(page.locator(".timeline-pages")).to_contain_text("Newer events")
    page.locator(".timeline-pages").scroll_into_view_if_needed()
    assert check_and_shoot(page, "staff-timeline-pages") == {"light": [], "dark": []}
    assert page.problems == []  # type: ignore[attr-defined]
