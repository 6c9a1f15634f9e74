"""Our own delivery estimate: when parcels like this one were delivered, from our history.

"Like this one": delivered recently by the same carrier on the same lane (origin region to
destination region), and still on their way after as long as this parcel has been travelling
(a parcel three days out is compared with the parcels that took more than three days). The
estimate is the median of their transit times counted from this parcel's first scan; the window
holds the middle 80 % of them (10th to 90th percentile); `parcels` says how many it rests on.

A parcel on its way does not say where it is going until it gets there, so the lane is used when
the last scan is in the destination's area (out for delivery, a delivery attempt); before that
the history of the same carrier from the same origin region to anywhere, then of the carrier as
a whole. Too few parcels at every level: no estimate. Used only where the carrier gives no date,
or its date has passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from . import histograms
from .lanes import ANY
from .shipment_facts import Facts, utc_day

LANE = "lane"
ORIGIN = "origin"
CARRIER = "carrier"
NO_CARRIER_DATE = "no_carrier_date"
CARRIER_DATE_PASSED = "carrier_date_passed"

#: The window: the middle 80 % of the comparable parcels.
LOW, MIDDLE, HIGH = 0.1, 0.5, 0.9


@dataclass(frozen=True)
class Estimate:
    predicted_on: date
    earliest_on: date
    latest_on: date
    parcels: int
    basis: str
    origin: str
    destination: str

    def recheck_at(self) -> datetime:
        """When the window's first day is over: from then on the parcel has been travelling
        longer, and is compared with fewer, slower parcels."""
        return datetime.combine(self.earliest_on + timedelta(days=1), time(0), tzinfo=UTC)


def reason_for(facts: Facts, carrier_eta: datetime | None, today: date) -> str | None:
    """Why this parcel needs our estimate, or None: delivered, not scanned yet, or the carrier's
    date is still ahead (today counts as ahead)."""
    if not facts.is_open or facts.shipped_at is None:
        return None
    if carrier_eta is None:
        return NO_CARRIER_DATE
    if utc_day(carrier_eta) < today:
        return CARRIER_DATE_PASSED
    return None


def levels(facts: Facts) -> list[tuple[str, str, str]]:
    """(basis, origin, destination) to try, most specific first."""
    out = []
    if facts.at_destination and facts.origin and facts.destination:
        out.append((LANE, facts.origin, facts.destination))
    if facts.origin:
        out.append((ORIGIN, facts.origin, ANY))
    out.append((CARRIER, ANY, ANY))
    return out


def estimate(
    *,
    facts: Facts,
    history: Mapping[tuple[str, str], Mapping[int, int]],
    now: datetime,
    min_parcels: int,
) -> Estimate | None:
    """Our estimate from `history` ({(origin, destination): {transit bucket: parcels}} of this
    parcel's carrier, with ANY for "any"), or None when it is too thin."""
    shipped_at = facts.shipped_at
    if shipped_at is None:
        return None
    elapsed = now - shipped_at
    today = utc_day(now)
    for basis, origin, destination in levels(facts):
        comparable = histograms.longer_than(history.get((origin, destination), {}), elapsed)
        parcels = sum(comparable.values())
        if parcels < min_parcels:
            continue
        low = histograms.percentile(comparable, LOW)
        middle = histograms.percentile(comparable, MIDDLE)
        high = histograms.percentile(comparable, HIGH)
        assert low is not None and middle is not None and high is not None
        earliest = max(utc_day(shipped_at + histograms.bucket_start(low)), today)
        predicted = max(utc_day(shipped_at + histograms.bucket_middle(middle)), earliest)
        last_moment = shipped_at + histograms.bucket_end(high) - timedelta(seconds=1)
        latest = max(utc_day(last_moment), predicted)
        return Estimate(
            predicted_on=predicted,
            earliest_on=earliest,
            latest_on=latest,
            parcels=parcels,
            basis=basis,
            origin=origin,
            destination=destination,
        )
    return None


def naive(
    *, shipped_at: datetime, carrier_history: Mapping[int, int]
) -> tuple[date, date, date] | None:
    """The baseline our estimate is measured against (benchmarks/estimates.py): the carrier's
    median transit time over all its parcels, whatever the lane and however long this one has
    been travelling; with its 10th-90th percentile window."""
    low = histograms.percentile(carrier_history, LOW)
    middle = histograms.percentile(carrier_history, MIDDLE)
    high = histograms.percentile(carrier_history, HIGH)
    if low is None or middle is None or high is None:
        return None
    return (
        utc_day(shipped_at + histograms.bucket_middle(middle)),
        utc_day(shipped_at + histograms.bucket_start(low)),
        utc_day(shipped_at + histograms.bucket_end(high) - timedelta(seconds=1)),
    )
