"""E-mail updates in a real browser: the subscribe form on the tracking page, its error, the
"check your inbox" answer, the confirmation and unsubscribe pages and the staff page's e-mail
list, each checked by axe (no serious or critical violations) in light and dark mode."""

from __future__ import annotations

import re

import pytest
from django.core import mail as django_mail
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_public_browser import serious_violations
from tests.factories import ShipmentFactory, add_events
from tracking.models import ChangeRecord, Subscription
from tracking.services import notifications, outbox, throttling

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_viewport() -> tuple[int, int]:
    return (420, 900)  # a phone


@pytest.fixture(autouse=True)
def _settings(browser_settings, transactional_db):
    browser_settings.PUBLIC_STALE_MINUTES = 0
    throttling.reset()


def check_both_schemes(page, name: str, *, keep: bool = False) -> None:
    """axe in light and dark mode; `keep`: the screenshots are the ones docs/screenshots holds."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_violations(page) == [], (name, scheme)
        png = page.screenshot(full_page=True, caret="initial")
        assert png.startswith(b"\x89PNG")
        if keep:
            screenshot(page, f"{name}-{scheme}", full_page=True)
    page.emulate_media(color_scheme="light")


def test_subscribe_confirm_and_unsubscribe_in_the_browser(live_server, browser_page, settings):
    settings.SITE_URL = live_server.url
    parcel = ShipmentFactory(in_transit=True)
    page = browser_page
    page.goto(f"{live_server.url}/t/{parcel.public_token}/")
    form = page.locator("section.email-updates")
    form.scroll_into_view_if_needed()
    check_both_schemes(page, "email-subscribe-form", keep=True)

    # A header injection attempt: a clear message, the field marked, nothing stored.
    page.get_by_label("Your e-mail address").fill("a@b.c Bcc: x@y.z")
    page.get_by_role("button", name="Email me updates").click()
    expect(page.locator("#subscribe-email-error")).to_contain_text("Enter one e-mail address")
    expect(page.locator("#subscribe-email")).to_have_attribute("aria-invalid", "true")
    check_both_schemes(page, "email-subscribe-error")
    assert not Subscription.objects.exists()

    page.get_by_label("Your e-mail address").fill("reader@example.com")
    page.get_by_label("Every update").check()
    page.get_by_role("button", name="Email me updates").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    check_both_schemes(page, "email-check-inbox")

    notifications.send_due()
    [message] = django_mail.outbox
    confirm = re.search(r"https?://\S+/email/confirm/\S+/", message.body).group(0)
    page.goto(confirm)
    check_both_schemes(page, "email-confirm")
    page.get_by_role("button", name="Yes, send me updates").click()
    expect(page.locator("h1")).to_have_text("You will get e-mail updates")
    assert Subscription.objects.get().is_active

    subscription = Subscription.objects.get()
    token = notifications.unsubscribe_token(subscription)
    page.goto(f"{live_server.url}/email/unsubscribe/{token}/")
    check_both_schemes(page, "email-unsubscribe", keep=True)
    page.get_by_role("button", name="Stop the e-mails").click()
    expect(page.locator("h1")).to_have_text("No more e-mails about this parcel")
    check_both_schemes(page, "email-unsubscribed")
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None

    page.goto(f"{live_server.url}/email/unsubscribe/{token[:-3]}xyz/")
    expect(page.locator("h1")).to_have_text("This link does not work")
    check_both_schemes(page, "email-bad-link")
    # The refused address and the broken link are answered 400 on purpose; nothing else failed.
    assert [p for p in page.problems if "status of 400" not in p] == [], page.problems


def test_the_staff_page_lists_the_emails_in_the_browser(
    live_server, browser_page, django_user_model
):
    django_user_model.objects.create_user("mailstaff", password="pw-for-mail-1", is_staff=True)
    parcel = ShipmentFactory(in_transit=True, customer_email="buyer@example.com")
    Subscription.objects.create(
        shipment=parcel, email="buyer@example.com", confirmed_at=timezone.now()
    )
    page = browser_page
    page.goto(f"{live_server.url}/staff/login/")
    page.get_by_label("Username").fill("mailstaff")
    page.get_by_label("Password").fill("pw-for-mail-1")
    page.get_by_role("button", name=re.compile("Log in", re.IGNORECASE)).click()
    page.goto(f"{live_server.url}/staff/shipments/{parcel.pk}/")
    page.get_by_role("button", name="Send the tracking link to the customer").click()
    expect(page.locator(".messages")).to_contain_text("on its way to buyer@example.com")
    notifications.send_due()
    page.reload()
    section = page.locator("section.emails")
    expect(section.locator(".email-item")).to_have_count(1)
    section.get_by_text("Show the e-mail").click()
    expect(section.locator("pre.email-text")).to_contain_text("Track your parcel")
    section.scroll_into_view_if_needed()
    check_both_schemes(page, "staff-emails", keep=True)
    assert not page.problems, page.problems


def test_the_email_reads_in_light_and_dark_mail_clients(browser_page, settings):
    """The HTML part as a mail client shows it (no site, no stylesheet: the inlined CSS only)."""
    settings.NOTIFY_MAX_AGE_HOURS = 10**6
    parcel = ShipmentFactory(in_transit=True, status_code="DE", signer="J SMITH")
    add_events(parcel, 3)
    Subscription.objects.create(shipment=parcel, email="r@example.com", confirmed_at=timezone.now())
    ChangeRecord.objects.create(
        shipment=parcel,
        created_at=timezone.now(),
        kinds=["shipment.updated", "shipment.status_changed", "shipment.delivered"],
        previous_status="IT",
        status="DE",
        events_added=1,
        milestone="delivered",
        milestone_key="delivered",
    )
    outbox.dispatch()
    notifications.send_due()
    [message] = django_mail.outbox
    html = message.alternatives[0].content
    page = browser_page
    page.set_viewport_size({"width": 600, "height": 800})
    page.set_content(html)
    expect(page.get_by_role("link", name="Track your parcel")).to_be_visible()
    check_both_schemes(page, "email-message", keep=True)
