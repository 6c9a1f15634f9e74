"""The ShipEngine 'track' webhook endpoint (checks and ingest: services/inbound_webhooks.py)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..services import inbound_webhooks as webhooks

logger = logging.getLogger("shiptrack.webhooks")


def _read_body(request: HttpRequest) -> bytes:
    """The raw body, refused before it is read whole when it is larger than allowed."""
    limit = settings.SHIPENGINE_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise webhooks.WebhookRejected(400, "bad Content-Length") from None
    if declared > limit:
        raise webhooks.WebhookRejected(413, "body too large")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise webhooks.WebhookRejected(413, "body too large")
    return body


@csrf_exempt  # ShipEngine cannot send a CSRF token; the signature check stands in for it
@require_POST
def shipengine_track(request: HttpRequest) -> JsonResponse:
    try:
        body = _read_body(request)
        outcome = webhooks.receive(request.headers, body)
    except webhooks.WebhookRejected as exc:
        logger.warning(
            "webhook rejected status=%d reason=%s from=%s",
            exc.status,
            exc.reason,
            request.META.get("REMOTE_ADDR", "-"),
        )
        if exc.status == 404:
            return JsonResponse({"error": "not found"}, status=404)
        return JsonResponse({"error": exc.reason}, status=exc.status)
    return JsonResponse(outcome.as_dict(), status=outcome.status)
