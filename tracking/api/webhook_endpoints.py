"""/api/v1/webhook-endpoints: where shiptrack POSTs the changes (services/outbound_webhooks.py).
The signing secret is returned once, by the POST that makes the endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router

from ..models import WebhookEndpoint
from ..presentation.api_answer import or_none, utc_iso
from ..services import outbound_webhooks
from . import idempotent
from .auth import READ, WRITE, key_of
from .errors import ApiError, json_response, only_query
from .schemas import (
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointListOut,
)
from .shipments import ID_MAX, IdempotencyKey, errors_for

router = Router(tags=["webhook endpoints"])

EndpointId = Annotated[int, Path(ge=1, le=ID_MAX)]


def endpoint_resource(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "description": or_none(endpoint.description),
        "is_active": endpoint.is_active,
        "disabled_reason": or_none(endpoint.disabled_reason),
        "created_at": utc_iso(endpoint.created_at),
    }


@router.get(
    "/webhook-endpoints",
    auth=READ,
    response={200: WebhookEndpointListOut, **errors_for(401, 403, 429)},
    summary="List webhook endpoints",
)
def list_endpoints(request: HttpRequest) -> HttpResponse:
    only_query(request)
    endpoints = WebhookEndpoint.objects.order_by("id")
    return json_response(200, {"data": [endpoint_resource(e) for e in endpoints]})


@router.post(
    "/webhook-endpoints",
    auth=WRITE,
    response={201: WebhookEndpointCreatedOut, **errors_for(400, 401, 403, 409, 413, 422, 429)},
    summary="Register a webhook endpoint",
    description="The answer carries the signing secret (`whsec_...`) once. Deliveries follow "
    "Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature "
    '("v1," + base64 HMAC-SHA256 of "id.timestamp.body" under the base64-decoded secret).',
)
def create_endpoint(
    request: HttpRequest, payload: WebhookEndpointIn, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    only_query(request)

    def run() -> HttpResponse:
        try:
            made = outbound_webhooks.create_endpoint(
                url=payload.url,
                event_types=payload.event_types,
                description=payload.description or "",
                created_by_key_id=key_of(request).pk,
            )
        except outbound_webhooks.EndpointError as exc:
            status = 409 if exc.code == "endpoint_exists" else 422
            raise ApiError(status, exc.code, exc.message, field=exc.field) from None
        return json_response(201, {**endpoint_resource(made.endpoint), "secret": made.secret})

    return idempotent.run(request, idempotency_key, run)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    auth=WRITE,
    response={204: None, **errors_for(401, 403, 404, 422, 429)},
    summary="Delete a webhook endpoint (its waiting deliveries are dropped)",
)
def delete_endpoint(request: HttpRequest, endpoint_id: EndpointId) -> HttpResponse:
    only_query(request)
    if not outbound_webhooks.delete_endpoint(endpoint_id=endpoint_id):
        raise ApiError(404, "not_found", "No webhook endpoint with this id.")
    return HttpResponse(status=204)
