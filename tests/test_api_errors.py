"""Every failure of the REST API has one JSON shape and the right status, and bad input of any
kind (invalid JSON, wrong types, huge strings, 10 MB bodies, unknown fields, NUL characters,
unpaired surrogates, impossible ids) never makes a 500. Keys: 401 without one, 403 without the
scope, 429 with Retry-After over the key's rate limit."""

from __future__ import annotations

import json

import pytest

from tests.api_support import Api, codes, make_api, make_shipment
from tracking.models import ApiKey, Shipment
from tracking.services import api_keys

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"


@pytest.fixture
def api(client):
    return make_api(client)


def assert_error_shape(response, status: int) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors"} and body["errors"]
    for item in body["errors"]:
        assert set(item) == {"code", "message", "field"}
        assert isinstance(item["code"], str) and isinstance(item["message"], str)


# --- 401 / 403 / 429 --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer stk_nope",
        "Bearer " + "x" * 5000,
        "bearer stk_",
    ],
)
def test_no_or_unknown_key_is_401(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/shipments", headers=headers)
    assert_error_shape(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_401_at_once(client):
    api = make_api(client)
    assert api.get("/api/v1/shipments").status_code == 200
    api_keys.revoke(key_ids=ApiKey.objects.values_list("pk", flat=True))
    assert_error_shape(api.get("/api/v1/shipments"), 401)


def test_a_read_key_cannot_write_and_a_write_key_cannot_read(client):
    reader = make_api(client, scopes=["read"])
    response = reader.post("/api/v1/shipments", {"tracking_number": UPS})
    assert_error_shape(response, 403)
    assert codes(response) == ["forbidden"] and not Shipment.objects.exists()
    writer = make_api(client, scopes=["write"])
    assert_error_shape(writer.get("/api/v1/shipments"), 403)
    assert_error_shape(reader.delete("/api/v1/webhook-endpoints/1"), 403)


def test_over_the_key_rate_limit_is_429_with_retry_after(client):
    api = make_api(client, rate_limit=3)
    assert [api.get("/api/v1/shipments").status_code for _ in range(3)] == [200] * 3
    response = api.get("/api/v1/shipments")
    assert_error_shape(response, 429)
    assert codes(response) == ["rate_limited"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another key has its own budget.
    assert make_api(client).get("/api/v1/shipments").status_code == 200


def test_the_default_rate_limit_comes_from_settings(client, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    api = make_api(client)
    assert [api.get("/api/v1/shipments").status_code for _ in range(3)] == [200, 200, 429]


def test_last_used_is_recorded_at_most_once_a_minute(client):
    api = make_api(client)
    key = ApiKey.objects.get()
    assert key.last_used_at is None
    api.get("/api/v1/shipments")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    api.get("/api/v1/shipments")
    key.refresh_from_db()
    assert key.last_used_at == first


def test_only_the_hash_of_a_key_is_stored(client):
    made = api_keys.create_key(name="x", scopes=["read"])
    row = ApiKey.objects.values().get(pk=made.api_key.pk)
    assert made.raw.startswith(row["prefix"] + "_")
    assert made.raw not in json.dumps(row, default=str)
    assert row["key_hash"] == api_keys.hash_key(made.raw)


# --- 400 / 413 / 422 for bad bodies -----------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [b"{", b"nul", b'{"tracking_number": "1Z"', b"\xff\xfe\x00", b"", b'{"a": NaN'],
)
def test_invalid_json_is_400(api, raw):
    response = api.post("/api/v1/shipments", raw=raw)
    assert response.status_code in {400, 422}  # "" is valid-but-empty for ninja: required fields
    assert_error_shape(response, response.status_code)


@pytest.mark.parametrize(
    "body",
    [
        [UPS],
        "1Z999",
        42,
        None,
        {"tracking_number": 12345},
        {"tracking_number": ["a"]},
        {"tracking_number": {"a": 1}},
        {"tracking_number": True},
        {"tracking_number": UPS, "reference": 7},
        {"tracking_number": UPS, "carrier_code": []},
        {"tracking_number": None},
        {},
    ],
)
def test_wrong_types_are_422(api, body):
    response = api.post("/api/v1/shipments", body)
    assert_error_shape(response, 422)
    assert not Shipment.objects.exists()


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("tracking_number", 101),
        ("reference", 101),
        ("customer_name", 201),
        ("customer_email", 255),
        ("customer_postcode", 17),
        ("language", 17),
        ("carrier_code", 65),
    ],
)
def test_strings_over_their_limit_are_422_and_never_echoed(api, field, length):
    body = {"tracking_number": UPS, field: "Q" * length}
    response = api.post("/api/v1/shipments", body)
    assert_error_shape(response, 422)
    assert response.json()["errors"][0]["field"] == field
    assert b"QQQQQQQQQQ" not in response.content


def test_a_huge_string_is_422_not_500(api):
    response = api.post("/api/v1/shipments", {"tracking_number": UPS, "reference": "R" * 1_500_000})
    assert_error_shape(response, 422)
    assert len(response.content) < 500


def test_a_10_mb_body_is_413_before_it_is_read(api):
    response = api.post("/api/v1/shipments", raw=b'{"reference": "' + b"x" * 10_000_000 + b'"}')
    assert_error_shape(response, 413)
    assert codes(response) == ["body_too_large"]


def test_a_10_mb_body_without_a_key_is_still_refused(client):
    response = client.post(
        "/api/v1/shipments/bulk", data=b"x" * 10_000_000, content_type="application/json"
    )
    assert response.status_code in {401, 413}
    assert_error_shape(response, response.status_code)


def test_unknown_fields_are_422_naming_the_field(api):
    response = api.post("/api/v1/shipments", {"tracking_number": UPS, "custmer_email": "a@b.c"})
    assert_error_shape(response, 422)
    assert response.json()["errors"] == [
        {"code": "unknown_field", "message": "Unknown field.", "field": "custmer_email"}
    ]


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udfffy"])
def test_text_no_database_can_store_is_422(api, value):
    raw = json.dumps({"tracking_number": UPS, "customer_name": value})  # \u escapes survive
    response = api.post("/api/v1/shipments", raw=raw)
    assert_error_shape(response, 422)
    assert response.json()["errors"][0]["field"] == "customer_name"


def test_a_non_ascii_idempotency_key_is_400(api):
    response = api.post("/api/v1/shipments", {"tracking_number": UPS}, **{"Idempotency-Key": "\t"})
    assert_error_shape(response, 400)


def test_a_bad_content_length_is_400(api):
    response = api.client.generic(
        "POST",
        "/api/v1/shipments",
        data=b"{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.key}"},
        CONTENT_LENGTH="abc",
    )
    assert_error_shape(response, 400)


# --- 404 / 405 --------------------------------------------------------------------------------
def test_unknown_routes_are_json_404(api):
    for path in ("/api/v1/", "/api/v1/nothing", "/api/v1/shipments/1/nothing"):
        assert_error_shape(api.get(path), 404)


def test_a_wrong_method_is_json_405_with_allow(api):
    response = api.client.put("/api/v1/shipments", headers={"Authorization": f"Bearer {api.key}"})
    assert_error_shape(response, 405)
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_an_unexpected_failure_is_a_json_500_and_logged(api, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("tracking.queries.api_shipments.shipment_page", boom)
    response = api.get("/api/v1/shipments")
    assert_error_shape(response, 500)
    assert "API request failed" in caplog.text


# --- The schema and the docs ------------------------------------------------------------------
def test_openapi_3_1_schema_documents_every_route_and_status(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/shipments",
        "/api/v1/shipments/bulk",
        "/api/v1/shipments/{shipment_id}",
        "/api/v1/shipments/{shipment_id}/refresh",
        "/api/v1/webhook-endpoints",
        "/api/v1/webhook-endpoints/{endpoint_id}",
    }
    post = paths["/api/v1/shipments"]["post"]
    assert {"200", "201", "400", "401", "403", "409", "413", "422", "429"} <= set(post["responses"])
    assert paths["/api/v1/shipments/bulk"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/BulkIn"}
    assert "BulkIn" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]


def test_the_docs_page_loads_swagger_ui_from_the_package_not_a_cdn(client):
    from tests.html import parse

    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = parse(response)
    sources = [s.get("src") for s in page.select("script[src]")]
    assert sources and all(src.startswith("/static/ninja/") for src in sources)
    assert all(link["href"].startswith("/static/") for link in page.select("link[href]"))
    # Only JSON data inline, never code: the page works under script-src 'self' 'nonce-…'.
    assert all(s.get("type") == "application/json" for s in page.select("script:not([src])"))
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_errors_do_not_leak_keys(client):
    made = api_keys.create_key(name="x", scopes=["read"])
    api = Api(client, made.raw)
    response = api.post("/api/v1/shipments", {"tracking_number": UPS})
    assert made.raw not in response.content.decode()


def test_a_shipment_never_leaks_through_another_route(api):
    make_shipment()
    assert_error_shape(api.get("/api/v1/shipments/1/refresh"), 405)


def test_posts_need_no_csrf_token_because_only_a_bearer_key_authenticates(client, admin_client):
    from django.test import Client

    made = api_keys.create_key(name="csrf", scopes=["read", "write"])
    strict = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {made.raw}"})
    response = strict.post(
        "/api/v1/shipments",
        data=json.dumps({"tracking_number": UPS}),
        content_type="application/json",
    )
    assert response.status_code == 201
    # A logged-in admin's session cookie is not a key: the API does not take it.
    assert_error_shape(admin_client.get("/api/v1/shipments"), 401)
