"""The import page in a real browser: upload, the progress bars follow the job by htmx polling,
no CSP violation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tracking.models import Carrier, ImportJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server) -> None:
    get_user_model().objects.create_user("imp", password="pw-imp-12345", is_staff=True)
    page.goto(live_server.url + "/staff/login/")
    page.fill("input[name=username]", "imp")
    page.fill("input[name=password]", "pw-imp-12345")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_progress_follows_the_job_without_reloading(browser_page, live_server):
    page = browser_page
    login(page, live_server)
    job = ImportJob.objects.create(
        file_name="orders.csv",
        file_path="/nonexistent",
        state=ImportJob.State.IMPORTING,
        total_rows=200,
        rows_processed=50,
    )
    page.goto(f"{live_server.url}/staff/import/{job.pk}/")
    assert page.locator("#rows-progress").get_attribute("value") == "25"
    page.evaluate("window.__marker = 'same page'")
    ImportJob.objects.filter(pk=job.pk).update(rows_processed=150, imported=140, error_count=10)
    expect(page.locator("#rows-progress")).to_have_attribute("value", "75", timeout=10_000)
    assert page.evaluate("window.__marker") == "same page"  # swapped in place, not reloaded
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.DONE, rows_processed=200)
    expect(page.locator("#import-progress")).not_to_have_attribute(
        "hx-trigger", "every 2s", timeout=10_000
    )
    expect(page.locator(".import-state")).to_contain_text("Done")
    screenshot(page, "staff-import-progress")
    assert page.problems == []  # type: ignore[attr-defined]


def test_upload_through_the_form(browser_page, live_server, tmp_path):
    Carrier.objects.get_or_create(code="fedex", defaults={"name": "FedEx"})
    page = browser_page
    login(page, live_server)
    page.goto(live_server.url + "/staff/import/")
    screenshot(page, "staff-import")
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "carrier_code,tracking_number,reference\nfedex,794698432183,A-1\nfedex,bad number!,A-2\n"
    )
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("form.stacked-form button[type=submit]")
    page.wait_for_url("**/staff/import/*/")
    assert "bad number!" in page.content()
    assert page.locator("#rows-progress").get_attribute("value") == "100"
    assert page.problems == []  # type: ignore[attr-defined]
