"""Shared browser fixtures: Debian's chromium through Playwright (sync API).

`browser_page`: a fresh page (`browser_viewport`, 1280x900 unless overridden) on a fresh context; map tile requests answer an empty 200
(no internet here; markers still draw); console errors and page errors are collected in
`page.problems`. Cookies work over the live server's plain http. Modules may define their own
`browser_page` (a fixture in a test module wins over this one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TILE_PATTERNS = ["**/*.tile.openstreetmap.org/**", "**/tile.openstreetmap.org/**"]


@pytest.fixture
def browser_settings(settings: Any) -> Any:
    # The live server speaks plain http: secure-only cookies would never come back.
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_SECURE = False
    return settings


@pytest.fixture
def browser_viewport() -> tuple[int, int]:
    """Override in a module (or parametrize indirectly) for another window size."""
    return (1280, 900)


@pytest.fixture
def browser_page(browser_settings: Any, browser_viewport: tuple[int, int]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    width, height = browser_viewport
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        for pattern in TILE_PATTERNS:
            page.route(pattern, lambda route: route.fulfill(status=200, body=b""))
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.problems = problems  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save docs/screenshots/<name>.png (small: PNG of the viewport unless full_page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # caret="initial": hiding the caret would inject an inline <style>, which the CSP refuses.
    page.screenshot(path=str(path), full_page=full_page, caret="initial")
    return path
