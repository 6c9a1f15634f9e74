"""Writes: tracking, idempotent ingest (races included), failures, carrier sync."""

import copy
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.concurrency import run_concurrently
from tests.conftest import EPOCH, make_client, require_or_skip
from tracking import services
from tracking.domain.event_identity import event_key
from tracking.domain.numbers import (
    TrackingInputError,
    normalize_tracking_number,
    validate_tracking_number,
)
from tracking.models import Carrier, Shipment, TrackingEvent
from tracking.presentation.api_answer import shipment_as_api_dict
from tracking.sandbox import Sandbox, sandbox_session
from tracking.services import api_client
from tracking.shipengine import (
    ApiError,
    BadResponseError,
    ClientConfig,
    ErrorDetail,
    ShipEngineClient,
    TrackingInfo,
    TransportError,
)

SEED_NUMBER = "9405511899223197428490"
pytestmark = pytest.mark.django_db


class FakeClient:
    """Answers with fixed TrackingInfo objects, or raises."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def _next(self):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_tracking(self, carrier_code, tracking_number):
        return self._next()

    def get_label_tracking(self, label_id):
        return self._next()


def sandbox_client(sandbox: Sandbox) -> ShipEngineClient:
    base = "http://sandbox.invalid"
    return ShipEngineClient(
        ClientConfig(api_key="k", base_url=base), session=sandbox_session(base, sandbox)
    )


def info(data) -> TrackingInfo:
    return TrackingInfo.from_json(data)


def seed_shipment(seed_example) -> Shipment:
    return services.track_shipment(
        carrier_code="stamps_com",
        tracking_number=SEED_NUMBER,
        client=FakeClient(info(seed_example)),
    )


def test_normalize_tracking_number():
    assert normalize_tracking_number(" 9405 5118\t99\u00a0ab \n") == "9405511899AB"
    with pytest.raises(TrackingInputError):
        validate_tracking_number("   ")
    with pytest.raises(TrackingInputError, match="at most"):
        validate_tracking_number("1" * 200)
    with pytest.raises(TrackingInputError):
        validate_tracking_number("<script>")


def test_seed_example_ingests_exactly(seed_example):
    shipment = seed_shipment(seed_example)
    assert shipment.carrier.code == "stamps_com"
    assert shipment.status_code == "DE" and shipment.status_description == "Delivered"
    assert shipment.api_carrier_code == "usps" and shipment.api_carrier_id == 1
    assert shipment.event_count == 6 and shipment.events.count() == 6
    assert shipment.raw_response == seed_example
    stored_shipment = Shipment.objects.get(pk=shipment.pk)
    stored = shipment_as_api_dict(stored_shipment, stored_shipment.events.newest_first())
    for key, value in seed_example.items():
        if key != "events":
            assert stored[key] == value, key
    assert len(stored["events"]) == 6
    for got, expected in zip(stored["events"], seed_example["events"], strict=True):
        for key, value in expected.items():
            assert got[key] == value, (key, got[key], value)


def test_same_answer_twice_stores_each_event_once(seed_example):
    shipment = seed_shipment(seed_example)
    result = services.ingest_tracking(shipment_id=shipment.pk, info=info(seed_example))
    assert result.events_added == 0
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 6


def test_duplicates_inside_one_answer_are_stored_once(seed_example):
    doubled = copy.deepcopy(seed_example)
    doubled["events"] += copy.deepcopy(seed_example["events"])
    shipment = services.track_shipment(
        carrier_code="stamps_com", tracking_number=SEED_NUMBER, client=FakeClient(info(doubled))
    )
    assert shipment.events.count() == 6


def test_overlapping_answers_add_only_new_events_and_never_delete(seed_example):
    early = copy.deepcopy(seed_example)
    early["events"] = seed_example["events"][3:]
    early["status_code"] = "IT"
    shipment = services.track_shipment(
        carrier_code="stamps_com", tracking_number=SEED_NUMBER, client=FakeClient(info(early))
    )
    assert shipment.events.count() == 3 and shipment.status_code == "IT"

    result = services.ingest_tracking(shipment_id=shipment.pk, info=info(seed_example))
    assert result.events_added == 3
    shipment.refresh_from_db()
    assert shipment.events.count() == 6 and shipment.status_code == "DE"

    shorter = copy.deepcopy(seed_example)
    shorter["events"] = seed_example["events"][:2]  # the carrier forgot old scans
    services.ingest_tracking(shipment_id=shipment.pk, info=info(shorter))
    assert shipment.events.count() == 6


def test_an_older_answer_does_not_roll_the_summary_back(seed_example):
    shipment = seed_shipment(seed_example)
    late = copy.deepcopy(seed_example)
    late["status_code"] = "IT"
    late["status_description"] = "In Transit"
    late["events"] = seed_example["events"][3:]
    late["events"].append(
        {
            **seed_example["events"][-1],
            "occurred_at": "2021-09-15T10:00:00Z",
            "description": "Label",
        }
    )
    result = services.ingest_tracking(shipment_id=shipment.pk, info=info(late))
    shipment.refresh_from_db()
    assert result.events_added == 1
    assert shipment.status_code == "DE"
    assert shipment.events.count() == 7


def test_an_enriched_resend_of_an_event_is_the_same_event(seed_example):
    shipment = seed_shipment(seed_example)
    enriched = copy.deepcopy(seed_example)
    for event in enriched["events"]:
        event["status_code"] = "IT"
        event["status_description"] = "In Transit"
        event["latitude"], event["longitude"] = 1.0, 2.0
    result = services.ingest_tracking(shipment_id=shipment.pk, info=info(enriched))
    assert result.events_added == 0


def test_unknown_status_codes_are_stored_as_sent(seed_example):
    odd = copy.deepcopy(seed_example)
    odd["status_code"] = "QX"
    odd["status_description"] = "Quantum Exchange"
    odd["tracking_number"] = "1Z1"
    shipment = services.track_shipment(
        carrier_code="ups", tracking_number="1Z1", client=FakeClient(info(odd))
    )
    assert shipment.status_code == "QX" and shipment.status_description == "Quantum Exchange"


def test_hostile_values_are_cleaned_before_storage(seed_example):
    hostile = copy.deepcopy(seed_example)
    hostile["tracking_url"] = "javascript:alert(1)"
    hostile["events"][0]["description"] = "x" * 5000
    hostile["events"][0]["proof_of_delivery_url"] = "data:text/html,hi"
    hostile["tracking_number"] = "1Z2"
    shipment = services.track_shipment(
        carrier_code="ups", tracking_number="1Z2", client=FakeClient(info(hostile))
    )
    assert shipment.tracking_url == ""
    newest = shipment.events.newest_first().first()
    assert len(newest.description) == 500 and newest.proof_of_delivery_url == ""


def test_a_failed_fetch_records_the_error_and_changes_nothing_else(seed_example):
    shipment = seed_shipment(seed_example)
    before = Shipment.objects.values().get(pk=shipment.pk)
    error = ApiError(
        404, [ErrorDetail(message="Not found", error_code="invalid_identifier")], "req-1"
    )
    with pytest.raises(ApiError):
        services.refresh_shipment(shipment_id=shipment.pk, client=FakeClient(error))
    after = Shipment.objects.values().get(pk=shipment.pk)
    assert after["last_error_code"] == "invalid_identifier"
    assert "Not found" in after["last_error"] and "req-1" in after["last_error"]
    assert after["consecutive_failures"] == 1
    assert after["next_check_at"] is None  # delivered: never polled again anyway
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {
        "last_error",
        "last_error_code",
        "last_error_at",
        "last_checked_at",
        "consecutive_failures",
        "next_check_at",
        "updated_at",
    }
    assert shipment.events.count() == 6
    # The next good answer clears the error.
    services.refresh_shipment(shipment_id=shipment.pk, client=FakeClient(info(seed_example)))
    shipment.refresh_from_db()
    assert shipment.last_error == "" and shipment.consecutive_failures == 0


def test_failures_back_off_exponentially(sandbox):
    client = sandbox_client(sandbox)
    shipment = services.track_shipment(
        carrier_code="fedex", tracking_number="794698432183", client=client
    )
    Shipment.objects.filter(pk=shipment.pk).update(last_event_at=timezone.now())  # still moving
    gaps = []
    for _ in range(3):
        with pytest.raises(TransportError):
            services.refresh_shipment(
                shipment_id=shipment.pk, client=FakeClient(TransportError("down"))
            )
        shipment.refresh_from_db()
        gaps.append(shipment.next_check_at - shipment.last_checked_at)
    assert gaps == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]


def test_a_failed_fetch_of_a_new_package_stores_nothing():
    with pytest.raises(ApiError):
        services.track_shipment(
            carrier_code="ups",
            tracking_number="1ZNEW",
            client=FakeClient(ApiError(404, [ErrorDetail(message="nope")])),
        )
    assert not Shipment.objects.exists()


def test_unknown_carrier_is_an_input_error():
    with pytest.raises(TrackingInputError, match="Unknown carrier"):
        services.track_shipment(carrier_code="no_such", tracking_number="1", client=FakeClient())


def test_tracking_again_fills_blank_staff_fields_but_never_overwrites(seed_example):
    shipment = seed_shipment(seed_example)
    services.track_shipment(
        carrier_code="stamps_com",
        tracking_number=SEED_NUMBER.lower(),
        reference="ORD-1",
        client=FakeClient(info(seed_example)),
    )
    services.track_shipment(
        carrier_code="stamps_com",
        tracking_number=SEED_NUMBER,
        reference="ORD-2",
        client=FakeClient(info(seed_example)),
    )
    shipment.refresh_from_db()
    assert shipment.reference == "ORD-1"
    assert Shipment.objects.count() == 1


def test_a_refresh_adds_what_is_new_as_the_parcel_moves():
    now = [EPOCH]
    sandbox = Sandbox(epoch=EPOCH, clock=lambda: now[0])
    client = sandbox_client(sandbox)
    shipment = services.track_shipment(
        carrier_code="fedex", tracking_number="612999999999", client=client
    )
    assert shipment.status_code == "IT" and shipment.events.count() == 3
    assert shipment.next_check_at == shipment.last_checked_at + timedelta(minutes=120)
    now[0] = EPOCH + timedelta(hours=30)
    result = services.refresh_shipment(shipment_id=shipment.pk, client=client)
    shipment.refresh_from_db()
    assert result.events_added == 5
    assert shipment.status_code == "DE" and shipment.signer == "A RIVERA"
    assert shipment.next_check_at is None


def test_track_by_label_id(sandbox):
    shipment = services.track_label(label_id="se-324658", client=sandbox_client(sandbox))
    assert shipment.label_id == "se-324658"
    assert shipment.carrier.code == "stamps_com" and shipment.events.count() == 6
    with pytest.raises(TrackingInputError):
        services.track_label(label_id="not a label", client=sandbox_client(sandbox))
    with pytest.raises(ApiError) as caught:
        services.track_label(label_id="se-999999", client=sandbox_client(sandbox))
    assert caught.value.code == "invalid_identifier"


def test_events_stored_by_another_writer_are_not_stored_twice(seed_example):
    """A bulk load (benchmarks/generate.py, a restore) stored the events without the ingest and
    left the count stale: the next ingest adds none and counts what is really there."""
    shipment = Shipment.objects.create(
        carrier=Carrier.objects.get(code="usps"), tracking_number="R1"
    )
    answer = info(seed_example)
    TrackingEvent.objects.bulk_create(
        TrackingEvent(shipment=shipment, dedupe_key=event_key(ev), description=ev.description)
        for ev in answer.events
    )
    again = services.ingest_tracking(shipment_id=shipment.pk, info=answer)
    assert again.events_added == 0
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 6
    assert Shipment.objects.get(pk=shipment.pk).event_count == 6


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_store_each_event_once(seed_example):
    require_or_skip(
        connection.vendor != "sqlite" or "memory" not in connection.settings_dict["NAME"],
        "needs a file database so that threads have their own connections",
    )
    # Transactional tests run after others have flushed the tables: bring our own carrier.
    carrier, _ = Carrier.objects.get_or_create(code="usps", defaults={"name": "USPS"})
    shipment = Shipment.objects.create(carrier=carrier, tracking_number="R2")
    answer = info(seed_example)

    def worker():
        for _ in range(3):
            services.ingest_tracking(shipment_id=shipment.pk, info=answer)

    run_concurrently(worker, 4)  # raises what a worker raised
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 6
    assert Shipment.objects.get(pk=shipment.pk).event_count == 6


def test_a_batch_ingests_many_answers_in_one_transaction(
    seed_example, django_assert_max_num_queries
):
    carrier = Carrier.objects.get(code="usps")
    ids = [Shipment.objects.create(carrier=carrier, tracking_number=f"B{i}").pk for i in range(20)]
    early = copy.deepcopy(seed_example)
    early["events"] = seed_example["events"][3:]
    early["status_code"] = "IT"
    answers = [(sid, info(seed_example)) for sid in ids] + [(ids[0], info(early))]
    # savepoint/begin, lock+read, keys, one insert, one update per shipment, the outbox records;
    # the search's places: read, add the new ones, read them back, one insert of the links
    with django_assert_max_num_queries(6 + len(ids) + 4):
        results = services.ingest_many(answers=answers)
    assert [r.events_added for r in results] == [6] * 20 + [0]
    assert TrackingEvent.objects.filter(shipment_id__in=ids).count() == 120
    first = Shipment.objects.get(pk=ids[0])
    assert first.status_code == "DE" and first.event_count == 6
    assert first.raw_response == seed_example
    again = services.ingest_many(answers=answers)
    assert sum(r.events_added for r in again) == 0


def test_api_calls_are_recorded_without_the_key(sandbox_url):
    client = api_client._client_for.__wrapped__(  # a fresh client against the HTTP sandbox
        "SECRET-KEY-XYZ", sandbox_url, False, (2.0, 2.0, 1.0, 1.0)
    )
    services.track_shipment(carrier_code="fedex", tracking_number="794698432183", client=client)
    from tracking.models import ApiCall

    call = ApiCall.objects.get()
    assert (call.method, call.endpoint, call.http_status) == ("GET", "/v1/tracking", 200)
    assert "SECRET-KEY-XYZ" not in str(ApiCall.objects.values().get())


# --- carriers ------------------------------------------------------------------------------
def test_seed_carriers_are_loaded_with_both_australia_post_names():
    assert Carrier.objects.count() == 48
    australia = Carrier.objects.get(code="australia_post")
    assert australia.name == "Australia Post"
    assert "Australia Post eParcel" in australia.alternate_names


def test_seed_carrier_table_matches_the_seed_document():
    import csv

    from tests.conftest import SEED_CARRIERS

    rows = list(csv.DictReader(SEED_CARRIERS.open()))
    for row in rows:
        carrier = Carrier.objects.get(code=row["carrier_code"])
        assert row["name"] in {carrier.name, *carrier.alternate_names.split(", ")}
    assert len(rows) == 49


def test_sync_carriers_updates_adds_and_deletes_none(sandbox):
    usps_before = Carrier.objects.get(code="usps")
    report = services.sync_carriers(client=sandbox_client(sandbox))
    assert report.added == ["sandbox_courier"]
    assert "ups" in report.updated
    ups = Carrier.objects.get(code="ups")
    assert ups.shipengine_carrier_id == "se-100002" and ups.nickname == "Sandbox UPS"
    assert ups.connection_status == "approved" and ups.last_synced_at is not None
    assert Carrier.objects.get(code="usps").updated_at == usps_before.updated_at  # untouched
    assert Carrier.objects.count() == 49
    again = services.sync_carriers(client=sandbox_client(sandbox))
    assert again.added == [] and again.updated == [] and "ups" in again.unchanged


def test_sync_carriers_partial_207_applies_what_came_and_reports_errors(httpserver):
    body = (
        b'{"carriers": [{"carrier_id": "se-7", "carrier_code": "fedex", "nickname": "FX"}],'
        b' "request_id": "aa3d8e8e-462b-4476-9618-72db7f7b7009", "errors": [{"error_source":'
        b' "carrier", "error_type": "integrations", "error_code": "carrier_disconnected",'
        b' "message": "UPS account disconnected"}]}'
    )
    httpserver.then(207, body)
    report = services.sync_carriers(client=make_client(httpserver.url))
    assert report.updated == ["fedex"]
    assert report.errors == ["UPS account disconnected (carrier_disconnected)"]
    assert Carrier.objects.get(code="fedex").shipengine_carrier_id == "se-7"


def test_sync_carriers_failure_changes_nothing(httpserver):
    before = list(Carrier.objects.values())
    httpserver.then(500, b"oops")
    with pytest.raises(ApiError):
        services.sync_carriers(client=make_client(httpserver.url, max_attempts=1))
    assert list(Carrier.objects.values()) == before


def test_next_check_at_policy():
    shipment = Shipment(status_code="IT", last_event_at=timezone.now())
    now = timezone.now()
    assert services.next_check_at(shipment, now=now) == now + timedelta(minutes=120)
    shipment.status_code = "EX"
    assert services.next_check_at(shipment, now=now) == now + timedelta(minutes=60)
    shipment.status_code = "DE"
    assert services.next_check_at(shipment, now=now) is None
    shipment.status_code = "IT"
    shipment.last_event_at = now - timedelta(days=31)
    assert services.next_check_at(shipment, now=now) is None


def test_interactive_calls_get_a_short_retry_budget(settings):
    settings.SHIPENGINE_RETRY_BUDGET = 30.0
    settings.SHIPENGINE_MAX_ATTEMPTS = 4
    settings.SHIPENGINE_INTERACTIVE_RETRY_BUDGET = 3.0
    background = api_client.get_client().config
    interactive = api_client.get_client(interactive=True).config
    assert (background.retry_budget, background.max_attempts) == (30.0, 4)
    assert (interactive.retry_budget, interactive.max_attempts) == (3.0, 2)


def test_a_long_retry_after_fails_fast_for_a_waiting_person(settings, httpserver):
    """A 429 asking for 60 s: a page gets the error at once, not after a minute."""
    import time

    httpserver.then(429, b'{"errors": []}', {"Retry-After": "60"})
    settings.SHIPENGINE_API_KEY = "k"
    settings.SHIPENGINE_SANDBOX = False
    settings.SHIPENGINE_BASE_URL = httpserver.url
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        services.track_shipment(carrier_code="ups", tracking_number="1Z9", interactive=True)
    assert time.monotonic() - started < 2
    assert caught.value.http_status == 429 and len(httpserver.requests) == 1


def test_an_answer_about_another_parcel_is_refused_and_recorded(seed_example):
    """The API echoes the number asked for; an answer naming another one (a confused proxy, a
    mock) is refused: nothing is stored under the number that was asked for."""
    shipment = Shipment.objects.create(
        carrier=Carrier.objects.get(code="ups"), tracking_number="1ZASKED0001"
    )
    other = info(seed_example)  # the seed's number, 9405511899223197428490
    with pytest.raises(BadResponseError, match="another parcel"):
        services.refresh_shipment(shipment_id=shipment.pk, client=FakeClient(other))
    shipment.refresh_from_db()
    assert shipment.events.count() == 0 and shipment.status_code == ""
    assert shipment.consecutive_failures == 1 and "another parcel" in shipment.last_error
    with pytest.raises(BadResponseError):
        services.track_shipment(
            carrier_code="ups", tracking_number="1ZNEW0000001", client=FakeClient(other)
        )
    assert not Shipment.objects.filter(tracking_number="1ZNEW0000001").exists()
    # Spaces and case do not make another parcel.
    spaced = copy.deepcopy(seed_example)
    spaced["tracking_number"] = "9405 5118 9922 3197 4284 90".lower()
    services.track_shipment(
        carrier_code="usps",
        tracking_number="9405511899223197428490",
        client=FakeClient(info(spaced)),
    )


def test_every_field_the_api_sent_reaches_track_json(seed_example):
    """status_detail_description (shipment and event) and proof_of_delivery_url come back out
    in the API's shape, as they were sent."""
    rich = copy.deepcopy(seed_example)
    rich["status_detail_description"] = "Delivered to the front porch"
    rich["events"][0]["status_detail_description"] = "Left at the door"
    rich["events"][0]["proof_of_delivery_url"] = "https://carrier.example/pod/1.jpg"
    shipment = seed_shipment(rich)
    stored = shipment_as_api_dict(shipment, shipment.events.newest_first())
    assert stored["status_detail_description"] == "Delivered to the front porch"
    assert stored["events"][0]["status_detail_description"] == "Left at the door"
    assert stored["events"][0]["proof_of_delivery_url"] == "https://carrier.example/pod/1.jpg"
