"""Sandbox mode only: stand-ins for the carriers' own tracking pages, which the simulated answers
link to (services/api_client.carrier_pages), so that "Track on the UPS website" in the demo opens
a page that exists. Anywhere else: 404."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ...domain.numbers import normalize_carrier_code, normalize_tracking_number
from ...models import Shipment
from ...presentation.timeline import timeline_days
from ...presentation.words import status_words
from ...services.api_client import is_simulated


@require_GET
def carrier_page(
    request: HttpRequest, carrier_code: str, number: str, proof: bool = False
) -> HttpResponse:
    if not is_simulated():
        raise Http404
    code = normalize_carrier_code(carrier_code)
    shipment = (
        Shipment.objects.select_related("carrier")
        .filter(tracking_number=normalize_tracking_number(number))
        .filter(Q(carrier__code=code) | Q(api_carrier_code=code))
        .first()
    )
    if shipment is None:
        raise Http404
    events = list(shipment.events.newest_first()[:200])
    return render(
        request,
        "tracking/public/sandbox_carrier.html",
        {
            "shipment": shipment,
            "carrier_code": code,
            "status": status_words(shipment),
            "days": timeline_days(events),
            "proof": proof,
        },
    )
