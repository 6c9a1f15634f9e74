"""The rules the analytics count by (domain/shipment_facts.py, lanes.py, histograms.py) and our
estimate's rule (domain/estimates.py): pure functions, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tracking.domain import estimates, histograms, lanes
from tracking.domain import shipment_facts as sf
from tracking.domain.shipment_facts import Scan, Summary

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def scan(i: int, hours: float, status: str = "IT", **fields) -> Scan:
    values = {"country_code": "US", "state_province": "CA", **fields}
    return Scan(id=i, occurred_at=T0 + timedelta(hours=hours), status_code=status, **values)


def summary(status: str = "DE", eta: datetime | None = None, actual: datetime | None = None):
    return Summary(
        carrier_id=7, status_code=status, estimated_delivery_date=eta, actual_delivery_date=actual
    )


def test_regions_and_lanes():
    assert lanes.region("us", " tn ") == "US-TN"
    assert lanes.region("GB", "") == "GB"
    assert lanes.region("", "MO") == "MO"  # USPS answers often leave the country out
    assert lanes.region("", " ") == ""
    assert lanes.region("AU", "New South Wales") == "AU-NEWSOUTHWA"  # cut to 10
    assert lanes.lane_label("US-CA", "") == "US-CA → ?"


def test_percentiles_are_nearest_rank_and_conditional_history_keeps_the_slower():
    counts = {4: 1, 8: 2, 12: 1}  # 1, 2, 2, 3 days
    assert histograms.percentile(counts, 0.5) == 8
    assert histograms.percentile(counts, 0.9) == 12
    assert histograms.percentile(counts, 0.1) == 4
    assert histograms.percentile({}, 0.5) is None
    assert histograms.longer_than(counts, timedelta(hours=50)) == {8: 2, 12: 1}
    assert histograms.bucket_of(timedelta(hours=-1)) is None
    assert histograms.bucket_of(timedelta(days=400)) == histograms.LAST_BUCKET
    assert histograms.bucket_days(9) == pytest.approx(2.375)


def test_a_delivered_parcel_counts_its_lane_transit_gap_and_punctuality():
    scans = [
        scan(1, 0, "AC", state_province="CA"),
        scan(2, 10, state_province="TX"),
        scan(3, 40, state_province="NY"),  # the longest gap: 30 h
        scan(4, 50, "DE", state_province="NY"),
    ]
    facts = sf.compute(summary(eta=T0 + timedelta(days=2)), scans)
    assert (facts.origin, facts.destination) == ("US-CA", "US-NY")
    assert facts.delivered_at == T0 + timedelta(hours=50)
    assert facts.transit_bucket == 8  # 50 h: the 48-54 h quarter day
    assert facts.gap_bucket == 5  # 30 h
    assert facts.punctuality == sf.ON_TIME  # delivered on day 2, the carrier said day 2
    assert not facts.is_open
    late = sf.compute(summary(eta=T0 + timedelta(days=1)), scans)
    assert late.punctuality == sf.LATE
    assert sf.compute(summary(), scans).punctuality == sf.NO_DATE


def test_the_apis_delivery_time_wins_then_the_first_delivering_scan():
    scans = [scan(1, 0), scan(2, 30, "DE"), scan(3, 40, "DE")]
    assert sf.compute(summary(), scans).delivered_at == T0 + timedelta(hours=30)
    given = T0 + timedelta(hours=36)
    assert sf.compute(summary(actual=given), scans).delivered_at == given


def test_undated_scans_are_left_out_and_a_parcel_without_scans_counts_nowhere():
    facts = sf.compute(summary("IT"), [Scan(id=1, occurred_at=None, country_code="US")])
    assert facts.shipped_at is None and sf.contributions(facts) == []


def test_each_reason_counts_once_on_its_first_day():
    scans = [
        scan(1, 0),
        scan(2, 30, "EX", status_detail_description="Held by customs"),
        scan(3, 60, "EX", status_detail_description="Held by customs"),
        scan(4, 70, "AT", description="No one home"),
    ]
    facts = sf.compute(summary("AT"), scans)
    assert facts.incidents == (
        (date(2026, 11, 3), "exception", "Held by customs"),
        (date(2026, 11, 5), "attempt", "No one home"),
    )
    assert facts.at_destination  # the last scan is a delivery attempt: it is where it goes


def test_every_contribution_counts_under_the_lane_and_carrier_wide():
    facts = sf.compute(summary(), [scan(1, 0), scan(2, 20, "DE", state_province="NY")])
    rows = sf.contributions(facts)
    assert len(rows) == 8  # shipped, on time, transit, gap: twice each
    assert {(r[2], r[3]) for r in rows} == {("US-CA", "US-NY"), (lanes.ANY, lanes.ANY)}
    assert ("shipped", date(2026, 11, 2), "US-CA", "US-NY", "DE") in rows


def history(**buckets: int) -> dict[int, int]:
    return {int(k[1:]): v for k, v in buckets.items()}


def open_facts(**changes) -> sf.Facts:
    values = {
        "carrier_id": 7,
        "status_code": "IT",
        "origin": "US-CA",
        "destination": "US-TX",
        "shipped_at": T0,
        "last_scan_at": T0 + timedelta(hours=5),
    }
    return sf.Facts(**{**values, **changes})


def test_our_estimate_is_the_median_of_comparable_parcels_with_the_middle_80_percent():
    h = {(lanes.ANY, lanes.ANY): history(b4=10, b8=70, b12=20)}  # 1, 2, 3 days (+3 h)
    found = estimates.estimate(facts=open_facts(), history=h, now=T0, min_parcels=20)
    assert found is not None and found.basis == estimates.CARRIER and found.parcels == 100
    assert found.predicted_on == date(2026, 11, 4)  # day 2, 11:00
    assert (found.earliest_on, found.latest_on) == (date(2026, 11, 3), date(2026, 11, 5))
    assert found.recheck_at() == datetime(2026, 11, 4, tzinfo=UTC)


def test_our_estimate_prefers_the_origin_then_the_lane_at_the_destination():
    h = {
        (lanes.ANY, lanes.ANY): history(b4=100),
        ("US-CA", lanes.ANY): history(b8=30),
        ("US-CA", "US-TX"): history(b12=25),
    }
    on_way = estimates.estimate(facts=open_facts(), history=h, now=T0, min_parcels=20)
    assert on_way is not None and (on_way.basis, on_way.parcels) == (estimates.ORIGIN, 30)
    there = estimates.estimate(
        facts=open_facts(at_destination=True), history=h, now=T0, min_parcels=20
    )
    assert there is not None and there.basis == estimates.LANE
    assert there.predicted_on == date(2026, 11, 5)


def test_a_late_parcel_is_compared_with_the_slower_ones_and_thin_history_gives_none():
    h = {(lanes.ANY, lanes.ANY): history(b4=70, b16=30)}
    now = T0 + timedelta(days=3)  # the 1-day parcels no longer compare
    found = estimates.estimate(facts=open_facts(), history=h, now=now, min_parcels=20)
    assert found is not None and found.parcels == 30
    assert found.predicted_on == date(2026, 11, 6) and found.earliest_on == date(2026, 11, 6)
    assert estimates.estimate(facts=open_facts(), history=h, now=now, min_parcels=31) is None


def test_our_estimate_is_wanted_without_a_carrier_date_or_once_it_has_passed():
    today = date(2026, 11, 3)
    facts = open_facts()
    assert estimates.reason_for(facts, None, today) == estimates.NO_CARRIER_DATE
    passed = datetime(2026, 11, 2, tzinfo=UTC)
    assert estimates.reason_for(facts, passed, today) == estimates.CARRIER_DATE_PASSED
    assert estimates.reason_for(facts, datetime(2026, 11, 3, tzinfo=UTC), today) is None
    assert estimates.reason_for(open_facts(is_open=False), None, today) is None
    assert estimates.reason_for(open_facts(shipped_at=None), None, today) is None
