"""The outbox: a change record for every real change, in the ingest's transaction; none for a
replay; dispatched once to every consumer, after commit, and by the sweep after a crash."""

from __future__ import annotations

import copy

import pytest

from tracking.models import Carrier, ChangeRecord, Shipment
from tracking.services import ingest, outbox
from tracking.shipengine import TrackingInfo

pytestmark = pytest.mark.django_db


def answer(seed_example: dict, **changes) -> TrackingInfo:
    data = copy.deepcopy(seed_example)
    data.update(changes)
    return TrackingInfo.from_json(data)


@pytest.fixture
def shipment() -> Shipment:
    return Shipment.objects.create(carrier=Carrier.objects.get(code="usps"), tracking_number="O1")


@pytest.fixture
def consumed(monkeypatch) -> list[list[int]]:
    batches: list[list[int]] = []
    monkeypatch.setattr(
        outbox, "CONSUMERS", [lambda records: batches.append([r.pk for r in records])]
    )
    return batches


def test_a_first_answer_records_one_change_with_its_kinds_and_milestone(seed_example, shipment):
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    record = ChangeRecord.objects.get(shipment=shipment)
    assert record.kinds == ["shipment.updated", "shipment.status_changed", "shipment.delivered"]
    assert (record.previous_status, record.status, record.events_added) == ("", "DE", 6)
    # The seed's scans carry no status codes: the milestone comes from the summary.
    assert (record.milestone, record.milestone_key) == ("delivered", "delivered")


def test_the_same_answer_again_records_nothing(seed_example, shipment):
    info = answer(seed_example)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=info)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=info)
    assert ChangeRecord.objects.filter(shipment=shipment).count() == 1


def test_a_new_scan_without_a_new_status_is_an_update_only(seed_example, shipment):
    early = copy.deepcopy(seed_example)
    early["events"] = seed_example["events"][1:]
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(early))
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    latest = ChangeRecord.objects.filter(shipment=shipment).last()
    assert latest.kinds == ["shipment.updated"] and latest.events_added == 1


def test_an_exception_scan_is_keyed_by_its_event(seed_example, shipment):
    data = copy.deepcopy(seed_example)
    data["status_code"] = "EX"
    data["events"][0] = {**data["events"][0], "status_code": "EX", "description": "Held"}
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(data))
    record = ChangeRecord.objects.get(shipment=shipment)
    assert "shipment.exception" in record.kinds
    assert record.milestone == "exception" and record.milestone_key.startswith("exception:")


def test_dispatch_hands_each_record_to_the_consumers_once(seed_example, shipment, consumed):
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    record = ChangeRecord.objects.get(shipment=shipment)
    assert outbox.dispatch() == 1
    assert outbox.dispatch() == 0  # already taken
    assert consumed == [[record.pk]]
    record.refresh_from_db()
    assert record.dispatched_at is not None


def test_records_are_dispatched_after_the_commit(
    seed_example, shipment, consumed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    assert len(consumed) == 1
    assert not ChangeRecord.objects.undispatched().exists()


def test_a_failing_consumer_leaves_the_batch_for_the_sweep(seed_example, shipment, monkeypatch):
    def broken(records):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(outbox, "CONSUMERS", [broken])
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    with pytest.raises(RuntimeError):
        outbox.dispatch()
    assert ChangeRecord.objects.undispatched().count() == 1  # nothing lost
    monkeypatch.setattr(outbox, "CONSUMERS", [])
    assert outbox.dispatch() == 1


def test_new_shipments_record_created(shipment):
    outbox.record_created([shipment.pk])
    assert ChangeRecord.objects.get(shipment=shipment).kinds == ["shipment.created"]
