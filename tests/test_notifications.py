"""Customer e-mail updates: from the outbox to a real SMTP server (aiosmtpd), once per milestone
and parcel whatever happens, with retries, permanent failures and one-click unsubscribe."""

from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.test import Client
from django.utils import timezone

from tests.concurrency import run_concurrently
from tests.conftest import EPOCH
from tests.factories import ShipmentFactory
from tests.smtp import SmtpSink
from tracking import services, tasks
from tracking.models import (
    ChangeRecord,
    Frequency,
    Notification,
    NotificationKind,
    NotificationState,
    Shipment,
    Subscription,
    SubscriptionSource,
)
from tracking.sandbox import Sandbox, serve_in_thread
from tracking.services import ingest, notifications, outbox
from tracking.shipengine import TrackingInfo

pytestmark = pytest.mark.django_db

ADDRESS = "reader@example.com"


@pytest.fixture(scope="module")
def sink_server():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(sink_server: SmtpSink, settings) -> SmtpSink:
    sink_server.messages.clear()
    sink_server.refuse.clear()
    sink_server.refuse_once.clear()
    sink_server.fail_data = ""
    settings.MAILERS = sink_server.mailers()
    # The seed's scans are from 2021: old news would e-mail nobody (tested on its own below).
    settings.NOTIFY_MAX_AGE_HOURS = 10**7
    settings.SITE_URL = "https://track.example.com"
    return sink_server


def answer(seed_example: dict, **changes) -> TrackingInfo:
    data = copy.deepcopy(seed_example)
    data.update(changes)
    return TrackingInfo.from_json(data)


def in_transit(seed_example: dict) -> dict:
    """The seed's parcel one scan before delivery, still in transit."""
    data = copy.deepcopy(seed_example)
    data["status_code"] = "IT"
    data["status_description"] = "In Transit"
    data["actual_delivery_date"] = None
    data["events"] = data["events"][1:]
    return data


@pytest.fixture
def shipment() -> Shipment:
    return ShipmentFactory(
        carrier__code="usps",
        tracking_number="9405511899223197428490",
        customer_name="Jane Private",
        reference="ORDER-SECRET-1",
        notes="staff only note",
    )


def subscribe(shipment: Shipment, email: str = ADDRESS, frequency=Frequency.IMPORTANT, **kw):
    return Subscription.objects.create(
        shipment=shipment,
        email=email,
        frequency=frequency,
        confirmed_at=timezone.now(),
        **kw,
    )


def deliver(shipment: Shipment, info: TrackingInfo) -> None:
    ingest.ingest_tracking(shipment_id=shipment.pk, info=info)
    outbox.dispatch()
    notifications.send_due()


# -- what an e-mail is ------------------------------------------------------------------------
def test_a_milestone_reaches_a_subscriber_through_smtp_as_a_branded_two_part_message(
    smtp, shipment, seed_example, settings
):
    settings.BRAND_NAME = "Acme Parcels"
    settings.BRAND_SUPPORT_URL = "https://help.example.com"
    subscribe(shipment)
    deliver(shipment, answer(seed_example))

    [message] = smtp.to(ADDRESS)
    assert message["Subject"] == "Your parcel: Delivered"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Auto-Submitted"] == "auto-generated"
    # RFC 8058: a one-click unsubscribe URL and the POST body that triggers it.
    unsubscribe = re.fullmatch(
        r"<(https://track\.example\.com/email/unsubscribe/[^>]+/)>", message["List-Unsubscribe"]
    )
    assert unsubscribe, message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    public = f"https://track.example.com/t/{shipment.public_token}/"
    assert public in text and public in html
    assert "Delivered" in text and "9405511899223197428490" in text
    assert "Acme Parcels" in html and "https://help.example.com" in html
    # The CSS is inlined (the button carries its own style), the dark-mode block is kept.
    assert re.search(r'<a class="button"[^>]*style="[^"]*background', html)
    assert "prefers-color-scheme: dark" in html
    for private in ("Jane Private", "ORDER-SECRET-1", "staff only note"):
        assert private not in text and private not in html
    row = Notification.objects.get()
    assert row.state == NotificationState.SENT and row.kind == NotificationKind.MILESTONE
    assert row.milestone == "delivered" and row.message_id == message["Message-ID"]
    assert row.body_text.strip() == text.strip().replace("\r\n", "\n")


def test_the_email_is_written_in_the_subscribers_language(smtp, shipment, seed_example, settings):
    settings.LANGUAGES = [("en", "English"), ("de", "Deutsch")]
    subscribe(shipment, language="de")
    deliver(shipment, answer(seed_example))
    [message] = smtp.to(ADDRESS)
    assert '<html lang="de">' in message.get_body(("html",)).get_content()
    assert Notification.objects.get().language == "de"


def test_an_unknown_language_falls_back_to_the_default(smtp, shipment, seed_example):
    subscribe(shipment, language="xx-nope")
    deliver(shipment, answer(seed_example))
    [message] = smtp.to(ADDRESS)
    assert '<html lang="en">' in message.get_body(("html",)).get_content()


# -- who gets what -----------------------------------------------------------------------------
def test_important_only_skips_plain_scans_every_update_gets_them(smtp, shipment, seed_example):
    subscribe(shipment, "important@example.com", Frequency.IMPORTANT)
    subscribe(shipment, "every@example.com", Frequency.EVERY)
    early = in_transit(seed_example)
    early["events"] = early["events"][1:]
    deliver(shipment, answer(early))  # first scans: an update, no milestone
    deliver(shipment, answer(in_transit(seed_example)))  # one more scan
    assert smtp.to("important@example.com") == []
    assert len(smtp.to("every@example.com")) == 2
    deliver(shipment, answer(seed_example))  # delivered: a milestone for both
    assert [m["Subject"] for m in smtp.to("important@example.com")] == ["Your parcel: Delivered"]
    assert len(smtp.to("every@example.com")) == 3


def test_nothing_is_sent_before_the_subscription_is_confirmed(smtp, shipment, seed_example):
    Subscription.objects.create(shipment=shipment, email=ADDRESS)  # not confirmed
    deliver(shipment, answer(seed_example))
    assert smtp.to(ADDRESS) == [] and not Notification.objects.exists()


def test_stored_customer_email_gets_milestones_only_with_notify_customers(
    smtp, seed_example, settings
):
    settings.NOTIFY_CUSTOMERS = False
    quiet = ShipmentFactory(
        carrier__code="usps", tracking_number="Q1", customer_email="c1@example.com"
    )
    deliver(quiet, answer(seed_example))
    assert smtp.to("c1@example.com") == []

    settings.NOTIFY_CUSTOMERS = True
    loud = ShipmentFactory(
        carrier__code="usps", tracking_number="Q2", customer_email="C2@Example.COM"
    )
    early = in_transit(seed_example)
    deliver(loud, answer(early))  # no milestone: nothing for a customer who did not subscribe
    assert smtp.to("C2@example.com") == []
    deliver(loud, answer(seed_example))
    [message] = smtp.to("C2@example.com")
    assert message["Subject"] == "Your parcel: Delivered" and message["List-Unsubscribe"]
    row = Subscription.objects.get(shipment=loud)
    assert row.source == SubscriptionSource.CUSTOMER and row.email == "C2@example.com"


def test_a_customer_who_also_subscribed_gets_one_email_per_milestone(smtp, seed_example, settings):
    settings.NOTIFY_CUSTOMERS = True
    parcel = ShipmentFactory(carrier__code="usps", tracking_number="Q3", customer_email=ADDRESS)
    subscribe(parcel, ADDRESS, Frequency.EVERY)
    deliver(parcel, answer(seed_example))
    assert len(smtp.to(ADDRESS)) == 1


def test_old_news_emails_nobody(smtp, shipment, seed_example, settings):
    settings.NOTIFY_MAX_AGE_HOURS = 72  # the seed's delivery is from 2021
    subscribe(shipment)
    deliver(shipment, answer(seed_example))
    assert smtp.to(ADDRESS) == [] and not Notification.objects.exists()


# -- never twice ---------------------------------------------------------------------------------
def test_two_workers_dispatching_and_sending_at_once_send_each_email_once(
    smtp, seed_example, transactional_db
):
    parcels = [ShipmentFactory(carrier__code="usps", tracking_number=f"RACE{i}") for i in range(6)]
    for parcel in parcels:
        subscribe(parcel)
        ingest.ingest_tracking(shipment_id=parcel.pk, info=answer(seed_example))
    # Both workers' sweeps, then both senders, really overlapping.
    run_concurrently(lambda: outbox.dispatch(batch_size=2), 2)
    run_concurrently(lambda: notifications.send_due(batch_size=2), 2)
    assert len(smtp.to(ADDRESS)) == 6
    assert Notification.objects.filter(state=NotificationState.SENT).count() == 6


def test_a_consumer_run_twice_on_the_same_records_writes_one_row(smtp, shipment, seed_example):
    """A worker that wrote the rows and died before marking the records dispatched: the next
    sweep hands the same records over again."""
    subscribe(shipment)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    records = list(ChangeRecord.objects.filter(shipment=shipment))
    notifications.fan_out(records)
    notifications.fan_out(records)
    assert Notification.objects.count() == 1


def test_a_retried_send_task_sends_nothing_again(smtp, shipment, seed_example):
    subscribe(shipment)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    outbox.dispatch()
    first = tasks.send_notifications.call()
    again = tasks.send_notifications.call()
    assert (first["sent"], again["sent"]) == (1, 0)
    assert len(smtp.to(ADDRESS)) == 1


def test_the_same_milestone_in_a_later_change_is_not_sent_again(smtp, shipment, seed_example):
    subscribe(shipment)
    deliver(shipment, answer(seed_example))
    # The carrier re-sends the delivery scan with a changed description: a new event, and the
    # status goes back and forth -- "delivered" is reached once per parcel.
    data = copy.deepcopy(seed_example)
    data["status_code"] = "IT"
    data["events"] = [{**data["events"][0], "description": "Sorting"}, *data["events"][1:]]
    deliver(shipment, answer(data))
    deliver(shipment, answer(seed_example))
    assert [m["Subject"] for m in smtp.to(ADDRESS)] == ["Your parcel: Delivered"]


def test_a_poll_and_a_webhook_carrying_the_same_scan_send_once(smtp, shipment, seed_example):
    subscribe(shipment)
    info = answer(seed_example)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=info)  # the poll
    ingest.ingest_tracking(shipment_id=shipment.pk, info=info)  # the webhook, same scans
    outbox.dispatch()
    notifications.send_due()
    assert len(smtp.to(ADDRESS)) == 1


def test_an_exception_scan_seen_twice_is_one_email_a_new_exception_is_another(
    smtp, shipment, seed_example
):
    subscribe(shipment)
    data = in_transit(seed_example)
    data["status_code"] = "EX"
    data["events"][0] = {**data["events"][0], "status_code": "EX", "description": "Held"}
    deliver(shipment, answer(data))
    deliver(shipment, answer(data))
    assert len(smtp.to(ADDRESS)) == 1
    later = copy.deepcopy(data)
    later["events"].insert(
        0, {**data["events"][0], "occurred_at": "2021-09-21T10:00:00Z", "description": "Held again"}
    )
    deliver(shipment, answer(later))
    assert len(smtp.to(ADDRESS)) == 2


# -- nothing lost ------------------------------------------------------------------------------
def test_a_crash_between_commit_and_send_loses_nothing(smtp, shipment, seed_example):
    subscribe(shipment)
    # The ingest committed its change record, then the process died: no dispatch, no send.
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    assert smtp.to(ADDRESS) == []
    # The scheduler's sweep (run_worker, refresh_due) finds it.
    outbox.dispatch()
    tasks.enqueue_notification_sends()
    notifications.send_due()
    assert len(smtp.to(ADDRESS)) == 1


def test_a_sender_that_died_mid_send_is_replaced_when_its_claim_runs_out(
    smtp, shipment, seed_example
):
    subscribe(shipment)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    outbox.dispatch()
    claimed = notifications._claim(10, timezone.now())  # a sender took it, then crashed
    assert len(claimed) == 1
    assert notifications.send_due().sent == 0  # its claim still holds
    Notification.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert notifications.send_due().sent == 1
    assert len(smtp.to(ADDRESS)) == 1


def test_after_commit_the_task_sends_at_once(
    smtp, shipment, seed_example, django_capture_on_commit_callbacks
):
    subscribe(shipment)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    assert len(smtp.to(ADDRESS)) == 1


# -- failures ------------------------------------------------------------------------------------
def test_a_temporary_refusal_is_retried_with_backoff_then_sent(
    smtp, shipment, seed_example, settings
):
    settings.NOTIFY_RETRY_SCHEDULE_SECONDS = [30, 300]
    subscribe(shipment)
    smtp.refuse_once[ADDRESS] = "451 4.3.0 Mailbox busy, try later"
    before = timezone.now()
    deliver(shipment, answer(seed_example))
    row = Notification.objects.get()
    assert row.state == NotificationState.PENDING and row.attempts == 1
    assert "451" in row.error
    assert row.next_attempt_at >= before + timedelta(seconds=30)
    assert notifications.send_due().sent == 0  # not before its time
    Notification.objects.update(next_attempt_at=timezone.now())
    assert notifications.send_due().sent == 1
    row.refresh_from_db()
    assert row.state == NotificationState.SENT and row.attempts == 2 and row.error == ""
    assert len(smtp.to(ADDRESS)) == 1


def test_a_permanent_refusal_fails_at_once_with_the_servers_words(smtp, shipment, seed_example):
    subscribe(shipment)
    smtp.refuse[ADDRESS] = "550 5.1.1 No such user here"
    deliver(shipment, answer(seed_example))
    row = Notification.objects.get()
    assert row.state == NotificationState.FAILED and row.attempts == 1
    assert "550" in row.error and "No such user" in row.error
    assert row.next_attempt_at is None


def test_retries_used_up_fail_for_good(smtp, shipment, seed_example, settings):
    settings.NOTIFY_RETRY_SCHEDULE_SECONDS = [1]
    subscribe(shipment)
    smtp.fail_data = "452 4.3.1 Insufficient system storage"
    deliver(shipment, answer(seed_example))
    Notification.objects.update(next_attempt_at=timezone.now())
    notifications.send_due()
    row = Notification.objects.get()
    assert (row.state, row.attempts) == (NotificationState.FAILED, 2)
    assert "452" in row.error


def test_an_unreachable_server_is_a_temporary_failure(shipment, seed_example, settings):
    settings.NOTIFY_MAX_AGE_HOURS = 10**7
    settings.MAILERS = SmtpSink(port=1).mailers()  # nothing listens on port 1
    subscribe(shipment)
    deliver(shipment, answer(seed_example))
    row = Notification.objects.get()
    assert row.state == NotificationState.PENDING and row.attempts == 1
    assert "Connection" in row.error or "refused" in row.error.lower()


def test_the_locmem_mailer_in_other_tests_gets_the_same_message(shipment, seed_example, settings):
    """Other tests use Django's in-memory mailer (test settings): the same path, mail.outbox."""
    settings.NOTIFY_MAX_AGE_HOURS = 10**7
    subscribe(shipment)
    deliver(shipment, answer(seed_example))
    [message] = django_mail.outbox
    assert message.to == [ADDRESS] and message.extra_headers["List-Unsubscribe-Post"]


# -- unsubscribe -------------------------------------------------------------------------------
def test_one_click_unsubscribe_from_the_header_stops_further_emails(smtp, shipment, seed_example):
    subscribe(shipment, frequency=Frequency.EVERY)
    early = in_transit(seed_example)
    deliver(shipment, answer(early))
    [message] = smtp.to(ADDRESS)
    url = message["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("https://track.example.com")
    # What a mail client sends (RFC 8058): a POST with this body, no cookie, no CSRF token.
    response = Client(enforce_csrf_checks=True).post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Subscription.objects.get().unsubscribed_at is not None
    deliver(shipment, answer(seed_example))
    assert len(smtp.to(ADDRESS)) == 1


def test_unsubscribing_cancels_what_is_still_waiting(smtp, shipment, seed_example):
    subscription = subscribe(shipment)
    ingest.ingest_tracking(shipment_id=shipment.pk, info=answer(seed_example))
    outbox.dispatch()
    notifications.unsubscribe(subscription_id=subscription.pk)
    notifications.send_due()
    assert smtp.to(ADDRESS) == []
    assert Notification.objects.get().state == NotificationState.CANCELLED


# -- the same scan by a webhook and a poll, and a replayed webhook (through the real endpoint) ------
DELIVERED_UPS = "1Z5R89390357567127"  # the sandbox's delivered parcel (signed for by J SMITH)
WEBHOOK_URL = "/webhooks/shipengine/track/"


@pytest.fixture(scope="module")
def signer():
    return Sandbox(epoch=EPOCH, clock=lambda: EPOCH)


@pytest.fixture(scope="module")
def jwks_url(signer):
    with serve_in_thread(signer) as base:
        yield f"{base}/jwks"


@pytest.fixture
def delivered_parcel(smtp, settings, jwks_url) -> Shipment:
    settings.SHIPENGINE_WEBHOOK_JWKS_URL = jwks_url
    settings.SHIPENGINE_WEBHOOK_SECRET = ""
    parcel = ShipmentFactory(carrier__code="ups", tracking_number=DELIVERED_UPS)
    subscribe(parcel)
    return parcel


def post_webhook(client, body: bytes, headers: dict[str, str]):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", **extra)


def test_a_replayed_webhook_sends_nothing_more(client, signer, delivered_parcel, smtp):
    body = signer.track_webhook_body("ups", DELIVERED_UPS)
    headers = signer.sign_webhook(body)
    for _ in range(3):  # ShipEngine retries a delivery it thinks failed
        assert post_webhook(client, body, headers).status_code == 200
        outbox.dispatch()
        notifications.send_due()
    assert [m["Subject"] for m in smtp.to(ADDRESS)] == ["Your parcel: Delivered"]


def test_a_webhook_then_a_poll_of_the_same_scans_send_one_email(
    client, signer, delivered_parcel, smtp, settings
):
    body = signer.track_webhook_body("ups", DELIVERED_UPS)
    assert post_webhook(client, body, signer.sign_webhook(body)).json()["outcome"] == "ingested"
    outbox.dispatch()
    notifications.send_due()
    settings.SHIPENGINE_SANDBOX_EPOCH = EPOCH.isoformat()
    services.refresh_shipment(shipment_id=delivered_parcel.pk)  # the poll: the same scans
    outbox.dispatch()
    notifications.send_due()
    assert len(smtp.to(ADDRESS)) == 1
    assert Notification.objects.filter(shipment=delivered_parcel).count() == 1


def test_a_staff_send_does_not_subscribe_the_customer_without_notify_customers(
    smtp, seed_example, settings
):
    settings.NOTIFY_CUSTOMERS = False
    parcel = ShipmentFactory(carrier__code="usps", tracking_number="Q4", customer_email=ADDRESS)
    notifications.send_tracking_link(shipment_id=parcel.pk, request_key="press-1")
    notifications.send_due()
    assert len(smtp.to(ADDRESS)) == 1  # the link staff sent
    deliver(parcel, answer(seed_example))
    assert len(smtp.to(ADDRESS)) == 1  # no milestone e-mail: nobody asked for those


def test_a_changed_customer_email_moves_the_updates_to_the_new_address(
    smtp, seed_example, settings
):
    settings.NOTIFY_CUSTOMERS = True
    parcel = ShipmentFactory(
        carrier__code="usps", tracking_number="Q5", customer_email="old@example.com"
    )
    deliver(parcel, answer(in_transit(seed_example)))
    # The consumer made the customer's row (so an unsubscribe would be remembered).
    assert Subscription.objects.get(shipment=parcel).email == "old@example.com"
    Shipment.objects.filter(pk=parcel.pk).update(customer_email="new@example.com")
    deliver(parcel, answer(seed_example))
    assert smtp.to("old@example.com") == []
    assert len(smtp.to("new@example.com")) == 1
