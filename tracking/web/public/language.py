"""The language switcher's target: Django's set_language (a cookie, remembered for
LANGUAGE_COOKIE_AGE), behind a check that the language is one of ours. A language we do not
have (a tampered form, an old link) gets a page saying which ones there are, and changes
nothing; an unsafe `next` is Django's to refuse (it falls back to the home page)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    if request.POST.get("language", "") not in LANGUAGE_CODES:
        return render(
            request,
            "tracking/public/unknown_language.html",
            {"asked": request.POST.get("language", "")[:20]},
            status=400,
        )
    return django_set_language(request)
