"""Shared browser fixtures: Debian's chromium through pytest-playwright (sync API).

One chromium per test process (pytest-playwright's session-scoped `browser`, launched with the
options of `browser_type_launch_args` below); every test gets a fresh context and page from its
`new_context` fixture, closed after the test.

`browser_page`: a fresh page (`browser_viewport`, 1280x900 unless a module overrides it) on a fresh
context; map tile requests answer an empty 200 (no internet here; markers still draw); console
messages of the `browser_console_levels` types (errors unless a module overrides it) and page
errors are collected in `page.problems`. Cookies work over the live server's plain http.

Without /usr/bin/chromium the browser tests skip, and fail under CI=true (`require_or_skip`).

`screenshot()` takes a picture on every run; it replaces docs/screenshots/<name>.png only with
UPDATE_SCREENSHOTS=1 (`UPDATE_SCREENSHOTS=1 bash scripts/test -m browser`), so that running the
tests leaves the working tree as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_or_skip

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TILE_PATTERNS = ["**/*.tile.openstreetmap.org/**", "**/tile.openstreetmap.org/**"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options (from its command-line options), with Debian's
    chromium. Headless unless --headed is given."""
    require_or_skip(
        Path(CHROMIUM).is_file(),
        f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)",
    )
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url() -> None:
    """No base URL: tests go to `live_server.url` (each xdist worker has its own server). Also
    keeps pytest-playwright's fallback fixture, which pytest 9 warns about, out of the run."""
    return None


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
def browser_console_levels() -> tuple[str, ...]:
    """The console message types that count as problems; override in a module."""
    return ("error",)


def watch(page: Any, levels: tuple[str, ...] = ("error",)) -> Any:
    """Route map tiles to an empty answer and collect console problems in `page.problems`."""
    page.set_default_timeout(15_000)
    for pattern in TILE_PATTERNS:
        page.route(pattern, lambda route: route.fulfill(status=200, body=b""))
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in levels else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    return page


@pytest.fixture
def browser_page(
    new_context: Callable[..., Any],
    browser_settings: Any,
    browser_viewport: tuple[int, int],
    browser_console_levels: tuple[str, ...],
) -> Iterator[Any]:
    width, height = browser_viewport
    context = new_context(viewport={"width": width, "height": height})
    yield watch(context.new_page(), browser_console_levels)
    # new_context closes the context (and its pages) after the test.


def screenshot(page: Any, name: str, *, full_page: bool = False) -> bytes:
    """A PNG of the viewport (or the full page); with UPDATE_SCREENSHOTS=1 it also replaces
    docs/screenshots/<name>.png."""
    # caret="initial": hiding the caret would inject an inline <style>, which the CSP refuses.
    png: bytes = page.screenshot(full_page=full_page, caret="initial")
    assert png.startswith(b"\x89PNG"), name
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(png)
    return png
