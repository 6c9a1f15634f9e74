"""Refresh policy and the scheduler: what is due, queued once, backed off, given up."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from tests.concurrency import run_concurrently
from tests.factories import CarrierFactory, ShipmentFactory
from tracking import tasks
from tracking.models import ApiCall, QueuedRefresh, Shipment, WebhookReceipt
from tracking.services.refresh import next_check_at


def queued_ids() -> set[int]:
    return set(QueuedRefresh.objects.values_list("shipment_id", flat=True))


# -- policy -------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "minutes"),
    [("NY", 360), ("AC", 360), ("IT", 120), ("EX", 60), ("AT", 60), ("", 15), ("ZZ", 240)],
)
def test_interval_by_status(status, minutes):
    now = timezone.now()
    s = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="A1B2C3",
        status_code=status,
        last_event_at=now - timedelta(hours=1),
    )
    assert next_check_at(s, now=now) == now + timedelta(minutes=minutes)


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["DE", "SP"])
def test_delivered_is_never_polled_again(status):
    s = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="A1B2C3",
        status_code=status,
        last_event_at=timezone.now(),
    )
    assert next_check_at(s, now=timezone.now()) is None


@pytest.mark.django_db
def test_gives_up_after_days_without_news(settings):
    settings.REFRESH_GIVE_UP_DAYS = 30
    now = timezone.now()
    quiet = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="QUIET1",
        status_code="IT",
        last_event_at=now - timedelta(days=31),
    )
    assert next_check_at(quiet, now=now) is None
    lively = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="LIVELY1",
        status_code="IT",
        last_event_at=now - timedelta(days=29),
    )
    assert next_check_at(lively, now=now) is not None
    # A package that never had an event counts from when it was added.
    never = ShipmentFactory(carrier__code="fedex", tracking_number="NEVER1", status_code="NY")
    Shipment.objects.filter(pk=never.pk).update(created_at=now - timedelta(days=31))
    never.refresh_from_db()
    assert next_check_at(never, now=now) is None


@pytest.mark.django_db
def test_failures_back_off_exponentially_up_to_a_cap(settings):
    settings.REFRESH_FAILURE_BACKOFF_MINUTES = 5
    settings.REFRESH_FAILURE_BACKOFF_MAX_MINUTES = 60
    now = timezone.now()
    s = ShipmentFactory(
        carrier__code="fedex", tracking_number="FAILING1", status_code="IT", last_event_at=now
    )
    waits = []
    for failures in range(1, 7):
        s.consecutive_failures = failures
        waits.append((next_check_at(s, now=now) - now).total_seconds() / 60)
    assert waits == [5, 10, 20, 40, 60, 60]


# -- scheduler ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_enqueue_due_queues_each_due_shipment_once(django_capture_on_commit_callbacks):
    now = timezone.now()
    due = [
        ShipmentFactory(carrier__code="fedex", tracking_number=f"DUE{i}") for i in range(3)
    ]  # never fetched: due at once
    ShipmentFactory(
        carrier__code="fedex",
        tracking_number="LATER1",
        status_code="IT",
        next_check_at=now + timedelta(hours=1),
    )
    ShipmentFactory(carrier__code="fedex", tracking_number="DONE1", status_code="DE")
    ShipmentFactory(carrier__code="ups_off", carrier__is_active=False, tracking_number="OFF1")
    with django_capture_on_commit_callbacks() as callbacks:
        assert tasks.enqueue_due() == 3
        assert tasks.enqueue_due() == 0  # already queued: not again
    assert len(callbacks) == 1  # the second run had nothing to queue
    assert queued_ids() == {s.pk for s in due}


@pytest.mark.django_db
def test_a_lost_claim_is_queued_again_after_the_timeout(
    settings, django_capture_on_commit_callbacks
):
    settings.REFRESH_QUEUE_TIMEOUT_MINUTES = 30
    now = timezone.now()
    lost = ShipmentFactory(carrier__code="fedex", tracking_number="LOST1")
    busy = ShipmentFactory(carrier__code="fedex", tracking_number="BUSY1")
    QueuedRefresh.objects.create(shipment=lost, token="old", queued_at=now - timedelta(minutes=31))
    QueuedRefresh.objects.create(shipment=busy, token="busy", queued_at=now - timedelta(minutes=5))
    with django_capture_on_commit_callbacks():
        assert tasks.enqueue_due() == 1
    row = QueuedRefresh.objects.get(shipment=lost)
    assert row.queued_at >= now and row.token != "old"  # its old task will skip it


@pytest.mark.django_db
def test_limit_and_order(django_capture_on_commit_callbacks):
    now = timezone.now()
    old = ShipmentFactory(
        carrier__code="fedex",
        tracking_number="OLDEST",
        status_code="IT",
        next_check_at=now - timedelta(hours=5),
    )
    ShipmentFactory(
        carrier__code="fedex",
        tracking_number="NEWER",
        status_code="IT",
        next_check_at=now - timedelta(minutes=1),
    )
    never = ShipmentFactory(carrier__code="fedex", tracking_number="NEVER")
    with django_capture_on_commit_callbacks():
        assert tasks.enqueue_due(limit=2) == 2
    assert queued_ids() == {never.pk, old.pk}


@pytest.mark.django_db
def test_queued_refreshes_run_and_release_the_claim(django_capture_on_commit_callbacks):
    s = ShipmentFactory(carrier__code="fedex", tracking_number="794698432183")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_due()
    s.refresh_from_db()
    assert not QueuedRefresh.objects.exists()
    assert s.status_code == "IT"
    assert s.events.count() > 0
    assert s.next_check_at > timezone.now()


@pytest.mark.django_db
def test_a_failed_refresh_backs_off_and_releases_the_claim(django_capture_on_commit_callbacks):
    s = ShipmentFactory(carrier__code="fedex", tracking_number="FAULT-500")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_due()
    s.refresh_from_db()
    assert not QueuedRefresh.objects.exists()
    assert s.consecutive_failures == 1
    assert s.last_error_code
    assert s.next_check_at > timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enqueue_due() == 0  # not due until the back-off has passed


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_never_queue_a_shipment_twice():
    c = CarrierFactory(code="fedex")
    Shipment.objects.bulk_create(
        [Shipment(carrier=c, tracking_number=f"RACE{i:04d}") for i in range(300)]
    )
    # The dummy backend only records tasks: the claims must stay in place to be counted. (Set
    # once here: override_settings is process-wide and not for use from several threads.)
    dummy = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    # Chunks large enough that the queue's starting bound (two chunks) takes all 300.
    with override_settings(TASKS=dummy, REFRESH_TASK_CHUNK=200):
        counts = run_concurrently(lambda: tasks.enqueue_due(limit=1000), 4)
    assert sum(counts) == 300
    assert not Shipment.objects.filter(queued_refresh__isnull=True).exists()
    assert QueuedRefresh.objects.count() == 300


@pytest.mark.django_db(transaction=True)
def test_database_backend_and_db_worker_end_to_end():
    """With the production backend: enqueue_due writes one refresh_many task per chunk, a batch
    worker (run_worker --batch, which is db_worker plus the scheduler) runs them all."""
    from django_tasks_db.models import DBTaskResult

    c = CarrierFactory(code="fedex")
    numbers = ["794698432183", "612999999999", "FAULT-404"]
    for n in numbers:
        ShipmentFactory(carrier=c, tracking_number=n)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        assert tasks.enqueue_due() == 3
        assert DBTaskResult.objects.count() == 1  # one chunk (REFRESH_TASK_CHUNK)
        assert tasks.enqueue_due() == 0
        call_command(
            "run_worker",
            "--batch",
            "--no-startup-delay",
            "--refresh-schedule",
            "0",
            "--no-reload",
            verbosity=0,
        )
        assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    fetched = Shipment.objects.filter(queued_refresh__isnull=True, last_checked_at__isnull=False)
    assert fetched.count() == 3
    assert Shipment.objects.get(tracking_number="FAULT-404").consecutive_failures == 1
    assert Shipment.objects.get(tracking_number="794698432183").events.exists()


@pytest.mark.django_db
def test_scheduler_thread_of_run_worker_queues_due_shipments(
    django_capture_on_commit_callbacks, monkeypatch
):
    from tracking.management.commands import run_worker
    from tracking.management.commands.run_worker import _schedule_forever

    # In a worker it closes stale connections; here it would close the test's transaction.
    monkeypatch.setattr(run_worker, "close_old_connections", lambda: None)

    ShipmentFactory(carrier__code="fedex", tracking_number="794698432183")

    class OneShot:
        def __init__(self) -> None:
            self.calls = 0

        def is_set(self) -> bool:
            self.calls += 1
            return self.calls > 1

        def wait(self, seconds: float) -> None:
            return None

    with django_capture_on_commit_callbacks(execute=True):
        _schedule_forever(60, OneShot())  # type: ignore[arg-type]
    assert Shipment.objects.get().last_checked_at is not None


@pytest.mark.django_db
def test_refresh_due_command_and_housekeeping(settings, django_capture_on_commit_callbacks):
    ShipmentFactory(carrier__code="fedex", tracking_number="794698432183")
    WebhookReceipt.objects.create(
        digest="a" * 64, outcome="ingested", received_at=timezone.now() - timedelta(days=30)
    )
    WebhookReceipt.objects.create(digest="b" * 64, outcome="ingested")
    ApiCall.objects.create(
        method="GET", endpoint="/v1/tracking", at=timezone.now() - timedelta(days=60)
    )
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("refresh_due", stdout=out)
    assert "1 refreshes queued" in out.getvalue()
    assert "removed 1 old webhook receipts and 1 old API-call records" in out.getvalue()
    assert WebhookReceipt.objects.count() == 1
    assert Shipment.objects.get().status_code == "IT"
