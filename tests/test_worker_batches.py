"""A worker stores the answers of its chunk together (scheduling.serve + tracking.store_answers):
one transaction for the lot, none held long, one bad answer failing alone, nothing lost when the
worker dies between fetching and storing."""

from __future__ import annotations

import pytest
from django.db import DataError

from tests.factories import ShipmentFactory
from tracking.models import QueuedRefresh, Shipment
from tracking.services import scheduling
from tracking.services import tracking as tracking_service

pytestmark = pytest.mark.django_db

NUMBERS = [f"79469843218{i}" for i in range(5)]


@pytest.fixture
def claimed() -> tuple[list[int], str]:
    ids = [ShipmentFactory(carrier__code="fedex", tracking_number=n).pk for n in NUMBERS]
    [claim] = scheduling.claim(ids)
    assert sorted(claim.shipment_ids) == sorted(ids)
    return claim.shipment_ids, claim.token


@pytest.fixture
def batches(monkeypatch) -> list[list[int]]:
    """The shipment ids of each batch stored."""
    seen: list[list[int]] = []
    real = tracking_service.ingest_many

    def counting(*, answers, **kwargs):
        seen.append([sid for sid, _info in answers])
        return real(answers=answers, **kwargs)

    monkeypatch.setattr(tracking_service, "ingest_many", counting)
    return seen


def test_the_answers_of_a_chunk_are_stored_in_one_transaction(claimed, batches):
    ids, token = claimed
    served = scheduling.serve(shipment_ids=ids, token=token)
    assert (served.refreshed, served.failed, served.skipped) == (5, 0, 0)
    assert batches == [ids]
    assert not QueuedRefresh.objects.exists()
    for shipment in Shipment.objects.filter(pk__in=ids):
        assert shipment.event_count > 0 and shipment.last_checked_at is not None
    assert served.events_added == sum(
        Shipment.objects.filter(pk__in=ids).values_list("event_count", flat=True)
    )


def test_no_answer_waits_longer_than_the_bound(claimed, batches, monkeypatch):
    monkeypatch.setattr(scheduling, "STORE_EVERY_SECONDS", 0.0)
    ids, token = claimed
    scheduling.serve(shipment_ids=ids, token=token)
    assert batches == [[i] for i in ids]  # each stored before the next is fetched


def test_one_answer_the_database_refuses_fails_alone(claimed, monkeypatch):
    ids, token = claimed
    bad = ids[2]

    def batch_refused(**kwargs):
        raise DataError("value out of range")

    real_one = tracking_service.ingest_tracking

    def one(*, shipment_id, info, **kwargs):
        if shipment_id == bad:
            raise DataError("value out of range")
        return real_one(shipment_id=shipment_id, info=info, **kwargs)

    monkeypatch.setattr(tracking_service, "ingest_many", batch_refused)
    monkeypatch.setattr(tracking_service, "ingest_tracking", one)
    served = scheduling.serve(shipment_ids=ids, token=token)
    assert (served.refreshed, served.failed) == (4, 1)
    assert served.errors == [f"{bad}: bad_response"]
    failed = Shipment.objects.get(pk=bad)
    assert failed.consecutive_failures == 1 and "could not be stored" in failed.last_error
    assert failed.event_count == 0
    assert all(
        s.event_count > 0 and s.consecutive_failures == 0
        for s in Shipment.objects.filter(pk__in=ids).exclude(pk=bad)
    )
    assert not QueuedRefresh.objects.exists()  # the failed one waits for its back-off


def test_a_worker_killed_holding_answers_leaves_them_queued(claimed, monkeypatch):
    ids, token = claimed

    def killed(**kwargs):
        raise KeyboardInterrupt  # SIGKILL, OOM: nothing after this line runs

    monkeypatch.setattr(tracking_service, "ingest_many", killed)
    with pytest.raises(KeyboardInterrupt):
        scheduling.serve(shipment_ids=ids, token=token)
    # Still claimed: reaped as lost after REFRESH_QUEUE_TIMEOUT_MINUTES and fetched again.
    assert set(QueuedRefresh.objects.values_list("shipment_id", flat=True)) == set(ids)
    assert not Shipment.objects.filter(pk__in=ids, event_count__gt=0).exists()
