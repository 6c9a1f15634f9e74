"""Parsed-HTML assertions: select elements by CSS selector instead of matching substrings."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag
from django.http import HttpResponse


def parse(content: str | bytes | HttpResponse) -> BeautifulSoup:
    if isinstance(content, HttpResponse):
        content = content.content
    if isinstance(content, bytes):
        content = content.decode()
    return BeautifulSoup(content, "html.parser")


def one(content: str | bytes | HttpResponse | BeautifulSoup, selector: str) -> Tag:
    """The single element matching `selector` (fails when there are none or several)."""
    soup = content if isinstance(content, BeautifulSoup) else parse(content)
    found = soup.select(selector)
    assert len(found) == 1, f"{len(found)} elements match {selector!r}"
    return found[0]


def texts(content: str | bytes | HttpResponse | BeautifulSoup, selector: str) -> list[str]:
    soup = content if isinstance(content, BeautifulSoup) else parse(content)
    return [" ".join(el.get_text(" ").split()) for el in soup.select(selector)]
