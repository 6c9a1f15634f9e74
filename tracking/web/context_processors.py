"""Values every page needs: whether answers are simulated, and the site's branding."""

import hashlib
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from ..services.api_client import is_simulated


def _safe_link(value: str, *, allow_mailto: bool = False) -> str:
    """Only https/http links, site paths (and mailto: for support) reach a page from settings."""
    value = (value or "").strip()
    schemes = ("https://", "http://", "mailto:") if allow_mailto else ("https://", "http://")
    if value.startswith(schemes) or (value.startswith("/") and not value.startswith("//")):
        return value
    return ""


@lru_cache(maxsize=8)
def _brand_css_url(accent: str) -> str:
    # The colour is in the URL, so a changed colour is a new URL (the CSS is cached for long).
    version = hashlib.sha256(accent.encode()).hexdigest()[:10]
    return f"{reverse('public:brand_css')}?v={version}"


def shiptrack(request: HttpRequest) -> dict[str, object]:
    """Values every page needs: whether answers are simulated, and the site's branding."""
    return {
        "sandbox_mode": is_simulated(),
        "brand_name": settings.BRAND_NAME,
        "brand_logo_url": _safe_link(settings.BRAND_LOGO_URL),
        "brand_support_url": _safe_link(settings.BRAND_SUPPORT_URL, allow_mailto=True),
        # Shown as written; empty: the public pages' default sentence in the reader's language.
        "support_contact": settings.SUPPORT_CONTACT.strip(),
        "brand_css_url": _brand_css_url(settings.BRAND_ACCENT_COLOR),
    }
