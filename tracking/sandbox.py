"""A ShipEngine-compatible simulator: demo mode, tests, load tests and fault injection.

No Django in here. One `Sandbox` answers the API's URLs; it is used two ways:

- in-process: `sandbox_session()` returns a `requests.Session` whose transport is the sandbox, so the
  real client code (headers, error parsing, retries) runs unchanged without a network;
- as a real HTTP server: `serve()` (``python manage.py shipengine_sandbox --port N``), with optional
  added latency and a random fault rate.

Demo tracking numbers (any carrier code unless one is named):

=========================  ==============  ====  ===================================================
number                     carrier         code  what it shows
=========================  ==============  ====  ===================================================
9405511899223197428490     stamps_com/usps DE    the seed document's example answer, verbatim
1Z999AA10123456784         ups             AC    label created, accepted at the origin hub
794698432183               fedex           IT    Los Angeles -> Memphis hub -> on to New York
9400111899562537683144     usps            NY    label printed, not yet in the carrier's system
4582917364                 dhl_express     EX    Leipzig -> Cincinnati, held by customs
1Z12345E0205271688         ups             AT    Louisville -> Chicago, delivery attempted
7023210039414604           canada_post     UN    two scans without a status mapping
9205590164917312751089     usps            SP    Seattle, left at a parcel locker for collection
1Z5R89390357567127         ups             DE    Louisville -> Atlanta, signed for by J SMITH
612999999999               fedex           IT    a live parcel: moves on over the next 30 hours
=========================  ==============  ====  ===================================================

Any other well-formed number gets a journey made up from the number itself (same number, same
journey), so load tests can use millions of numbers. Fault numbers answer with an error every time:
FAULT-429 (429 with Retry-After: 1), FAULT-500, FAULT-TIMEOUT (no answer until the client gives
up), FAULT-BADJSON (HTML instead of JSON), FAULT-TRUNCATED (cut-off JSON), FAULT-401, FAULT-404
(404 invalid_identifier). Label ids: se-324658 (the seed example), se-1001 .. se-1009 (the table
above, in order); others answer 404.

Webhooks: the sandbox signs its deliveries like ShipEngine (RSA-SHA256 over
"<x-shipengine-timestamp>.<raw body>", headers x-shipengine-rsa-sha256-key-id / -signature /
x-shipengine-timestamp) with its own RSA key, whose JWKS it serves at GET /jwks.
`deliver_track_webhook()` (or POST /v1/sandbox/webhooks/deliver?carrier_code=&tracking_number=)
sends an API_TRACK delivery to a URL or to every `track` webhook registered with it, with the
custom headers configured on each. `rate_limit_per_minute` makes it enforce a rate limit itself
(429 + Retry-After beyond it, counted in `rate_limited`), for load tests of the shared limiter.

Event times are fixed offsets from the sandbox's *epoch* (by default the moment demo mode first ran
on this machine), so every process and every poll sees the same events at the same times, and a
refresh adds only what is genuinely new.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

STATUS_DESCRIPTIONS = {
    "AC": "Accepted",
    "IT": "In Transit",
    "DE": "Delivered",
    "EX": "Exception",
    "UN": "Unknown",
    "AT": "Delivery Attempt",
    "NY": "Not Yet In System",
    "SP": "Delivered To Collection Location",
}


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    city: str
    state: str
    postal_code: str
    country: str
    lat: float
    lon: float
    tz: str


PLACES = {
    "LAX": Place("LOS ANGELES", "CA", "90021", "US", 34.0298, -118.2394, "America/Los_Angeles"),
    "PHX": Place("PHOENIX", "AZ", "85043", "US", 33.4362, -112.1967, "America/Phoenix"),
    "MEM": Place("MEMPHIS", "TN", "38118", "US", 35.0424, -89.9767, "America/Chicago"),
    "IND": Place(
        "INDIANAPOLIS", "IN", "46241", "US", 39.7173, -86.2944, "America/Indiana/Indianapolis"
    ),
    "NEWARK": Place("NEWARK", "NJ", "07114", "US", 40.6895, -74.1745, "America/New_York"),
    "NYC": Place("NEW YORK", "NY", "10001", "US", 40.7506, -73.9972, "America/New_York"),
    "BKN": Place("BROOKLYN", "NY", "11201", "US", 40.6959, -73.9901, "America/New_York"),
    "SDF": Place(
        "LOUISVILLE", "KY", "40209", "US", 38.1744, -85.7360, "America/Kentucky/Louisville"
    ),
    "ATL": Place("ATLANTA", "GA", "30354", "US", 33.6407, -84.4277, "America/New_York"),
    "DEC": Place("DECATUR", "GA", "30030", "US", 33.7748, -84.2963, "America/New_York"),
    "CHI": Place("CHICAGO", "IL", "60638", "US", 41.7868, -87.7522, "America/Chicago"),
    "EVN": Place("EVANSTON", "IL", "60201", "US", 42.0451, -87.6877, "America/Chicago"),
    "SEA": Place("SEATTLE", "WA", "98108", "US", 47.5480, -122.3153, "America/Los_Angeles"),
    "SEAC": Place("SEATTLE", "WA", "98122", "US", 47.6131, -122.3045, "America/Los_Angeles"),
    "DEN": Place("DENVER", "CO", "80239", "US", 39.7886, -104.8340, "America/Denver"),
    "DFW": Place("DALLAS", "TX", "75261", "US", 32.8998, -97.0403, "America/Chicago"),
    "KC": Place("KANSAS CITY", "MO", "64153", "US", 39.2976, -94.7139, "America/Chicago"),
    "CVG": Place("HEBRON", "KY", "41048", "US", 39.0488, -84.6678, "America/New_York"),
    "LEJ": Place("LEIPZIG", "SN", "04435", "DE", 51.4239, 12.2364, "Europe/Berlin"),
    "YYZ": Place("MISSISSAUGA", "ON", "L5T 2T1", "CA", 43.6777, -79.6248, "America/Toronto"),
    "YOW": Place("OTTAWA", "ON", "K1G 3J4", "CA", 45.3833, -75.6167, "America/Toronto"),
}


# --------------------------------------------------------------------------------------------
# Journeys
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    hours: float  # offset from the epoch; negative = before it
    status: str
    description: str
    place: str | None  # key of PLACES, or None for a scan without a place
    event_code: str = ""
    detail: str = ""  # status_detail_code
    signer: str = ""
    with_coordinates: bool = True


@dataclass(frozen=True)
class Scenario:
    number: str
    carrier_code: str
    steps: tuple[Step, ...]
    eta_hours: float | None = None
    exception: str = ""
    carrier_id: int = 1
    final_status: str | None = None  # status before any step is revealed (NY if None)


def _s(
    hours: float,
    status: str,
    text: str,
    place: str | None,
    code: str = "",
    detail: str = "",
    **kw: Any,
) -> Step:
    return Step(hours, status, text, place, code or status, detail, **kw)


SCENARIOS: dict[str, Scenario] = {
    s.number: s
    for s in [
        Scenario(
            "1Z999AA10123456784",
            "ups",
            (
                _s(
                    -30,
                    "AC",
                    "Shipper created a label, UPS has not received the package yet",
                    "ATL",
                    "MP",
                    "SHIPMENT_CREATED",
                ),
                _s(-3, "AC", "Origin Scan", "ATL", "OR", "RECEIVED_BY_CARRIER"),
            ),
            eta_hours=50,
        ),
        Scenario(
            "794698432183",
            "fedex",
            (
                _s(-52, "AC", "Picked up", "LAX", "PU", "PICKED_UP"),
                _s(-49, "IT", "Departed FedEx location", "LAX", "DP", "HUB_SCAN_OUT"),
                _s(-40, "IT", "In transit", "PHX", "IT", "IN_TRANSIT"),
                _s(-30, "IT", "Arrived at FedEx hub", "MEM", "AR", "HUB_SCAN_IN"),
                _s(-26, "IT", "Departed FedEx hub", "MEM", "DP", "HUB_SCAN_OUT"),
                _s(-14, "IT", "In transit", "IND", "IT", "IN_TRANSIT"),
                _s(
                    -2,
                    "IT",
                    "At local FedEx facility",
                    "NEWARK",
                    "AR",
                    "RECEIVED_LOCAL_DELIVERY_DEPOT",
                ),
            ),
            eta_hours=20,
        ),
        Scenario("9400111899562537683144", "usps", (), eta_hours=None),
        Scenario(
            "4582917364",
            "dhl_express",
            (
                _s(-70, "AC", "Shipment picked up", "LEJ", "PU", "PICKED_UP"),
                _s(-64, "IT", "Processed at LEIPZIG - GERMANY", "LEJ", "PL", "HUB_PROCESSING"),
                _s(
                    -60, "IT", "Departed Facility in LEIPZIG - GERMANY", "LEJ", "DF", "HUB_SCAN_OUT"
                ),
                _s(
                    -48,
                    "IT",
                    "Arrived at Sort Facility CINCINNATI HUB - USA",
                    "CVG",
                    "AF",
                    "HUB_SCAN_IN",
                ),
                _s(-44, "IT", "Customs status updated", "CVG", "CR", "CUSTOMS_PROCESSING"),
                _s(
                    -20,
                    "EX",
                    "Clearance delay - Import duties and taxes are unpaid",
                    "CVG",
                    "CD",
                    "DUTY_NOT_PAID",
                ),
            ),
            exception="Held by customs: import duties and taxes are unpaid. The receiver has been contacted.",
        ),
        Scenario(
            "1Z12345E0205271688",
            "ups",
            (
                _s(-60, "AC", "Origin Scan", "SDF", "OR", "RECEIVED_BY_CARRIER"),
                _s(-55, "IT", "Departed from Facility", "SDF", "DP", "HUB_SCAN_OUT"),
                _s(-38, "IT", "Arrived at Facility", "CHI", "AR", "HUB_SCAN_IN"),
                _s(-28, "IT", "Out For Delivery Today", "EVN", "OT", "OUT_FOR_DELIVERY"),
                _s(
                    -22,
                    "AT",
                    "The receiver was not available for delivery. We'll make a second attempt the next business day.",
                    "EVN",
                    "AT",
                    "ATTEMPTED_DELIVERY",
                ),
            ),
            eta_hours=14,
        ),
        Scenario(
            "7023210039414604",
            "canada_post",
            (
                _s(
                    -80,
                    "UN",
                    "Electronic information submitted by shipper",
                    None,
                    "0100",
                    "CARRIER_STATUS_NOT_MAPPED",
                    with_coordinates=False,
                ),
                _s(
                    -40,
                    "UN",
                    "Item processed",
                    "YYZ",
                    "0174",
                    "CARRIER_STATUS_NOT_MAPPED",
                    with_coordinates=False,
                ),
            ),
        ),
        Scenario(
            "9205590164917312751089",
            "usps",
            (
                _s(-75, "AC", "USPS in possession of item", "DEN", "03", "PICKED_UP"),
                _s(-60, "IT", "Arrived at USPS Regional Facility", "DEN", "10", "HUB_SCAN_IN"),
                _s(
                    -36,
                    "IT",
                    "In Transit to Next Facility",
                    None,
                    "NT",
                    "IN_TRANSIT",
                    with_coordinates=False,
                ),
                _s(-20, "IT", "Arrived at USPS Regional Facility", "SEA", "10", "HUB_SCAN_IN"),
                _s(-6, "SP", "Delivered, Parcel Locker", "SEAC", "01", "DELIVERED_TO_PICKUP_POINT"),
            ),
        ),
        Scenario(
            "1Z5R89390357567127",
            "ups",
            (
                _s(-96, "AC", "Origin Scan", "SDF", "OR", "RECEIVED_BY_CARRIER"),
                _s(-90, "IT", "Departed from Facility", "SDF", "DP", "HUB_SCAN_OUT"),
                _s(-72, "IT", "Arrived at Facility", "ATL", "AR", "HUB_SCAN_IN"),
                _s(-50, "IT", "Out For Delivery Today", "DEC", "OT", "OUT_FOR_DELIVERY"),
                _s(-46, "DE", "Delivered, Front Door", "DEC", "KB", "DELIVERED", signer="J SMITH"),
            ),
        ),
        Scenario(
            "612999999999",
            "fedex",
            (
                _s(-20, "AC", "Picked up", "SEA", "PU", "PICKED_UP"),
                _s(-17, "IT", "Departed FedEx location", "SEA", "DP", "HUB_SCAN_OUT"),
                _s(-6, "IT", "In transit", "DEN", "IT", "IN_TRANSIT"),
                _s(2, "IT", "Arrived at FedEx hub", "KC", "AR", "HUB_SCAN_IN"),
                _s(6, "IT", "Departed FedEx hub", "KC", "DP", "HUB_SCAN_OUT"),
                _s(14, "IT", "In transit", "CHI", "IT", "IN_TRANSIT"),
                _s(22, "IT", "On FedEx vehicle for delivery", "EVN", "OD", "OUT_FOR_DELIVERY"),
                _s(27, "DE", "Delivered", "EVN", "DL", "DELIVERED", signer="A RIVERA"),
            ),
            eta_hours=27,
        ),
    ]
}

SEED_NUMBER = "9405511899223197428490"
LABELS = {"se-324658": SEED_NUMBER} | {
    f"se-{1001 + i}": number
    for i, number in enumerate(
        [
            "1Z999AA10123456784",
            "794698432183",
            "9400111899562537683144",
            "4582917364",
            "1Z12345E0205271688",
            "7023210039414604",
            "9205590164917312751089",
            "1Z5R89390357567127",
            "612999999999",
        ]
    )
}
LABEL_CARRIERS = {n: s.carrier_code for n, s in SCENARIOS.items()} | {SEED_NUMBER: "stamps_com"}

FAULT_NUMBERS = {
    "FAULT-429",
    "FAULT-500",
    "FAULT-TIMEOUT",
    "FAULT-BADJSON",
    "FAULT-TRUNCATED",
    "FAULT-401",
    "FAULT-404",
}


def seed_example() -> dict[str, Any]:
    """The seed document's example answer, exactly as printed there (nulls and naive times too)."""

    def ev(
        occ: str,
        local: str,
        desc: str,
        city: str,
        state: str,
        postal: str,
        code: str,
        lat: float | None,
        lon: float | None,
    ) -> dict[str, Any]:
        return {
            "occurred_at": occ,
            "carrier_occurred_at": local,
            "description": desc,
            "city_locality": city,
            "state_province": state,
            "postal_code": postal,
            "country_code": "",
            "company_name": "",
            "signer": "",
            "event_code": code,
            "carrier_detail_code": None,
            "status_code": None,
            "status_description": None,
            "carrier_status_code": code,
            "carrier_status_description": desc,
            "latitude": lat,
            "longitude": lon,
        }

    return {
        "tracking_number": SEED_NUMBER,
        "tracking_url": f"https://tools.usps.com/go/TrackConfirmAction.action?tLabels={SEED_NUMBER}",
        "status_code": "DE",
        "carrier_code": "usps",
        "carrier_id": 1,
        "carrier_detail_code": None,
        "status_description": "Delivered",
        "carrier_status_code": "01",
        "carrier_status_description": (
            "Your item was delivered in or at the mailbox at 2:03 pm on September 20, 2021 in "
            "SARCOXIE, MO 64862."
        ),
        "ship_date": None,
        "estimated_delivery_date": None,
        "actual_delivery_date": None,
        "exception_description": None,
        "events": [
            ev(
                "2021-09-20T19:03:00Z",
                "2021-09-20T14:03:00",
                "Delivered, In/At Mailbox",
                "SARCOXIE",
                "MO",
                "64862",
                "01",
                37.0776,
                -94.1258,
            ),
            ev(
                "2021-09-20T13:10:00Z",
                "2021-09-20T08:10:00",
                "Out for Delivery",
                "SARCOXIE",
                "MO",
                "64862",
                "OF",
                37.0776,
                -94.1258,
            ),
            ev(
                "2021-09-20T12:59:00Z",
                "2021-09-20T07:59:00",
                "Arrived at Post Office",
                "SARCOXIE",
                "MO",
                "64862",
                "07",
                37.0776,
                -94.1258,
            ),
            ev(
                "2021-09-18T00:00:00Z",
                "2021-09-18T00:00:00",
                "In Transit to Next Facility",
                "",
                "",
                "",
                "NT",
                None,
                None,
            ),
            ev(
                "2021-09-17T02:41:00Z",
                "2021-09-16T19:41:00",
                "Arrived at USPS Regional Origin Facility",
                "LAS VEGAS NV DISTRIBUTION CENTER ANNEX",
                "",
                "",
                "10",
                None,
                None,
            ),
            ev(
                "2021-09-16T21:06:00Z",
                "2021-09-16T14:06:00",
                "USPS picked up item",
                "LAS VEGAS",
                "NV",
                "89118",
                "03",
                35.9292,
                -115.1987,
            ),
        ],
    }


# --------------------------------------------------------------------------------------------
# Generated journeys for any other number
# --------------------------------------------------------------------------------------------
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
    steps: list[Step] = [_s(start, "AC", "Picked up", stops[0], "PU", "PICKED_UP")]
    t = start
    if status != "AC":
        for stop in stops[1:]:
            t += rng.uniform(3, 18)
            steps.append(_s(t, "IT", "Arrived at facility", stop, "AR", "HUB_SCAN_IN"))
            t += rng.uniform(1, 6)
            steps.append(_s(t, "IT", "Departed facility", stop, "DP", "HUB_SCAN_OUT"))
        if status in _FINALE:
            text, detail = _FINALE[status]
            t += rng.uniform(4, 12)
            signer = rng.choice(["", "", "M JONES", "FRONT DESK"]) if status == "DE" else ""
            steps.append(_s(t, status, text, stops[-1], status, detail, signer=signer))
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
    local = when.astimezone(ZoneInfo(tz))
    return local.isoformat(timespec="seconds")


def render_tracking(scenario: Scenario, *, epoch: datetime, now: datetime) -> dict[str, Any]:
    """A get_tracking_log answer, valid against the official schema."""
    revealed = [s for s in scenario.steps if epoch + timedelta(hours=s.hours) <= now]
    events = []
    for step in sorted(revealed, key=lambda s: s.hours, reverse=True):
        when = epoch + timedelta(hours=step.hours)
        place = PLACES.get(step.place or "")
        tz = place.tz if place else "America/New_York"
        event: dict[str, Any] = {
            "occurred_at": _iso_utc(when),
            "carrier_occurred_at": _iso_local(when, tz),
            "description": step.description,
            "city_locality": place.city if place else "",
            "state_province": place.state if place else "US",
            "postal_code": place.postal_code if place else "",
            "country_code": place.country if place else "US",
            "company_name": "",
            "signer": step.signer,
            "event_code": step.event_code,
            "carrier_detail_code": step.event_code or "NA",
            "status_code": step.status,
            "status_detail_code": step.detail or "CARRIER_STATUS_NOT_MAPPED",
            "status_description": STATUS_DESCRIPTIONS[step.status],
            "carrier_status_code": step.event_code or step.status,
            "carrier_status_description": step.description,
        }
        if place and step.with_coordinates:
            event["latitude"] = place.lat
            event["longitude"] = place.lon
        events.append(event)
    latest = events[0] if events else None
    status = latest["status_code"] if latest else "NY"
    delivered = status in {"DE", "SP"}
    first = min(revealed, key=lambda s: s.hours) if revealed else None
    answer: dict[str, Any] = {
        "tracking_number": scenario.number,
        "tracking_url": f"https://sandbox.shiptrack.invalid/track/{scenario.carrier_code}/{scenario.number}",
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
    if status == "EX" and scenario.exception:
        answer["exception_description"] = scenario.exception
    return answer


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------
@dataclass
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # never answer in time (a timeout)


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    return SandboxResponse(
        status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def error_body(
    code: str, message: str, *, error_type: str = "validation", source: str = "shipengine"
) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "errors": [
            {
                "error_source": source,
                "error_type": error_type,
                "error_code": code,
                "message": message,
            }
        ],
    }


SANDBOX_CARRIERS = [
    ("stamps_com", "se-100001", "Stamps.com", "ShipEngine Account - Stamps.com"),
    ("ups", "se-100002", "UPS", "Sandbox UPS"),
    ("fedex", "se-100003", "FedEx", "Sandbox FedEx"),
    ("dhl_express", "se-100004", "DHL Express", "Sandbox DHL Express"),
    ("canada_post", "se-100005", "Canada Post", "Sandbox Canada Post"),
    ("sandbox_courier", "se-100006", "Sandbox Courier", "Sandbox Courier (not in the seed table)"),
]


class Sandbox:
    """Answers ShipEngine URLs. Thread-safe; holds only webhook registrations and counters."""

    def __init__(
        self,
        *,
        epoch: datetime | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        api_key: str | None = None,
        fault_rate: float = 0.0,
        rng: random.Random | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        rate_limit_per_minute: float | None = None,
        rate_limit_burst: int = 5,
        retry_after: float = 1.0,
    ) -> None:
        self.clock = clock
        self.epoch = epoch or clock()
        self.api_key = api_key  # when set, other keys get 401
        self.fault_rate = fault_rate
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self.webhooks: list[dict[str, Any]] = []
        self.requests_seen = 0
        self.subscriptions: set[tuple[str, str]] = set()
        # Webhook signing: the sandbox's own RSA key (made on first use unless given), its JWKS at
        # GET /jwks, and every delivery signed like ShipEngine's (see sign_webhook()).
        self._signing_key = signing_key
        # Optional enforcement of an API rate limit (GCRA: `rate_limit_burst` requests may arrive
        # early), answering 429 with Retry-After beyond it; `rate_limited` counts those answers.
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_burst = max(1, rate_limit_burst)
        self._rate_tat = 0.0
        self.rate_limited = 0
        # Retry-After (seconds) of simulated 429 faults; tests shorten it.
        self.retry_after = retry_after

    # -- entry point -------------------------------------------------------------------------
    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> SandboxResponse:
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests_seen += 1
        if method == "GET" and path in {"/jwks", "/.well-known/jwks.json"}:
            return _json(200, self.jwks())  # public keys: no API key needed, never faulty
        key = next((v for k, v in headers.items() if k.lower() == "api-key"), "")
        if not key or (self.api_key is not None and key != self.api_key):
            return _json(
                401,
                error_body(
                    "unauthorized",
                    "The API key is invalid. Please use a valid API key.",
                    error_type="security",
                ),
            )
        limited = self._over_rate_limit()
        if limited is not None:
            return limited
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._random_fault()
        if method == "POST" and path == "/v1/sandbox/webhooks/deliver":
            return self._deliver_route(query)
        if method == "GET" and path == "/v1/tracking":
            return self._tracking(query.get("carrier_code", ""), query.get("tracking_number", ""))
        if method == "GET" and path.startswith("/v1/labels/") and path.endswith("/track"):
            return self._label(path.removeprefix("/v1/labels/").removesuffix("/track"))
        if method == "GET" and path == "/v1/carriers":
            return self._carriers()
        if method == "POST" and path in {"/v1/tracking/start", "/v1/tracking/stop"}:
            return self._subscribe(path.endswith("start"), query)
        if path == "/v1/environment/webhooks":
            if method == "POST":
                return self._create_webhook(body)
            if method == "GET":
                return _json(200, self.webhooks)
        return _json(
            404, error_body("not_found", f"No route for {method} {path}", error_type="system")
        )

    # -- routes ------------------------------------------------------------------------------
    def scenario_for(self, carrier_code: str, number: str) -> Scenario | None:
        number = "".join(number.split()).upper()
        if number in SCENARIOS:
            return SCENARIOS[number]
        if (
            len(number) < 6
            or len(number) > 64
            or not all(c.isalnum() or c in "-_." for c in number)
        ):
            return None
        return generated_scenario(carrier_code, number)

    def _tracking(self, carrier_code: str, number: str) -> SandboxResponse:
        if not carrier_code or not number:
            return _json(
                400,
                error_body("field_value_required", "carrier_code and tracking_number are required"),
            )
        normalized = "".join(number.split()).upper()
        if normalized in FAULT_NUMBERS:
            return self._fault(normalized)
        if normalized == SEED_NUMBER and carrier_code in {"stamps_com", "usps"}:
            return _json(200, seed_example())
        scenario = self.scenario_for(carrier_code, number)
        if scenario is None:
            return _json(
                404,
                error_body(
                    "invalid_identifier",
                    f"Tracking number '{number}' is not valid for carrier '{carrier_code}'.",
                ),
            )
        if scenario.carrier_code != carrier_code and normalized in SCENARIOS:
            scenario = Scenario(
                scenario.number,
                carrier_code,
                scenario.steps,
                scenario.eta_hours,
                scenario.exception,
            )
        return _json(200, render_tracking(scenario, epoch=self.epoch, now=self.clock()))

    def _label(self, label_id: str) -> SandboxResponse:
        number = LABELS.get(label_id.lower())
        if number is None:
            return _json(
                404, error_body("invalid_identifier", f"Label '{label_id}' was not found.")
            )
        if number == SEED_NUMBER:
            answer = seed_example()
            answer["carrier_code"] = "stamps_com"
            return _json(200, answer)
        return _json(200, render_tracking(SCENARIOS[number], epoch=self.epoch, now=self.clock()))

    def _carriers(self) -> SandboxResponse:
        carriers = [
            {
                "carrier_id": cid,
                "carrier_code": code,
                "account_number": f"sandbox_{code}",
                "nickname": nickname,
                "friendly_name": friendly,
                "primary": code == "stamps_com",
                "connection_status": "approved",
                "disabled_by_billing_plan": False,
            }
            for code, cid, friendly, nickname in SANDBOX_CARRIERS
        ]
        return _json(200, {"carriers": carriers, "request_id": str(uuid.uuid4()), "errors": []})

    def _subscribe(self, start: bool, query: Mapping[str, str]) -> SandboxResponse:
        pair = (query.get("carrier_code", ""), query.get("tracking_number", ""))
        if not all(pair):
            return _json(
                400,
                error_body("field_value_required", "carrier_code and tracking_number are required"),
            )
        with self._lock:
            (self.subscriptions.add if start else self.subscriptions.discard)(pair)
        return SandboxResponse(204)

    def _create_webhook(self, body: bytes) -> SandboxResponse:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _json(
                400, error_body("request_body_required", "The request body is not valid JSON.")
            )
        if not isinstance(data, dict) or not data.get("url") or not data.get("event"):
            return _json(400, error_body("field_value_required", "url and event are required"))
        with self._lock:
            if any(w["event"] == data["event"] and w["url"] == data["url"] for w in self.webhooks):
                return _json(
                    409,
                    error_body(
                        "webhook_event_type_conflict",
                        "A webhook for this event and URL already exists.",
                        error_type="business_rules",
                    ),
                )
            hook = {
                "webhook_id": f"se-{len(self.webhooks) + 900001}",
                "url": data["url"],
                "event": data["event"],
            }
            if data.get("name"):
                hook["name"] = data["name"]
            if data.get("headers"):
                hook["headers"] = data["headers"]
            self.webhooks.append(hook)
        return _json(200, hook)

    # -- faults ------------------------------------------------------------------------------
    def _fault(self, kind: str) -> SandboxResponse:
        if kind == "FAULT-429":
            return _json(
                429,
                error_body(
                    "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
                ),
                {"Retry-After": f"{self.retry_after:g}"},
            )
        if kind == "FAULT-500":
            return _json(
                500, error_body("unspecified", "An unexpected error occurred.", error_type="system")
            )
        if kind == "FAULT-TIMEOUT":
            return SandboxResponse(200, stall=True)
        if kind == "FAULT-BADJSON":
            return SandboxResponse(
                200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}
            )
        if kind == "FAULT-TRUNCATED":
            full = json.dumps(seed_example()).encode()
            return SandboxResponse(
                200, full[: len(full) // 2], {"Content-Type": "application/json"}
            )
        if kind == "FAULT-401":
            return _json(
                401,
                error_body(
                    "unauthorized",
                    "The API key is invalid. Please use a valid API key.",
                    error_type="security",
                ),
            )
        return _json(
            404,
            error_body(
                "invalid_identifier", "The tracking number was not found.", source="carrier"
            ),
        )

    # -- rate limit ----------------------------------------------------------------------------
    def _over_rate_limit(self) -> SandboxResponse | None:
        if not self.rate_limit_per_minute:
            return None
        interval = 60.0 / self.rate_limit_per_minute
        tolerance = (self.rate_limit_burst - 1) * interval
        now = time.monotonic()
        with self._lock:
            if now < self._rate_tat - tolerance:
                self.rate_limited += 1
                wait = self._rate_tat - tolerance - now
            else:
                self._rate_tat = max(self._rate_tat, now) + interval
                return None
        return _json(
            429,
            error_body(
                "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
            ),
            {"Retry-After": str(max(1, int(wait + 0.999)))},
        )

    # -- webhooks: signing and delivery ----------------------------------------------------------
    @property
    def signing_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._signing_key is None:
                self._signing_key = generate_signing_key()
            return self._signing_key

    @property
    def key_id(self) -> str:
        return key_id_for(self.signing_key.public_key())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.signing_key.public_key())]}

    def sign_webhook(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """ShipEngine's webhook signature headers: RSA-SHA256 (PKCS#1 v1.5) over
        "<x-shipengine-timestamp>.<raw body>", base64, with the key id of the JWKS entry."""
        timestamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return sign_webhook(self.signing_key, body, timestamp)

    def track_webhook_body(self, carrier_code: str, number: str) -> bytes:
        """An API_TRACK delivery for a package, as ShipEngine sends it to a `track` webhook."""
        answer = self._tracking(carrier_code, number)
        if answer.status != 200:
            raise ValueError(f"No tracking answer for {carrier_code} {number}: {answer.status}")
        data = json.loads(answer.body)
        return track_webhook_body(carrier_code, number, data)

    def deliver_track_webhook(
        self,
        carrier_code: str,
        number: str,
        url: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> list[int]:
        """POST a signed API_TRACK delivery to `url`, or to every registered `track` webhook (with
        the custom headers configured on it). Returns the HTTP status of each delivery."""
        body = self.track_webhook_body(carrier_code, number)
        targets = (
            [{"url": url, "headers": []}]
            if url
            else [w for w in self.webhooks if str(w.get("event", "")).lower() == "track"]
        )
        http = session or requests.Session()
        statuses = []
        for hook in targets:
            headers = {"Content-Type": "application/json", **self.sign_webhook(body)}
            for item in hook.get("headers") or []:
                if isinstance(item, Mapping) and item.get("key"):
                    headers[str(item["key"])] = str(item.get("value", ""))
            try:
                response = http.post(str(hook["url"]), data=body, headers=headers, timeout=timeout)
                statuses.append(response.status_code)
            except requests.RequestException:
                statuses.append(0)
        return statuses

    def _deliver_route(self, query: Mapping[str, str]) -> SandboxResponse:
        """Sandbox-only: POST /v1/sandbox/webhooks/deliver?carrier_code=&tracking_number=[&url=]"""
        carrier_code = query.get("carrier_code", "")
        number = query.get("tracking_number", "")
        try:
            statuses = self.deliver_track_webhook(carrier_code, number, query.get("url") or None)
        except ValueError as exc:
            return _json(400, error_body("invalid_identifier", str(exc)))
        return _json(200, {"deliveries": statuses})

    def _random_fault(self) -> SandboxResponse:
        return self._fault(
            self._rng.choice(
                ["FAULT-429", "FAULT-500", "FAULT-TIMEOUT", "FAULT-BADJSON", "FAULT-TRUNCATED"]
            )
        )


# --------------------------------------------------------------------------------------------
# Webhook signing (the sandbox's side of ShipEngine's RSA-SHA256 webhook signatures)
# --------------------------------------------------------------------------------------------
def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_or_create_signing_key(path: Path) -> rsa.RSAPrivateKey:
    """A key kept in a file, so that every process on a machine (the web server verifying, a
    command delivering) uses the same one. The first process to need it writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        key = generate_signing_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with path.open("xb") as fh:  # exclusive create: the first process wins
            fh.write(pem)
        path.chmod(0o600)
        return key
    except FileExistsError:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key") from None
        return loaded


def key_id_for(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sandbox-" + hashlib.sha256(der).hexdigest()[:16]


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "kid": key_id_for(public_key),
        "use": "sig",
        "alg": "RS256",
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
    }


def sign_webhook(key: rsa.RSAPrivateKey, body: bytes, timestamp: str) -> dict[str, str]:
    signature = key.sign(timestamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return {
        "x-shipengine-rsa-sha256-key-id": key_id_for(key.public_key()),
        "x-shipengine-rsa-sha256-signature": base64.b64encode(signature).decode(),
        "x-shipengine-timestamp": timestamp,
    }


def track_webhook_body(carrier_code: str, number: str, data: Mapping[str, Any]) -> bytes:
    resource_url = (
        f"{DEFAULT_RESOURCE_BASE}/v1/tracking?carrier_code={quote(carrier_code)}"
        f"&tracking_number={quote(number)}"
    )
    return json.dumps(
        {"resource_url": resource_url, "resource_type": "API_TRACK", "data": dict(data)}
    ).encode()


DEFAULT_RESOURCE_BASE = "https://api.shipengine.com"


# --------------------------------------------------------------------------------------------
# In-process transport
# --------------------------------------------------------------------------------------------
class SandboxAdapter(BaseAdapter):
    """A requests transport that hands requests to a Sandbox instead of the network."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        answer = self.sandbox.handle(
            request.method or "GET", request.url or "", dict(request.headers), body
        )
        if answer.stall:
            raise requests.ReadTimeout(
                "Sandbox simulated a timeout: no answer before the read timeout"
            )
        response = requests.Response()
        response.status_code = answer.status
        response._content = answer.body
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = request.url or ""
        response.request = request
        response.reason = _REASONS.get(answer.status, "")
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
}

_default_sandbox: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox(epoch: datetime | None = None) -> Sandbox:
    global _default_sandbox
    with _default_lock:
        if _default_sandbox is None:
            _default_sandbox = Sandbox(epoch=epoch)
        return _default_sandbox


def sandbox_session(base_url: str, sandbox: Sandbox | None = None) -> requests.Session:
    session = requests.Session()
    adapter = SandboxAdapter(sandbox or default_sandbox())
    session.mount(base_url.rstrip("/") + "/", adapter)
    return session


# --------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------
def make_server(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    latency: float = 0.0,
    stall_seconds: float = 60.0,
) -> ThreadingHTTPServer:
    """A real HTTP server speaking the API's URLs. Port 0 picks a free port (server.server_port)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if latency:
                time.sleep(latency)
            answer = sandbox.handle(self.command, self.path, dict(self.headers.items()), body)
            if answer.stall:
                time.sleep(stall_seconds)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.body:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet: load tests send a lot
            return None

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(sandbox: Sandbox, **kwargs: Any) -> Iterator[str]:
    """Context helper for tests: yields the base URL of a running server."""
    server = make_server(sandbox, **kwargs)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
