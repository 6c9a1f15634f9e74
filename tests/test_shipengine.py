"""The ShipEngine client against a real HTTP server on loopback: every behaviour and fault."""

import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.apiserver import JSON, ApiServer
from tests.conftest import make_client
from tracking.shipengine import (
    ApiError,
    BadResponseError,
    CallRecord,
    TrackingInfo,
    TransportError,
    parse_timestamp,
    parse_utc,
)

ERROR_BODY = {
    "request_id": "aa3d8e8e-462b-4476-9618-72db7f7b7009",
    "errors": [
        {
            "error_source": "carrier",
            "error_type": "validation",
            "error_code": "invalid_identifier",
            "message": "Tracking number not found.",
        },
        {
            "error_source": "shipengine",
            "error_type": "validation",
            "error_code": "invalid_field_value",
            "message": "carrier_code is not valid.",
            "field_name": "carrier_code",
        },
    ],
}


def js(server: ApiServer, data, status=200, **headers) -> None:
    """A JSON answer to the next request."""
    server.then(status, data, {**JSON, **headers})


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def test_tracking_request_sends_key_and_encodes_query(httpserver, seed_example):
    js(httpserver, seed_example)
    info = make_client(httpserver.url, api_key="k-123").get_tracking("stamps_com", "94 05&5/1?#")
    seen = httpserver.requests[0]
    assert seen.method == "GET"
    assert seen.headers["API-Key"] == "k-123"
    parts = urlsplit(httpserver.target(seen))
    assert parts.path == "/v1/tracking"
    assert parse_qs(parts.query) == {
        "carrier_code": ["stamps_com"],
        "tracking_number": ["94 05&5/1?#"],
    }
    assert info.status_code == "DE"
    assert len(info.events) == 6


def test_seed_example_parses_exactly(httpserver, seed_example):
    js(httpserver, seed_example)
    info = make_client(httpserver.url).get_tracking("stamps_com", "9405511899223197428490")
    assert info.tracking_number == "9405511899223197428490"
    assert info.carrier_code == "usps" and info.carrier_id == 1
    assert info.carrier_status_code == "01"
    assert info.actual_delivery_date is None and info.exception_description == ""
    first, last = info.events[0], info.events[-1]
    assert first.occurred_at == datetime(2021, 9, 20, 19, 3, tzinfo=UTC)
    assert first.carrier_occurred_at == "2021-09-20T14:03:00"
    assert (first.latitude, first.longitude) == (37.0776, -94.1258)
    assert last.description == "USPS picked up item"
    assert info.events[3].latitude is None and info.events[3].longitude is None
    assert [e.occurred_at for e in info.events] == sorted(
        (e.occurred_at for e in info.events), reverse=True
    )


def test_events_in_any_order_come_out_newest_first(httpserver, seed_example):
    seed_example["events"] = list(reversed(seed_example["events"]))
    seed_example["events"].insert(2, seed_example["events"].pop(4))
    js(httpserver, seed_example)
    info = make_client(httpserver.url).get_tracking("usps", "x")
    times = [e.occurred_at for e in info.events]
    assert times == sorted(times, reverse=True)


def test_label_tracking_path_is_encoded(httpserver, seed_example):
    js(httpserver, seed_example)
    make_client(httpserver.url).get_label_tracking("se-324658/../x")
    assert httpserver.paths == ["GET /v1/labels/se-324658%2F..%2Fx/track"]


def test_tolerant_parsing_of_real_world_answers(httpserver):
    answer = {
        "tracking_number": 123456789012,  # a number where the spec says string
        "status_code": "zz",  # never seen before
        "status_description": "Teleported",
        "carrier_status_code": 7,
        "carrier_id": "42",
        "ship_date": "2024-03-01T10:00:00.123456789Z",  # nanoseconds
        "estimated_delivery_date": "2024-03-04",  # a bare date
        "actual_delivery_date": None,
        "brand_new_field": {"nested": True},  # not in the spec
        "events": [
            {"occurred_at": "2024-03-02T08:00:00+02:00", "latitude": "51.5", "longitude": "-0.12"},
            {
                "occurred_at": "2024-03-02 09:30:00",
                "city_locality": None,
                "latitude": 200,
                "longitude": 5,
            },
            {"carrier_occurred_at": "2024-03-01T23:00:00", "description": "only local time"},
            {"occurred_at": "not a date", "description": "bad time"},
            "not an object",
        ],
    }
    js(httpserver, answer)
    info = make_client(httpserver.url).get_tracking("ups", "x")
    assert info.tracking_number == "123456789012"
    assert info.status_code == "ZZ" and info.status_description == "Teleported"
    assert info.carrier_status_code == "7" and info.carrier_id == 42
    assert info.ship_date == datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert info.estimated_delivery_date == datetime(2024, 3, 4, tzinfo=UTC)
    assert len(info.events) == 4  # the string entry is skipped, nothing else is lost
    naive_utc, offset, local_only, no_time = info.events
    assert naive_utc.occurred_at == datetime(2024, 3, 2, 9, 30, tzinfo=UTC)
    assert naive_utc.city_locality == "" and naive_utc.latitude is None  # lat out of range
    assert offset.occurred_at == datetime(2024, 3, 2, 6, 0, tzinfo=UTC)
    assert (offset.latitude, offset.longitude) == (51.5, -0.12)
    assert local_only.occurred_at == datetime(2024, 3, 1, 23, 0, tzinfo=UTC)
    assert no_time.occurred_at is None and no_time.description == "bad time"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-09-20T19:03:00Z", datetime(2021, 9, 20, 19, 3, tzinfo=UTC)),
        ("2021-09-20T19:03:00.5Z", datetime(2021, 9, 20, 19, 3, 0, 500000, tzinfo=UTC)),
        ("2021-09-20T14:03:00-05:00", datetime(2021, 9, 20, 19, 3, tzinfo=UTC)),
        ("2021-09-20T14:03:00-0500", datetime(2021, 9, 20, 19, 3, tzinfo=UTC)),
        ("2021-09-20T19:03:00", datetime(2021, 9, 20, 19, 3, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_utc(text, expected):
    assert parse_utc(text) == expected


def test_parse_timestamp_keeps_naive_local_times_naive():
    assert parse_timestamp("2021-09-20T14:03:00").tzinfo is None


def test_answer_that_is_not_an_object_is_a_bad_response(httpserver):
    js(httpserver, [1, 2, 3])
    with pytest.raises(BadResponseError, match="expected an object"):
        make_client(httpserver.url, max_attempts=1).get_tracking("ups", "x")


def test_events_not_a_list_is_a_bad_response():
    with pytest.raises(BadResponseError):
        TrackingInfo.from_json({"tracking_number": "x", "events": "nope"})


def test_error_body_becomes_one_exception_with_every_error(httpserver, sleeps):
    js(httpserver, ERROR_BODY, status=404)
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps).get_tracking("ups", "x")
    err = caught.value
    assert err.http_status == 404
    assert err.request_id == ERROR_BODY["request_id"]
    assert [e.error_code for e in err.errors] == ["invalid_identifier", "invalid_field_value"]
    assert [e.error_source for e in err.errors] == ["carrier", "shipengine"]
    assert err.errors[1].field_name == "carrier_code"
    assert err.code == "invalid_identifier"
    assert "Tracking number not found." in err.one_line() and "HTTP 404" in err.one_line()
    assert len(httpserver.requests) == 1 and sleeps == []  # 4xx never retries


def test_the_field_and_carrier_the_api_named_reach_the_one_line(httpserver, sleeps):
    body = {
        "request_id": "rid-1",
        "errors": [
            {
                "error_code": "invalid_field_value",
                "message": "Not a valid tracking number for this carrier.",
                "field_name": "tracking_number",
                "carrier_code": "ups",
                "carrier_id": "se-123",
            }
        ],
    }
    js(httpserver, body, status=400)
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps).get_tracking("ups", "x")
    assert caught.value.one_line() == (
        "Not a valid tracking number for this carrier. (HTTP 400, invalid_field_value, "
        "field tracking_number, carrier ups, carrier_id se-123, request_id rid-1)"
    )


def test_the_request_id_survives_an_empty_error_list(httpserver, sleeps):
    js(httpserver, {"request_id": "f7BA-2051", "errors": []}, status=400)
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps).get_tracking("ups", "x")
    assert caught.value.request_id == "f7BA-2051"
    assert "request_id f7BA-2051" in caught.value.one_line()


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500, 502])
def test_no_error_code_is_made_up_for_an_answer_without_one(httpserver, sleeps, status):
    """A status without the API's error list: the code says the status, plainly ours, and the
    detail claims no API error_code or source."""
    httpserver.then(status, b"<html>nope</html>", {"Content-Type": "text/html"})
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps, max_attempts=1).get_tracking("ups", "x")
    assert caught.value.code == f"http_{status}"
    assert [(e.error_code, e.error_source) for e in caught.value.errors] == [("", "")]


def test_an_error_entry_without_a_code_keeps_it_empty(httpserver, sleeps):
    js(httpserver, {"errors": [{"message": "Something went wrong."}]}, status=400)
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps).get_tracking("ups", "x")
    assert caught.value.errors[0].error_code == "" and caught.value.code == "http_400"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_never_retry(httpserver, sleeps, status):
    js(httpserver, ERROR_BODY, status=status)
    js(httpserver, {})
    with pytest.raises(ApiError):
        make_client(httpserver.url, sleep=sleeps).get_tracking("ups", "x")
    assert len(httpserver.requests) == 1


def test_429_waits_for_retry_after_seconds_then_succeeds(httpserver, sleeps, seed_example):
    js(httpserver, ERROR_BODY, status=429, **{"Retry-After": "3"})
    js(httpserver, seed_example)
    paused = []

    class Limiter:
        acquired = 0

        def acquire(self, max_wait=None):
            Limiter.acquired += 1

        def pause(self, seconds):
            paused.append(seconds)

    info = make_client(httpserver.url, sleep=sleeps, limiter=Limiter()).get_tracking("ups", "x")
    assert info.status_code == "DE"
    assert sleeps == [3.0]
    assert paused == [3.0]  # every process sharing the limiter pauses too
    assert Limiter.acquired == 2


def test_429_retry_after_http_date(httpserver, sleeps, seed_example):
    when = datetime.now(UTC) + timedelta(seconds=5)
    js(httpserver, ERROR_BODY, status=429, **{"Retry-After": format_datetime(when, usegmt=True)})
    js(httpserver, seed_example)
    make_client(httpserver.url, sleep=sleeps).get_tracking("ups", "x")
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 5.0


def test_429_beyond_the_retry_budget_fails_at_once(httpserver, sleeps):
    js(httpserver, ERROR_BODY, status=429, **{"Retry-After": "120"})
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps, retry_budget=10).get_tracking("ups", "x")
    assert caught.value.http_status == 429 and caught.value.retry_after == 120
    assert sleeps == [] and len(httpserver.requests) == 1


def test_5xx_retries_with_jittered_backoff_then_succeeds(httpserver, sleeps, seed_example):
    js(httpserver, ERROR_BODY, status=500)
    httpserver.then(503, b"<html>busy</html>", {})
    js(httpserver, seed_example)
    info = make_client(httpserver.url, sleep=sleeps, backoff_base=0.5, backoff_cap=8).get_tracking(
        "ups", "x"
    )
    assert info.status_code == "DE"
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0  # full jitter under a doubling cap


def test_5xx_gives_up_after_max_attempts(httpserver, sleeps):
    for _ in range(5):
        js(httpserver, ERROR_BODY, status=502)
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps, max_attempts=3).get_tracking("ups", "x")
    assert caught.value.http_status == 502
    assert len(httpserver.requests) == 3 and len(sleeps) == 2


def test_error_status_with_html_body_is_a_clear_error(httpserver, sleeps):
    httpserver.then(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"})
    with pytest.raises(ApiError) as caught:
        make_client(httpserver.url, sleep=sleeps, max_attempts=1).get_tracking("ups", "x")
    assert "HTTP 502" in str(caught.value) and "not JSON" in str(caught.value)


def test_non_json_body_is_a_bad_response(httpserver, sleeps):
    for _ in range(2):
        httpserver.then(200, b"<html>oops</html>", {"Content-Type": "text/html"})
    with pytest.raises(BadResponseError, match="not JSON"):
        make_client(httpserver.url, sleep=sleeps, max_attempts=2).get_tracking("ups", "x")
    assert len(httpserver.requests) == 2  # retried once: a broken body is often a passing fault


def test_truncated_json_is_a_bad_response(httpserver, seed_example):
    body = json.dumps(seed_example).encode()
    httpserver.then(200, body[: len(body) // 3])
    with pytest.raises(BadResponseError):
        make_client(httpserver.url, max_attempts=1).get_tracking("ups", "x")


def test_empty_body_is_a_bad_response(httpserver):
    httpserver.then(200, b"")
    with pytest.raises(BadResponseError, match="Empty"):
        make_client(httpserver.url, max_attempts=1).get_tracking("ups", "x")


def test_read_timeout_is_a_transport_error_and_retried(httpserver, sleeps, seed_example):
    httpserver.then(200, b"{}", delay=1.0)
    js(httpserver, seed_example)
    info = make_client(httpserver.url, sleep=sleeps, read_timeout=0.3).get_tracking("ups", "x")
    assert info.status_code == "DE" and len(sleeps) == 1


def test_timeout_every_time_ends_with_one_clear_error(httpserver, sleeps):
    for _ in range(2):
        httpserver.then(200, b"{}", delay=0.6)
    with pytest.raises(TransportError) as caught:
        make_client(httpserver.url, sleep=sleeps, read_timeout=0.2, max_attempts=2).get_tracking(
            "ups", "x"
        )
    assert caught.value.code == "timeout"


def test_connection_refused_is_a_transport_error(sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError) as caught:
        make_client(f"http://127.0.0.1:{port}", sleep=sleeps, max_attempts=2).get_tracking(
            "ups", "x"
        )
    assert caught.value.code == "connection_error"
    assert "Could not reach ShipEngine" in caught.value.one_line()
    assert len(sleeps) == 1


def test_dropped_connection_is_a_transport_error(httpserver, sleeps):
    httpserver.then(drop=True)
    httpserver.then(drop=True)
    with pytest.raises(TransportError):
        make_client(httpserver.url, sleep=sleeps, max_attempts=2).get_tracking("ups", "x")


def test_observer_sees_every_attempt_and_never_the_key(httpserver, sleeps, seed_example):
    js(httpserver, ERROR_BODY, status=500)
    js(httpserver, seed_example)
    records: list[CallRecord] = []
    make_client(
        httpserver.url, sleep=sleeps, observer=records.append, api_key="SECRET-KEY-1"
    ).get_tracking("ups", "x")
    assert [(r.http_status, r.attempt, r.error_code) for r in records] == [
        (500, 1, "invalid_identifier"),
        (200, 2, ""),
    ]
    assert all(r.endpoint == "/v1/tracking" for r in records)
    assert "SECRET-KEY-1" not in repr(records)


def test_a_failing_observer_never_breaks_a_call(httpserver, seed_example):
    js(httpserver, seed_example)

    def broken(record):
        raise RuntimeError("observer down")

    assert make_client(httpserver.url, observer=broken).get_tracking("ups", "x").status_code == "DE"


def test_list_carriers_and_partial_207(httpserver):
    js(
        httpserver,
        {
            "carriers": [
                {"carrier_id": "se-1", "carrier_code": "ups", "nickname": "My UPS", "extra": 1},
                {"carrier_code": None},
            ],
            "request_id": ERROR_BODY["request_id"],
            "errors": ERROR_BODY["errors"][:1],
        },
        status=207,
    )
    result = make_client(httpserver.url).list_carriers()
    # The entry without a carrier_code is kept, for the sync to report (not dropped unseen).
    assert [c.carrier_code for c in result.carriers] == ["ups", ""]
    assert result.carriers[0].nickname == "My UPS"
    assert result.partial and result.errors[0].error_code == "invalid_identifier"


def test_start_tracking_expects_no_body(httpserver):
    httpserver.then(204, b"")
    client = make_client(httpserver.url)
    client.start_tracking("ups", "1Z 9")
    assert [(r.method, urlsplit(httpserver.target(r)).path) for r in httpserver.requests] == [
        ("POST", "/v1/tracking/start")
    ]
    query = urlsplit(httpserver.target(httpserver.requests[0])).query
    assert parse_qs(query)["tracking_number"] == ["1Z 9"]


def test_create_webhook_posts_json(httpserver):
    js(httpserver, {"webhook_id": "se-9", "url": "https://x.test/h", "event": "track"})
    hook = make_client(httpserver.url).create_webhook("https://x.test/h", headers={"X-Secret": "s"})
    assert hook["webhook_id"] == "se-9"
    sent = json.loads(httpserver.requests[0].get_data())
    assert sent == {
        "event": "track",
        "url": "https://x.test/h",
        "headers": [{"key": "X-Secret", "value": "s"}],
    }


def test_client_against_the_sandbox_http_server(api):
    info = api.get_tracking("fedex", "794698432183")
    assert info.status_code == "IT" and len(info.events) == 7
    with pytest.raises(ApiError) as caught:
        api.get_tracking("ups", "FAULT-404")
    assert caught.value.code == "invalid_identifier"
