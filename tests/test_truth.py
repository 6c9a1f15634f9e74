"""Every sentence on a page is true: the same delivery time for staff and customer, the carrier
that really carries the parcel, what a never-fetched or unmapped parcel really is, a page that
says it refreshes does, a disabled carrier is said and refused."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from tests.html import one, parse, texts
from tracking import services
from tracking.admin.charts import CHART_LEFT, CHART_WIDTH, hourly_chart
from tracking.models import Carrier, ImportJob, Shipment
from tracking.queries.api_health import HourBucket

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("t", password="pw-t-123456", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _no_refresh_on_open(settings):
    settings.PUBLIC_STALE_MINUTES = 0


def public(client, shipment: Shipment):
    return parse(client.get(reverse("public:track_page", args=[shipment.public_token])))


def staff_page(client, shipment: Shipment):
    return parse(client.get(reverse("staff:shipment_detail", args=[shipment.pk])))


def test_staff_and_customer_see_the_same_delivery_time(staff_client, client):
    shipment = services.track_shipment(carrier_code="ups", tracking_number="1Z5R89390357567127")
    staff = staff_page(staff_client, shipment)
    delivered_for_staff = one(staff, "time.delivered-at").get_text(strip=True)
    headline = one(public(client, shipment), "h1#headline").get_text(strip=True)
    assert delivered_for_staff in headline  # "Sunday 29 November at 6:00 a.m. (UTC-5)"
    assert "(UTC" in delivered_for_staff
    # UTC beside it, in small print, for staff.
    assert "UTC" in one(staff, "time.delivered-at")["title"]


def test_an_unmapped_status_with_a_place_says_where_it_was_last_seen(client):
    shipment = services.track_shipment(
        carrier_code="canada_post", tracking_number="7023210039414604"
    )
    page = public(client, shipment)
    headline = one(page, "h1#headline").get_text(strip=True)
    assert headline.startswith("Last seen in Mississauga")
    assert "has not said where" not in page.get_text()


def test_a_never_fetched_parcel_waits_for_its_first_scan_and_claims_no_step(client):
    shipment = Shipment.objects.create(
        carrier=Carrier.objects.get(code="ups"), tracking_number="1ZNEVER0001"
    )
    page = public(client, shipment)
    assert one(page, "h1#headline").get_text(strip=True) == "Waiting for the first scan"
    assert page.select(".milestone[aria-current]") == []
    assert page.select(".milestone-current") == []


def test_a_stamps_com_label_is_carried_and_linked_by_usps(client):
    shipment = services.track_shipment(
        carrier_code="stamps_com", tracking_number="9405511899223197428490"
    )
    page = public(client, shipment)
    carrier = next(t for t in texts(page, ".facts dd") if "website" in t)
    assert carrier.startswith("U.S. Postal Service")
    assert "Track on the U.S. Postal Service website" in carrier and "Stamps.com" not in carrier
    link = page.select_one(".facts a[href*='usps.com']")
    assert link is not None


def test_an_open_page_refreshes_itself_until_delivered(client):
    waiting = services.track_shipment(carrier_code="usps", tracking_number="9400111899562537683144")
    page = public(client, waiting)
    live = one(page, "#track-live")
    assert int(live["data-refresh-every"]) > 0
    assert page.select_one("script[src*='public-refresh.js']") is not None
    assert "checks for news every few minutes" in page.get_text()
    assert "as soon as the carrier scans it" not in page.get_text()
    delivered = services.track_shipment(carrier_code="ups", tracking_number="1Z5R89390357567127")
    page = public(client, delivered)
    assert not one(page, "#track-live").has_attr("data-refresh-every")
    assert page.select_one("script[src*='public-refresh.js']") is None
    assert "checks for news" not in page.get_text()


def test_a_disabled_carrier_is_said_and_refused(staff_client):
    shipment = services.track_shipment(carrier_code="fedex", tracking_number="794698432183")
    Carrier.objects.filter(code="fedex").update(is_active=False)
    page = staff_page(staff_client, shipment)
    assert "The carrier FedEx is disabled" in one(page, ".carrier-disabled").get_text()
    assert page.select("form.refresh-form") == []
    response = staff_client.post(reverse("staff:shipment_refresh", args=[shipment.pk]), follow=True)
    assert "is disabled" in " ".join(texts(parse(response), ".messages li"))
    before = Shipment.objects.get(pk=shipment.pk).last_checked_at
    assert before == shipment.last_checked_at  # nothing was fetched


def test_a_failed_import_says_failed(staff_client):
    job = ImportJob.objects.create(
        file_name="x.csv",
        file_path="/nowhere",
        state=ImportJob.State.FAILED,
        message="Line 2 is not UTF-8 text.",
        finished_at=timezone.now(),
    )
    page = parse(staff_client.get(reverse("staff:import_status", args=[job.pk])))
    state = one(page, ".import-state").get_text(strip=True)
    assert state == "Failed" and "task" not in state.lower()
    assert page.select("progress") == []  # no full bars on a failure


def _described_by_ids_exist(page) -> list[str]:
    """Every id an aria-describedby names, and whether the page has it."""
    ids = {el.get("id") for el in page.select("[id]")}
    named = [i for el in page.select("[aria-describedby]") for i in el["aria-describedby"].split()]
    assert named, "no field is described"
    return [i for i in named if i not in ids]


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("staff:shipment_add", {"carrier": "", "tracking_number": ""}),
        ("staff:import", {"fetch": "on"}),
    ],
)
def test_field_errors_and_help_are_what_the_fields_point_at(staff_client, url, data):
    """Screen readers read a field's error and help through aria-describedby: the ids Django
    puts there must be on the page."""
    page = parse(staff_client.post(reverse(url), data))
    assert page.select(".error"), "the bad form shows an error"
    assert _described_by_ids_exist(page) == []


def test_no_template_comment_reaches_a_page(staff_client):
    html = staff_client.get(reverse("staff:shipment_list")).content.decode()
    assert "{#" not in html and "#}" not in html


@pytest.mark.parametrize("hours", [1, 5, 24, 25, 48, 168])
def test_the_api_health_chart_fills_its_width_and_labels_the_current_hour(hours):
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    buckets = [
        HourBucket(hour=start + timedelta(hours=i), calls=3, failures=1, rate_limited=0)
        for i in range(hours)
    ]
    chart = hourly_chart(buckets, peak=3)
    last = chart["bars"][-1]
    assert last["label"], "the current hour is labelled"
    assert abs(last["x"] + chart["bar"] - (CHART_LEFT + CHART_WIDTH)) <= CHART_WIDTH / hours
    labelled = [b["mid_x"] for b in chart["bars"] if b["label"]]
    assert 1 <= len(labelled) <= 9
    gaps = [b - a for a, b in pairwise(labelled)]
    assert all(g >= 40 for g in gaps), gaps  # labels ~40 px wide never touch
