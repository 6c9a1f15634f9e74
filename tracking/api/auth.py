"""`Authorization: Bearer <key>`: find the key, count it against its rate limit, check its scope.

Checked in this order, each with its own status: the body's declared size (413, before anything
reads it), the key (401), the key's rate limit (429 + Retry-After), the scope (403).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from ..models import ApiKey, ApiScope
from ..services import api_keys
from .errors import ApiError


def check_body_size(request: HttpRequest) -> None:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        raise ApiError(400, "bad_request", "Content-Length is not a number.") from None
    if length > settings.API_MAX_BODY_BYTES:
        raise ApiError(
            413,
            "body_too_large",
            f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.",
        )


class ApiKeyAuth(HttpBearer):
    def __init__(self, scope: ApiScope) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        check_body_size(request)
        key = super().__call__(request)
        return key if isinstance(key, ApiKey) else None

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = api_keys.authenticate(token)
        if key is None:
            return None
        limit = api_keys.count_request(key)
        if not limit.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"This key may make {limit.limit} requests a minute; try again in "
                f"{limit.retry_after} s.",
                headers={"Retry-After": str(limit.retry_after)},
            )
        if not key.has_scope(self.scope):
            raise ApiError(403, "forbidden", f"This API key does not have the {self.scope} scope.")
        return key


READ = ApiKeyAuth(ApiScope.READ)
WRITE = ApiKeyAuth(ApiScope.WRITE)


def key_of(request: HttpRequest) -> ApiKey:
    key = getattr(request, "auth", None)
    assert isinstance(key, ApiKey)  # every route has READ or WRITE
    return key
