"""htmx helpers: the request type, and one rule for partial responses."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request for a region, not a history restore (which needs the whole page)."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def render_htmx(
    request: HttpRequest,
    template: str,
    partial: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """The page's `partial` ({% partialdef %}) for an htmx request, else the whole page. Views
    using it carry @vary_on_headers("HX-Request"), so caches keep the two apart."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    return render(request, name, context, status=status)
