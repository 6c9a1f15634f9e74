"""Push updates: ShipEngine calls our webhook with a package's changes (POST /v1/tracking/start),
and registering that webhook (POST /v1/environment/webhooks)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..domain.numbers import TrackingInputError
from ..models import Shipment
from ..shipengine import ShipEngineClient
from . import api_client


def start_push_updates(
    *, shipment_id: int, client: ShipEngineClient | None = None, interactive: bool = False
) -> Shipment:
    """POST /v1/tracking/start: ShipEngine sends this package's updates to our webhook from now on.

    Raises TrackingInputError for a disabled carrier, ShipEngineError when
    the API refuses; on failure nothing stored changes (a refused subscription is not a failed
    poll, so the refresh back-off is left alone)."""
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    if not shipment.carrier.is_active:
        raise TrackingInputError(
            "carrier_disabled",
            _("The carrier %(name)s (%(code)s) is disabled."),
            name=shipment.carrier.name,
            code=shipment.carrier.code,
        )
    client = client or api_client.get_client(interactive=interactive)
    client.start_tracking(shipment.carrier.code, shipment.tracking_number)
    now = timezone.now()
    Shipment.objects.filter(pk=shipment.pk).update(push_subscribed_at=now, updated_at=now)
    shipment.push_subscribed_at = now
    shipment.updated_at = now
    return shipment


def register_webhook(
    *, url: str, name: str = "shiptrack tracking updates", client: ShipEngineClient | None = None
) -> dict[str, Any]:
    """Register `url` as the account's 'track' webhook. With SHIPENGINE_WEBHOOK_SECRET set,
    ShipEngine is asked to send it in SHIPENGINE_WEBHOOK_SECRET_HEADER with every delivery."""
    headers = None
    if settings.SHIPENGINE_WEBHOOK_SECRET:
        headers = {settings.SHIPENGINE_WEBHOOK_SECRET_HEADER: settings.SHIPENGINE_WEBHOOK_SECRET}
    client = client or api_client.get_client()
    return client.create_webhook(url, event="track", name=name, headers=headers)
