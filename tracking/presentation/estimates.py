"""Our delivery estimate in words, for every place that shows it (staff page, staff list, public
page, API): always called "our estimate", always beside what it rests on, never in the place of
the carrier's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..domain.lanes import lane_label
from ..models import DeliveryEstimate, EstimateBasis, EstimateReason, Shipment
from . import dates
from .api_answer import utc_iso

#: How sure the window is: the middle 80 % of comparable parcels (domain/estimates.py).
WINDOW_SHARE = 0.8


def stored_estimate(shipment: Shipment) -> DeliveryEstimate | None:
    """The shipment's estimate while it is on its way (loaded with select_related where pages
    list shipments; one query otherwise), or None."""
    if shipment.is_final:
        return None
    try:
        estimate: DeliveryEstimate = shipment.delivery_estimate  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None
    return estimate


@dataclass(frozen=True)
class OurEstimate:
    day: str  # "Thursday 3 December"
    short_day: str  # "Thu 3 Dec"
    window: str  # "Wed 2 Dec to Fri 4 Dec" ("" when the window is that one day)
    basis: str  # "from 340 parcels UPS delivered from US-CA"
    reason: str  # why there is one: "The carrier gave no date."
    iso: str
    estimate: DeliveryEstimate


def basis_text(estimate: DeliveryEstimate, carrier_name: str) -> str:
    n = estimate.parcels
    if estimate.basis == EstimateBasis.LANE:
        return ngettext(
            "from %(n)s parcel %(carrier)s delivered on the lane %(lane)s",
            "from %(n)s parcels %(carrier)s delivered on the lane %(lane)s",
            n,
        ) % {
            "n": f"{n:,}",
            "carrier": carrier_name,
            "lane": lane_label(estimate.origin, estimate.destination),
        }
    if estimate.basis == EstimateBasis.ORIGIN:
        return ngettext(
            "from %(n)s parcel %(carrier)s delivered from %(origin)s",
            "from %(n)s parcels %(carrier)s delivered from %(origin)s",
            n,
        ) % {"n": f"{n:,}", "carrier": carrier_name, "origin": estimate.origin}
    return ngettext(
        "from %(n)s parcel %(carrier)s delivered",
        "from %(n)s parcels %(carrier)s delivered",
        n,
    ) % {"n": f"{n:,}", "carrier": carrier_name}


def our_estimate(shipment: Shipment, *, carrier_name: str = "") -> OurEstimate | None:
    estimate = stored_estimate(shipment)
    if estimate is None:
        return None
    window = ""
    if estimate.earliest_on != estimate.latest_on:
        window = _("%(first)s to %(last)s") % {
            "first": dates.short_day(estimate.earliest_on),
            "last": dates.short_day(estimate.latest_on),
        }
    if estimate.reason == EstimateReason.CARRIER_DATE_PASSED and shipment.estimated_delivery_date:
        reason = _("The carrier's date, %(day)s, has passed.") % {
            "day": dates.short_day(shipment.estimated_delivery_date.astimezone(UTC).date())
        }
    else:
        reason = _("The carrier gave no date.")
    return OurEstimate(
        day=dates.day(estimate.predicted_on),
        short_day=dates.short_day(estimate.predicted_on),
        window=window,
        basis=basis_text(estimate, carrier_name or shipment.carrier.name),
        reason=reason,
        iso=estimate.predicted_on.isoformat(),
        estimate=estimate,
    )


def api_estimate(shipment: Shipment) -> dict[str, Any] | None:
    """The API's `predicted_delivery` object (None without an estimate)."""
    estimate = stored_estimate(shipment)
    if estimate is None:
        return None
    return {
        "date": estimate.predicted_on.isoformat(),
        "earliest": estimate.earliest_on.isoformat(),
        "latest": estimate.latest_on.isoformat(),
        "window_share": WINDOW_SHARE,
        "based_on_parcels": estimate.parcels,
        "basis": estimate.basis,
        "origin_region": estimate.origin or None,
        "destination_region": estimate.destination or None,
        "reason": estimate.reason,
        "computed_at": utc_iso(estimate.computed_at),
        "source": "our_estimate",
    }
