"""Which language a request is answered in.

Public pages: the reader's, from the switcher's cookie (Django's set_language view sets it) or
else Accept-Language, as Django's LocaleMiddleware decides; English when neither names a
language we have. Staff pages, the admin, the API and the webhook receivers stay in
LANGUAGE_CODE whatever the browser asks: the staff work in one language, and the status words
they share with the public pages (domain/statuses.py, gettext_lazy) render in it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers

#: Paths that are not public pages (the URLs of shiptrack/urls.py), and the public files that
#: speak no language (brand.css is cached by shared caches: no Vary on the language for it).
NOT_PUBLIC = ("/staff/", "/admin/", "/api/", "/webhooks/", "/healthz", "/brand.css", "/static/")


def is_public(path: str) -> bool:
    return not path.startswith(NOT_PUBLIC)


class PublicLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if is_public(request.path_info):
            super().process_request(request)
            return
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE  # type: ignore[attr-defined]

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if is_public(request.path_info):
            # Vary: Accept-Language, and Content-Language.
            response = super().process_response(request, response)
            # The switcher's cookie chooses the language too: a shared cache must keep one copy
            # per cookie as well as per Accept-Language.
            patch_vary_headers(response, ("Cookie",))
            return response
        response.headers.setdefault("Content-Language", settings.LANGUAGE_CODE)
        return response
