from django.conf import settings
from django.http import HttpRequest


def shiptrack(request: HttpRequest) -> dict[str, object]:
    """Values every page needs: whether answers are simulated, and the site's branding."""
    return {
        "sandbox_mode": settings.SHIPENGINE_SANDBOX,
        "brand_name": getattr(settings, "BRAND_NAME", "shiptrack"),
    }
