"""What the analytics count about one shipment, worked out from its summary and its scans.

One rule for every number on the analytics page (and for the plain SQL check that compares the
rollups with the raw tables, tests/test_analytics_generated.py):

- only scans with a time count; "first" and "last" are by time, then by storage order;
- **shipped**: the first scan's time; the day a parcel counts in "shipments per day" (UTC);
- **lane**: the region of the first scan with a place to the region of the last one
  (domain/lanes.py); for a parcel still on its way the last one is where it is now;
- **delivered**: for a delivered parcel (DE, or SP: at a collection point), the API's
  actual_delivery_date, else the first delivering scan, else the last scan;
- **transit**: delivered minus shipped, in quarter days (domain/histograms.py);
- **longest gap**: the longest time between two consecutive scans up to the delivery;
- **on time**: delivered on or before the carrier's estimated delivery day (UTC days); "late"
  after it; "no date" when the carrier gave none;
- **incidents**: each different exception (EX) or failed delivery attempt (AT) reason of a
  parcel once, on the day of its first scan; the reason is the scan's status detail, else its
  description.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise

from . import histograms
from .lanes import ANY, region
from .statuses import FINAL, Status, is_out_for_delivery

REASON_MAX = 100
EXCEPTION = "exception"
ATTEMPT = "attempt"
INCIDENT_KINDS = {Status.EXCEPTION.value: EXCEPTION, Status.DELIVERY_ATTEMPT.value: ATTEMPT}

ON_TIME = "on_time"
LATE = "late"
NO_DATE = "no_date"

# Rollup metrics (services/analytics.py adds up one row per parcel and key).
SHIPPED = "shipped"  # by shipped day; key: the status now
TRANSIT = "transit"  # by delivered day; key: the quarter-day bucket
PUNCTUAL = "ontime"  # by delivered day; key: on_time / late / no_date
INCIDENT = "incident"  # by the incident's day; key: "exception:reason" / "attempt:reason"
GAP = "gap"  # by delivered day; key: the longest gap's quarter-day bucket


@dataclass(frozen=True)
class Summary:
    """The shipment's own fields the facts read."""

    carrier_id: int
    status_code: str
    estimated_delivery_date: datetime | None
    actual_delivery_date: datetime | None


@dataclass(frozen=True)
class Scan:
    """One stored event, as the facts read it."""

    id: int
    occurred_at: datetime | None
    status_code: str = ""
    country_code: str = ""
    state_province: str = ""
    status_detail_code: str = ""
    status_detail_description: str = ""
    description: str = ""
    carrier_status_description: str = ""


@dataclass(frozen=True)
class Facts:
    carrier_id: int
    status_code: str
    origin: str = ""
    destination: str = ""
    shipped_at: datetime | None = None
    last_scan_at: datetime | None = None
    delivered_at: datetime | None = None
    is_open: bool = True
    #: Still on its way, but its last scan says it is in the destination's area (out for
    #: delivery, a delivery attempt): `destination` is then where it is going.
    at_destination: bool = False
    transit_bucket: int | None = None
    gap_bucket: int | None = None
    punctuality: str = ""
    #: (day, kind, reason), each (kind, reason) once, sorted.
    incidents: tuple[tuple[date, str, str], ...] = ()


def reason_of(scan: Scan) -> str:
    for text in (
        scan.status_detail_description,
        scan.description,
        scan.carrier_status_description,
        scan.status_detail_code,
    ):
        text = (text or "").strip(" ")
        if text:
            return text[:REASON_MAX]
    return ""


def utc_day(value: datetime) -> date:
    return value.astimezone(UTC).date()


def compute(summary: Summary, scans: Iterable[Scan]) -> Facts:
    dated = sorted(
        (s for s in scans if s.occurred_at is not None),
        key=lambda s: (s.occurred_at, s.id),
    )
    status = summary.status_code
    is_open = status not in FINAL
    if not dated:
        return Facts(carrier_id=summary.carrier_id, status_code=status, is_open=is_open)
    placed = [(s, r) for s in dated if (r := region(s.country_code, s.state_province))]
    origin = placed[0][1] if placed else ""
    destination = placed[-1][1] if placed else ""
    first, last = dated[0], dated[-1]
    shipped_at = first.occurred_at
    assert shipped_at is not None and last.occurred_at is not None
    facts = Facts(
        carrier_id=summary.carrier_id,
        status_code=status,
        origin=origin,
        destination=destination,
        shipped_at=shipped_at,
        last_scan_at=last.occurred_at,
        is_open=is_open,
        at_destination=is_open
        and bool(placed)
        and placed[-1][0] is last
        and (
            last.status_code == Status.DELIVERY_ATTEMPT
            or is_out_for_delivery(
                status_detail_code=last.status_detail_code,
                texts=(last.description, last.carrier_status_description),
            )
        ),
        incidents=_incidents(dated),
    )
    if is_open:
        return facts
    delivered_at = summary.actual_delivery_date or next(
        (s.occurred_at for s in dated if s.status_code in FINAL), last.occurred_at
    )
    assert delivered_at is not None
    transit = histograms.bucket_of(delivered_at - shipped_at)
    if summary.estimated_delivery_date is None:
        punctuality = NO_DATE
    elif utc_day(delivered_at) <= utc_day(summary.estimated_delivery_date):
        punctuality = ON_TIME
    else:
        punctuality = LATE
    return Facts(
        **{
            **facts.__dict__,
            "delivered_at": delivered_at,
            "transit_bucket": transit,
            "gap_bucket": _longest_gap(dated, delivered_at) if transit is not None else None,
            "punctuality": punctuality,
        }
    )


def _longest_gap(dated: Sequence[Scan], delivered_at: datetime) -> int | None:
    times = [s.occurred_at for s in dated if s.occurred_at and s.occurred_at <= delivered_at]
    times.append(delivered_at)
    longest = max((b - a for a, b in pairwise(times)), default=None)
    return histograms.bucket_of(longest) if longest is not None else 0


def _incidents(dated: Sequence[Scan]) -> tuple[tuple[date, str, str], ...]:
    first_seen: dict[tuple[str, str], date] = {}
    for scan in dated:
        kind = INCIDENT_KINDS.get(scan.status_code)
        if kind is None or scan.occurred_at is None:
            continue
        first_seen.setdefault((kind, reason_of(scan)), utc_day(scan.occurred_at))
    return tuple(sorted((day, kind, reason) for (kind, reason), day in first_seen.items()))


#: (metric, day, origin, destination, key): one parcel's share of the rollups. Every parcel
#: counts twice: under its lane, and carrier-wide under (ANY, ANY).
Contribution = tuple[str, date, str, str, str]


def contributions(facts: Facts | None) -> list[Contribution]:
    if facts is None or facts.shipped_at is None:
        return []
    rows: list[tuple[str, date, str]] = [
        (SHIPPED, utc_day(facts.shipped_at), facts.status_code or Status.UNKNOWN.value)
    ]
    if facts.delivered_at is not None:
        day = utc_day(facts.delivered_at)
        rows.append((PUNCTUAL, day, facts.punctuality))
        if facts.transit_bucket is not None:
            rows.append((TRANSIT, day, str(facts.transit_bucket)))
        if facts.gap_bucket is not None:
            rows.append((GAP, day, str(facts.gap_bucket)))
    for day, kind, reason in facts.incidents:
        rows.append((INCIDENT, day, f"{kind}:{reason}"))
    out: list[Contribution] = []
    for metric, day, key in rows:
        out.append((metric, day, facts.origin, facts.destination, key))
        out.append((metric, day, ANY, ANY, key))
    return out
