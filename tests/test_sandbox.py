"""The sandbox: its answers agree with the official OpenAPI schema, and its scenarios and faults
behave as documented."""

import functools
import json
from datetime import timedelta

import pytest
import requests
import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator

from tests.conftest import EPOCH, OPENAPI, make_client, require_or_skip
from tracking.sandbox import (
    FAULT_NUMBERS,
    LABELS,
    SANDBOX_CARRIERS,
    SCENARIOS,
    SEED_NUMBER,
    Sandbox,
    generated_scenario,
    sandbox_session,
)
from tracking.shipengine import ApiError, BadResponseError, TransportError


@functools.cache
def spec() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(OPENAPI.read_text(), Loader=loader)


@pytest.fixture(scope="module")
def components():
    require_or_skip(
        OPENAPI.is_file(),
        f"{OPENAPI} is absent: the official OpenAPI definition lives in ../shared",
    )
    return spec()["components"]


def validator(components, name: str, *, required_from: str | None = None) -> OAS30Validator:
    """A validator for one named schema.

    The spec's response bodies combine `additionalProperties: false` with `allOf: [$ref]` and no
    `properties` of their own, which in JSON Schema rejects every property; the properties live on
    the referenced schema (tracking_information, which also forbids extra properties). So an answer
    is validated against that schema, plus the response body's own `required` list.
    """
    schema = dict(components["schemas"][name])
    if required_from:
        schema["required"] = components["schemas"][required_from]["required"]
    return OAS30Validator({**schema, "components": real_api_components(components)})


def real_api_components(components: dict) -> dict:
    """The spec, with the changes real answers need (the seed's answer is a real one and shows
    both): `carrier_occurred_at` is the carrier's local wall-clock time without an offset
    ("2021-09-20T14:03:00", where the spec's date_time pattern wants one), and a scan without a
    place has an empty `state_province` (the spec wants two letters). The sandbox sends them as
    real answers do, instead of making up a state ("US, US")."""
    schemas = dict(components["schemas"])
    event = dict(schemas["track_event"])
    properties = dict(event["properties"])
    local = dict(properties["carrier_occurred_at"])
    local.pop("allOf", None)
    local.pop("$ref", None)
    properties["carrier_occurred_at"] = {
        **local,
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
    }
    properties["state_province"] = {**properties["state_province"], "minLength": 0}
    schemas["track_event"] = {**event, "properties": properties}
    return {**components, "schemas": schemas}


def errors_of(v: OAS30Validator, instance) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(instance)
    )


def answer(sandbox, url, **headers):
    response = sandbox.handle("GET", url, {"API-Key": "k", **headers})
    return response.status, json.loads(response.body) if response.body else None


ALL_NUMBERS = sorted(SCENARIOS)


@pytest.mark.parametrize("number", ALL_NUMBERS)
@pytest.mark.parametrize("hours_later", [0, 12, 40])
def test_tracking_answers_validate_against_the_official_schema(components, number, hours_later):
    sandbox = Sandbox(epoch=EPOCH, clock=lambda: EPOCH + timedelta(hours=hours_later))
    scenario = SCENARIOS[number]
    status, body = answer(
        sandbox, f"/v1/tracking?carrier_code={scenario.carrier_code}&tracking_number={number}"
    )
    assert status == 200
    v = validator(
        components, "tracking_information", required_from="get_tracking_log_response_body"
    )
    assert errors_of(v, body) == []


@pytest.mark.parametrize("number", [f"1ZGEN{i:010d}" for i in range(40)])
def test_generated_journeys_validate_too(components, sandbox, number):
    status, body = answer(sandbox, f"/v1/tracking?carrier_code=ups&tracking_number={number}")
    v = validator(
        components, "tracking_information", required_from="get_tracking_log_response_body"
    )
    assert status == 200 and errors_of(v, body) == []
    times = [e["occurred_at"] for e in body["events"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("label_id", sorted(set(LABELS) - {"se-324658"}))
def test_label_answers_validate(components, sandbox, label_id):
    status, body = answer(sandbox, f"/v1/labels/{label_id}/track")
    v = validator(
        components,
        "tracking_information",
        required_from="get_tracking_log_from_label_response_body",
    )
    assert status == 200 and errors_of(v, body) == []


def test_the_seed_example_differs_from_the_schema_only_where_the_real_api_does(components, sandbox):
    """The seed's example answer (what the real API sends) is served verbatim. It breaks the schema
    in known ways — nulls in non-nullable fields, naive carrier times, empty country codes — and in
    no other; shiptrack's parser accepts all of them (see test_shipengine)."""
    status, body = answer(
        sandbox, f"/v1/tracking?carrier_code=stamps_com&tracking_number={SEED_NUMBER}"
    )
    assert status == 200
    v = validator(
        components, "tracking_information", required_from="get_tracking_log_response_body"
    )
    found = errors_of(v, body)

    def known(error: str) -> bool:
        path, message = error.split(": ", 1)
        if message.startswith(
            ("None for not nullable", "None is not of type", "None is not one of")
        ):
            return True  # null where the spec has no null
        return path.endswith(("country_code", "state_province")) and message == "'' is too short"

    assert found, "the seed example is known to deviate; the validator must see it"
    assert [e for e in found if not known(e)] == []


def test_seed_example_is_served_exactly(sandbox, seed_example):
    status, body = answer(
        sandbox, f"/v1/tracking?carrier_code=stamps_com&tracking_number={SEED_NUMBER}"
    )
    assert status == 200 and body == seed_example


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        ("FAULT-500", 500, "unspecified"),
        ("FAULT-401", 401, "unauthorized"),
        ("FAULT-404", 404, "invalid_identifier"),
        ("FAULT-429", 429, "rate_limit_exceeded"),
    ],
)
def test_error_answers_validate_against_error_response_body(
    components, sandbox, number, status, code
):
    got_status, body = answer(sandbox, f"/v1/tracking?carrier_code=ups&tracking_number={number}")
    assert got_status == status and body["errors"][0]["error_code"] == code
    assert errors_of(validator(components, "error_response_body"), body) == []


def test_carrier_list_validates(components, sandbox):
    status, body = answer(sandbox, "/v1/carriers")
    assert status == 200 and len(body["carriers"]) == len(SANDBOX_CARRIERS)
    carrier = validator(components, "carrier")
    for item in body["carriers"]:
        assert errors_of(carrier, item) == []


def test_schema_validation_can_fail(components):
    """The validator really checks: a made-up field and a wrong type are caught."""
    v = validator(
        components, "tracking_information", required_from="get_tracking_log_response_body"
    )
    with pytest.raises(ValidationError):
        v.validate({"tracking_number": "1", "status_code": "XX", "events": []})


def test_every_status_code_has_a_demo_number(sandbox):
    seen = set()
    for number, scenario in SCENARIOS.items():
        _, body = answer(
            sandbox, f"/v1/tracking?carrier_code={scenario.carrier_code}&tracking_number={number}"
        )
        seen.add(body["status_code"])
    assert seen == {"AC", "IT", "DE", "EX", "UN", "AT", "NY", "SP"}


def test_journeys_are_multi_city_with_coordinates(sandbox):
    _, body = answer(sandbox, "/v1/tracking?carrier_code=fedex&tracking_number=794698432183")
    cities = {e["city_locality"] for e in body["events"]}
    assert len(cities) >= 4
    assert all("latitude" in e for e in body["events"])
    assert body["estimated_delivery_date"] > body["events"][0]["occurred_at"]


def test_same_number_same_journey_and_stable_times():
    early = Sandbox(epoch=EPOCH, clock=lambda: EPOCH)
    later = Sandbox(epoch=EPOCH, clock=lambda: EPOCH + timedelta(days=3))
    url = "/v1/tracking?carrier_code=ups&tracking_number=1ZSTABLE0001"
    assert answer(early, url) == answer(later, url)
    assert generated_scenario("ups", "1ZSTABLE0001") == generated_scenario("ups", "1ZSTABLE0001")


def test_api_key_is_required_and_checked():
    sandbox = Sandbox(epoch=EPOCH, api_key="right")
    assert sandbox.handle("GET", "/v1/carriers", {}).status == 401
    assert sandbox.handle("GET", "/v1/carriers", {"API-Key": "wrong"}).status == 401
    assert sandbox.handle("GET", "/v1/carriers", {"api-key": "right"}).status == 200


def test_unknown_label_and_malformed_number_are_404(sandbox):
    assert answer(sandbox, "/v1/labels/se-1/track")[0] == 404
    status, body = answer(sandbox, "/v1/tracking?carrier_code=ups&tracking_number=%3Cb%3E")
    assert status == 404 and body["errors"][0]["error_code"] == "invalid_identifier"


def test_fault_rate_produces_faults_over_http(sandbox_url, sandbox):
    sandbox.fault_rate = 1.0
    client = make_client(sandbox_url, max_attempts=1, read_timeout=0.5)
    kinds = set()
    for _ in range(25):
        try:
            client.get_tracking("ups", "1ZX0000001")
        except (ApiError, BadResponseError, TransportError) as exc:
            kinds.add(type(exc).__name__)
    assert kinds >= {"ApiError", "BadResponseError"}


@pytest.mark.parametrize("number", sorted(FAULT_NUMBERS))
def test_every_fault_number_fails_over_real_http(sandbox_url, number):
    client = make_client(sandbox_url, max_attempts=1, read_timeout=0.3)
    with pytest.raises((ApiError, BadResponseError, TransportError)):
        client.get_tracking("ups", number)


def test_in_process_transport_speaks_the_same_api(sandbox):
    session = sandbox_session("http://sb.invalid", sandbox)
    response = session.get(
        "http://sb.invalid/v1/tracking",
        params={"carrier_code": "ups", "tracking_number": "1Z999AA10123456784"},
        headers={"API-Key": "k"},
    )
    assert response.status_code == 200 and response.json()["status_code"] == "AC"
    with pytest.raises(requests.ReadTimeout):
        session.get(
            "http://sb.invalid/v1/tracking",
            params={"carrier_code": "ups", "tracking_number": "FAULT-TIMEOUT"},
            headers={"API-Key": "k"},
        )


def test_webhook_registration(sandbox):
    created = sandbox.handle(
        "POST",
        "/v1/environment/webhooks",
        {"API-Key": "k"},
        b'{"event": "track", "url": "https://x.test/h"}',
    )
    assert created.status == 200 and json.loads(created.body)["event"] == "track"
    again = sandbox.handle(
        "POST",
        "/v1/environment/webhooks",
        {"API-Key": "k"},
        b'{"event": "track", "url": "https://x.test/h"}',
    )
    assert again.status == 409


def test_429_storms_and_slow_drips_over_http():
    """The chaos benchmark's faults: a storm answers every request 429 for its length, and a
    slow drip sends one byte at a time (cut by the client's deadline)."""
    import time

    from tracking.sandbox import Sandbox, serve_in_thread

    storm = Sandbox(storm_every=60, storm_seconds=30)
    with serve_in_thread(storm) as url:
        with pytest.raises(ApiError) as caught:
            make_client(url, max_attempts=1).get_tracking("ups", "1ZX0000001")
        assert caught.value.http_status == 429 and caught.value.retry_after
    drip = Sandbox(drip_seconds=0.2)
    with serve_in_thread(drip) as url:
        started = time.monotonic()
        from tracking.shipengine import ClientConfig, ShipEngineClient

        config = ClientConfig(api_key="k", base_url=url, max_attempts=1, attempt_deadline=1.0)
        with pytest.raises(TransportError) as cut:
            ShipEngineClient(config).get_tracking("ups", "FAULT-DRIP")
        assert cut.value.code in {"deadline", "timeout"} and time.monotonic() - started < 2.0


def _call(sandbox, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
    answer = sandbox.handle(method, path, {"API-Key": "k"}, body)
    return answer.status, (json.loads(answer.body) if answer.body else {})


def test_a_disconnected_carrier_leaves_the_account(sandbox):
    cid = SANDBOX_CARRIERS[0][1]
    assert _call(sandbox, "DELETE", f"/v1/carriers/{cid}")[0] == 204
    assert _call(sandbox, "GET", f"/v1/carriers/{cid}")[0] == 404
    assert _call(sandbox, "DELETE", f"/v1/carriers/{cid}")[0] == 404
    listed = {c["carrier_id"] for c in _call(sandbox, "GET", "/v1/carriers")[1]["carriers"]}
    assert cid not in listed and len(listed) == len(SANDBOX_CARRIERS) - 1
    status, body = _call(sandbox, "GET", f"/v1/tracking?carrier_id={cid}&tracking_number=1ZX01")
    assert status == 400 and body["errors"][0]["field_name"] == "carrier_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"store_id": 2**31}, "store_id"),
        ({"store_id": True}, "store_id"),
        ({"headers": None}, "headers"),
        ({"colour": "red"}, "colour"),
        ({"event": {}}, "event"),
    ],
)
def test_webhook_bodies_are_checked_field_by_field(sandbox, body, field):
    full = {"event": "track", "url": "https://x.test/h", **body}
    status, answer = _call(sandbox, "POST", "/v1/environment/webhooks", json.dumps(full).encode())
    assert status == 400 and answer["errors"][0]["field_name"] == field


def test_a_sandbox_bug_answers_500_instead_of_hanging_up(sandbox_url, sandbox, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(sandbox, "handle", broken)
    answer = requests.get(f"{sandbox_url}/v1/carriers", headers={"API-Key": "k"}, timeout=5)
    assert answer.status_code == 500 and answer.json()["errors"][0]["error_type"] == "system"
