"""Background tasks, and the proof that refreshing through a faulty API loses and duplicates
nothing."""

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings

from tests.conftest import EPOCH
from tests.factories import CarrierFactory, ShipmentFactory
from tracking import tasks
from tracking.domain.event_identity import event_key
from tracking.models import ApiCall, Shipment, TrackingEvent
from tracking.sandbox import Sandbox, render_tracking, serve_in_thread
from tracking.shipengine import TrackingInfo


@pytest.mark.django_db
def test_refresh_task_stores_the_answer_and_releases_the_claim():
    s = ShipmentFactory(carrier__code="fedex", tracking_number="794698432183")
    result = tasks.refresh_shipment.enqueue(s.pk)
    assert result.status == "SUCCESSFUL"
    assert result.return_value["ok"] is True
    assert result.return_value["events_added"] == s.events.count() > 0


@pytest.mark.django_db
def test_refresh_task_records_an_api_failure_without_failing():
    s = ShipmentFactory(carrier__code="fedex", tracking_number="FAULT-401")
    result = tasks.refresh_shipment.enqueue(s.pk)
    assert result.status == "SUCCESSFUL"
    assert result.return_value["ok"] is False
    assert "401" in result.return_value["error"]
    s.refresh_from_db()
    assert s.consecutive_failures == 1


@pytest.mark.django_db
def test_refresh_task_for_a_deleted_shipment():
    result = tasks.refresh_shipment.enqueue(987654)
    assert result.return_value == {"shipment_id": 987654, "ok": False, "error": "deleted"}


@pytest.mark.django_db
def test_tasks_are_enqueued_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    s = ShipmentFactory(carrier__code="fedex", tracking_number="794698432183")
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.enqueue_refreshes([s.pk])
        assert s.events.count() == 0  # nothing ran yet
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enqueue_refreshes([s.pk]) == 0  # queued already: never twice
    callbacks[0]()  # the commit comes: the queued task runs
    assert s.events.count() > 0


@pytest.mark.django_db
def test_a_rolled_back_transaction_enqueues_nothing(django_capture_on_commit_callbacks):
    s = ShipmentFactory(carrier__code="fedex", tracking_number="794698432183")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                tasks.enqueue_refreshes([s.pk])
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    assert callbacks == []
    assert s.events.count() == 0


def expected_keys(sandbox: Sandbox, number: str, now) -> set[str]:
    scenario = sandbox.scenario_for("fedex", number)
    answer = TrackingInfo.from_json(render_tracking(scenario, epoch=sandbox.epoch, now=now))
    return {event_key(e) for e in answer.events}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_1000_refreshes_against_a_faulty_api_lose_no_event_and_duplicate_none():
    """250 packages refreshed 4 times (1,000 refreshes) by 6 concurrent workers, through the real
    client, task and ingest path, against the sandbox HTTP server answering 20% of requests with
    a 429, a 500, a stall past the read timeout, HTML or truncated JSON. The sandbox's clock moves
    on between rounds so that every round brings new events. Refreshes that fail after the
    client's retries are recorded and tried again (as the scheduler would once the back-off
    passes). At the end every package holds exactly the events of a clean answer."""
    clock = [EPOCH - timedelta(hours=150)]
    sandbox = Sandbox(
        epoch=EPOCH, clock=lambda: clock[0], fault_rate=0.2, rng=random.Random(20), retry_after=0.05
    )
    c = CarrierFactory(code="fedex")
    numbers = [f"LOAD{i:06d}" for i in range(250)]
    Shipment.objects.bulk_create([Shipment(carrier=c, tracking_number=n) for n in numbers])
    ids = list(Shipment.objects.order_by("pk").values_list("pk", flat=True))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def refresh(pk: int) -> None:
        try:
            result = tasks.refresh_shipment.enqueue(pk)
            with lock:
                outcomes["ok" if result.return_value["ok"] else "failed"] += 1
        finally:
            connection.close()

    with (
        serve_in_thread(sandbox, stall_seconds=0.6) as base,
        override_settings(
            SHIPENGINE_API_KEY="test-key",
            SHIPENGINE_SANDBOX=False,
            SHIPENGINE_BASE_URL=base,
            SHIPENGINE_CONNECT_TIMEOUT=2.0,
            SHIPENGINE_READ_TIMEOUT=0.25,
            SHIPENGINE_MAX_ATTEMPTS=4,
            SHIPENGINE_RETRY_BUDGET=5.0,
        ),
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        for hours in (150, 100, 50, 0):
            clock[0] = EPOCH - timedelta(hours=hours)
            list(pool.map(refresh, ids))
        refreshes = sum(outcomes.values())
        assert refreshes == 1000
        # Failed refreshes are tried again, as the scheduler does after the back-off.
        for _ in range(10):
            failing = list(
                Shipment.objects.filter(consecutive_failures__gt=0).values_list("pk", flat=True)
            )
            if not failing:
                break
            list(pool.map(refresh, failing))
    assert not Shipment.objects.filter(consecutive_failures__gt=0).exists()

    # The faults really happened, of every kind, and were retried.
    failures = Counter(ApiCall.objects.failures().values_list("error_code", flat=True))
    assert sum(failures.values()) > 150, failures
    assert {"rate_limit_exceeded", "unspecified", "timeout", "bad_response"} <= set(failures), (
        failures
    )

    stored: dict[int, list[str]] = {}
    for shipment_id, key in TrackingEvent.objects.values_list("shipment_id", "dedupe_key"):
        stored.setdefault(shipment_id, []).append(key)
    lost = duplicated = 0
    for shipment in Shipment.objects.all():
        keys = stored.get(shipment.pk, [])
        want = expected_keys(sandbox, shipment.tracking_number, clock[0])
        lost += len(want - set(keys))
        duplicated += len(keys) - len(set(keys)) + len(set(keys) - want)
        assert shipment.event_count == len(keys)
    assert (lost, duplicated) == (0, 0)
    assert sum(len(v) for v in stored.values()) > 1000  # a meaningful number of events
