"""Outgoing webhooks: one delivery per (endpoint, change) for the kinds subscribed, signed the
Standard Webhooks way (verified here with the `standardwebhooks` package against a real HTTP
receiver on loopback), at least once with a stable id, in order per shipment, retried on the
schedule, an endpoint failing for a day disabled; outbound safety (https, no private targets,
the checked address, timeouts, no redirects)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook
from werkzeug.wrappers import Response

from tests.api_support import make_api, make_shipment
from tests.certificates import make_certificates
from tracking.models import (
    ChangeRecord,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tracking.services import housekeeping, outbound_webhooks, outbox, webhook_targets

pytestmark = pytest.mark.django_db

ALL = [
    "shipment.created",
    "shipment.updated",
    "shipment.status_changed",
    "shipment.delivered",
    "shipment.exception",
]


@pytest.fixture
def debug(settings):
    # http://127.0.0.1 receivers are allowed with DEBUG on only.
    settings.DEBUG = True
    return settings


@pytest.fixture
def endpoint(debug, httpserver) -> outbound_webhooks.NewEndpoint:
    return outbound_webhooks.create_endpoint(url=httpserver.url_for("/hook"), event_types=ALL)


def change(shipment, kinds, previous="", status="", now=None) -> ChangeRecord:
    return ChangeRecord.objects.create(
        shipment=shipment,
        created_at=now or datetime.now(UTC),
        kinds=kinds,
        previous_status=previous,
        status=status,
    )


def received(httpserver, path: str = "") -> list:
    # By path: a slow handler of another test may still log its request after that test ended.
    return [request for request, _response in httpserver.log if not path or request.path == path]


# --- Fan-out ----------------------------------------------------------------------------------
def test_one_delivery_per_subscribed_endpoint_and_change_with_the_most_specific_kind(debug):
    every = outbound_webhooks.create_endpoint(url="http://localhost:9/a", event_types=ALL).endpoint
    updates = outbound_webhooks.create_endpoint(
        url="http://localhost:9/b", event_types=["shipment.updated"]
    ).endpoint
    created_only = outbound_webhooks.create_endpoint(
        url="http://localhost:9/c", event_types=["shipment.created"]
    ).endpoint
    off = outbound_webhooks.create_endpoint(url="http://localhost:9/d", event_types=ALL).endpoint
    WebhookEndpoint.objects.filter(pk=off.pk).update(is_active=False)
    shipment = make_shipment()
    delivered = change(
        shipment, ["shipment.updated", "shipment.status_changed", "shipment.delivered"], "IT", "DE"
    )
    outbox.dispatch()
    rows = {(d.endpoint_id, d.event_type) for d in WebhookDelivery.objects.filter(change=delivered)}
    assert rows == {(every.pk, "shipment.delivered"), (updates.pk, "shipment.updated")}
    assert not WebhookDelivery.objects.filter(endpoint__in=[created_only, off]).exists()
    # Dispatching again (a second worker, a crash and a sweep) adds nothing.
    ChangeRecord.objects.update(dispatched_at=None)
    outbox.dispatch()
    assert WebhookDelivery.objects.count() == 2


def test_the_payload_is_the_shipment_and_the_change(debug, settings):
    settings.SITE_URL = "https://track.example.com"
    outbound_webhooks.create_endpoint(url="http://localhost:9/a", event_types=ALL)
    shipment = make_shipment(status_code="DE", reference="ORDER-7")
    record = change(
        shipment, ["shipment.updated", "shipment.status_changed", "shipment.delivered"], "IT", "DE"
    )
    outbox.dispatch()
    body = json.loads(WebhookDelivery.objects.get().body)
    assert body["type"] == "shipment.delivered"
    assert body["timestamp"].endswith("Z")
    assert body["data"]["change"] == {
        "id": record.pk,
        "kinds": record.kinds,
        "previous_status_code": "IT",
        "status_code": "DE",
        "events_added": 0,
    }
    assert body["data"]["shipment"]["reference"] == "ORDER-7"
    assert (
        body["data"]["shipment"]["public_url"]
        == f"https://track.example.com/t/{shipment.public_token}/"
    )


def test_no_endpoints_no_deliveries_and_no_send_task(django_capture_on_commit_callbacks):
    from tracking import tasks

    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.enqueue_webhook_sends()
    assert not WebhookDelivery.objects.exists() and callbacks == []


def test_a_due_delivery_queues_a_send_task(endpoint, django_capture_on_commit_callbacks):
    from tracking import tasks

    outbox.record_created([make_shipment().pk])
    with django_capture_on_commit_callbacks() as callbacks:
        outbox.dispatch()  # on_dispatched -> tasks.enqueue_webhook_sends
    assert callbacks == [tasks.send_webhooks.enqueue]


# --- Signed sends to a real receiver ----------------------------------------------------------
def test_a_delivery_is_signed_so_standardwebhooks_verifies_it(endpoint, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)
    shipment = make_shipment()
    outbox.record_created([shipment.pk])
    outbox.dispatch()
    report = outbound_webhooks.send_due()
    assert report.delivered == 1
    (request,) = received(httpserver, "/hook")
    payload = Webhook(endpoint.secret).verify(request.get_data(), dict(request.headers))
    assert payload["type"] == "shipment.created"
    assert payload["data"]["shipment"]["id"] == shipment.pk
    delivery = WebhookDelivery.objects.get()
    assert request.headers["webhook-id"] == delivery.msg_id and delivery.msg_id.startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert request.headers["content-type"] == "application/json"
    assert (
        delivery.state,
        delivery.attempts,
        delivery.response_status,
        delivery.response_body,
    ) == (
        DeliveryState.DELIVERED,
        1,
        200,
        "thanks",
    )
    # A wrong secret does not verify (the check above can fail).
    with pytest.raises(Exception, match="signature"):
        Webhook(outbound_webhooks.new_secret()).verify(request.get_data(), dict(request.headers))


def test_the_api_registers_an_endpoint_and_a_new_shipment_reaches_it(
    debug, client, httpserver, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("tracking.tasks.enqueue_refreshes", lambda ids, **kw: None)
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    api = make_api(client)
    made = api.post(
        "/api/v1/webhook-endpoints",
        {"url": httpserver.url_for("/hook"), "event_types": ["shipment.created"]},
    )
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    listed = api.get("/api/v1/webhook-endpoints").json()["data"]
    assert [e["id"] for e in listed] == [made.json()["id"]] and "secret" not in listed[0]
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/shipments", {"tracking_number": "1Z999AA10123456784"})
    (request,) = received(httpserver, "/hook")
    assert (
        Webhook(secret).verify(request.get_data(), dict(request.headers))["type"]
        == "shipment.created"
    )


def test_a_failed_attempt_is_logged_and_retried_on_the_schedule_with_the_same_id(
    endpoint, httpserver, settings
):
    httpserver.expect_request("/hook").respond_with_data("E" * 5000, status=500)
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    delivery = WebhookDelivery.objects.get()
    waits = []
    for attempt in range(1, 8):
        before = datetime.now(UTC)
        outbound_webhooks.send_due()
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        if delivery.next_attempt_at is not None:
            waits.append(round((delivery.next_attempt_at - before).total_seconds()))
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=before)
    assert waits == [5, 300, 1800, 7200, 18000, 36000]
    assert delivery.state == DeliveryState.FAILED
    assert {r.headers["webhook-id"] for r in received(httpserver, "/hook")} == {delivery.msg_id}
    log = list(WebhookAttempt.objects.filter(delivery=delivery))
    assert len(log) == 7 and all(a.response_status == 500 for a in log)
    assert len(log[0].response_body) == 1024 and delivery.response_body == "E" * 1024
    assert delivery.error == "HTTP 500"


def test_nothing_is_sent_before_its_retry_time(endpoint, httpserver):
    httpserver.expect_request("/hook").respond_with_data("", status=503)
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    report = outbound_webhooks.send_due()
    assert len(received(httpserver, "/hook")) == 1
    assert report.next_retry_at is not None


def test_changes_of_one_shipment_go_out_in_order_even_across_failures(endpoint, httpserver):
    answers = iter([500, 200, 200, 200])
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("", status=next(answers))
    )
    one, two = make_shipment("A1"), make_shipment("B2")
    first = change(one, ["shipment.created"])
    second = change(one, ["shipment.updated"])
    other = change(two, ["shipment.created"])
    outbox.dispatch()
    outbound_webhooks.send_due()  # first fails; second must wait; the other shipment goes on
    sent = [json.loads(r.get_data())["data"]["change"]["id"] for r in received(httpserver, "/hook")]
    assert sent == [first.pk, other.pk]
    WebhookDelivery.objects.pending().update(next_attempt_at=datetime.now(UTC))
    outbound_webhooks.send_due()
    sent = [json.loads(r.get_data())["data"]["change"]["id"] for r in received(httpserver, "/hook")]
    assert sent == [first.pk, other.pk, first.pk, second.pk]


def test_an_endpoint_failing_for_a_day_is_disabled_with_a_notice(
    endpoint, httpserver, admin_client
):
    httpserver.expect_request("/hook").respond_with_data("down", status=502)
    WebhookEndpoint.objects.filter(pk=endpoint.endpoint.pk).update(
        failing_since=datetime.now(UTC) - timedelta(hours=25)
    )
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    hook = WebhookEndpoint.objects.get()
    assert not hook.is_active and "HTTP 502" in hook.disabled_reason
    # While disabled: new changes are not recorded for it, waiting ones are not sent.
    outbox.record_created([make_shipment("Z9").pk])
    outbox.dispatch()
    WebhookDelivery.objects.update(next_attempt_at=datetime.now(UTC))
    outbound_webhooks.send_due()
    assert len(received(httpserver, "/hook")) == 1 and WebhookDelivery.objects.count() == 1
    page = admin_client.get("/admin/tracking/webhookendpoint/")
    notices = [str(m) for m in page.context["messages"]]
    assert any(hook.url in n and "disabled" in n for n in notices)
    # Enabled again: what waited goes out.
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("ok")
    outbound_webhooks.enable_endpoints(endpoint_ids=[hook.pk])
    outbound_webhooks.send_due()
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


def test_a_success_ends_the_failing_spell(endpoint, httpserver):
    answers = iter([500, 200])
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("", status=next(answers))
    )
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    assert WebhookEndpoint.objects.get().failing_since is not None
    WebhookDelivery.objects.update(next_attempt_at=datetime.now(UTC))
    outbound_webhooks.send_due()
    assert WebhookEndpoint.objects.get().failing_since is None


def test_replay_sends_again_with_the_same_id(endpoint, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    delivery = WebhookDelivery.objects.get()
    assert outbound_webhooks.replay(delivery_ids=[delivery.pk]) == 1
    outbound_webhooks.send_due()
    ids = [r.headers["webhook-id"] for r in received(httpserver, "/hook")]
    assert ids == [delivery.msg_id, delivery.msg_id]
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_a_claimed_delivery_is_left_alone_until_its_lease_runs_out(endpoint, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    WebhookDelivery.objects.update(locked_until=datetime.now(UTC) + timedelta(minutes=1))
    outbound_webhooks.send_due()
    assert received(httpserver, "/hook") == []
    WebhookDelivery.objects.update(locked_until=datetime.now(UTC) - timedelta(seconds=1))
    outbound_webhooks.send_due()  # the sender that claimed it died: taken again (at least once)
    assert len(received(httpserver, "/hook")) == 1


# --- Outbound safety --------------------------------------------------------------------------
def test_redirects_are_not_followed(endpoint, httpserver):
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("should never be asked")
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    assert len(received(httpserver, "/hook")) == 1 and received(httpserver, "/elsewhere") == []
    delivery = WebhookDelivery.objects.get()
    assert (
        delivery.state == DeliveryState.PENDING and "redirects are not followed" in delivery.error
    )


def test_a_receiver_slower_than_the_read_timeout_is_a_failed_attempt(
    endpoint, httpserver, settings
):
    settings.WEBHOOK_READ_TIMEOUT = 0.3

    def slow(request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    outbound_webhooks.delete_endpoint(endpoint_id=endpoint.endpoint.pk)
    outbound_webhooks.create_endpoint(url=httpserver.url_for("/slow"), event_types=ALL)
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    started = time.monotonic()
    outbound_webhooks.send_due()
    assert time.monotonic() - started < 0.9
    assert "Timeout" in WebhookDelivery.objects.get().error


def test_a_receiver_that_is_not_there_is_a_failed_attempt(debug):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outbound_webhooks.create_endpoint(url=f"http://127.0.0.1:{port}/", event_types=ALL)
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1 and delivery.error


@pytest.mark.parametrize(
    ("url", "debug_on"),
    [
        ("http://hooks.example.com/x", False),
        ("http://hooks.example.com/x", True),  # http only to localhost, even with DEBUG
        ("http://localhost:8000/x", False),
        ("ftp://hooks.example.com/x", False),
        ("https://user:pass@hooks.example.com/x", False),
        ("https:///x", False),
        ("https://127.0.0.1/x", False),
        ("https://10.1.2.3/x", False),
        ("https://192.168.0.1/x", False),
        ("https://172.16.0.1/x", False),
        ("https://100.64.0.1/x", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://[::1]/x", False),
        ("https://[fe80::1]/x", False),
        ("https://[fd00::1]/x", False),
        ("https://[::ffff:127.0.0.1]/x", False),
        ("https://0.0.0.0/x", False),
        ("https://224.0.0.1/x", False),
        ("https://hooks.example.com:99999/x", False),
        ("not a url", False),
    ],
)
def test_urls_webhooks_may_not_go_to(settings, url, debug_on):
    settings.DEBUG = debug_on
    with pytest.raises(webhook_targets.TargetRefused):
        webhook_targets.check_url(url)


def test_allowed_urls(settings):
    settings.DEBUG = False
    assert webhook_targets.check_url("https://hooks.example.com/a?b=1").path == "/a?b=1"
    assert webhook_targets.check_url("https://8.8.8.8:8443/").port == 8443
    settings.DEBUG = True
    assert webhook_targets.check_url("http://localhost:8000/x").host == "localhost"
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert webhook_targets.check_url("https://10.1.2.3/x").host == "10.1.2.3"


def fake_dns(monkeypatch, *answers: list[str]) -> list[str]:
    """getaddrinfo answering `answers` in turn; returns the names looked up."""
    asked: list[str] = []
    queue = list(answers)

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(webhook_targets.socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_host_resolving_to_a_private_address_is_refused_before_connecting(settings, monkeypatch):
    settings.DEBUG = False
    fake_dns(monkeypatch, ["93.184.216.34", "10.0.0.5"])
    target = webhook_targets.check_url("https://hooks.example.com/x")
    with pytest.raises(webhook_targets.TargetRefused, match=r"10\.0\.0\.5"):
        webhook_targets.resolve(target)


def test_a_refused_target_is_a_failed_attempt_with_the_reason(settings, monkeypatch):
    settings.DEBUG = False
    fake_dns(monkeypatch, ["127.0.0.1"])
    outbound_webhooks.create_endpoint(url="https://rebind.example.com/x", event_types=ALL)
    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    outbound_webhooks.send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.error.startswith("Refused:") and "127.0.0.1" in delivery.error
    assert WebhookAttempt.objects.get().response_status is None


def test_the_connection_goes_to_the_checked_address_with_the_host_name(httpserver):
    """DNS may answer differently a moment later (rebinding): the sender never asks again; it
    connects to the address that passed the check and sends the name in Host."""
    httpserver.expect_request("/pinned").respond_with_data("ok")
    target = webhook_targets.Target(
        scheme="http", host="hooks.example.test", port=httpserver.port, path="/pinned"
    )
    sender = webhook_targets.Sender()
    try:
        answer = sender.post(target, "127.0.0.1", body=b"{}", headers={})
    finally:
        sender.close()
    assert answer.status == 200
    (request,) = received(httpserver, "/pinned")
    assert request.headers["Host"] == f"hooks.example.test:{httpserver.port}"


def test_endpoint_urls_are_checked_when_registered(client, settings):
    settings.DEBUG = False
    api = make_api(client)
    for url in ("http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.0.0.1/"):
        response = api.post(
            "/api/v1/webhook-endpoints", {"url": url, "event_types": ["shipment.created"]}
        )
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "url"
    ok = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/x", "event_types": ["shipment.created"]},
    )
    assert ok.status_code == 201
    again = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/x", "event_types": ["shipment.created"]},
    )
    assert again.status_code == 409
    bad_type = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/y", "event_types": ["shipment.nope"]},
    )
    assert bad_type.status_code == 422 and bad_type.json()["errors"][0]["field"].startswith(
        "event_types"
    )


def test_delete_an_endpoint(client, settings):
    api = make_api(client)
    made = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/x", "event_types": ["shipment.created"]},
    ).json()
    assert api.delete(f"/api/v1/webhook-endpoints/{made['id']}").status_code == 204
    assert api.delete(f"/api/v1/webhook-endpoints/{made['id']}").status_code == 404
    assert not WebhookEndpoint.objects.exists()


# --- Housekeeping -----------------------------------------------------------------------------
def test_finished_deliveries_are_pruned_after_the_retention_pending_ones_never(endpoint, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    outbox.record_created([make_shipment("H1").pk, make_shipment("H2").pk])
    outbox.dispatch()
    old = datetime.now(UTC) - timedelta(days=31)
    WebhookDelivery.objects.update(created_at=old)
    done = WebhookDelivery.objects.first()
    WebhookDelivery.objects.filter(pk=done.pk).update(state=DeliveryState.DELIVERED)
    assert housekeeping.housekeeping()["webhook_deliveries"] == 1
    assert list(WebhookDelivery.objects.values_list("state", flat=True)) == [DeliveryState.PENDING]


# --- https to a checked address: SNI and certificate checked for the name -----------------------
@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An https server on loopback with a certificate for hooks.example.test, signed by a CA
    the sender is made to trust (in place of the public CAs)."""
    import http.server
    import ssl
    import threading

    ca_file, cert_file, key_file = make_certificates(tmp_path, "hooks.example.test")
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            seen.append({"host": self.headers["Host"], "body": self.rfile.read(length)})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    # The refused handshake (a name the certificate does not have) is expected: no traceback.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(webhook_targets.certifi, "where", lambda: str(ca_file))
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_https_goes_to_the_checked_address_and_verifies_the_certificate_for_the_name(tls_receiver):
    port, seen = tls_receiver
    sender = webhook_targets.Sender()
    try:
        good = webhook_targets.Target(
            scheme="https", host="hooks.example.test", port=port, path="/"
        )
        assert sender.post(good, "127.0.0.1", body=b"{}", headers={}).status == 200
        assert seen[0]["host"] == f"hooks.example.test:{port}"
        # The same address under another name: the certificate does not match, nothing is sent.
        other = webhook_targets.Target(
            scheme="https", host="other.example.test", port=port, path="/"
        )
        with pytest.raises(Exception, match=r"(?i)certificate|hostname"):
            sender.post(other, "127.0.0.1", body=b"{}", headers={})
    finally:
        sender.close()
    assert len(seen) == 1


def test_the_readmes_by_hand_verification_accepts_our_signature_and_nothing_else():
    import base64
    import hashlib
    import hmac

    secret = outbound_webhooks.new_secret()
    body = b'{"type":"shipment.created"}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1764576000"}
    headers["webhook-signature"] = outbound_webhooks.sign(
        secret=secret, msg_id="msg_1", timestamp=1764576000, body=body
    )

    def by_hand(body: bytes) -> bool:  # as in README.md, "Shops and other systems"
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(
            hmac.compare_digest(sig.split(",", 1)[1], expected)
            for sig in headers["webhook-signature"].split()
        )

    assert by_hand(body)
    assert not by_hand(body + b" ")


def test_cron_refresh_due_queues_the_retries_that_came_due(
    endpoint, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    from tracking import tasks

    outbox.record_created([make_shipment().pk])
    outbox.dispatch()
    WebhookDelivery.objects.update(
        attempts=2, next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("refresh_due", stdout=StringIO())
    assert tasks.send_webhooks.enqueue in callbacks


def test_every_shipment_of_a_bulk_request_reaches_the_endpoint_without_waiting_for_a_sweep(
    debug, client, httpserver, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("tracking.tasks.enqueue_refreshes", lambda ids, **kw: None)
    monkeypatch.setattr("tracking.tasks.enqueue_fetches", lambda ids: None)
    httpserver.expect_request("/bulk").respond_with_data("", status=204)
    outbound_webhooks.create_endpoint(
        url=httpserver.url_for("/bulk"), event_types=["shipment.created"]
    )
    api = make_api(client)
    items = [{"tracking_number": f"WB{i:04d}", "carrier_code": "ups"} for i in range(450)]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/shipments/bulk", {"shipments": items}).json()["created"] == 450
    # The request dispatched the outbox's first batch (200); the send task took the rest.
    assert not ChangeRecord.objects.undispatched().exists()
    assert len(received(httpserver, "/bulk")) == 450
    assert WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).count() == 450
