"""The API's URLs: /api/v1/... routes, the OpenAPI 3.1 schema and the docs page.

Anything else under /api/v1/ answers a JSON 404, and a known path with the wrong method a JSON
405, so a client never has to parse an HTML page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI, Swagger

from . import errors, shipments, webhook_endpoints
from .schemas import BulkIn


class ShiptrackApi(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        # The bulk route parses its body itself (one result per item, never one error for the
        # lot), so ninja does not see its schema: add it for the docs and for clients.
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["BulkIn"] = BulkIn.model_json_schema(ref_template="#/components/schemas/{model}")
        return schema


api = ShiptrackApi(
    title="shiptrack API",
    version="1",
    description=(
        "Register shipments as they ship, read their tracking, and be told when they change. "
        "Authenticate with `Authorization: Bearer <key>` (keys: the admin or "
        "`manage.py create_api_key`). Errors always look like "
        '`{"errors": [{"code", "message", "field"}]}`.'
    ),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    # The Swagger UI shipped inside django-ninja (static files, no CDN); validatorUrl off so the
    # page never calls swagger.io.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
errors.install(api)
api.add_router("", shipments.router)
api.add_router("", webhook_endpoints.router)


def _json_405(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            response = errors.problem(
                405,
                [errors.error("method_not_allowed", f"Use {allowed}.")],
                headers={"Allow": allowed},
            )
        return response

    for attribute in ("csrf_exempt",):
        if hasattr(view, attribute):
            setattr(wrapped, attribute, getattr(view, attribute))
    return wrapped


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return errors.problem(404, [errors.error("not_found", "No such API route.")])


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _app_name, _namespace = api.urls
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and pattern.name == "api-root":
            # ninja's root answers an HTML 404 (ninja reverses its name: keep the pattern).
            pattern.callback = not_found  # type: ignore[misc]
        elif isinstance(pattern, URLPattern):
            pattern.callback = _json_405(pattern.callback)  # type: ignore[misc]
        wrapped.append(pattern)
    return wrapped


app_name = "api-v1"
urlpatterns = [*_patterns(), path("<path:rest>", not_found), path("", not_found)]
