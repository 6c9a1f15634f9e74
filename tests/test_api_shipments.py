"""REST API shipments: register one or many (201/200, carrier detection, Idempotency-Key), the
list (filters, cursor paging stable under inserts, newest first), one shipment with its events,
refresh (202). No ShipEngine call ever runs inside a request: fetches are queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api_support import add_events, codes, make_api, make_shipment
from tracking.models import ApiCall, Carrier, ChangeRecord, QueuedRefresh, Shipment
from tracking.services import registration, scheduling

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"


def settings_site_url() -> str:
    from django.conf import settings

    return settings.SITE_URL.rstrip("/")


@pytest.fixture
def api(client):
    return make_api(client)


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The shipment ids whose fetch the API queued (tasks.enqueue_claims), in order."""
    ids: list[int] = []
    monkeypatch.setattr(
        "tracking.tasks.enqueue_claims",
        lambda claims, **kw: ids.extend(pk for c in claims for pk in c.shipment_ids),
    )
    return ids


# --- POST /api/v1/shipments -------------------------------------------------------------------
def test_a_new_shipment_is_201_stored_at_once_and_its_fetch_queued(api, queued):
    response = api.post(
        "/api/v1/shipments",
        {
            "tracking_number": " 1z999aa1 0123456784 ",
            "carrier_code": "UPS",
            "reference": "ORDER-1",
            "customer_name": "Ada",
            "customer_email": "ada@example.com",
            "customer_postcode": "sw1a 1aa",
            "language": "en",
        },
    )
    assert response.status_code == 201
    body = response.json()
    shipment = Shipment.objects.get()
    assert body["id"] == shipment.pk
    assert (body["tracking_number"], body["carrier_code"]) == (UPS, "ups")
    assert body["status_code"] is None and body["predicted_delivery_date"] is None
    assert body["public_url"] == f"{settings_site_url()}/t/{shipment.public_token}/"
    assert (shipment.reference, shipment.customer_postcode, shipment.language) == (
        "ORDER-1",
        "SW1A 1AA",
        "en",
    )
    assert queued == [shipment.pk]
    # Claimed for its fetch as it is stored: the scheduler does not queue it a second time.
    assert QueuedRefresh.objects.filter(shipment=shipment).exists()
    assert scheduling.claim_due() == []
    assert ChangeRecord.objects.filter(shipment=shipment, kinds=["shipment.created"]).count() == 1
    assert ApiCall.objects.count() == 0  # nothing asked ShipEngine during the request


def test_the_same_carrier_and_number_again_is_200_with_the_stored_one(api, queued):
    stored = make_shipment(UPS, reference="KEEP")
    response = api.post(
        "/api/v1/shipments",
        {
            "tracking_number": UPS.lower(),
            "carrier_code": "ups",
            "reference": "NEW",
            "customer_name": "Bo",
        },
    )
    assert response.status_code == 200
    assert response.json()["id"] == stored.pk
    stored.refresh_from_db()
    # Blank details are filled in; given ones are never overwritten.
    assert (stored.reference, stored.customer_name) == ("KEEP", "Bo")
    assert Shipment.objects.count() == 1 and queued == []


def test_the_carrier_may_be_left_out_when_the_number_says_it(api, queued):
    response = api.post("/api/v1/shipments", {"tracking_number": UPS})
    assert response.status_code == 201 and response.json()["carrier_code"] == "ups"


def test_a_number_whose_format_is_not_certain_needs_the_carrier(api, queued):
    response = api.post("/api/v1/shipments", {"tracking_number": "ABC123456"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "carrier_code_required"
    assert response.json()["errors"][0]["field"] == "carrier_code"
    assert not Shipment.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"tracking_number": "1Z 9=9"}, "tracking_number_invalid", "tracking_number"),
        (
            {"tracking_number": "A" * 70, "carrier_code": "ups"},
            "tracking_number_too_long",
            "tracking_number",
        ),
        ({"tracking_number": UPS, "carrier_code": "nosuch"}, "carrier_unknown", "carrier_code"),
        ({"tracking_number": UPS, "customer_email": "not-mail"}, "email_invalid", "customer_email"),
        ({"tracking_number": UPS, "language": "xx"}, "language_unsupported", "language"),
    ],
)
def test_bad_values_are_422_with_the_field(api, queued, body, code, field):
    response = api.post("/api/v1/shipments", body)
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {"code": code, "message": response.json()["errors"][0]["message"], "field": field}
        ]
    }
    assert not Shipment.objects.exists()


def test_a_disabled_carrier_takes_no_new_shipment(api, queued):
    Carrier.objects.filter(code="ups").update(is_active=False)
    response = api.post("/api/v1/shipments", {"tracking_number": UPS, "carrier_code": "ups"})
    assert response.status_code == 422 and codes(response) == ["carrier_disabled"]


def test_a_regional_language_is_stored_as_its_language(api, queued, settings):
    settings.LANGUAGES = [("en", "English"), ("de", "Deutsch")]
    api.post("/api/v1/shipments", {"tracking_number": UPS, "language": "de-CH"})
    assert Shipment.objects.get().language == "de"


# --- Idempotency-Key ----------------------------------------------------------------------------
def test_an_idempotency_key_replays_the_first_answer(api, queued):
    body = {"tracking_number": UPS}
    first = api.post("/api/v1/shipments", body, **{"Idempotency-Key": "k-1"})
    again = api.post("/api/v1/shipments", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201  # not 200: the same answer again
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ChangeRecord.objects.count() == 1 and len(queued) == 1


def test_an_idempotency_key_with_another_request_is_422(api, queued):
    api.post("/api/v1/shipments", {"tracking_number": UPS}, **{"Idempotency-Key": "k-2"})
    other = api.post(
        "/api/v1/shipments",
        {"tracking_number": "794698432183", "carrier_code": "fedex"},
        **{"Idempotency-Key": "k-2"},
    )
    assert other.status_code == 422 and codes(other) == ["idempotency_key_reused"]


def test_an_idempotency_key_still_running_is_409(api, queued):
    from tracking.models import ApiKey, IdempotencyRecord
    from tracking.services import idempotency

    body = b'{"tracking_number": "%s"}' % UPS.encode()
    IdempotencyRecord.objects.create(
        api_key=ApiKey.objects.get(),
        key="k-3",
        request_hash=idempotency.request_hash("POST", "/api/v1/shipments", body),
        created_at=datetime.now(UTC),
    )
    response = api.post("/api/v1/shipments", raw=body, **{"Idempotency-Key": "k-3"})
    assert response.status_code == 409 and codes(response) == ["idempotency_in_progress"]


def test_a_refused_request_is_not_stored_under_its_key(api, queued):
    bad = api.post(
        "/api/v1/shipments", {"tracking_number": "ABC123456"}, **{"Idempotency-Key": "k-4"}
    )
    assert bad.status_code == 422
    good = api.post(
        "/api/v1/shipments",
        {"tracking_number": "ABC123456", "carrier_code": "ups"},
        **{"Idempotency-Key": "k-4"},
    )
    assert good.status_code == 201


def test_idempotency_keys_belong_to_one_api_key(client, queued):
    one, two = make_api(client), make_api(client)
    assert (
        one.post(
            "/api/v1/shipments", {"tracking_number": UPS}, **{"Idempotency-Key": "same"}
        ).status_code
        == 201
    )
    assert (
        two.post(
            "/api/v1/shipments", {"tracking_number": UPS}, **{"Idempotency-Key": "same"}
        ).status_code
        == 200
    )


# --- POST /api/v1/shipments/bulk --------------------------------------------------------------
def test_bulk_answers_one_result_per_item_in_order(api, queued):
    make_shipment("794698432183", "fedex")
    response = api.post(
        "/api/v1/shipments/bulk",
        {
            "shipments": [
                {"tracking_number": UPS},
                {"tracking_number": "794698432183", "carrier_code": "fedex"},
                {"tracking_number": "nope!"},
                {"tracking_number": UPS, "reference": "dup"},
                {"tracking_number": 12345},
                {"tracking_number": "X1", "carrier_code": "ups", "colour": "red"},
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["outcome"] for r in body["results"]] == [
        "created",
        "existing",
        "error",
        "existing",
        "error",
        "error",
    ]
    assert [r["index"] for r in body["results"]] == list(range(6))
    assert (body["created"], body["existing"], body["failed"]) == (1, 2, 3)
    assert body["results"][2]["errors"][0]["field"] == "tracking_number"
    assert body["results"][4]["errors"][0]["code"] == "wrong_type"
    assert body["results"][5]["errors"][0] == {
        "code": "unknown_field",
        "message": "Unknown field.",
        "field": "colour",
    }
    assert body["results"][0]["shipment"]["id"] == body["results"][3]["shipment"]["id"]
    assert Shipment.objects.count() == 2
    assert queued == [body["results"][0]["shipment"]["id"]]


def test_bulk_takes_1000_items_and_refuses_1001(api, queued):
    items = [{"tracking_number": f"BULK{i:06d}", "carrier_code": "ups"} for i in range(1001)]
    too_many = api.post("/api/v1/shipments/bulk", {"shipments": items})
    assert too_many.status_code == 422 and codes(too_many) == ["too_many_items"]
    assert not Shipment.objects.exists()
    ok = api.post("/api/v1/shipments/bulk", {"shipments": items[:1000]})
    assert ok.status_code == 200 and ok.json()["created"] == 1000
    # As many first fetches queued as the queue has room for; the rest stay due, first in line.
    assert Shipment.objects.count() == 1000 and len(queued) == scheduling.capacity()
    assert scheduling.due().count() == 1000 - len(queued) > 0
    assert ChangeRecord.objects.count() == 1000


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"[1, 2]", 422, "wrong_type"),
        (b"{}", 422, "required"),
        (b'{"shipments": []}', 422, "too_short"),
        (b'{"shipments": {}}', 422, "required"),
        (b'{"shipments": [], "extra": 1}', 422, "unknown_field"),
        (b'{"shipments": [', 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
    ],
)
def test_bulk_bodies_that_are_not_a_list_of_items(api, raw, status, code):
    response = api.post("/api/v1/shipments/bulk", raw=raw)
    assert response.status_code == status and codes(response) == [code]


def test_bulk_item_that_is_not_an_object_is_an_error_for_that_item_only(api, queued):
    response = api.post(
        "/api/v1/shipments/bulk", {"shipments": ["1Z", None, {"tracking_number": UPS}]}
    )
    assert [r["outcome"] for r in response.json()["results"]] == ["error", "error", "created"]


def test_a_concurrent_insert_of_the_same_package_reads_as_existing(queued, monkeypatch):
    """Another request stores the package between our look-up and our insert: ON CONFLICT
    keeps theirs, and ours reports it as existing (and records no second shipment.created)."""
    real_insert = registration._insert

    def racing_insert(rows, **kwargs):
        make_shipment(UPS)
        real_insert(rows, **kwargs)

    monkeypatch.setattr(registration, "_insert", racing_insert)
    report = registration.register_shipments(
        items=[registration.ShipmentInput(tracking_number=UPS)]
    )
    assert report.outcomes[0].created is False and report.to_fetch == []
    assert ChangeRecord.objects.count() == 0


# --- GET /api/v1/shipments --------------------------------------------------------------------
def test_the_list_is_newest_first_and_pages_by_cursor_stable_under_inserts(api):
    made = [make_shipment(f"P{i:03d}") for i in range(7)]
    first = api.get("/api/v1/shipments", {"limit": 3}).json()
    assert [s["id"] for s in first["data"]] == [s.pk for s in made[::-1][:3]]
    make_shipment("NEWER")  # arrives while the client pages
    second = api.get("/api/v1/shipments", {"limit": 3, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/v1/shipments", {"limit": 3, "cursor": second["next_cursor"]}).json()
    seen = [s["id"] for page in (first, second, third) for s in page["data"]]
    assert seen == [s.pk for s in made[::-1]]
    assert third["next_cursor"] is None


def test_list_filters(api):
    now = datetime.now(UTC)
    ex = make_shipment("F1", status_code="EX")
    de = make_shipment("F2", status_code="DE", reference="R-9")
    fedex = make_shipment("F3", "fedex", status_code="IT", last_event_at=now)
    never = make_shipment("F4")
    Shipment.objects.filter(pk=never.pk).update(updated_at=now - timedelta(days=3))

    def ids(**params):
        response = api.get("/api/v1/shipments", params)
        assert response.status_code == 200, response.content
        return {s["id"] for s in response.json()["data"]}

    assert ids(status="EX,DE") == {ex.pk, de.pk}
    assert ids(status="none") == {never.pk}
    assert ids(carrier="fedex") == {fedex.pk}
    assert ids(reference="R-9") == {de.pk}
    assert ids(updated_since=(now - timedelta(days=1)).isoformat()) == {ex.pk, de.pk, fedex.pk}
    assert ids(needs_attention="true") >= {ex.pk}
    assert ex.pk not in ids(needs_attention="false")
    assert ids(status="DE", reference="R-9", carrier="ups") == {de.pk}


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "garbage"}, 400, "invalid_cursor"),
        ({"cursor": "YWZ0ZXI6LTE"}, 400, "invalid_cursor"),  # "after:-1"
        ({"limit": 0}, 422, "out_of_range"),
        ({"limit": 101}, 422, "out_of_range"),
        ({"limit": "ten"}, 422, "wrong_type"),
        ({"status": "ZZ"}, 422, "not_allowed"),
        ({"updated_since": "yesterday"}, 422, "wrong_type"),
        ({"updated_since": "0.5"}, 422, "wrong_type"),
        ({"updated_since": "9999-12-31T23:59:59-23:59"}, 422, "out_of_range"),
        ({"updated_since": "0001-01-01T00:00:00+23:59"}, 422, "out_of_range"),
        ({"needs_attention": "maybe"}, 422, "wrong_type"),
        ({"reference": "a\x00b"}, 422, "invalid"),
        ({"reference": "x" * 101}, 422, "too_long"),
        ({"reference": ""}, 422, "too_short"),
        ({"cursor": ""}, 422, "too_short"),
        ({"stauts": "EX"}, 422, "unknown_parameter"),
        ({"carrier": "fedx"}, 422, "carrier_unknown"),
        ({"status": ["IT", "DE"]}, 422, "repeated_parameter"),
    ],
)
def test_list_parameters_that_make_no_sense(api, params, status, code):
    response = api.get("/api/v1/shipments", params)
    assert response.status_code == status and codes(response) == [code]


def test_the_list_costs_the_same_queries_for_any_page_size(api, django_assert_num_queries):
    for i in range(30):
        make_shipment(f"Q{i:03d}")
    api.get("/api/v1/shipments", {"limit": 1})  # the minute's rate-limit row exists from here
    # key lookup, rate-limit counter (update + read, in a savepoint), the page with its carriers
    with django_assert_num_queries(6):
        assert len(api.get("/api/v1/shipments", {"limit": 25}).json()["data"]) == 25


# --- GET /api/v1/shipments/{id} ----------------------------------------------------------------
def test_one_shipment_with_its_events_newest_first(api, django_assert_num_queries):
    shipment = make_shipment(status_code="IT", status_description="In Transit")
    add_events(shipment, 5)
    api.get("/api/v1/shipments", {"limit": 1})
    # key, rate limit (4), the shipment with its carrier, its events
    with django_assert_num_queries(7):
        response = api.get(f"/api/v1/shipments/{shipment.pk}")
    body = response.json()
    assert response.status_code == 200
    assert [e["description"] for e in body["events"]] == [f"Scan {i}" for i in range(4, -1, -1)]
    assert body["events"][0]["occurred_at"] == "2026-11-01T04:00:00Z"
    assert {"proof_of_delivery_url", "status_detail_description"} <= set(body["events"][0])
    assert body["public_url"].endswith(f"/t/{shipment.public_token}/")
    assert body["status"] == "In transit" and body["predicted_delivery_date"] is None


def test_public_url_is_made_from_site_url(api, settings):
    settings.SITE_URL = "https://track.example.com/"
    shipment = make_shipment()
    body = api.get(f"/api/v1/shipments/{shipment.pk}").json()
    assert body["public_url"] == f"https://track.example.com/t/{shipment.public_token}/"


@pytest.mark.parametrize("shipment_id", ["999999", "0", "-1", "9223372036854775808", "abc", "1e3"])
def test_unknown_or_impossible_ids(api, shipment_id):
    response = api.get(f"/api/v1/shipments/{shipment_id}")
    assert response.status_code in {404, 422}
    assert response.json()["errors"][0]["code"] in {"not_found", "out_of_range", "wrong_type"}


# --- POST /api/v1/shipments/{id}/refresh ------------------------------------------------------
def test_refresh_is_202_and_queues_once(api, queued):
    shipment = make_shipment()
    first = api.post(f"/api/v1/shipments/{shipment.pk}/refresh")
    second = api.post(f"/api/v1/shipments/{shipment.pk}/refresh")
    assert (first.status_code, first.json()) == (202, {"id": shipment.pk, "queued": True})
    assert (second.status_code, second.json()) == (202, {"id": shipment.pk, "queued": False})
    assert queued == [shipment.pk]
    assert ApiCall.objects.count() == 0


def test_refresh_of_unknown_or_disabled_carrier_shipments(api, queued):
    assert api.post("/api/v1/shipments/424242/refresh").status_code == 404
    shipment = make_shipment()
    Carrier.objects.filter(code="ups").update(is_active=False)
    response = api.post(f"/api/v1/shipments/{shipment.pk}/refresh")
    assert response.status_code == 409 and codes(response) == ["carrier_disabled"]


def test_the_queued_fetch_runs_through_the_task_and_stores_the_answer(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/shipments", {"tracking_number": UPS})
    shipment = Shipment.objects.get(pk=response.json()["id"])
    # The immediate backend (tests) ran the refresh task after the request's commit.
    assert shipment.status_code == "AC" and not QueuedRefresh.objects.exists()
    assert ApiCall.objects.count() == 1


def test_many_fetches_are_queued_in_chunks_as_far_as_the_queue_has_room(
    api, settings, django_capture_on_commit_callbacks
):
    """A bulk request queues refresh_many tasks of REFRESH_TASK_CHUNK shipments, ahead of the
    scheduled backlog, within the queue's bound; the rest stay due, never-fetched first."""
    from django_tasks_db.models import DBTaskResult

    from tracking import tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.REFRESH_TASK_CHUNK = 10
    items = [{"tracking_number": f"FAN{i:04d}", "carrier_code": "ups"} for i in range(60)]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/shipments/bulk", {"shipments": items}).status_code == 200
    rows = list(DBTaskResult.objects.all())
    room = scheduling.capacity()  # an idle system starts at two chunks' worth
    assert {r.task_path for r in rows} == {"tracking.tasks.refresh_many"}
    assert {r.priority for r in rows} == {tasks.IMPORT_FETCH_PRIORITY}
    sizes = [len(r.args_kwargs["args"][0]) for r in rows]
    assert sum(sizes) == room == 20 and max(sizes) == 10
    waiting = scheduling.due().filter(last_checked_at__isnull=True)
    assert waiting.count() == 40  # queued by the scheduler as the workers serve the first


def test_a_requested_refresh_is_served_before_the_shipment_is_due(
    api, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    shipment = make_shipment(UPS)
    Shipment.objects.filter(pk=shipment.pk).update(
        status_code="IT", next_check_at=timezone.now() + timedelta(hours=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/shipments/{shipment.pk}/refresh")
    assert response.json()["queued"] is True
    shipment.refresh_from_db()
    assert shipment.status_code == "AC" and ApiCall.objects.count() == 1  # fetched now


def test_api_events_say_what_track_json_says(api):
    from tracking.models import TrackingEvent
    from tracking.presentation.api_answer import event_as_api_dict

    shipment = make_shipment()
    TrackingEvent.objects.create(
        shipment=shipment,
        dedupe_key="pod",
        occurred_at=datetime(2026, 11, 2, 14, 3, tzinfo=UTC),
        carrier_occurred_at="2026-11-02T09:03:00",
        description="Delivered",
        status_code="DE",
        signer="J SMITH",
        latitude=33.6,
        longitude=-84.4,
        status_detail_description="Left at the front door",
        proof_of_delivery_url="https://carrier.example.com/pod/1",
    )
    (event,) = api.get(f"/api/v1/shipments/{shipment.pk}").json()["events"]
    expected = event_as_api_dict(TrackingEvent.objects.get())
    assert event == expected
    assert event["status_detail_description"] == "Left at the front door"
    assert event["proof_of_delivery_url"] == "https://carrier.example.com/pod/1"
