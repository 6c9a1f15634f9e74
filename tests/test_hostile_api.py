"""The hostile fake ShipEngine (tests/hostile_shipengine.py) against the real client, services,
pages and tasks: every behaviour answers within its budget, is a recorded failure (or is stored
clamped), and loses nothing that was stored before. Runs on SQLite and on PostgreSQL (NUL bytes
and bigint overflow are PostgreSQL failures): `DATABASE_URL=postgres://... pytest
tests/test_hostile_api.py`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from tests import hostile_shipengine
from tests.html import parse
from tracking import tasks
from tracking.models import ApiCall, Carrier, QueuedRefresh, RateLimitState, Shipment
from tracking.services import api_client, api_rate_limit, scheduling, tracking
from tracking.shipengine import BadResponseError, RateLimited, ShipEngineError

KEY = "TEST_hostileSuperSecretKey_5f3a9c0123"
INTERACTIVE_BUDGET = 4.0  # SHIPENGINE_INTERACTIVE_CALL_DEADLINE_SECONDS below
MAX_PAUSE = 30.0


@pytest.fixture
def hostile(settings) -> Iterator[hostile_shipengine.Hostile]:
    with hostile_shipengine.running(KEY) as server:
        settings.SHIPENGINE_API_KEY = KEY
        settings.SHIPENGINE_SANDBOX = False
        settings.SHIPENGINE_BASE_URL = server.url
        settings.SHIPENGINE_CONNECT_TIMEOUT = 2.0
        settings.SHIPENGINE_READ_TIMEOUT = 2.0
        settings.SHIPENGINE_ATTEMPT_DEADLINE_SECONDS = 3.0
        settings.SHIPENGINE_CALL_DEADLINE_SECONDS = 6.0
        settings.SHIPENGINE_INTERACTIVE_CALL_DEADLINE_SECONDS = INTERACTIVE_BUDGET
        settings.SHIPENGINE_RETRY_BUDGET = 2.0
        settings.SHIPENGINE_MAX_BODY_BYTES = 1_000_000
        settings.SHIPENGINE_MAX_PAUSE_SECONDS = MAX_PAUSE
        settings.RAW_RESPONSE_MAX_BYTES = 50_000
        settings.EVENTS_PER_SHIPMENT_MAX = 500
        api_client.reset_clients()
        api_rate_limit.shared_rate_limiter().reset()
        try:
            yield server
        finally:
            api_client.reset_clients()
            api_rate_limit.shared_rate_limiter().reset()


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("hostile-staff", password="x", is_staff=True)
    client.force_login(user)
    return client


def fedex() -> Carrier:
    return Carrier.objects.get(code="fedex")


def stored(number: str, **fields) -> Shipment:
    """A shipment with something stored already (two events), to prove nothing is lost."""
    s = Shipment.objects.create(carrier=fedex(), tracking_number=number, status_code="IT", **fields)
    s.events.create(dedupe_key="a" * 64, description="Earlier scan 1")
    s.events.create(dedupe_key="b" * 64, description="Earlier scan 2")
    Shipment.objects.filter(pk=s.pk).update(event_count=2)
    return s


def assert_nothing_lost(s: Shipment) -> Shipment:
    s.refresh_from_db()
    descriptions = set(s.events.values_list("description", flat=True))
    assert {"Earlier scan 1", "Earlier scan 2"} <= descriptions
    return s


def timed(fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - started


def add(staff, number: str):
    return staff.post("/staff/add/", {"carrier": "fedex", "tracking_number": number}, follow=False)


def saved_for_later(staff, response, number: str) -> str:
    """An add while the API fails: the package is saved unfetched (a worker fetches it later)
    and the page says why; returns what it says."""
    assert response.status_code == 302, response.content.decode()[:500]
    shipment = Shipment.objects.get(tracking_number=number)
    assert shipment.status_code == "" and shipment.event_count == 0
    page = staff.get(response["Location"])
    return " ".join(parse(page).select_one(".messages li").get_text().split())


def form_error(response) -> str:
    return " ".join(parse(response).select_one(".form-errors, [role=alert]").get_text().split())


# -- Retry-After: long, absurd, not a number ------------------------------------------------------
@pytest.mark.django_db
def test_retry_after_3600_fails_at_once_and_pauses_everyone_no_longer_than_the_cap(hostile, staff):
    response, took = timed(add, staff, "R429LONG-1")
    assert took < INTERACTIVE_BUDGET
    saved_for_later(staff, response, "R429LONG-1")
    paused = api_rate_limit.shared_rate_limiter().paused_for()
    assert 0 < paused <= MAX_PAUSE
    # Everyone else: the next page does not wait for the pause, it says when to try again.
    response, took = timed(add, staff, "NORMAL-1")
    assert took < 1.0
    message = saved_for_later(staff, response, "NORMAL-1")
    assert "ShipEngine asked us to slow down, try again in" in message
    seconds = int(message.split("try again in ")[1].split(" s")[0])
    assert 1 <= seconds <= MAX_PAUSE
    assert len(hostile.requests) == 1  # the second add sent nothing
    # A stored shipment's refresh while paused: refused at once, nothing recorded against it.
    s = stored("NORMAL-2")
    response, took = timed(staff.post, f"/staff/shipments/{s.pk}/refresh/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and took < 1.0
    assert "try again in" in response.content.decode()
    s = assert_nothing_lost(s)
    assert s.consecutive_failures == 0


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["R429INF-1", "R429NAN-1"])
def test_absurd_retry_after_is_ignored(hostile, number):
    with pytest.raises(ShipEngineError):
        tracking.track_shipment(carrier_code="fedex", tracking_number=number, interactive=True)
    assert api_rate_limit.shared_rate_limiter().paused_for() == 0
    shipment = tracking.track_shipment(carrier_code="fedex", tracking_number="NORMAL-3")
    assert shipment.event_count == 2


@pytest.mark.django_db
def test_a_stored_pause_of_1e308_is_clamped_not_an_overflow(hostile, staff):
    RateLimitState.objects.create(name="shipengine", paused_until=1e308, next_slot=1e308)
    response, took = timed(add, staff, "NORMAL-4")
    assert took < 1.0
    assert "try again in" in saved_for_later(staff, response, "NORMAL-4")
    state = RateLimitState.objects.get(name="shipengine")
    assert state.paused_until <= time.time() + MAX_PAUSE + 1  # healed


# -- Slow drip, huge bodies -----------------------------------------------------------------------
@pytest.mark.django_db
def test_a_slow_drip_is_cut_at_the_deadline_on_the_staff_page(hostile, staff):
    s = stored("SLOW-1")
    response, took = timed(staff.post, f"/staff/shipments/{s.pk}/refresh/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert took < INTERACTIVE_BUDGET + 1.5, took
    assert "Refresh failed." in parse(response).select_one(".refresh-result").get_text()
    s = assert_nothing_lost(s)
    # Cut by the attempt's deadline, or by a read that waited what was left of it.
    assert s.consecutive_failures == 1 and s.last_error_code in {"deadline", "timeout"}


@pytest.mark.django_db
def test_a_slow_drip_on_the_public_page_keeps_the_last_known_state(hostile, client, settings):
    settings.PUBLIC_STALE_MINUTES = 1
    s = stored("SLOW-2", last_checked_at=timezone.now() - timedelta(hours=2))
    response, took = timed(client.get, f"/t/{s.public_token}/")
    assert response.status_code == 200 and took < INTERACTIVE_BUDGET + 1.5
    assert_nothing_lost(s)


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["BIG-1", "BIGCHUNK-1"])
def test_a_huge_answer_is_refused_without_reading_it_whole(hostile, number):
    s = stored(number)
    started = time.monotonic()
    with pytest.raises(BadResponseError) as caught:
        tracking.refresh_shipment(shipment_id=s.pk, interactive=True)
    assert caught.value.code == "too_large"
    assert time.monotonic() - started < 2.0
    s = assert_nothing_lost(s)
    assert s.last_error_code == "too_large" and s.next_check_at > timezone.now()
    assert len(hostile.requests) == 1  # not retried: the same answer would come again


# -- Many events, deep nesting ------------------------------------------------------------------
@pytest.mark.django_db
def test_100000_events_are_refused_by_size_and_3000_stored_up_to_the_cap(hostile, settings):
    settings.SHIPENGINE_MAX_BODY_BYTES = 5_000_000
    api_client.reset_clients()
    huge = stored("MANY-X")  # 100,000 events: about 20 MB
    with pytest.raises(BadResponseError):
        tracking.refresh_shipment(shipment_id=huge.pk)
    assert assert_nothing_lost(huge).last_error_code == "too_large"
    s = stored("MANY-3000")
    result = tracking.refresh_shipment(shipment_id=s.pk)
    s.refresh_from_db()
    assert s.event_count == s.events.count() == settings.EVENTS_PER_SHIPMENT_MAX
    assert result.events_added == settings.EVENTS_PER_SHIPMENT_MAX - 2
    assert len(json.dumps(s.raw_response)) <= settings.RAW_RESPONSE_MAX_BYTES
    assert s.raw_response["_shiptrack_truncated"]["events_total"] == 3000


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["DEEP-1", "DEEPISH-1"])
def test_deep_nesting_is_a_recorded_bad_response(hostile, staff, number):
    s = stored(number)
    response, took = timed(staff.post, f"/staff/shipments/{s.pk}/refresh/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and took < INTERACTIVE_BUDGET + 1
    s = assert_nothing_lost(s)
    assert s.consecutive_failures == 1 and s.last_error_code == "bad_response"


# -- Edge values: dates, numbers, ids, NUL bytes, long strings -------------------------------------
@pytest.mark.django_db
def test_edge_values_are_stored_clamped_and_every_page_renders(hostile, staff, client):
    shipment = tracking.track_shipment(carrier_code="fedex", tracking_number="EDGE-1")
    shipment.refresh_from_db()
    assert shipment.api_carrier_id is None  # > 2^63: dropped, not an overflow
    assert shipment.ship_date is None and shipment.estimated_delivery_date is None
    assert "\x00" not in json.dumps(shipment.raw_response)
    events = list(shipment.events.all())
    assert len(events) == 6
    for e in events:
        assert e.occurred_at is None or 1970 <= e.occurred_at.year <= 2999
        assert "\x00" not in e.description + e.city_locality + e.signer
        assert e.latitude is None or -90 <= e.latitude <= 90
        assert len(e.description) <= 500
    assert staff.get(f"/staff/shipments/{shipment.pk}/").status_code == 200
    assert client.get(f"/t/{shipment.public_token}/").status_code == 200
    assert staff.get("/staff/export.csv").status_code == 200


# -- The key echoed back --------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_error_that_echoes_the_api_key_never_shows_or_stores_it(hostile, staff):
    response = add(staff, "KEYECHO-1")
    assert response.status_code == 422
    assert KEY not in response.content.decode() and KEY[:12] not in response.content.decode()
    assert "[redacted]" in form_error(response)
    s = stored("KEYECHO-2")
    staff.post(f"/staff/shipments/{s.pk}/refresh/")
    s.refresh_from_db()
    assert KEY[:12] not in s.last_error and "[redacted]" in s.last_error
    for row in ApiCall.objects.values_list("error_code", "request_id"):
        assert all(KEY[:12] not in value for value in row), row
    assert KEY[:12] not in staff.get(f"/staff/shipments/{s.pk}/").content.decode()


# -- Workers: every failure recorded, nothing unrecorded -----------------------------------------------
@pytest.mark.django_db
def test_refresh_many_records_every_hostile_answer_and_backs_off(hostile, settings):
    numbers = ["SLOW-3", "BIG-2", "DEEP-2", "EDGE-2", "KEYECHO-3", "NORMAL-5"]
    ships = [stored(n) for n in numbers]
    claims = scheduling.claim([s.pk for s in ships], reason=scheduling.SCHEDULED)
    assert len(claims) == 1
    started = time.monotonic()
    result = tasks.refresh_many.enqueue(claims[0].shipment_ids, claims[0].token)
    assert result.status == "SUCCESSFUL"
    # Each call is bounded by its deadline (6 s), the slow drip by its attempts' deadlines.
    assert time.monotonic() - started < 6 * 6
    served = result.return_value
    assert served["refreshed"] == 2 and served["failed"] == 4, served
    assert not QueuedRefresh.objects.exists()
    now = timezone.now()
    for s in ships:
        s = assert_nothing_lost(s)
        if s.tracking_number in {"EDGE-2", "NORMAL-5"}:
            assert s.consecutive_failures == 0 and s.last_checked_at
        else:
            assert s.consecutive_failures == 1 and s.last_error, s.tracking_number
            assert s.next_check_at > now  # backed off: not polled every minute


@pytest.mark.django_db
def test_a_worker_paused_longer_than_it_may_wait_releases_its_chunk(hostile, settings):
    ships = [stored(f"NORMAL-{i}") for i in range(10, 13)]
    claims = scheduling.claim([s.pk for s in ships], reason=scheduling.SCHEDULED)
    api_rate_limit.shared_rate_limiter().pause(MAX_PAUSE)
    result = tasks.refresh_many.enqueue(claims[0].shipment_ids, claims[0].token)
    assert result.return_value["released"] == 3
    assert not QueuedRefresh.objects.exists()  # the scheduler queues them again after the pause
    assert scheduling.claim_due() == []  # ...but not while the pause lasts
    for s in ships:
        assert assert_nothing_lost(s).consecutive_failures == 0
    assert hostile.requests == []


def test_rate_limited_says_when_to_try_again():
    assert RateLimited(12.2).one_line() == "ShipEngine asked us to slow down, try again in 13 s"
