"""brand.css: the accent colour as a stylesheet (no inline style under the CSP)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from ...presentation.brand import text_colour_on


@require_GET
@cache_control(public=True, max_age=86400)
def brand_css(request: HttpRequest) -> HttpResponse:
    accent = settings.BRAND_ACCENT_COLOR
    css = f":root {{ --brand: {accent}; --on-brand: {text_colour_on(accent)}; }}\n"
    return HttpResponse(css, content_type="text/css; charset=utf-8")
