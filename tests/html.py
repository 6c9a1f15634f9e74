"""Parsed-HTML assertions: select elements by CSS selector instead of matching substrings."""

from __future__ import annotations

import json
import re

from bs4 import BeautifulSoup, Tag
from django.http import HttpResponse


def parse(content: str | bytes | HttpResponse) -> BeautifulSoup:
    if isinstance(content, HttpResponse):
        content = content.content
    if isinstance(content, bytes):
        content = content.decode()
    return BeautifulSoup(content, "html.parser")


def one(content: str | bytes | HttpResponse | Tag, selector: str) -> Tag:
    """The single element matching `selector` (fails when there are none or several), in a page
    or inside an element."""
    soup = content if isinstance(content, Tag) else parse(content)
    found = soup.select(selector)
    assert len(found) == 1, f"{len(found)} elements match {selector!r}"
    return found[0]


def texts(content: str | bytes | HttpResponse | Tag, selector: str) -> list[str]:
    """The whitespace-normalised text of every element matching `selector`, in page order."""
    soup = content if isinstance(content, Tag) else parse(content)
    return [" ".join(el.get_text(" ").split()) for el in soup.select(selector)]


def scripts_are_external_with_the_nonce(response: HttpResponse) -> list[Tag]:
    """Every <script> of the page loads a file and carries the response's CSP nonce: there is no
    inline script (only JSON data blocks, which are never run). Returns the external scripts."""
    soup = parse(response)
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    external = []
    for script in soup.find_all("script"):
        if script.get("type") == "application/json":
            assert not script.get("src"), script
            json.loads(script.string or "")
            continue
        assert script.get("src"), f"an inline script: {str(script)[:200]}"
        assert not (script.string or "").strip(), f"code inside a script with src: {script}"
        assert nonce and script.get("nonce") == nonce.group(1), (script, policy)
        external.append(script)
    return external
