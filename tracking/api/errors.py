"""One error shape for every failure of the API, with the status that fits:

    {"errors": [{"code": "too_long", "message": "At most 100 characters.", "field": "reference"}]}

400 unreadable request (invalid JSON, bad cursor or header), 401 no or unknown key, 403 key
without the scope, 404 no such thing, 405 wrong method, 409 conflict (an Idempotency-Key still
running, an endpoint URL already registered), 413 body too large, 422 valid JSON with bad
values (wrong types, unknown fields, too long, bad tracking number...), 429 rate limited (with
Retry-After). Input is never echoed back (a 10 MB string stays out of the answer and the log).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

logger = logging.getLogger("shiptrack.api")

#: Pydantic error types -> our codes (anything else: "invalid").
_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_many_items",
    "string_type": "wrong_type",
    "int_type": "wrong_type",
    "int_parsing": "wrong_type",
    "bool_type": "wrong_type",
    "bool_parsing": "wrong_type",
    "list_type": "wrong_type",
    "dict_type": "wrong_type",
    "model_type": "wrong_type",
    "model_attributes_type": "wrong_type",
    "datetime_parsing": "wrong_type",
    "datetime_from_date_parsing": "wrong_type",
    "datetime_type": "wrong_type",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "literal_error": "not_allowed",
    "enum": "not_allowed",
    "json_invalid": "invalid_json",
}
#: Where a value came from, and the name of the view's parameter: not part of the field name.
_LOCATIONS = {"body", "query", "path", "header", "cookie", "payload", "filters"}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = [error(code, message, field)]
        self.headers = dict(headers or {})


def error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field}


def json_response(
    status: int, data: Any, *, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        status=status,
        content_type="application/json",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem(
    status: int, errors: Sequence[Mapping[str, Any]], *, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return json_response(status, {"errors": list(errors)}, headers=headers)


def only_query(request: HttpRequest, *allowed: str) -> None:
    """Refuse query parameters the route does not take: a typo (`?stauts=EX`) must not quietly
    answer everything."""
    unknown = sorted(set(request.GET) - set(allowed))
    if unknown:
        raise ApiError(422, "unknown_parameter", "Unknown query parameter.", field=unknown[0][:100])
    for name, values in request.GET.lists():
        if len(values) > 1:  # one would be dropped: say so (lists are comma-separated)
            raise ApiError(
                422, "repeated_parameter", "Give it once (a list: comma-separated).", field=name
            )


def field_name(loc: Iterable[Any]) -> str | None:
    parts = [str(p) for p in loc]
    while parts and parts[0] in _LOCATIONS:
        parts.pop(0)
    return ".".join(parts) or None


def validation_errors(raw: Iterable[Mapping[str, Any]], *, prefix: str = "") -> list[dict]:
    """Pydantic's errors as ours: code, message (never the input), field."""
    out = []
    for item in raw:
        kind = str(item.get("type", ""))
        name = field_name(item.get("loc", ()))
        if prefix:
            name = f"{prefix}.{name}" if name else prefix
        message = str(item.get("msg", "Invalid value."))
        if kind == "extra_forbidden":
            message = "Unknown field."
        out.append(error(_CODES.get(kind, "invalid"), message[:300], name))
    return out


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return problem(exc.status, exc.errors, headers=exc.headers)


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = validation_errors(exc.errors)
    invalid_json = [e for e in errors if e["code"] == "invalid_json"]
    if invalid_json:
        return problem(400, invalid_json)
    return problem(422, errors)


def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        401,
        [error("unauthorized", "Send a valid API key: Authorization: Bearer <key>.")],
        headers={"WWW-Authenticate": 'Bearer realm="shiptrack"'},
    )


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # django-ninja raises HttpError(400) for a body it cannot parse as JSON.
    if exc.status_code == 400:
        return problem(400, [error("invalid_json", "The body is not valid JSON.")])
    return problem(exc.status_code, [error("error", str(exc)[:300])])


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(404, [error("not_found", "Not found.")])


def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(413, [error("body_too_large", "The request body is too large.")])


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not bad input: logged with its traceback, answered in the API's shape.
    logger.exception("API request failed: %s %s", request.method, request.path)
    return problem(500, [error("internal_error", "Something went wrong on our side.")])


#: Ours instead of django-ninja's defaults (their shape is {"detail": ...}); most specific first
#: does not matter: ninja picks the handler by the exception's class hierarchy.
HANDLERS: list[tuple[type[Exception], Any]] = [
    (ApiError, _api_error),
    (ValidationError, _validation),
    (AuthenticationError, _unauthenticated),
    (HttpError, _http_error),
    (Http404, _not_found),
    (RequestDataTooBig, _too_big),
    (Exception, _unexpected),
]


def install(api: NinjaAPI) -> None:
    for exc_class, handler in HANDLERS:
        api.add_exception_handler(exc_class, handler)
