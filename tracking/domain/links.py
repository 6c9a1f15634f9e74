"""Links that reach a page from outside (API answers, settings, admin input)."""

from __future__ import annotations

import re

_HTTP_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)


def safe_http_url(value: str | None) -> str:
    """The value when it is an http(s) address, else "": an answer must not inject javascript:."""
    return value if value and _HTTP_URL.match(value) else ""
