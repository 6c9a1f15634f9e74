"""Issue 11: nothing stalls, floods or gets lost. The scheduler's bounds, the workers' crash and
stop handling, imports around bad rows and interrupted jobs, and the edges (webhook timestamps,
date filters, client addresses, login throttling, CSV formulas)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone

from tests import hostile_shipengine
from tests.html import parse
from tracking import tasks
from tracking.domain.refresh_policy import GIVEN_UP
from tracking.models import (
    Carrier,
    ImportJob,
    QueuedRefresh,
    Shipment,
    TrackingEvent,
    WorkerHeartbeat,
)
from tracking.services import csv_export, csv_import, import_jobs, inbound_webhooks, scheduling
from tracking.web import client_address

ROOT = Path(__file__).resolve().parents[1]
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
HEADER = "carrier_code,tracking_number,reference,customer_name,customer_email\n"


def fedex() -> Carrier:
    return Carrier.objects.get(code="fedex")


def make(number: str, **fields) -> Shipment:
    return Shipment.objects.create(carrier=fedex(), tracking_number=number, **fields)


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("rel-staff", password="x", is_staff=True)
    client.force_login(user)
    return client


# -- The scheduler ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_given_up_shipment_is_never_due_and_news_brings_it_back(settings):
    settings.REFRESH_GIVE_UP_DAYS = 30
    now = timezone.now()
    quiet = make("GIVEUP1", status_code="IT", last_event_at=now - timedelta(days=40))
    from tracking.services.refresh import record_failure
    from tracking.shipengine import TransportError

    record_failure(shipment_id=quiet.pk, error=TransportError("x"))
    quiet.refresh_from_db()
    assert quiet.refresh_state == GIVEN_UP and quiet.next_check_at is None
    assert not scheduling.due(now + timedelta(days=365)).filter(pk=quiet.pk).exists()
    assert scheduling.claim_due() == []
    # A person refreshes it and the carrier has news: back on its schedule.
    from tracking.services import tracking

    shipment = make("794698432183")
    Shipment.objects.filter(pk=shipment.pk).update(refresh_state=GIVEN_UP)
    tracking.refresh_shipment(shipment_id=shipment.pk)
    shipment.refresh_from_db()
    assert shipment.refresh_state == "active" and shipment.next_check_at > now


@pytest.mark.django_db
def test_the_database_refuses_a_second_queued_refresh_of_one_shipment():
    s = make("ONCE1")
    QueuedRefresh.objects.create(shipment=s, token="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        QueuedRefresh.objects.create(shipment=s, token="b")


@pytest.mark.django_db
def test_the_queue_never_holds_more_than_the_rate_limit_serves_in_the_timeout(settings):
    from tracking.models import ApiCall

    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 10
    settings.REFRESH_QUEUE_TIMEOUT_MINUTES = 3
    settings.REFRESH_TASK_CHUNK = 7
    # Calls made as fast as the limit allows: the bound is the rate limit's, 10 x 3.
    ApiCall.objects.bulk_create([ApiCall(method="GET", endpoint="/v1/tracking") for _ in range(50)])
    Shipment.objects.bulk_create(
        [Shipment(carrier=fedex(), tracking_number=f"BOUND{i:03d}") for i in range(100)]
    )
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with override_settings(TASKS=settings.TASKS):
        assert tasks.enqueue_due() == 30
        assert tasks.enqueue_due() == 0  # full: nothing more until some are served
    assert QueuedRefresh.objects.count() == 30 == scheduling.capacity()
    # An import's first fetches get only the room there is; the rest stay due (first in line).
    assert scheduling.claim([s.pk for s in Shipment.objects.all()]) == []


@pytest.mark.django_db
def test_a_task_skips_what_is_no_longer_due_or_was_refreshed_after_it_was_queued(
    django_capture_on_commit_callbacks,
):
    refreshed, later, final, due = (make(n) for n in ("SKIP1", "SKIP2", "SKIP3", "794698432183"))
    claims = scheduling.claim([refreshed.pk, later.pk, final.pk, due.pk], reason="scheduled")
    soon = timezone.now() + timedelta(seconds=5)
    Shipment.objects.filter(pk=refreshed.pk).update(last_checked_at=soon)
    Shipment.objects.filter(pk=later.pk).update(next_check_at=soon + timedelta(hours=1))
    Shipment.objects.filter(pk=final.pk).update(status_code="DE")
    result = scheduling.serve(shipment_ids=claims[0].shipment_ids, token=claims[0].token)
    assert (result.skipped, result.refreshed) == (3, 1)
    assert not QueuedRefresh.objects.exists()
    # A late duplicate task (its token no longer matches) sends nothing.
    again = scheduling.serve(shipment_ids=claims[0].shipment_ids, token=claims[0].token)
    assert (again.skipped, again.refreshed) == (4, 0)


@pytest.mark.django_db
def test_an_import_with_fetch_off_queues_no_fetch(tmp_path, settings):
    path = tmp_path / "off.csv"
    path.write_text(HEADER + "".join(f"fedex,OFF{i:04d},,,\n" for i in range(50)))
    job = import_jobs.job_for_file(path, fetch=False)
    job = import_jobs.run_job(job_id=job.pk, enqueue=tasks.enqueue_import_fetches)
    assert job.imported == 50 and job.fetches_enqueued == 0
    assert not QueuedRefresh.objects.exists()
    assert scheduling.claim_due() == []  # not due now: on the normal schedule for new packages
    later = timezone.now() + timedelta(minutes=settings.REFRESH_INTERVALS[""] + 1)
    assert scheduling.due(later).count() == 50


@pytest.mark.django_db
def test_imports_and_first_fetches_run_before_a_refresh_backlog():
    assert tasks.IMPORT_PRIORITY > tasks.IMPORT_FETCH_PRIORITY > tasks.REFRESH_PRIORITY
    old = make("BACKLOG1", status_code="IT", next_check_at=timezone.now() - timedelta(days=3))
    old.last_checked_at = timezone.now() - timedelta(days=3)
    old.save()
    new = make("NEWPKG1")
    claims = scheduling.claim_due(limit=1)
    assert claims[0].shipment_ids == [new.pk]  # never fetched: first, however old the backlog


# -- Workers: killed, stopped -------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_import_is_handed_on_and_resumes_after_the_last_committed_line(
    tmp_path, settings, staff
):
    from django_tasks_db.models import DBTaskResult

    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(f"fedex,RESUME{i:04d},,,\n" for i in range(10)))
    job = import_jobs.job_for_file(path, fetch=False)

    class Killed(BaseException):
        pass

    def die_after_first_chunk(report):
        raise Killed

    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.IMPORTING, attempts=1)
    with pytest.raises(Killed):
        csv_import.import_csv(
            path=Path(job.file_path), job=job, chunk_rows=4, on_progress=die_after_first_chunk
        )
    job.refresh_from_db()
    assert (job.imported, job.resume_line) == (4, 5)
    with override_settings(TASKS=DB_BACKEND):
        result = tasks.run_import.enqueue(job.pk)
        WorkerHeartbeat.objects.create(
            worker_id="killed-1", seen_at=timezone.now() - timedelta(minutes=5)
        )
        DBTaskResult.objects.filter(pk=result.id).update(
            status="RUNNING", worker_ids=["killed-1"], started_at=timezone.now()
        )
        assert tasks.reap_lost_tasks() == 1
        assert DBTaskResult.objects.get(pk=result.id).status == "READY"
        call_command(
            "run_worker",
            "--batch",
            "--no-startup-delay",
            "--refresh-schedule",
            "0",
            "--no-reload",
            verbosity=0,
        )
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert (job.imported, job.rows_processed, job.duplicates, job.error_count) == (10, 10, 0, 0)
    assert Shipment.objects.filter(tracking_number__startswith="RESUME").count() == 10


@pytest.mark.django_db(transaction=True)
def test_an_import_lost_too_often_fails_with_a_retry_button_that_goes_on(tmp_path, staff):
    from django_tasks_db.models import DBTaskResult

    path = tmp_path / "retry.csv"
    path.write_text(HEADER + "".join(f"fedex,RETRY{i:04d},,,\n" for i in range(6)))
    job = import_jobs.job_for_file(path, fetch=False)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.IMPORTING, attempts=3)
    with override_settings(TASKS=DB_BACKEND):
        result = tasks.run_import.enqueue(job.pk)
        WorkerHeartbeat.objects.create(worker_id="w3", seen_at=timezone.now() - timedelta(hours=1))
        DBTaskResult.objects.filter(pk=result.id).update(
            status="RUNNING", worker_ids=["w1", "w2", "w3"], started_at=timezone.now()
        )
        assert tasks.reap_lost_tasks() == 1
        assert DBTaskResult.objects.get(pk=result.id).status == "FAILED"
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and "interrupted 3 times" in job.message
        page = parse(staff.get(f"/staff/import/{job.pk}/"))
        form = page.select_one("form.import-retry")
        assert form is not None and form.select_one("button").get_text() == "Retry"
        response = staff.post(f"/staff/import/{job.pk}/retry/")
        assert response.status_code == 302
        call_command(
            "run_worker",
            "--batch",
            "--no-startup-delay",
            "--refresh-schedule",
            "0",
            "--no-reload",
            verbosity=0,
        )
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.imported == 6


@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_refresh_chunk_is_handed_on_and_served_once():
    from django_tasks_db.models import DBTaskResult

    ships = [make(n) for n in ("794698432183", "612999999999", "1Z999AA10123456784")]
    with override_settings(TASKS=DB_BACKEND):
        assert tasks.enqueue_due() == 3
        row = DBTaskResult.objects.get()
        WorkerHeartbeat.objects.create(
            worker_id="gone", seen_at=timezone.now() - timedelta(hours=1)
        )
        DBTaskResult.objects.filter(pk=row.pk).update(status="RUNNING", worker_ids=["gone"])
        assert tasks.enqueue_due() == 0  # still queued: never twice
        assert tasks.reap_lost_tasks() == 1
        call_command(
            "run_worker",
            "--batch",
            "--no-startup-delay",
            "--refresh-schedule",
            "0",
            "--no-reload",
            verbosity=0,
        )
        assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    for s in ships:
        s.refresh_from_db()
        assert s.last_checked_at is not None and s.events.exists()
    assert not QueuedRefresh.objects.exists()


@pytest.mark.slow
def test_sigterm_stops_a_worker_within_seconds_and_hands_its_task_back(tmp_path):
    """A real run_worker process, refreshing a shipment whose answer drips one byte a second:
    SIGTERM, and the process is gone within WORKER_STOP_GRACE_SECONDS + a little, its task READY
    again (or finished), its shipment still queued exactly once, nothing half stored."""
    db = tmp_path / "worker.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DEBUG": "1",
        "SHIPENGINE_API_KEY": "TEST_sigterm_key_0123456789",
        "WORKER_STOP_GRACE_SECONDS": "2",
        "SHIPENGINE_READ_TIMEOUT": "30",
        "SHIPENGINE_ATTEMPT_DEADLINE_SECONDS": "300",
        "SHIPENGINE_CALL_DEADLINE_SECONDS": "600",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    with hostile_shipengine.running() as hostile:
        hostile.slow_byte_seconds = 1.0
        env["SHIPENGINE_BASE_URL"] = hostile.url
        script = (
            "from tracking.models import Carrier, Shipment; from tracking import tasks;"
            "s = Shipment.objects.create(carrier=Carrier.objects.get(code='fedex'),"
            " tracking_number='SLOW-9'); print(tasks.enqueue_due())"
        )
        subprocess.run([*manage, "shell", "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
        worker = subprocess.Popen(
            [
                *manage,
                "run_worker",
                "--no-startup-delay",
                "--refresh-schedule",
                "0",
                "--no-reload",
                "--interval",
                "0.2",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not hostile.requests and time.monotonic() < deadline:
                time.sleep(0.2)
            assert hostile.requests, "the worker never called the API"
            time.sleep(1.5)  # the answer is dripping now
            stopped_at = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=15)
            took = time.monotonic() - stopped_at
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert took < 2 + 3, took
    check = (
        "from django_tasks_db.models import DBTaskResult; from tracking.models import *;"
        "print(repr((list(DBTaskResult.objects.values_list('status', flat=True)),"
        " QueuedRefresh.objects.count(), TrackingEvent.objects.count(),"
        " Shipment.objects.get().consecutive_failures, WorkerHeartbeat.objects.count())))"
    )
    done = subprocess.run(
        [*manage, "shell", "-c", check], cwd=ROOT, env=env, capture_output=True, text=True
    )
    statuses, queued, events, failures, beats = eval(done.stdout.strip().splitlines()[-1])
    # Released: the task gave its shipment back (SUCCESSFUL, row gone: queued again next tick)
    # or was handed back whole (READY, row kept). Either way nothing failed, nothing half stored.
    assert (statuses, queued) in ((["READY"], 1), (["SUCCESSFUL"], 0)), (statuses, queued)
    assert (events, failures) == (0, 0)
    assert beats == 0  # it said goodbye


# -- Imports: bad rows among good ones, any newline ---------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("newline", [b"\r", b"\r\n", b"\n"], ids=["CR", "CRLF", "LF"])
def test_any_newline_convention_imports(tmp_path, newline):
    rows = [HEADER.strip().encode()] + [f"fedex,NL{i:04d},R{i},,".encode() for i in range(5)]
    path = tmp_path / "nl.csv"
    path.write_bytes(newline.join(rows) + newline)
    report = csv_import.import_csv(path=path)
    assert (report.imported, report.errors, report.fatal) == (5, 0, "")


@pytest.mark.django_db
def test_a_nul_byte_and_a_bad_byte_are_row_errors_and_every_other_row_is_kept(tmp_path):
    job = ImportJob.objects.create(file_name="x.csv", file_path="x")
    body = HEADER.encode() + b"".join(
        (
            "fedex,GOOD0001,,Zoë,\n".encode(),  # UTF-8: the file is UTF-8 with one bad line
            b"fedex,NULROW01,,Ann\x00Smith,\n",
            b"fedex,GOOD0002,,,\n",
            b"fedex,LATIN001,,Ren\xe9,\n",
            b"fedex,GOOD0003,,,\n",
        )
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(body)
    report = csv_import.import_csv(path=path, job=job)
    assert (report.imported, report.errors) == (3, 2)
    errors = {e.line: e.message for e in job.row_errors.all()}
    assert "NUL byte" in errors[3] and "not UTF-8" in errors[5]
    assert Shipment.objects.filter(tracking_number__startswith="GOOD").count() == 3


@pytest.mark.django_db
def test_the_export_escapes_formulas_in_every_column():
    carrier = Carrier.objects.create(code="=cmd|' /c calc'!a0", name="evil")
    Shipment.objects.create(carrier=carrier, tracking_number="=HYPERLINK(1)", reference="+1")
    lines = list(csv_export.export_lines(Shipment.objects.all()))
    assert lines[1].startswith("'=cmd|' /c calc'!a0,'=HYPERLINK(1),'+1,")


@pytest.mark.django_db
def test_track_label_refuses_a_number_or_carrier_code_that_does_not_validate():
    from tracking.services import tracking
    from tracking.shipengine import BadResponseError, Label, TrackingInfo

    class Fake:
        def __init__(self, number: str, code: str) -> None:
            self.label = Label(label_id="se-1", tracking_number=number, carrier_code=code)
            self.answer = TrackingInfo(tracking_number=number, status_code="IT", carrier_code=code)

        def get_label(self, label_id: str) -> Label:
            return self.label

        def get_label_tracking(self, label_id: str) -> TrackingInfo:
            return self.answer

    for number, code in (("=CMD|'/C CALC'!A0", "ups"), ("A" * 300, "ups"), ("1Z1", "=cmd")):
        with pytest.raises(BadResponseError):
            tracking.track_label(label_id="se-1", client=Fake(number, code))  # type: ignore[arg-type]
    assert not Shipment.objects.exists()
    assert not Carrier.objects.filter(code__startswith="=").exists()


# -- Webhook timestamps of any shape: 400 ---------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "timestamp",
    [
        "-99999999999",
        "-1e13",
        "1e400",
        "nan",
        "inf",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "2026-13-45T99:99:99Z",
        "\x00",
        "9" * 5000,
        "   ",
    ],
)
def test_unsigned_webhooks_with_strange_timestamps_get_400_or_404_never_500(client, timestamp):
    response = client.post(
        "/webhooks/shipengine/track/",
        data=b"{}",
        content_type="application/json",
        HTTP_X_SHIPENGINE_RSA_SHA256_KEY_ID="kid",
        HTTP_X_SHIPENGINE_RSA_SHA256_SIGNATURE="c2ln",
        HTTP_X_SHIPENGINE_TIMESTAMP=timestamp,
    )
    assert response.status_code in (400, 404), response.status_code


@pytest.mark.django_db
def test_a_deeply_nested_webhook_body_is_400():
    body = b'{"resource_type": "API_TRACK", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(inbound_webhooks.WebhookRejected) as caught:
        inbound_webhooks.ingest(body)
    assert caught.value.status == 400


# -- Date filters out of range --------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("param", ["shipped_to", "updated_to", "shipped_from", "updated_from"])
def test_out_of_range_dates_are_form_errors_on_the_list_and_the_export(staff, param):
    make("DATE1")
    page = staff.get("/staff/", {param: "9999-12-31"})
    assert page.status_code == 200
    assert "between 1900 and 2999" in parse(page).get_text()
    export = staff.get("/staff/export.csv", {param: "9999-12-31"})
    assert export.status_code == 400
    assert param in export.content.decode() and "between 1900 and 2999" in export.content.decode()
    assert staff.get("/staff/export.csv", {param: "2026-01-01"}).status_code == 200


# -- Client address and the global lookup limit ------------------------------------------------------------
def test_the_client_is_counted_from_the_right_of_x_forwarded_for(settings):
    rf = RequestFactory()
    settings.PUBLIC_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_IPS = []
    settings.TRUSTED_PROXY_COUNT = 1
    forged = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert client_address.client_address(forged) == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 2  # a CDN, then nginx
    two = rf.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 203.0.113.1"
    )
    assert client_address.client_address(two) == "198.51.100.7"
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/8", "203.0.113.0/24"]
    assert client_address.client_address(two) == "198.51.100.7"
    direct = rf.get("/", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_address.client_address(direct) == "192.0.2.50"  # not from our proxy: ignored
    v6 = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="[2001:db8:1:2:aaaa::1]:443")
    assert client_address.client_address(v6) == "2001:db8:1:2::/64"
    junk = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="junk, also-junk")
    assert client_address.client_address(junk) == "10.0.0.2"


@pytest.mark.django_db
def test_forged_addresses_do_not_multiply_lookups(client, settings):
    settings.PUBLIC_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.PUBLIC_LOOKUP_RATE_LIMIT = 100
    settings.PUBLIC_LOOKUP_GLOBAL_RATE_LIMIT = 5
    statuses = [
        client.post(
            "/track/",
            {"number": "1Z999AA10123456784"},
            HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 198.51.100.{i}",
        ).status_code
        for i in range(8)
    ]
    assert statuses.count(429) == 3


# -- Login throttling -------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/staff/login/", "/admin/login/"])
def test_logins_are_locked_after_repeated_failures_with_a_clear_message(
    client, django_user_model, url, settings
):
    django_user_model.objects.create_user("lock-me", password="right-pass-123", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(url, {"username": "lock-me", "password": "wrong"})
        assert response.status_code in (200, 429)
    locked = client.post(url, {"username": "lock-me", "password": "right-pass-123"})
    assert locked.status_code == 429
    text = " ".join(parse(locked).get_text().split())
    assert "Too many failed log-ins" in text and "Try again in 15 minutes" in text
    assert "_auth_user_id" not in client.session


# -- The staff page with 100,000 events -----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.django_db
def test_the_staff_page_stays_fast_with_100000_events(staff, django_assert_max_num_queries):
    s = make("HUNDREDK", status_code="IT")
    base = timezone.now() - timedelta(days=200)
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                shipment=s,
                dedupe_key=f"{i:064d}",
                occurred_at=base + timedelta(minutes=i),
                description=f"Scan {i}",
                city_locality="MEMPHIS",
                latitude=35 + (i % 1000) / 1000,
                longitude=-90,
                status_code="IT",
            )
            for i in range(100_000)
        ],
        batch_size=5000,
    )
    Shipment.objects.filter(pk=s.pk).update(event_count=100_000)
    staff.get(f"/staff/shipments/{s.pk}/")  # warm
    started = time.monotonic()
    with django_assert_max_num_queries(8):
        response = staff.get(f"/staff/shipments/{s.pk}/")
    took = time.monotonic() - started
    assert response.status_code == 200 and took < 1.0, took
    assert len(response.content) < 1_000_000
    page = parse(response)
    assert len(page.select(".timeline-list > li")) == 200
    assert "100,000 events" in page.select_one("#timeline-title").get_text().replace("\u202f", ",")
    older = page.select_one(".timeline-pages a")
    assert older is not None and "events=2" in older["href"]
    last = staff.get(f"/staff/shipments/{s.pk}/", {"events": 500})
    assert len(parse(last).select(".timeline-list > li")) == 200


# -- An answer the database refuses ----------------------------------------------------------------------
@pytest.mark.django_db
def test_an_answer_the_database_refuses_is_a_recorded_failure_and_stores_nothing_new(monkeypatch):
    from django.db import DataError

    from tracking.services import tracking
    from tracking.shipengine import BadResponseError

    def refuse(**kwargs):
        raise DataError("value out of range")

    monkeypatch.setattr(tracking, "ingest_tracking", refuse)
    with pytest.raises(BadResponseError):
        tracking.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    assert not Shipment.objects.exists()  # a new package whose answer cannot be stored: not added
    known = make("612999999999")
    with pytest.raises(BadResponseError):
        tracking.track_shipment(carrier_code="fedex", tracking_number="612999999999")
    with pytest.raises(BadResponseError):
        tracking.refresh_shipment(shipment_id=known.pk)
    known.refresh_from_db()
    assert known.consecutive_failures == 2 and "could not be stored" in known.last_error


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_task_is_gone_is_failed_with_retry_after_its_heartbeat_stops(tmp_path):
    path = tmp_path / "orphan.csv"
    path.write_text(HEADER + "fedex,ORPHAN01,,,\n")
    job = import_jobs.job_for_file(path, fetch=False)
    with override_settings(TASKS=DB_BACKEND):
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportJob.State.IMPORTING,
            task_result_id="00000000-0000-0000-0000-000000000000",  # pruned
            heartbeat_at=timezone.now() - timedelta(minutes=3),
        )
        assert tasks.reap_lost_tasks() == 0  # it may just be slow
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - timedelta(minutes=11)
        )
        assert tasks.reap_lost_tasks() == 1
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and import_jobs.can_retry(job)


@pytest.mark.django_db
def test_the_queue_bound_follows_what_the_workers_really_serve(settings):
    from tracking.models import ApiCall

    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 1000
    settings.REFRESH_QUEUE_TIMEOUT_MINUTES = 3
    settings.REFRESH_TASK_CHUNK = 25
    assert scheduling.capacity() == 50  # nothing to go by: two tasks' worth
    now = timezone.now()
    ApiCall.objects.bulk_create(
        [
            ApiCall(method="GET", endpoint="/v1/tracking", at=now - timedelta(seconds=3 * i))
            for i in range(100)
        ]
    )
    # 100 calls in the last 5 minutes: 20 a minute are really served, 60 within the timeout.
    assert scheduling.capacity(now=now) == 60
    # As fast as the rate limit allows: its bound.
    ApiCall.objects.bulk_create(
        [ApiCall(method="GET", endpoint="/v1/tracking", at=now) for _ in range(5000)]
    )
    assert scheduling.capacity(now=now) == 3000
