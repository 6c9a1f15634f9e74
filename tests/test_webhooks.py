"""ShipEngine 'track' webhooks: signature, timestamp, size, shape, replay, ingest."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from tests.concurrency import run_concurrently
from tests.conftest import EPOCH
from tests.factories import ShipmentFactory
from tracking import services
from tracking.models import Shipment, TrackingEvent, WebhookReceipt
from tracking.sandbox import Sandbox, serve_in_thread
from tracking.services import api_client
from tracking.services import inbound_webhooks as webhooks
from tracking.shipengine import webhook_signatures

URL = "/webhooks/shipengine/track/"
NUMBER = "794698432183"  # fedex, in transit (see the sandbox docstring)


@pytest.fixture(scope="module")
def signer() -> Sandbox:
    """A sandbox whose key is served by a JWKS server (module-wide: RSA keys are slow to make)."""
    return Sandbox(epoch=EPOCH, clock=lambda: EPOCH)


@pytest.fixture(scope="module")
def jwks_url(signer):
    with serve_in_thread(signer) as base:
        yield f"{base}/jwks"


@pytest.fixture
def trusted(jwks_url, settings):
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = jwks_url
    settings.SHIPENGINE_WEBHOOK_SECRET = ""
    return jwks_url


def now_stamp(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def post(client, body: bytes, headers: dict[str, str]):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(URL, data=body, content_type="application/json", **extra)


@pytest.fixture
def shipment(db) -> Shipment:
    return ShipmentFactory(carrier__code="fedex", tracking_number=NUMBER)


def test_url_name_resolves():
    assert reverse("webhooks:shipengine_track") == URL


@pytest.mark.django_db
def test_signed_delivery_is_ingested_like_a_poll(client, signer, trusted, shipment):
    body = signer.track_webhook_body("fedex", NUMBER)
    response = post(client, body, signer.sign_webhook(body))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "ingested"
    expected = len(json.loads(body)["data"]["events"])
    shipment.refresh_from_db()
    assert shipment.events.count() == expected == response.json()["events_added"]
    assert shipment.status_code == "IT"
    assert WebhookReceipt.objects.get().outcome == "ingested"


@pytest.mark.django_db
def test_replayed_delivery_changes_nothing(client, signer, trusted, shipment):
    body = signer.track_webhook_body("fedex", NUMBER)
    headers = signer.sign_webhook(body)
    assert post(client, body, headers).json()["outcome"] == "ingested"
    before = Shipment.objects.filter(pk=shipment.pk).values().get()
    events_before = list(TrackingEvent.objects.values_list("pk", "dedupe_key"))
    again = post(client, body, headers)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    # ShipEngine re-sending the same body with a new signature and time is a duplicate too.
    resent = post(client, body, signer.sign_webhook(body))
    assert resent.json()["outcome"] == "duplicate"
    assert Shipment.objects.filter(pk=shipment.pk).values().get() == before
    assert list(TrackingEvent.objects.values_list("pk", "dedupe_key")) == events_before
    assert WebhookReceipt.objects.count() == 1


@pytest.mark.django_db
def test_polling_after_a_webhook_adds_no_duplicates(client, signer, trusted, shipment, settings):
    body = signer.track_webhook_body("fedex", NUMBER)
    post(client, body, signer.sign_webhook(body))
    count = shipment.events.count()
    settings.SHIPENGINE_SANDBOX_EPOCH = EPOCH.isoformat()
    services.refresh_shipment(shipment_id=shipment.pk)
    assert shipment.events.count() == count


def _nothing_stored(shipment: Shipment) -> bool:
    return (
        not TrackingEvent.objects.exists()
        and not WebhookReceipt.objects.exists()
        and Shipment.objects.get(pk=shipment.pk).status_code == ""
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unsigned", 404),
        ("no_timestamp", 404),
        ("forged_key", 401),
        ("tampered_body", 401),
        ("unknown_kid", 401),
        ("not_base64", 401),
        ("stale", 400),
        ("future", 400),
        ("bad_timestamp", 400),
    ],
)
def test_bad_deliveries_store_nothing(client, signer, trusted, shipment, case, status):
    body = signer.track_webhook_body("fedex", NUMBER)
    headers = signer.sign_webhook(body)
    if case == "unsigned":
        headers = {}
    elif case == "no_timestamp":
        del headers["x-shipengine-timestamp"]
    elif case == "forged_key":
        # Signed with another key, claiming the trusted key's id.
        forged = webhook_signatures.sign(
            webhook_signatures.generate_signing_key(), body, now_stamp()
        )
        headers = {**forged, "x-shipengine-rsa-sha256-key-id": signer.key_id}
    elif case == "tampered_body":
        body = body.replace(b"Memphis", b"MEMPHIZ").replace(b"MEMPHIS", b"ELSEWHERE")
    elif case == "unknown_kid":
        headers["x-shipengine-rsa-sha256-key-id"] = "someone-elses-key"
    elif case == "not_base64":
        headers["x-shipengine-rsa-sha256-signature"] = "***not base64***"
    elif case == "stale":
        headers = signer.sign_webhook(body, now_stamp(-timedelta(minutes=6)))
    elif case == "future":
        headers = signer.sign_webhook(body, now_stamp(timedelta(minutes=6)))
    elif case == "bad_timestamp":
        headers = signer.sign_webhook(body, "yesterday-ish")
    response = post(client, body, headers)
    assert response.status_code == status, response.content
    assert _nothing_stored(shipment)


@pytest.mark.django_db
def test_timestamps_within_five_minutes_either_way_are_accepted(client, signer, trusted, shipment):
    body = signer.track_webhook_body("fedex", NUMBER)
    assert (
        post(client, body, signer.sign_webhook(body, now_stamp(timedelta(minutes=4)))).status_code
        == 200
    )
    body2 = body.replace(b'"API_TRACK"', b'"API_TRACK" ')
    response = post(client, body2, signer.sign_webhook(body2, now_stamp(-timedelta(minutes=4))))
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'{"resource_type": "API_TRACK"}',
        b'{"resource_type": "API_TRACK", "data": "nope"}',
        b'{"resource_type": "API_TRACK", "data": {"events": "not a list"}}',
        b'{"resource_type": "API_TRACK", "data": {"status_code": "IT"}}',
    ],
)
def test_malformed_signed_deliveries_are_refused_and_store_nothing(
    client, signer, trusted, shipment, body
):
    response = post(client, body, signer.sign_webhook(body))
    assert response.status_code == 400, response.content
    assert _nothing_stored(shipment)


@pytest.mark.django_db
def test_other_resource_types_are_acknowledged_and_ignored(client, signer, trusted, shipment):
    body = json.dumps({"resource_type": "API_RATE", "resource_url": "x", "data": {}}).encode()
    response = post(client, body, signer.sign_webhook(body))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert _nothing_stored(shipment)


@pytest.mark.django_db
def test_oversized_deliveries_are_refused_before_reading(
    client, signer, trusted, shipment, settings
):
    settings.SHIPENGINE_WEBHOOK_MAX_BYTES = 200
    body = signer.track_webhook_body("fedex", NUMBER)
    assert len(body) > 200
    response = post(client, body, signer.sign_webhook(body))
    assert response.status_code == 413
    assert _nothing_stored(shipment)


@pytest.mark.django_db
def test_only_post(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_unknown_package_is_acknowledged_and_not_created(client, signer, trusted):
    body = signer.track_webhook_body("ups", "1Z999AA10123456784")
    response = post(client, body, signer.sign_webhook(body))
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_shipment"
    assert not Shipment.objects.exists()
    assert not TrackingEvent.objects.exists()


@pytest.mark.django_db
def test_package_found_by_the_code_the_api_answered_with(client, signer, trusted):
    # Tracked as stamps_com, the API answers (and pushes) as usps.
    shipment = ShipmentFactory(
        carrier__code="stamps_com",
        tracking_number="9405511899223197428490",
        api_carrier_code="usps",
    )
    body = signer.track_webhook_body("usps", "9405511899223197428490")
    response = post(client, body, signer.sign_webhook(body))
    assert response.json()["outcome"] == "ingested"
    assert shipment.events.count() == 6


@pytest.mark.django_db
def test_keys_are_cached_and_refetched_for_a_new_key_id(client, signer, trusted, shipment):
    body = signer.track_webhook_body("fedex", NUMBER)
    post(client, body, signer.sign_webhook(body))
    body2 = body.replace(b'"API_TRACK"', b'"API_TRACK" ')
    post(client, body2, signer.sign_webhook(body2))
    assert webhooks.jwks_cache.fetches == 1  # cached
    # ShipEngine rotates its key: the new id is not cached, so the JWKS is fetched again.
    old_key = signer._signing_key
    signer._signing_key = webhook_signatures.generate_signing_key()
    try:
        body3 = body.replace(b'"API_TRACK"', b'"API_TRACK"  ')
        webhooks.jwks_cache._fetched_at -= webhooks.REFETCH_MIN_SECONDS + 1
        response = post(client, body3, signer.sign_webhook(body3))
        assert response.status_code == 200, response.content
        assert webhooks.jwks_cache.fetches == 2
    finally:
        signer._signing_key = old_key


@pytest.mark.django_db
def test_unknown_key_ids_do_not_refetch_more_than_every_30_seconds(
    client, signer, trusted, shipment
):
    body = signer.track_webhook_body("fedex", NUMBER)
    post(client, body, signer.sign_webhook(body))
    for i in range(5):
        headers = signer.sign_webhook(body)
        headers["x-shipengine-rsa-sha256-key-id"] = f"made-up-{i}"
        assert post(client, body, headers).status_code == 401
    assert webhooks.jwks_cache.fetches == 1


@pytest.mark.django_db
def test_unreachable_jwks_is_a_503_and_stores_nothing(client, signer, shipment, settings):
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = "http://127.0.0.1:9/jwks"
    body = signer.track_webhook_body("fedex", NUMBER)
    response = post(client, body, signer.sign_webhook(body))
    assert response.status_code == 503
    assert _nothing_stored(shipment)


@pytest.mark.django_db
def test_jwks_entries_that_are_not_rsa_keys_are_skipped():
    keys = webhook_signatures.keys_from_jwks(
        {
            "keys": [
                {"kty": "EC", "kid": "a"},
                {"kty": "RSA", "kid": "b", "n": "!!", "e": "AQAB"},
                "x",
            ]
        }
    )
    assert keys == {}
    assert webhook_signatures.keys_from_jwks([]) == {}


@pytest.mark.django_db
def test_shared_secret_header_is_accepted_instead_of_a_signature(
    client, signer, shipment, settings
):
    settings.SHIPENGINE_WEBHOOK_SECRET = "s3cret-value"
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = "http://127.0.0.1:9/jwks"  # never needed
    body = signer.track_webhook_body("fedex", NUMBER)
    ok = post(client, body, {"X-Shiptrack-Webhook-Secret": "s3cret-value"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["outcome"] == "ingested"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Shiptrack-Webhook-Secret": "wrong"}, 404),
        ({}, 404),
        (
            {
                "X-Shiptrack-Webhook-Secret": "s3cret-value",
                "x-shipengine-timestamp": "2020-01-01T00:00:00Z",
            },
            400,
        ),
    ],
)
def test_wrong_or_stale_shared_secret_stores_nothing(
    client, signer, shipment, settings, headers, status
):
    settings.SHIPENGINE_WEBHOOK_SECRET = "s3cret-value"
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = "http://127.0.0.1:9/jwks"
    body = signer.track_webhook_body("fedex", NUMBER)
    assert post(client, body, headers).status_code == status
    assert _nothing_stored(shipment)


def test_timestamp_formats():
    assert webhooks.parse_signature_timestamp("2026-01-05T12:00:00Z") == datetime(
        2026, 1, 5, 12, tzinfo=UTC
    )
    assert webhooks.parse_signature_timestamp("1767614400") == datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert webhooks.parse_signature_timestamp("1767614400000") == datetime(
        2026, 1, 5, 12, tzinfo=UTC
    )
    assert webhooks.parse_signature_timestamp("soon") is None
    assert webhooks.parse_signature_timestamp("nan") is None
    assert webhooks.parse_signature_timestamp("") is None


@pytest.mark.django_db
def test_sandbox_mode_trusts_the_sandbox_key_file(client, shipment, settings):
    """With no JWKS address in sandbox mode, the key in var/ (shared by local processes) counts."""
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = ""
    settings.SHIPENGINE_SANDBOX = True
    local = Sandbox(epoch=EPOCH, clock=lambda: EPOCH, signing_key=api_client.sandbox_signing_key())
    body = local.track_webhook_body("fedex", NUMBER)
    assert post(client, body, local.sign_webhook(body)).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_end_to_end_over_http_with_concurrent_duplicates(live_server, signer, trusted):
    """The sandbox delivers signed webhooks over real HTTP; the same delivery sent by several
    threads at once is stored once."""
    shipment = ShipmentFactory(carrier__code="fedex", tracking_number=NUMBER)
    url = live_server.url + URL
    statuses = run_concurrently(lambda: signer.deliver_track_webhook("fedex", NUMBER, url), 6)
    assert sorted(s[0] for s in statuses) == [200] * 6
    assert WebhookReceipt.objects.count() == 1
    assert shipment.events.count() == len(
        json.loads(signer.track_webhook_body("fedex", NUMBER))["data"]["events"]
    )
    assert TrackingEvent.objects.values("dedupe_key").distinct().count() == shipment.events.count()


@pytest.mark.django_db(transaction=True)
def test_sandbox_delivers_to_registered_webhooks_with_their_headers(live_server, settings):
    settings.SHIPENGINE_WEBHOOK_SECRET = "hdr-secret"
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = "http://127.0.0.1:9/jwks"  # only the secret can pass
    ShipmentFactory(carrier__code="fedex", tracking_number=NUMBER)
    sandbox = Sandbox(epoch=EPOCH, clock=lambda: EPOCH)
    with serve_in_thread(sandbox) as base:
        session = requests.Session()
        session.headers["API-Key"] = "k"
        hook = {
            "url": live_server.url + URL,
            "event": "track",
            "headers": [{"key": "X-Shiptrack-Webhook-Secret", "value": "hdr-secret"}],
        }
        assert session.post(f"{base}/v1/environment/webhooks", json=hook).status_code == 200
        answer = session.post(
            f"{base}/v1/sandbox/webhooks/deliver",
            params={"carrier_code": "fedex", "tracking_number": NUMBER},
        )
        assert answer.json() == {"deliveries": [200]}
        bad = session.post(
            f"{base}/v1/sandbox/webhooks/deliver",
            params={"carrier_code": "fedex", "tracking_number": "x"},
        )
        assert bad.status_code == 400
    assert TrackingEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sandbox_webhook_command(live_server, settings):
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = ""
    settings.SHIPENGINE_SANDBOX = True
    shipment = ShipmentFactory(carrier__code="fedex", tracking_number=NUMBER)
    call_command("sandbox_webhook", live_server.url + URL, "fedex", NUMBER)
    assert shipment.events.exists()
    with pytest.raises(CommandError, match="HTTP 404"):
        call_command("sandbox_webhook", live_server.url + "/nowhere/", "fedex", NUMBER)


@pytest.mark.django_db
def test_register_webhook_command(settings):
    settings.SHIPENGINE_WEBHOOK_SECRET = "abc"
    from io import StringIO

    from tracking.sandbox import default_sandbox

    out = StringIO()
    url = f"https://example.test/hook/{datetime.now(UTC).timestamp()}"
    call_command("register_webhook", url, stdout=out)
    assert "Registered webhook se-" in out.getvalue()
    hook = next(w for w in default_sandbox().webhooks if w["url"] == url)
    assert hook["event"] == "track"
    assert hook["headers"] == [{"key": "X-Shiptrack-Webhook-Secret", "value": "abc"}]
    with pytest.raises(CommandError, match="webhook_event_type_conflict"):
        call_command("register_webhook", url)
    with pytest.raises(CommandError, match="not an http"):
        call_command("register_webhook", "ftp://x")


@override_settings(SHIPENGINE_WEBHOOK_JWKS_URL="", SHIPENGINE_BASE_URL="https://api.example.test/")
def test_default_jwks_address_follows_the_base_url():
    assert api_client.jwks_url() == "https://api.example.test/jwks"
