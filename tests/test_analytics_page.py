"""The analytics page (/staff/analytics/): the GET form, one card per chart with its SVG, table
and CSV link, a fixed number of queries, clear errors."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.analytics_support import parcel
from tests.html import one, parse, texts
from tracking.services import analytics, analytics_refresh

pytestmark = pytest.mark.django_db

URL = reverse("staff:analytics")
SECTIONS = ["per-day", "status", "transit", "on-time", "incidents", "quiet"]


@pytest.fixture
def data(settings):
    settings.ESTIMATE_MIN_PARCELS = 2
    now = timezone.now()
    shipments = [
        parcel(start=now - timedelta(days=4), eta=now - timedelta(days=2)),  # on time
        parcel(start=now - timedelta(days=4), eta=now - timedelta(days=3)),  # late
        parcel(carrier="fedex", start=now - timedelta(days=4)),
        parcel(((0, "AC", "CA"), (5, "EX", "CA")), start=now - timedelta(days=2)),
        parcel(((0, "AC", "CA"), (2, "IT", "TX")), start=now - timedelta(days=6)),
    ]
    analytics.update_shipments([s.pk for s in shipments])
    analytics_refresh.refresh_history(now=now, force=True)
    analytics_refresh.refresh_quiet(now=now, force=True)
    return shipments


def test_the_page_is_for_staff_only(client, django_user_model):
    assert client.get(URL).status_code == 302
    client.force_login(django_user_model.objects.create_user("u", password="x"))
    assert client.get(URL).status_code == 403


def test_every_chart_has_its_svg_table_and_csv_link(staff_client, data):
    response = staff_client.get(URL)
    assert response.status_code == 200
    page = parse(response)
    assert [s["id"] for s in page.select("section.chart-card")] == SECTIONS
    for slug in SECTIONS:
        card = one(page, f"#{slug}")
        svg = one(card, "svg.chart")
        assert svg["role"] == "img"
        title_id, desc_id = svg["aria-labelledby"].split()
        assert one(svg, f"#{title_id}").get_text() == one(card, "h2").get_text()
        assert one(svg, f"#{desc_id}").get_text().strip()
        assert card.select("table.data-table tbody tr")
        link = one(card, "a[download]")
        assert link["href"].startswith(reverse("staff:analytics_csv", args=[slug]))
    # The one vocabulary names the statuses; the nav marks the page.
    assert "Delivered" in texts(page, "#status tbody th")
    assert "Delivery problem" in texts(page, "#status tbody th")
    assert texts(page, "nav a[aria-current=page]") == ["Analytics"]
    assert not page.select("script:not([src])")  # nothing inline; the page needs no script


def table(page, slug: str) -> dict[str, list[str]]:
    rows = (texts(tr, "th, td") for tr in page.select(f"#{slug} tbody tr"))
    return {row[0]: row[1:] for row in rows}


def test_the_numbers_in_the_tables(staff_client, data):
    page = parse(staff_client.get(URL))
    on_time = table(page, "on-time")
    assert on_time["UPS"] == ["1", "1", "0", "50.0"]
    assert on_time["FedEx"] == ["0", "0", "1", "—"]
    incidents = [texts(tr, "th, td") for tr in page.select("#incidents tbody tr")]
    assert incidents == [["UPS", "exception", "EX scan", "1"]]
    # 50 h: the 48-54 h quarter day, shown by its middle (51 h = 2.1 days)
    assert table(page, "transit")["UPS"] == ["2", "2.1", "2.1"]
    assert table(page, "status") == {
        "In transit": ["1", "20.0"],
        "Delivery problem": ["1", "20.0"],
        "Delivered": ["3", "60.0"],
    }


def test_a_carrier_shows_its_lanes_and_a_lane_narrows_to_it(staff_client, data):
    page = parse(staff_client.get(URL, {"carrier": "ups"}))
    assert texts(page, "#transit thead th")[0] == "Lane"
    assert texts(page, "#transit tbody th") == ["US-CA → US-NY"]
    page = parse(staff_client.get(URL, {"origin": "US-CA", "destination": "US-TX"}))
    assert texts(page, "#status tbody th") == ["In transit"]
    page = parse(staff_client.get(URL, {"origin": "XX-NOWHERE"}))
    assert one(page, "#transit .empty-state")


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "2026-11-10", "end": "2026-11-01"}, "The first day is after the last day."),
        ({"start": "2026-11-10"}, "Give both the first and the last day."),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "Choose at most 731 days."),
        ({"carrier": "nosuch"}, "Select a valid choice."),
        ({"period": "12"}, "Select a valid choice."),
        ({"origin": "<script>"}, "Select a valid choice."),
    ],
)
def test_bad_choices_are_said_plainly(staff_client, data, query, message):
    response = staff_client.get(URL, query)
    assert response.status_code == 400
    assert any(message in t for t in texts(parse(response), ".form-errors, .error"))
    assert not parse(response).select("section.chart-card")
    csv_response = staff_client.get(reverse("staff:analytics_csv", args=["status"]), query)
    assert csv_response.status_code == 400 and message in csv_response.content.decode()


def test_the_csv_has_every_row_of_its_table(staff_client, data):
    response = staff_client.get(reverse("staff:analytics_csv", args=["on-time"]), {"period": "7"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Carrier",
        "On time",
        "Late",
        "No carrier date",
        "On time (% of those with a date)",
    ]
    assert sorted(rows[1:]) == [["FedEx", "0", "0", "1", ""], ["UPS", "1", "1", "0", "50"]]
    per_day = staff_client.get(reverse("staff:analytics_csv", args=["per-day"]), {"period": "7"})
    days = list(csv.reader(io.StringIO(b"".join(per_day.streaming_content).decode())))
    assert len(days) == 8 and days[-1][0] == timezone.now().date().isoformat()
    assert staff_client.get(reverse("staff:analytics_csv", args=["nosuch"])).status_code == 404


def test_the_page_runs_the_same_queries_whatever_the_data(
    staff_client, data, django_assert_num_queries
):
    cache.clear()
    staff_client.get(URL)  # warm the session
    for query in (
        {},
        {"period": "365"},
        {"carrier": "ups"},
        {"origin": "US-CA", "destination": "US-NY"},
    ):
        with django_assert_num_queries(8):
            assert staff_client.get(URL, query).status_code == 200
    more = [parcel(carrier=c) for c in ("usps", "dhl_express", "ups") for _ in range(3)]
    analytics.update_shipments([s.pk for s in more])
    with django_assert_num_queries(8):
        assert staff_client.get(URL).status_code == 200


def test_an_empty_database_says_there_is_nothing_yet(staff_client):
    page = parse(staff_client.get(URL))
    assert len(page.select(".chart-card .empty-state")) == 6
