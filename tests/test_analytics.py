"""Keeping the analytics current: the outbox consumer adds each change's difference to the daily
rollups; the rebuild gives the same numbers; failures leave the rest of the outbox alone; the
periodic work (history, quiet parcels) and the check command."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from tests.analytics_support import parcel
from tests.factories import TrackingEventFactory
from tracking.domain.lanes import ANY
from tracking.models import (
    AnalyticsBacklog,
    AnalyticsState,
    Carrier,
    ChangeRecord,
    DailyRollup,
    LaneHistory,
    QuietLane,
    Shipment,
    ShipmentFacts,
)
from tracking.services import analytics, analytics_refresh, ingest, outbox
from tracking.shipengine import TrackingInfo

pytestmark = pytest.mark.django_db


def rollups(**filters) -> dict[tuple, int]:
    rows = DailyRollup.objects.filter(**filters).values_list(
        "metric", "day", "carrier_id", "origin", "destination", "key", "n"
    )
    return {row[:-1]: row[-1] for row in rows}


def carrier_wide(metric: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for (m, _day, _carrier, _o, _d, key), n in rollups(origin=ANY).items():
        if m == metric:
            out[key] = out.get(key, 0) + n
    return out


def test_an_ingest_reaches_the_rollups_through_the_outbox(
    seed_example, django_capture_on_commit_callbacks
):
    shipment = Shipment.objects.create(
        carrier=Carrier.objects.get(code="usps"), tracking_number="A1"
    )
    with django_capture_on_commit_callbacks(execute=True):
        ingest.ingest_tracking(shipment_id=shipment.pk, info=TrackingInfo.from_json(seed_example))
    assert not ChangeRecord.objects.undispatched().exists()
    facts = ShipmentFacts.objects.get(pk=shipment.pk)
    assert facts.status_code == "DE" and not facts.is_open
    assert carrier_wide("shipped") == {"DE": 1}
    assert sum(carrier_wide("transit").values()) == 1
    # The seed's scans have places: the lane is first to last.
    assert facts.origin and facts.destination
    assert rollups(metric="shipped", origin=facts.origin, destination=facts.destination)


def test_a_change_moves_the_parcel_instead_of_counting_it_twice():
    shipment = parcel(((0, "AC", "CA"), (20, "IT", "TX")))
    analytics.update_shipments([shipment.pk])
    assert carrier_wide("shipped") == {"IT": 1}
    assert carrier_wide("transit") == {}
    TrackingEventFactory(
        shipment=shipment,
        occurred_at=timezone.now() - timedelta(hours=1),
        status_code="DE",
        country_code="US",
        state_province="NY",
    )
    Shipment.objects.filter(pk=shipment.pk).update(status_code="DE")
    analytics.update_shipments([shipment.pk])
    assert carrier_wide("shipped") == {"DE": 1}
    assert sum(carrier_wide("transit").values()) == 1
    assert sum(carrier_wide("ontime").values()) == 1
    # The in-transit lane row (CA -> TX) is gone, not left at zero; the lane is CA -> NY now.
    assert not DailyRollup.objects.filter(n=0).exists()
    assert {(o, d) for (_m, _day, _c, o, d, _k) in rollups(metric="shipped")} == {
        ("US-CA", "US-NY"),
        (ANY, ANY),
    }
    before = rollups()
    analytics.update_shipments([shipment.pk])  # again: nothing changes
    assert rollups() == before


def test_a_deleted_shipment_stops_counting():
    keep, gone = parcel(), parcel()
    analytics.update_shipments([keep.pk, gone.pk])
    assert carrier_wide("shipped") == {"DE": 2}
    gone.delete()
    assert carrier_wide("shipped") == {"DE": 1}


def test_the_rebuild_from_scratch_gives_what_the_changes_gave_and_the_check_agrees():
    parcels = [parcel(), parcel(carrier="fedex"), parcel(((0, "AC", "CA"), (5, "EX", "CA")))]
    analytics.update_shipments([p.pk for p in parcels])
    incremental = rollups()
    DailyRollup.objects.update(n=5)  # a bug's damage
    with pytest.raises(CommandError, match="differ from the raw tables"):
        call_command("rebuild_analytics", "--check")
    call_command("rebuild_analytics", "--from-scratch")
    assert rollups() == incremental
    call_command("rebuild_analytics", "--check")
    assert AnalyticsState.objects.get(pk=1).rebuilt_at is not None


def test_a_failing_analytics_update_keeps_the_shipments_for_the_sweep_and_lets_others_go(
    monkeypatch,
):
    shipment = parcel()
    ChangeRecord.objects.create(
        shipment=shipment, created_at=timezone.now(), kinds=["shipment.updated"]
    )
    others: list[int] = []
    monkeypatch.setattr(
        outbox,
        "CONSUMERS",
        [analytics.fan_out, lambda records: others.extend(r.pk for r in records)],
    )

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(analytics, "read_current", broken)
    assert outbox.dispatch() == 1
    assert len(others) == 1  # the webhook consumer still got the change
    assert list(AnalyticsBacklog.objects.values_list("pk", flat=True)) == [shipment.pk]
    assert not DailyRollup.objects.exists()
    monkeypatch.undo()
    assert analytics_refresh.retry_backlog(limit=100) == 1
    assert carrier_wide("shipped") == {"DE": 1}
    assert not AnalyticsBacklog.objects.exists()


def test_the_consumer_runs_before_the_webhooks():
    assert outbox.CONSUMERS[0] is analytics.fan_out


def delivered(n: int, *, carrier: str = "ups", transit_hours: float = 50, gap_hours: float = 30):
    out = []
    for _ in range(n):
        start = timezone.now() - timedelta(days=5)
        out.append(
            parcel(
                (
                    (0, "AC", "CA"),
                    (transit_hours - gap_hours, "IT", "TX"),
                    (transit_hours, "DE", "NY"),
                ),
                carrier=carrier,
                start=start,
            )
        )
    return out


def test_the_history_and_the_quiet_count_follow_recent_deliveries(settings):
    settings.ESTIMATE_MIN_PARCELS = 3
    done = delivered(3)  # usual gap: 30 h -> bucket 5 (30-36 h)
    now = timezone.now()
    quiet = parcel(((0, "AC", "CA"), (1, "IT", "CA")), start=now - timedelta(hours=60))  # 59 h
    moving = parcel(((0, "AC", "CA"), (50, "IT", "CA")), start=now - timedelta(hours=60))  # 10 h
    analytics.update_shipments([p.pk for p in [*done, quiet, moving]])
    assert analytics_refresh.refresh_history(now=now)
    assert not analytics_refresh.refresh_history(now=now)  # done within the hour: not again
    transit = dict(
        LaneHistory.objects.filter(metric="transit", origin=ANY).values_list("bucket", "n")
    )
    assert transit == {8: 3}
    assert set(
        LaneHistory.objects.filter(metric="transit").values_list("origin", "destination")
    ) == {("US-CA", "US-NY"), ("US-CA", ANY), (ANY, ANY)}
    state = AnalyticsState.objects.get(pk=1)
    assert state.regions == ["US-CA", "US-NY"] and state.carrier_ids
    assert analytics_refresh.refresh_quiet(now=now)
    total = QuietLane.objects.get(origin=ANY)
    assert (total.open_parcels, total.quiet_parcels, total.usual_gap_bucket) == (2, 1, 5)
    assert not analytics_refresh.refresh_quiet(now=now + timedelta(minutes=1))
    assert analytics_refresh.refresh_quiet(now=now + timedelta(minutes=16))


def test_the_sweep_does_nothing_costly_when_nothing_is_due(django_assert_max_num_queries):
    now = timezone.now()
    analytics_refresh.refresh_history(now=now)
    analytics_refresh.refresh_quiet(now=now)
    AnalyticsState.objects.filter(pk=1).update(
        etas_swept_until=datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    )
    with django_assert_max_num_queries(12):
        report = analytics_refresh.sweep(now=now + timedelta(minutes=1))
    assert report == {
        "backlog": 0,
        "history": False,
        "quiet": False,
        "rechecked": 0,
        "carrier_dates_passed": 0,
    }


def test_a_second_scheduler_does_not_refresh_the_history_again(django_db_blocker):
    now = timezone.now()
    assert analytics_refresh.refresh_history(now=now)
    assert not analytics_refresh.refresh_history(now=now + timedelta(minutes=5))
    assert analytics_refresh.refresh_history(now=now + timedelta(minutes=61))
    assert analytics_refresh.refresh_history(now=now + timedelta(minutes=62), force=True)


def test_answers_for_many_shipments_in_one_dispatch(seed_example):
    """A batch of the outbox's size costs a fixed number of queries, not a few per shipment."""
    carrier = Carrier.objects.get(code="usps")
    shipments = [
        Shipment.objects.create(carrier=carrier, tracking_number=f"B{i}") for i in range(30)
    ]
    for s in shipments:
        data = copy.deepcopy(seed_example)
        ingest.ingest_tracking(shipment_id=s.pk, info=TrackingInfo.from_json(data))
    assert outbox.dispatch() == 30
    assert carrier_wide("shipped") == {"DE": 30}


def test_tidying_after_a_rebuild_waits_for_no_transaction():
    # Inside the test's transaction: VACUUM could not run there, so nothing runs.
    assert analytics_refresh.tidy_after_rebuild() == ""


@pytest.mark.django_db(transaction=True)
def test_the_rebuild_command_tidies_the_tables_after_it(capsys):
    parcel()
    call_command("rebuild_analytics", "--from-scratch")
    said = capsys.readouterr().out
    if connection.vendor == "postgresql":
        assert "(then VACUUM (ANALYZE)" in said
    else:  # SQLite's planner chooses better without statistics (analytics_refresh.py)
        assert said.rstrip().endswith("s.") and "(then" not in said
