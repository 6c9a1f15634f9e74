"""The facts a page states about a shipment, by the one time rule, so that the staff page and the
customer's page say the same thing (the same delivery time, the same carrier)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..models import Shipment, TrackingEvent
from . import dates
from .words import delivered_moment, delivery_event, event_place, newest_event


@dataclass(frozen=True)
class Facts:
    delivered_text: str  # "Sunday 29 November at 6:00 a.m. (UTC-5)", or ""
    delivered_utc: str  # the same moment in UTC, for small print / hover
    delivered_iso: str
    signer: str
    proof_of_delivery_url: str
    carrier_name: str  # the carrier that carries it (Stamps.com labels travel with USPS)
    label_carrier_name: str  # the account's carrier, when it is another one, else ""
    last_scan_text: str  # "Sun 29 Nov, 6:00 a.m. (UTC-5) · Decatur, GA"
    last_scan_utc: str


def _proof_url(shipment: Shipment, events: Sequence[TrackingEvent]) -> str:
    delivering = delivery_event(shipment, events)
    if delivering is not None and delivering.proof_of_delivery_url:
        return delivering.proof_of_delivery_url
    return next((e.proof_of_delivery_url for e in events if e.proof_of_delivery_url), "")


def shipment_facts(
    shipment: Shipment, events: Sequence[TrackingEvent], *, carrier_names: Mapping[str, str]
) -> Facts:
    """`carrier_names`: {code: name} of the carriers (queries/carriers.py)."""
    delivered = delivered_moment(shipment, events)
    delivering = delivery_event(shipment, events)
    newest = newest_event(events)
    newest_moment = dates.event_moment(newest) if newest else None
    carrying = shipment.api_carrier_code or shipment.carrier.code
    carrier_name = carrier_names.get(carrying) or shipment.carrier.name
    last_scan = ""
    if newest is not None:
        parts = [dates.short_when(newest_moment) if newest_moment else "", event_place(newest)]
        last_scan = " · ".join(p for p in parts if p)
    return Facts(
        delivered_text=dates.when(delivered) if delivered else "",
        delivered_utc=dates.utc_text(delivered),
        delivered_iso=delivered.utc.isoformat() if delivered and delivered.utc else "",
        signer=shipment.signer or (delivering.signer if delivering else ""),
        proof_of_delivery_url=_proof_url(shipment, events),
        carrier_name=carrier_name,
        label_carrier_name=shipment.carrier.name if carrier_name != shipment.carrier.name else "",
        last_scan_text=last_scan,
        last_scan_utc=dates.utc_text(newest_moment),
    )
