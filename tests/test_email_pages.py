"""E-mail updates on the pages: subscribe with double opt-in, confirm, unsubscribe (page and RFC
8058 one-click), bad input of every kind, the staff button and list, the admin's log, demo mode."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import ShipmentFactory
from tests.html import parse
from tracking.models import (
    Frequency,
    Notification,
    NotificationKind,
    NotificationState,
    Shipment,
    Subscription,
)
from tracking.services import notifications

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://track.example.com"
    settings.NOTIFY_SUBSCRIBE_RATE_LIMIT = 5


@pytest.fixture
def shipment() -> Shipment:
    return ShipmentFactory(in_transit=True, customer_name="Jane Private", reference="R-77")


def subscribe_url(shipment: Shipment) -> str:
    return reverse("public:subscribe", args=[shipment.public_token])


def post_subscribe(client, shipment, email="reader@example.com", frequency="important", **extra):
    return client.post(subscribe_url(shipment), {"email": email, "frequency": frequency}, **extra)


def link_in(message, name: str) -> str:
    found = re.search(rf"https://track\.example\.com(/email/{name}/[^\s<>\"]+/)", message.body)
    assert found, message.body
    return found.group(1)


# -- the form on the tracking page -----------------------------------------------------------------
def test_the_tracking_page_has_the_subscribe_form(client, shipment):
    page = parse(client.get(reverse("public:track_page", args=[shipment.public_token])))
    form = page.select_one("section.email-updates form")
    assert form["action"] == subscribe_url(shipment) and form["method"] == "post"
    email = form.select_one("input[name=email]")
    assert email["type"] == "email" and page.select_one(f"label[for={email['id']}]")
    assert {i["value"] for i in form.select("input[name=frequency]")} == {"important", "every"}
    # Nothing per visitor in it, so a cached page can carry it.
    assert not form.select("input[name=csrfmiddlewaretoken]")


def test_subscribing_sends_a_confirmation_and_nothing_else_until_confirmed(client, shipment):
    response = post_subscribe(client, shipment, "Reader@Example.COM", "every")
    assert response.status_code == 200
    page = parse(response)
    assert "Check your inbox" in page.h1.text
    subscription = Subscription.objects.get()
    assert (subscription.email, subscription.frequency) == ("Reader@example.com", "every")
    assert subscription.confirmed_at is None
    notifications.send_due()
    [message] = django_mail.outbox
    assert message.to == ["Reader@example.com"]
    assert "confirm" in message.subject.lower()
    assert "List-Unsubscribe" not in message.extra_headers  # nothing to leave yet
    confirm = link_in(message, "confirm")

    # Opening the link (or a mail scanner fetching it) changes nothing; the button does.
    page = parse(client.get(confirm))
    assert page.select_one("form button[type=submit]")
    assert Subscription.objects.get().confirmed_at is None
    response = client.post(confirm)
    assert response.status_code == 200 and "You will get e-mail updates" in parse(response).h1.text
    assert Subscription.objects.get().is_active


def test_asking_again_gives_the_same_answer_and_at_most_one_confirmation_per_window(
    client, shipment
):
    first = parse(post_subscribe(client, shipment)).select_one("main").text
    second = parse(post_subscribe(client, shipment)).select_one("main").text
    assert first == second
    assert Subscription.objects.count() == 1
    assert Notification.objects.filter(kind=NotificationKind.CONFIRMATION).count() == 1


def test_a_confirmed_address_asking_again_is_told_the_same_and_sent_nothing(client, shipment):
    Subscription.objects.create(
        shipment=shipment, email="reader@example.com", confirmed_at=timezone.now()
    )
    response = post_subscribe(client, shipment, frequency="every")
    assert "Check your inbox" in parse(response).h1.text
    assert not Notification.objects.exists()
    assert Subscription.objects.get().frequency == Frequency.EVERY


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ("", "Enter your e-mail address"),
        ("not-an-address", "Enter one e-mail address"),
        ("a@b.c\r\nBcc: x@y.z", "Enter one e-mail address"),
        ("a@b.c\nBcc: x@y.z", "Enter one e-mail address"),
        ("a@b.c, x@y.z", "Enter one e-mail address"),
        ("<a@b.c>", "Enter one e-mail address"),
        ("x" * 250 + "@example.com", "too long"),
    ],
)
def test_bad_addresses_get_a_clear_message_and_change_nothing(client, shipment, email, words):
    response = post_subscribe(client, shipment, email)
    assert response.status_code == 400
    page = parse(response)
    error = page.select_one("#subscribe-email-error")
    assert words in error.text
    assert page.select_one("#subscribe-email")["aria-invalid"] == "true"
    assert not Subscription.objects.exists() and not Notification.objects.exists()


def test_a_header_injection_never_reaches_a_header(client, shipment):
    post_subscribe(client, shipment, "a@b.c\r\nBcc: x@y.z")
    notifications.send_due()
    assert django_mail.outbox == []
    with pytest.raises(notifications.EmailRefused):
        notifications.subscribe(
            shipment_id=shipment.pk, email="a@b.c\r\nBcc: x@y.z", frequency="every", language=""
        )


def test_an_unknown_frequency_is_refused_with_a_clear_message(client, shipment):
    response = post_subscribe(client, shipment, frequency="hourly")
    assert response.status_code == 400
    assert "Choose one of the two" in parse(response).select_one("#subscribe-frequency-error").text
    assert not Subscription.objects.exists()


def test_repeated_subscribe_requests_are_rate_limited(client, shipment, settings):
    settings.NOTIFY_SUBSCRIBE_RATE_LIMIT = 3
    for i in range(3):
        assert post_subscribe(client, shipment, f"r{i}@example.com").status_code == 200
    response = post_subscribe(client, shipment, "r9@example.com")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Please wait" in parse(response).h1.text
    assert not Subscription.objects.filter(email="r9@example.com").exists()


def test_subscribing_to_an_unknown_parcel_is_a_404_that_stores_nothing(client):
    response = client.post("/t/" + "x" * 43 + "/subscribe/", {"email": "a@example.com"})
    assert response.status_code == 404 and not Subscription.objects.exists()


def test_the_subscription_takes_the_pages_language(client, shipment, settings):
    settings.LANGUAGES = [("en", "English"), ("fr", "Français")]
    post_subscribe(client, shipment, HTTP_ACCEPT_LANGUAGE="fr")
    assert Subscription.objects.get().language == "fr"


# -- tokens ----------------------------------------------------------------------------------------
@pytest.fixture
def active(shipment) -> Subscription:
    return Subscription.objects.create(
        shipment=shipment, email="reader@example.com", confirmed_at=timezone.now()
    )


def test_the_unsubscribe_page_asks_then_stops_the_emails(client, active):
    url = reverse("public:unsubscribe", args=[notifications.unsubscribe_token(active)])
    page = parse(client.get(url))
    assert "reader@example.com" in page.select_one("main").text
    active.refresh_from_db()
    assert active.unsubscribed_at is None  # a GET changes nothing
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "No more e-mails" in parse(response).h1.text
    active.refresh_from_db()
    assert active.unsubscribed_at is not None
    assert client.post(url).status_code == 200  # twice is fine


@pytest.mark.parametrize("which", ["confirm_subscription", "unsubscribe"])
def test_a_tampered_token_changes_nothing(client, active, which):
    token = notifications.unsubscribe_token(active)
    other = Subscription.objects.create(shipment=active.shipment, email="other@example.com")
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        token.replace(str(active.pk), str(other.pk), 1),
        "nonsense",
        "x" * 500,
        notifications.confirm_token(active) if which == "unsubscribe" else token,  # wrong kind
    ]
    for bad in forged:
        response = client.post(reverse(f"public:{which}", args=[bad]))
        assert response.status_code == 400, bad
        assert "does not work" in parse(response).h1.text
    active.refresh_from_db()
    other.refresh_from_db()
    assert active.unsubscribed_at is None and other.confirmed_at is None


def test_an_expired_token_says_so_and_changes_nothing(client, shipment, monkeypatch, settings):
    waiting = Subscription.objects.create(shipment=shipment, email="late@example.com")
    token = notifications.confirm_token(waiting)
    later = time.time() + settings.NOTIFY_CONFIRM_TOKEN_HOURS * 3600 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.post(reverse("public:confirm_subscription", args=[token]))
    assert response.status_code == 410 and "expired" in parse(response).h1.text
    waiting.refresh_from_db()
    assert waiting.confirmed_at is None


def test_unsubscribe_links_last_longer_than_confirmations(client, active, monkeypatch, settings):
    token = notifications.unsubscribe_token(active)
    later = time.time() + settings.NOTIFY_CONFIRM_TOKEN_HOURS * 3600 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.post(reverse("public:unsubscribe", args=[token])).status_code == 200


# -- staff -----------------------------------------------------------------------------------------
def test_staff_send_the_tracking_link_and_see_it_listed(staff_client, settings):
    parcel = ShipmentFactory(in_transit=True, customer_email="buyer@example.com", language="en")
    page = parse(staff_client.get(reverse("staff:shipment_detail", args=[parcel.pk])))
    form = page.select_one("form.send-link-form")
    key = form.select_one("input[name=request_key]")["value"]
    url = form["action"]
    assert staff_client.post(url, {"request_key": key}).status_code == 302
    assert staff_client.post(url, {"request_key": key}).status_code == 302  # a double submit
    notifications.send_due()
    [message] = django_mail.outbox
    assert message.to == ["buyer@example.com"]
    assert f"https://track.example.com/t/{parcel.public_token}/" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    page = parse(staff_client.get(reverse("staff:shipment_detail", args=[parcel.pk])))
    rows = page.select(".emails-list .email-item")
    assert len(rows) == 1
    assert "buyer@example.com" in rows[0].text and "Sent" in rows[0].text
    assert "Track your parcel" in rows[0].select_one("pre.email-text").text


def test_the_button_without_a_customer_email_says_what_to_do(staff_client):
    parcel = ShipmentFactory(in_transit=True)
    page = parse(staff_client.get(reverse("staff:shipment_detail", args=[parcel.pk])))
    assert not page.select("form.send-link-form")
    response = staff_client.post(reverse("staff:shipment_send_link", args=[parcel.pk]), follow=True)
    assert "no valid customer e-mail" in parse(response).select_one(".messages").text
    assert not Notification.objects.exists()


def test_the_send_button_is_staff_only(client):
    parcel = ShipmentFactory(in_transit=True, customer_email="buyer@example.com")
    response = client.post(reverse("staff:shipment_send_link", args=[parcel.pk]))
    assert response.status_code in (302, 403) and not Notification.objects.exists()


def test_the_shipment_page_costs_the_same_queries_with_many_emails(
    staff_client, django_assert_max_num_queries
):
    parcel = ShipmentFactory(in_transit=True, customer_email="buyer@example.com")
    url = reverse("staff:shipment_detail", args=[parcel.pk])
    Notification.objects.bulk_create(
        [
            Notification(
                shipment=parcel,
                recipient="buyer@example.com",
                kind=NotificationKind.MILESTONE,
                dedupe_key=f"k{i}",
                state=NotificationState.SENT,
                sent_at=timezone.now(),
                body_text="hello",
            )
            for i in range(30)
        ]
    )
    staff_client.get(url)  # warm the carrier-name cache
    with django_assert_max_num_queries(6):  # session, user, shipment, events, notes, e-mails
        response = staff_client.get(url)
    assert len(parse(response).select(".emails-list .email-item")) == 30


def test_demo_mode_writes_the_email_under_var_mail(staff_client, settings, tmp_path: Path):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    settings.EMAIL_DEMO_MODE = True
    parcel = ShipmentFactory(in_transit=True, customer_email="buyer@example.com")
    staff_client.post(reverse("staff:shipment_send_link", args=[parcel.pk]), {"request_key": "k"})
    notifications.send_due()
    [written] = list(tmp_path.iterdir())
    content = written.read_text()
    assert "To: buyer@example.com" in content and "List-Unsubscribe-Post" in content
    page = parse(staff_client.get(reverse("staff:shipment_detail", args=[parcel.pk])))
    assert "var/mail" in page.select_one("section.emails").text


# -- admin -----------------------------------------------------------------------------------------
def test_the_admin_log_shows_permanent_failures_with_the_servers_words(admin_client):
    parcel = ShipmentFactory()
    Notification.objects.create(
        shipment=parcel,
        recipient="gone@example.com",
        kind=NotificationKind.MILESTONE,
        milestone="delivered",
        dedupe_key="x",
        state=NotificationState.FAILED,
        attempts=1,
        error="Recipient refused: 550 5.1.1 No such user here",
    )
    response = admin_client.get(reverse("admin:tracking_notification_changelist"))
    page = parse(response)
    assert "1 e-mail could not be delivered" in page.select_one(".messagelist").text
    row = page.select_one("#result_list tbody tr")
    assert "gone@example.com" in row.text and "550 5.1.1" in row.text


def test_send_again_from_the_admin(admin_client):
    parcel = ShipmentFactory()
    failed = Notification.objects.create(
        shipment=parcel,
        recipient="back@example.com",
        kind=NotificationKind.TRACKING_LINK,
        dedupe_key="y",
        state=NotificationState.FAILED,
        attempts=6,
    )
    admin_client.post(
        reverse("admin:tracking_notification_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk]},
    )
    failed.refresh_from_db()
    assert failed.state == NotificationState.PENDING and failed.attempts == 0
    notifications.send_due()
    assert [m.to for m in django_mail.outbox] == [["back@example.com"]]


def test_the_subscription_admin_lists_them(admin_client, active):
    response = admin_client.get(reverse("admin:tracking_subscription_changelist"))
    assert "reader@example.com" in parse(response).select_one("#result_list").text
    assert Client().get(reverse("admin:tracking_subscription_changelist")).status_code == 302


def test_a_cached_tracking_page_gives_every_visitor_the_same_blank_form(settings, shipment):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    url = reverse("public:track_page", args=[shipment.public_token])
    first = parse(Client().get(url)).select_one("section.email-updates")
    # Someone subscribes (and gets an error page first): the page others see does not change.
    Client().post(subscribe_url(shipment), {"email": "bad"})
    Client().post(subscribe_url(shipment), {"email": "someone@example.com"})
    second = parse(Client().get(url)).select_one("section.email-updates")
    assert str(first) == str(second)
    assert "someone@example.com" not in str(second) and not second.select(".field-error")
