"""The analytics page's numbers, from the rollups, equal a plain SQL computation over the raw
tables (shipments and events), on data made by benchmarks/generate.py.

The plain SQL (benchmarks/analytics_sql.py) is written from the rules in domain/shipment_facts.py,
not from the code that applies them. Both run on SQLite and on PostgreSQL (`.ci/run` runs the
suite on both).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from benchmarks.analytics_sql import as_day, page_numbers, plain_sql, rows
from benchmarks.generate import generate
from tests.factories import TrackingEventFactory
from tracking.domain.analytics_figures import Filters
from tracking.domain.lanes import ANY
from tracking.models import Carrier, Shipment, TrackingEvent
from tracking.services import analytics

pytestmark = pytest.mark.django_db(transaction=True)


def give_carrier_dates() -> None:
    """The generator gives delivered parcels no carrier date: give three in five one on their
    delivery day or later (on time) and the others one or two days before it (late)."""
    delivered = Shipment.objects.filter(status_code__in=["DE", "SP"]).only(
        "id", "actual_delivery_date"
    )
    rows = []
    for s in delivered:
        if s.pk % 7 == 0:
            continue  # some stay without a date
        s.estimated_delivery_date = s.actual_delivery_date + timedelta(days=s.pk % 5 - 2)
        if s.pk % 11 == 0:
            # The API gave no delivery time: the first delivering scan, else the last, counts.
            s.actual_delivery_date = None
        elif s.pk % 11 == 1:
            # The API's time is not the scan's (a carrier's correction): the API's counts.
            s.actual_delivery_date += timedelta(hours=13)
        rows.append(s)
    Shipment.objects.bulk_update(
        rows, ["estimated_delivery_date", "actual_delivery_date"], batch_size=500
    )


def change_after_the_build() -> list[int]:
    """What the ingest does after the rollups exist: parcels on their way delivered (a scan in
    a new region, so their lane changes too), parcels deleted, a carrier date moved. Returns the
    ids the outbox would hand the consumer."""
    on_the_way = list(
        Shipment.objects.exclude(status_code__in=["DE", "SP"])
        .exclude(last_event_at=None)
        .order_by("pk")[:60]
    )
    for s in on_the_way:
        assert s.last_event_at is not None
        TrackingEventFactory(
            shipment=s,
            occurred_at=s.last_event_at + timedelta(hours=30),
            status_code="DE",
            country_code="US",
            state_province="AK",
        )
        if s.pk % 2:
            # A second delivering scan later on (a photo, a signature): the first one counts.
            TrackingEventFactory(
                shipment=s,
                occurred_at=s.last_event_at + timedelta(hours=50),
                status_code="DE",
                country_code="US",
                state_province="AK",
            )
        s.status_code = "DE"
        s.actual_delivery_date = None
        s.estimated_delivery_date = s.last_event_at + timedelta(days=s.pk % 3)
    Shipment.objects.bulk_update(
        on_the_way, ["status_code", "actual_delivery_date", "estimated_delivery_date"]
    )
    delivered = list(Shipment.objects.filter(status_code="DE").order_by("-pk")[:40])
    for s in delivered:
        s.estimated_delivery_date = None
    Shipment.objects.bulk_update(delivered, ["estimated_delivery_date"])
    gone = Shipment.objects.filter(status_code="EX").order_by("pk")[:15]
    Shipment.objects.filter(pk__in=[s.pk for s in gone]).delete()
    return [s.pk for s in on_the_way + delivered]


def test_the_rollups_equal_plain_sql_over_the_raw_tables():
    generate(n_shipments=2000, n_events=20000, seed=17, log=lambda *args: None)
    give_carrier_dates()
    analytics.rebuild(from_scratch=True, chunk=700)
    span = rows("SELECT MIN(occurred_at), MAX(occurred_at) FROM tracking_trackingevent", [])[0]
    first, last = as_day(span[0]), as_day(span[1]) + timedelta(days=3)
    ups = Carrier.objects.get(code="ups").pk
    busiest = rows(
        "SELECT origin, destination FROM tracking_shipmentfacts WHERE origin <> '' "
        "GROUP BY origin, destination ORDER BY COUNT(*) DESC LIMIT 1",
        [],
    )[0]
    cases = [
        Filters(start=first, end=last),
        Filters(start=last - timedelta(days=40), end=last - timedelta(days=10)),
        Filters(start=first, end=last, carrier_id=ups),  # UPS by lane
        Filters(start=first, end=last, origin=busiest[0], destination=busiest[1]),
        Filters(start=first, end=last, origin=busiest[0]),
        Filters(start=first, end=last, carrier_id=ups, origin=busiest[0]),
    ]
    for f in cases:
        expected, got = plain_sql(f), page_numbers(f)
        for part in expected:
            assert got[part] == expected[part], (f, part)
    whole = plain_sql(cases[0])
    assert TrackingEvent.objects.filter(state_province="AK").count() == 0
    # The data covers every part of the page: not a comparison of empty sets.
    assert sum(whole["status"].values()) > 1800 and len(whole["transit"]) > 20
    assert {k for counts in whole["punctuality"].values() for k in counts} == {
        "on_time",
        "late",
        "no_date",
    }
    assert {k[1] for k in whole["incidents"]} == {"exception", "attempt"}
    assert analytics.check().different == 0
    assert ANY not in {k[1] for k in plain_sql(cases[2])["transit"]}

    # Then the consumer's path: only the differences of the changed shipments are applied.
    changed = change_after_the_build()
    analytics.update_shipments(changed)
    for f in cases:
        expected, got = plain_sql(f), page_numbers(f)
        for part in expected:
            assert got[part] == expected[part], ("after the changes", f, part)
    after = plain_sql(cases[0])
    assert any(k[2] == "US-AK" for k in plain_sql(cases[2])["transit"])
    assert sum(after["status"].values()) < sum(whole["status"].values())
    assert after["punctuality"] != whole["punctuality"]
