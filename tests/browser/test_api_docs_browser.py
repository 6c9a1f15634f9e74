"""The API docs page (/api/v1/docs) in a real browser: Swagger UI from django-ninja's own static
files draws every operation under our CSP (no inline script or style refused, no request to
another site), in light and dark mode."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_docs_page_draws_under_the_csp(browser_page, live_server, scheme):
    page = browser_page
    page.emulate_media(color_scheme=scheme)
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
            else None
        ),
    )
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title")
    assert "shiptrack API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")
    paths = {
        el.inner_text().replace("\u200b", "")
        for el in page.query_selector_all(".opblock-summary-path")
    }
    assert {
        "/api/v1/shipments",
        "/api/v1/shipments/bulk",
        "/api/v1/shipments/{shipment_id}",
        "/api/v1/shipments/{shipment_id}/refresh",
        "/api/v1/webhook-endpoints",
        "/api/v1/webhook-endpoints/{endpoint_id}",
    } <= paths
    # Open one operation: its schema and responses render too.
    first_post = page.locator(".opblock-post").first
    first_post.locator(".opblock-summary").click()
    first_post.locator(".responses-table").first.wait_for()
    if scheme == "light":
        screenshot(page, "api-docs")
    assert page.problems == []  # a CSP refusal is a console error in Chromium
    assert outside == []


def test_try_it_out_calls_the_api_with_a_key(browser_page, live_server):
    from tracking.services import api_keys

    raw = api_keys.create_key(name="docs", scopes=["read"]).raw
    page = browser_page
    page.goto(f"{live_server.url}/api/v1/docs")
    page.click("button.authorize")
    page.fill(".modal-ux input", raw)
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.btn-done")
    listing = page.locator(".opblock-get").first
    listing.locator(".opblock-summary").click()
    listing.locator("button.try-out__btn").click()
    listing.locator("button.execute").click()
    # The live answer ("Server response"): its status cell and the JSON body.
    live = listing.locator(".live-responses-table")
    live.locator("tr.response").first.wait_for()
    assert live.locator("tr.response td.response-col_status").first.inner_text().strip() == "200"
    assert "next_cursor" in live.inner_text()
    assert page.problems == []
