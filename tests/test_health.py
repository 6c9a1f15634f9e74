"""API health aggregation (queries/api_health.py), pruning, and the record of calls."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracking.models import ApiCall
from tracking.queries import api_health
from tracking.services import api_client, housekeeping
from tracking.shipengine import ShipEngineError

from .conftest import make_client

NOW = datetime(2026, 3, 10, 14, 35, tzinfo=UTC)


def call(at, *, status=200, error="", endpoint="/v1/tracking", ms=100, request_id=""):
    return ApiCall.objects.create(
        at=at,
        method="GET",
        endpoint=endpoint,
        http_status=status,
        duration_ms=ms,
        error_code=error,
        request_id=request_id,
    )


@pytest.fixture
def calls(db):
    # This hour (14:00-14:59): 3 calls, one 429.
    call(NOW - timedelta(minutes=5))
    call(NOW - timedelta(minutes=10), status=429, error="rate_limit_exceeded", ms=30)
    call(NOW - timedelta(minutes=34))
    # Three hours earlier (11:00): a 500 and a timeout (no status).
    call(NOW.replace(hour=11, minute=1), status=500, error="unspecified", ms=900)
    call(NOW.replace(hour=11, minute=59), status=None, error="timeout", ms=20000)
    # 23 hours back, still inside the window (15:00 yesterday).
    call(NOW - timedelta(hours=23, minutes=30), status=429, error="rate_limit_exceeded")
    # Outside the last 24 hours.
    call(NOW - timedelta(hours=25), status=500, error="unspecified")
    call(NOW - timedelta(days=3), status=404, error="invalid_identifier")


def test_calls_per_hour_fills_every_hour_oldest_first(calls):
    buckets = api_health.calls_per_hour(hours=24, now=NOW)
    assert len(buckets) == 24
    assert buckets[-1].hour == NOW.replace(minute=0)
    assert buckets[0].hour == NOW.replace(minute=0) - timedelta(hours=23)
    by_hour = {b.hour.hour: b for b in buckets}
    assert (by_hour[14].calls, by_hour[14].failures, by_hour[14].rate_limited) == (3, 1, 1)
    assert by_hour[14].ok == 2
    assert (by_hour[11].calls, by_hour[11].failures, by_hour[11].rate_limited) == (2, 2, 0)
    assert (by_hour[15].calls, by_hour[15].rate_limited) == (1, 1)
    assert by_hour[12].calls == 0 and by_hour[13].calls == 0
    assert sum(b.calls for b in buckets) == 6  # the two older calls are left out


def test_failures_by_error_code_counts_and_last_seen(calls):
    rows = api_health.failures_by_error_code(hours=24, now=NOW)
    assert [(r.error_code, r.count) for r in rows] == [
        ("rate_limit_exceeded", 2),
        ("timeout", 1),
        ("unspecified", 1),
    ]
    assert rows[0].last_at == NOW - timedelta(minutes=10)
    # A wider window takes in the older failures.
    wide = {r.error_code: r.count for r in api_health.failures_by_error_code(hours=24 * 7, now=NOW)}
    assert wide == {
        "rate_limit_exceeded": 2,
        "timeout": 1,
        "unspecified": 2,
        "invalid_identifier": 1,
    }


def test_summary_and_rate_limited(calls):
    s = api_health.summary(hours=24, now=NOW)
    assert (s.calls, s.failures, s.rate_limited) == (6, 4, 2)
    assert s.max_duration_ms == 20000
    assert s.failure_percent == pytest.approx(66.7)
    assert api_health.summary(hours=24, now=NOW).rate_limited == 2
    assert api_health.summary(hours=1, now=NOW).rate_limited == 1


def test_summary_of_no_calls(db):
    s = api_health.summary(hours=24, now=NOW)
    assert (s.calls, s.failures, s.failure_percent, s.avg_duration_ms) == (0, 0, 0.0, None)
    report = api_health.report(hours=24, now=NOW)
    assert report["peak"] == 0 and report["last_errors"] == []


def test_last_errors_newest_first_failures_only(calls):
    errors = list(api_health.last_errors(limit=3))
    assert [e.error_code for e in errors] == ["rate_limit_exceeded", "timeout", "unspecified"]
    assert all(e.error_code for e in api_health.last_errors(limit=50))
    assert len(list(api_health.last_errors(limit=50))) == 6


def test_report_costs_the_same_few_queries_with_many_calls(db):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            api_health.report(hours=24, now=NOW)
        return len(ctx.captured_queries)

    call(NOW - timedelta(minutes=1), status=500, error="unspecified")
    few = count_queries()
    ApiCall.objects.bulk_create(
        ApiCall(
            at=NOW - timedelta(minutes=i * 4),
            method="GET",
            endpoint="/v1/tracking",
            http_status=429 if i % 7 == 0 else 200,
            error_code="rate_limit_exceeded" if i % 7 == 0 else "",
        )
        for i in range(400)
    )
    assert count_queries() == few <= 4
    report = api_health.report(hours=24, now=NOW)
    assert sum(b.calls for b in report["buckets"]) == report["summary"].calls > 300


# --- pruning ----------------------------------------------------------------------------------
@pytest.fixture
def aged(db, settings):
    settings.API_CALL_RETENTION_DAYS = 3
    now = datetime.now(UTC)
    old = [call(now - timedelta(days=d, hours=1)) for d in (3, 4, 10, 30, 31)]
    kept = [call(now - timedelta(days=2, hours=23)), call(now)]
    return old, kept


def test_prune_deletes_only_rows_older_than_the_retention(aged):
    old, kept = aged
    assert housekeeping.prune_api_calls(batch_size=2) == len(old)  # several batches
    assert set(ApiCall.objects.values_list("pk", flat=True)) == {c.pk for c in kept}
    assert housekeeping.prune_api_calls() == 0  # nothing left to do


def test_prune_with_explicit_days(aged):
    assert housekeeping.prune_api_calls(days=5) == 3
    assert ApiCall.objects.count() == 4


def test_prune_refuses_negative_days(db):
    with pytest.raises(ValueError):
        housekeeping.prune_api_calls(days=-1)


def test_prune_command(aged, capsys):
    old, kept = aged
    call_command("prune_api_calls", "--dry-run")
    assert (
        f"{len(old)} API call records older than 3 days would be deleted" in capsys.readouterr().out
    )
    assert ApiCall.objects.count() == len(old) + len(kept)
    call_command("prune_api_calls")
    assert f"{len(old)} API call records older than 3 days deleted" in capsys.readouterr().out
    assert ApiCall.objects.count() == len(kept)
    call_command("prune_api_calls", "--days", "0")
    assert ApiCall.objects.count() == 0


def test_prune_command_rejects_negative_days(db):
    with pytest.raises(CommandError):
        call_command("prune_api_calls", "--days", "-2")


# --- what is recorded -------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_attempt_is_recorded_without_the_api_key(sandbox_url):
    secret = "TEST_sEcReT_KeY_0123456789"
    client = make_client(
        sandbox_url, api_key=secret, max_attempts=2, observer=api_client._record_call
    )
    client.get_tracking("fedex", "794698432183")
    with pytest.raises(ShipEngineError):
        client.get_tracking("ups", "FAULT-500")
    rows = list(ApiCall.objects.order_by("id"))
    assert [(r.endpoint, r.http_status, r.attempt, r.error_code) for r in rows] == [
        ("/v1/tracking", 200, 1, ""),
        ("/v1/tracking", 500, 1, "unspecified"),
        ("/v1/tracking", 500, 2, "unspecified"),
    ]
    assert all(r.request_id for r in rows[1:])
    for row in ApiCall.objects.values():
        assert all(secret not in str(v) for v in row.values())
