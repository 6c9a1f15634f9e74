"""Journeys made up for any number the demo table does not name, and the API answer for a
journey as far as it has got by now."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .scenarios import PLACES, STATUS_DESCRIPTIONS, Scenario, Step, step

_ROUTE_POOL = [
    "LAX",
    "PHX",
    "DEN",
    "DFW",
    "KC",
    "MEM",
    "CHI",
    "IND",
    "SDF",
    "ATL",
    "NEWARK",
    "SEA",
    "CVG",
]
_FINALE = {
    "DE": ("Delivered", "DELIVERED"),
    "SP": ("Delivered to pickup point", "DELIVERED_TO_PICKUP_POINT"),
    "AT": ("Delivery attempted, no access to delivery location", "ATTEMPTED_DELIVERY"),
    "EX": ("Damaged, carrier will contact the shipper", "PARCEL_DAMAGED"),
}


def generated_scenario(carrier_code: str, number: str) -> Scenario:
    """The same number always gives the same journey (seeded by a hash of carrier and number)."""
    digest = hashlib.sha256(f"{carrier_code}:{number}".encode()).digest()
    rng = random.Random(digest)
    status = rng.choice(["IT", "IT", "IT", "DE", "DE", "AC", "AT", "EX", "SP", "NY"])
    if status == "NY":
        return Scenario(number, carrier_code, ())
    stops = rng.sample(_ROUTE_POOL, k=rng.randint(2, 6))
    start = -rng.uniform(24, 240)
    steps: list[Step] = [step(start, "AC", "Picked up", stops[0], "PU", "PICKED_UP")]
    t = start
    if status != "AC":
        for stop in stops[1:]:
            t += rng.uniform(3, 18)
            steps.append(step(t, "IT", "Arrived at facility", stop, "AR", "HUB_SCAN_IN"))
            t += rng.uniform(1, 6)
            steps.append(step(t, "IT", "Departed facility", stop, "DP", "HUB_SCAN_OUT"))
        if status in _FINALE:
            text, detail = _FINALE[status]
            t += rng.uniform(4, 12)
            signer = rng.choice(["", "", "M JONES", "FRONT DESK"]) if status == "DE" else ""
            steps.append(step(t, status, text, stops[-1], status, detail, signer=signer))
    if t > -0.5:  # keep every step in the past
        steps = [replace(s, hours=s.hours - 0.5 - t) for s in steps]
    eta = rng.uniform(6, 72) if status in {"AC", "IT", "AT"} else None
    exception = (
        "The parcel was damaged in transit; the carrier will contact the shipper."
        if status == "EX"
        else ""
    )
    return Scenario(number, carrier_code, tuple(steps), eta_hours=eta, exception=exception)


# --------------------------------------------------------------------------------------------
# Rendering answers
# --------------------------------------------------------------------------------------------
def _iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_local(when: datetime, tz: str) -> str:
    """The carrier's wall clock where the scan happened, naive, as real answers send it (the
    seed's "2021-09-20T14:03:00")."""
    local = when.astimezone(ZoneInfo(tz))
    return local.replace(tzinfo=None).isoformat(timespec="seconds")


DEFAULT_CARRIER_PAGES = "https://sandbox.shiptrack.invalid/track"

_DELIVERED_DETAIL = {
    "DE": "Delivered to the recipient",
    "SP": "Delivered to a collection point, waiting for the recipient",
}


def render_tracking(
    scenario: Scenario,
    *,
    epoch: datetime,
    now: datetime,
    carrier_pages: str = DEFAULT_CARRIER_PAGES,
) -> dict[str, Any]:
    """A get_tracking_log answer, valid against the official schema. `carrier_pages`: where the
    carrier's own tracking page (tracking_url) and proof of delivery live."""
    page = f"{carrier_pages.rstrip('/')}/{quote(scenario.carrier_code)}/{quote(scenario.number)}/"
    revealed = [s for s in scenario.steps if epoch + timedelta(hours=s.hours) <= now]
    events = []
    for shown in sorted(revealed, key=lambda s: s.hours, reverse=True):
        when = epoch + timedelta(hours=shown.hours)
        place = PLACES.get(shown.place or "")
        tz = place.tz if place else "America/New_York"
        event: dict[str, Any] = {
            "occurred_at": _iso_utc(when),
            "carrier_occurred_at": _iso_local(when, tz),
            "description": shown.description,
            "city_locality": place.city if place else "",
            "state_province": place.state if place else "",
            "postal_code": place.postal_code if place else "",
            "company_name": "",
            "signer": shown.signer,
            "event_code": shown.event_code,
            "carrier_detail_code": shown.event_code or "NA",
            "status_code": shown.status,
            "status_detail_code": shown.detail or "CARRIER_STATUS_NOT_MAPPED",
            "status_description": STATUS_DESCRIPTIONS[shown.status],
            "carrier_status_code": shown.event_code or shown.status,
            "carrier_status_description": shown.description,
        }
        if place:
            event["country_code"] = place.country
        if place and shown.with_coordinates:
            event["latitude"] = place.lat
            event["longitude"] = place.lon
        if shown.status in _DELIVERED_DETAIL:
            event["status_detail_description"] = _DELIVERED_DETAIL[shown.status]
            event["proof_of_delivery_url"] = f"{page}proof/"
        events.append(event)
    latest = events[0] if events else None
    status = latest["status_code"] if latest else "NY"
    delivered = status in {"DE", "SP"}
    first = min(revealed, key=lambda s: s.hours) if revealed else None
    answer: dict[str, Any] = {
        "tracking_number": scenario.number,
        "tracking_url": page,
        "status_code": status,
        "status_detail_code": latest["status_detail_code"]
        if latest
        else "NOT_YET_RECEIVED_BY_CARRIER",
        "status_description": STATUS_DESCRIPTIONS[status],
        "carrier_code": scenario.carrier_code,
        "carrier_id": scenario.carrier_id,
        "carrier_detail_code": latest["carrier_detail_code"] if latest else "NA",
        "carrier_status_code": latest["carrier_status_code"] if latest else "NY",
        "carrier_status_description": (
            latest["carrier_status_description"] if latest else "Label created, not yet in system"
        ),
        "events": events,
    }
    if first:
        answer["ship_date"] = _iso_utc(epoch + timedelta(hours=first.hours))
    if scenario.eta_hours is not None and not delivered:
        answer["estimated_delivery_date"] = _iso_utc(epoch + timedelta(hours=scenario.eta_hours))
    if delivered and latest:
        answer["actual_delivery_date"] = latest["occurred_at"]
        answer["status_detail_description"] = latest["status_detail_description"]
    if status == "EX" and scenario.exception:
        answer["exception_description"] = scenario.exception
    return answer
