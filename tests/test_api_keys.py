"""API keys from the command line and the admin (shown once, stored hashed, revocable), and
the admin pages for webhook endpoints and the delivery log (replay)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.api_support import Api, make_shipment
from tests.html import one, parse, texts
from tracking.models import ApiKey, DeliveryState, WebhookDelivery, WebhookEndpoint
from tracking.services import api_keys, outbound_webhooks, outbox

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_key_prints_the_key_once_on_its_own_line(client):
    out, err = run("webshop")
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("stk_")
    raw = lines[0]
    key = ApiKey.objects.get()
    assert key.name == "webshop" and key.scopes == ["read", "write"]
    assert key.prefix in err and raw not in err
    assert key.key_hash == api_keys.hash_key(raw) and raw not in (key.prefix, key.key_hash)
    assert Api(client, raw).get("/api/v1/shipments").status_code == 200


def test_create_api_key_scopes_and_rate_limit():
    run("reader", "--read-only")
    run("writer", "--scope", "write", "--rate-limit", "30")
    keys = {k.name: k for k in ApiKey.objects.all()}
    assert keys["reader"].scopes == ["read"]
    assert (keys["writer"].scopes, keys["writer"].rate_limit_per_minute) == (["write"], 30)


@pytest.mark.parametrize("args", [("  ",), ("x", "--rate-limit", "0")])
def test_create_api_key_refuses_what_makes_no_key(args):
    with pytest.raises(CommandError):
        run(*args)
    assert not ApiKey.objects.exists()


def test_the_admin_shows_a_new_key_once_and_never_again(admin_client, client):
    response = admin_client.post(
        "/admin/tracking/apikey/add/",
        {"name": "erp", "scopes": ["read"], "rate_limit_per_minute": ""},
    )
    assert response.status_code == 200
    raw = one(response, "#shown-once-secret")["value"]
    key = ApiKey.objects.get()
    assert raw.startswith(key.prefix + "_") and key.scopes == ["read"]
    assert Api(client, raw).get("/api/v1/shipments").status_code == 200
    change = admin_client.get(f"/admin/tracking/apikey/{key.pk}/change/")
    listing = admin_client.get("/admin/tracking/apikey/")
    for page in (change, listing):
        assert raw not in page.content.decode()
        assert key.key_hash not in page.content.decode()
    assert key.prefix in listing.content.decode()
    # Not in the session or a cookie either (messages would put it there).
    assert raw not in str(admin_client.cookies) and raw not in str(dict(admin_client.session))


def test_the_admin_revokes_keys(admin_client, client):
    made = api_keys.create_key(name="old", scopes=["read"])
    admin_client.post(
        "/admin/tracking/apikey/",
        {"action": "revoke_keys", "_selected_action": [made.api_key.pk]},
    )
    assert ApiKey.objects.get().revoked_at is not None
    assert Api(client, made.raw).get("/api/v1/shipments").status_code == 401


def test_the_admin_makes_an_endpoint_and_shows_its_secret_once(admin_client):
    response = admin_client.post(
        "/admin/tracking/webhookendpoint/add/",
        {
            "url": "https://hooks.example.com/in",
            "event_types": ["shipment.delivered"],
            "description": "shop",
        },
    )
    secret = one(response, "#shown-once-secret")["value"]
    endpoint = WebhookEndpoint.objects.get()
    assert secret == endpoint.secret and secret.startswith("whsec_")
    assert endpoint.event_types == ["shipment.delivered"]
    page = admin_client.get(f"/admin/tracking/webhookendpoint/{endpoint.pk}/change/")
    assert secret not in page.content.decode()


def test_the_admin_refuses_an_unsafe_endpoint_url(admin_client, settings):
    settings.DEBUG = False
    response = admin_client.post(
        "/admin/tracking/webhookendpoint/add/",
        {"url": "https://169.254.169.254/latest", "event_types": ["shipment.created"]},
    )
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    assert texts(response, ".errorlist")


def test_the_delivery_log_and_replay(admin_client, settings, django_assert_max_num_queries):
    settings.DEBUG = True
    endpoint = outbound_webhooks.create_endpoint(
        url="http://localhost:9/x", event_types=["shipment.created"]
    ).endpoint
    for i in range(5):
        outbox.record_created([make_shipment(f"L{i}").pk])
    outbox.dispatch()
    WebhookDelivery.objects.update(
        state=DeliveryState.FAILED, attempts=7, response_status=500, next_attempt_at=None
    )
    with django_assert_max_num_queries(12):
        listing = admin_client.get("/admin/tracking/webhookdelivery/")
    assert listing.status_code == 200
    assert len(parse(listing).select("#result_list tbody tr")) == 5
    delivery = WebhookDelivery.objects.first()
    detail = admin_client.get(f"/admin/tracking/webhookdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200 and delivery.msg_id in detail.content.decode()
    admin_client.post(
        "/admin/tracking/webhookdelivery/",
        {"action": "replay_deliveries", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
    endpoints = admin_client.get("/admin/tracking/webhookendpoint/")
    assert endpoints.status_code == 200 and endpoint.url in endpoints.content.decode()
    assert texts(endpoints, "#result_list td.field-pending_count") == ["1"]  # the replayed one


def test_the_admin_disables_and_enables_an_endpoint(admin_client):
    endpoint = outbound_webhooks.create_endpoint(
        url="https://hooks.example.com/x", event_types=["shipment.created"]
    ).endpoint
    admin_client.post(
        "/admin/tracking/webhookendpoint/",
        {"action": "disable_endpoints", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "admin" in endpoint.disabled_reason
    admin_client.post(
        "/admin/tracking/webhookendpoint/",
        {"action": "enable_endpoints", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_api_keys_and_webhook_secrets_are_redacted_from_logs(caplog):
    import logging

    from tracking.ops.logging import RedactSecretsFilter

    raw = api_keys.create_key(name="log", scopes=["read"]).raw
    secret = outbound_webhooks.new_secret()
    logger = logging.getLogger("shiptrack.test.redaction")
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "auth %s and %s", (raw, secret), None
    )
    assert RedactSecretsFilter().filter(record)
    assert raw not in record.getMessage() and secret not in record.getMessage()
    assert record.getMessage() == "auth [redacted] and [redacted]"
