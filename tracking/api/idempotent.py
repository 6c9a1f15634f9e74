"""Run a POST under its `Idempotency-Key` (services/idempotency.py): the first successful
answer is stored and replayed for a retry with the same key and the same request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ..services import idempotency
from .auth import key_of
from .errors import ApiError

REPLAYED_HEADER = "Idempotent-Replayed"


def run(request: HttpRequest, key: str | None, view: Callable[[], HttpResponse]) -> HttpResponse:
    if key is None:
        return view()
    if not key.strip() or not key.isascii() or not key.isprintable():
        raise ApiError(
            400,
            "bad_idempotency_key",
            "Idempotency-Key must be printable ASCII.",
            field="Idempotency-Key",
        )
    digest = idempotency.request_hash(request.method or "", request.path, request.body)
    outcome = idempotency.begin(api_key=key_of(request), key=key, request_hash=digest)
    if isinstance(outcome, idempotency.Replay):
        response = HttpResponse(
            outcome.body, status=outcome.status, content_type="application/json"
        )
        response[REPLAYED_HEADER] = "true"
        return response
    if isinstance(outcome, idempotency.InProgress):
        raise ApiError(
            409,
            "idempotency_in_progress",
            "A request with this Idempotency-Key is still running; retry in a moment.",
            field="Idempotency-Key",
        )
    if isinstance(outcome, idempotency.Mismatch):
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
            field="Idempotency-Key",
        )
    try:
        response = view()
    except BaseException:
        idempotency.abandon(record_id=outcome.record_id)
        raise
    if 200 <= response.status_code < 300:
        idempotency.finish(
            record_id=outcome.record_id,
            status=response.status_code,
            body=response.content.decode(),
        )
    else:
        idempotency.abandon(record_id=outcome.record_id)
    return response
