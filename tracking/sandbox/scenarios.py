"""The sandbox's data: places, demo journeys, label ids, fault numbers, and the seed's answer.

Event times are offsets in hours from the sandbox's epoch (negative: before it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

STATUS_DESCRIPTIONS = {
    "AC": "Accepted",
    "IT": "In Transit",
    "DE": "Delivered",
    "EX": "Exception",
    "UN": "Unknown",
    "AT": "Delivery Attempt",
    "NY": "Not Yet In System",
    "SP": "Delivered To The Collection Location",
}


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


def step(
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
                step(
                    -30,
                    "AC",
                    "Shipper created a label, UPS has not received the package yet",
                    "ATL",
                    "MP",
                    "SHIPMENT_CREATED",
                ),
                step(-3, "AC", "Origin Scan", "ATL", "OR", "RECEIVED_BY_CARRIER"),
            ),
            eta_hours=50,
        ),
        Scenario(
            "794698432183",
            "fedex",
            (
                step(-52, "AC", "Picked up", "LAX", "PU", "PICKED_UP"),
                step(-49, "IT", "Departed FedEx location", "LAX", "DP", "HUB_SCAN_OUT"),
                step(-40, "IT", "In transit", "PHX", "IT", "IN_TRANSIT"),
                step(-30, "IT", "Arrived at FedEx hub", "MEM", "AR", "HUB_SCAN_IN"),
                step(-26, "IT", "Departed FedEx hub", "MEM", "DP", "HUB_SCAN_OUT"),
                step(-14, "IT", "In transit", "IND", "IT", "IN_TRANSIT"),
                step(
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
                step(-70, "AC", "Shipment picked up", "LEJ", "PU", "PICKED_UP"),
                step(-64, "IT", "Processed at LEIPZIG - GERMANY", "LEJ", "PL", "HUB_PROCESSING"),
                step(
                    -60, "IT", "Departed Facility in LEIPZIG - GERMANY", "LEJ", "DF", "HUB_SCAN_OUT"
                ),
                step(
                    -48,
                    "IT",
                    "Arrived at Sort Facility CINCINNATI HUB - USA",
                    "CVG",
                    "AF",
                    "HUB_SCAN_IN",
                ),
                step(-44, "IT", "Customs status updated", "CVG", "CR", "CUSTOMS_PROCESSING"),
                step(
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
                step(-60, "AC", "Origin Scan", "SDF", "OR", "RECEIVED_BY_CARRIER"),
                step(-55, "IT", "Departed from Facility", "SDF", "DP", "HUB_SCAN_OUT"),
                step(-38, "IT", "Arrived at Facility", "CHI", "AR", "HUB_SCAN_IN"),
                step(-28, "IT", "Out For Delivery Today", "EVN", "OT", "OUT_FOR_DELIVERY"),
                step(
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
                step(
                    -80,
                    "UN",
                    "Electronic information submitted by shipper",
                    None,
                    "0100",
                    "CARRIER_STATUS_NOT_MAPPED",
                    with_coordinates=False,
                ),
                step(
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
                step(-75, "AC", "USPS in possession of item", "DEN", "03", "PICKED_UP"),
                step(-60, "IT", "Arrived at USPS Regional Facility", "DEN", "10", "HUB_SCAN_IN"),
                step(
                    -36,
                    "IT",
                    "In Transit to Next Facility",
                    None,
                    "NT",
                    "IN_TRANSIT",
                    with_coordinates=False,
                ),
                step(-20, "IT", "Arrived at USPS Regional Facility", "SEA", "10", "HUB_SCAN_IN"),
                step(
                    -6, "SP", "Delivered, Parcel Locker", "SEAC", "01", "DELIVERED_TO_PICKUP_POINT"
                ),
            ),
        ),
        Scenario(
            "1Z5R89390357567127",
            "ups",
            (
                step(-96, "AC", "Origin Scan", "SDF", "OR", "RECEIVED_BY_CARRIER"),
                step(-90, "IT", "Departed from Facility", "SDF", "DP", "HUB_SCAN_OUT"),
                step(-72, "IT", "Arrived at Facility", "ATL", "AR", "HUB_SCAN_IN"),
                step(-50, "IT", "Out For Delivery Today", "DEC", "OT", "OUT_FOR_DELIVERY"),
                step(
                    -46, "DE", "Delivered, Front Door", "DEC", "KB", "DELIVERED", signer="J SMITH"
                ),
            ),
        ),
        Scenario(
            "612999999999",
            "fedex",
            (
                step(-20, "AC", "Picked up", "SEA", "PU", "PICKED_UP"),
                step(-17, "IT", "Departed FedEx location", "SEA", "DP", "HUB_SCAN_OUT"),
                step(-6, "IT", "In transit", "DEN", "IT", "IN_TRANSIT"),
                step(2, "IT", "Arrived at FedEx hub", "KC", "AR", "HUB_SCAN_IN"),
                step(6, "IT", "Departed FedEx hub", "KC", "DP", "HUB_SCAN_OUT"),
                step(14, "IT", "In transit", "CHI", "IT", "IN_TRANSIT"),
                step(22, "IT", "On FedEx vehicle for delivery", "EVN", "OD", "OUT_FOR_DELIVERY"),
                step(27, "DE", "Delivered", "EVN", "DL", "DELIVERED", signer="A RIVERA"),
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
    "FAULT-DRIP",
    "FAULT-BADJSON",
    "FAULT-TRUNCATED",
    "FAULT-401",
    "FAULT-404",
}


SEED_FILE = Path(__file__).with_name("seed_example.json")


@cache
def _seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


def seed_example() -> dict[str, Any]:
    """The seed document's example answer, exactly as printed there (nulls and naive times too).
    A fresh copy on every call: callers may change it."""
    data: dict[str, Any] = json.loads(_seed_text())
    return data
