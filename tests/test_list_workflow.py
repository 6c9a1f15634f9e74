"""The staff list's customer-service tools: sortable headers, the last event, note counts, counts
per needs-attention reason, saved searches per person, bulk actions through a task with their
progress. Query budgets stay fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import ShipmentFactory
from tests.html import one, parse, texts
from tracking.models import BulkAction, SavedSearch, Shipment, ShipmentNote

pytestmark = pytest.mark.django_db

LIST = reverse("staff:shipment_list")


@pytest.fixture
def rows():
    now = timezone.now()
    a = ShipmentFactory(
        tracking_number="AAA0001",
        status_code="IT",
        last_event_at=now - timedelta(hours=1),
        last_event_description="Arrived at facility",
        last_event_location="MEMPHIS, TN, US",
        estimated_delivery_date=now + timedelta(days=3),
    )
    b = ShipmentFactory(
        tracking_number="BBB0002",
        status_code="EX",
        last_event_at=now - timedelta(hours=5),
        estimated_delivery_date=now + timedelta(days=1),
    )
    c = ShipmentFactory(
        tracking_number="CCC0003", status_code="IT", last_event_at=now - timedelta(days=9)
    )
    ShipmentNote.objects.create(shipment=a, body="one")
    ShipmentNote.objects.create(shipment=a, body="two")
    return a, b, c


def numbers(response) -> list[str]:
    return texts(response, "table.shipment-table a.row-link")


def test_headers_sort_both_ways_and_say_so(staff_client, rows):
    page = parse(staff_client.get(LIST))
    last, eta = page.select("thead th[aria-sort]")
    assert last["aria-sort"] == "descending" and eta["aria-sort"] == "none"
    assert numbers(staff_client.get(LIST)) == ["AAA0001", "BBB0002", "CCC0003"]
    oldest = staff_client.get(LIST + last.a["href"])
    assert numbers(oldest) == ["CCC0003", "BBB0002", "AAA0001"]
    assert one(oldest, "thead th[aria-sort=ascending]").get_text(strip=True) == "Last event"
    soonest = staff_client.get(LIST + eta.a["href"])
    assert numbers(soonest)[:2] == ["BBB0002", "AAA0001"]


def test_rows_show_the_last_event_and_the_note_count(staff_client, rows):
    page = parse(staff_client.get(LIST))
    first = page.select("tbody tr")[0]
    assert texts(first, ".last-event-what") == ["Arrived at facility"]
    assert texts(first, ".note-count") == ["2 notes"]
    assert not page.select("tbody tr")[1].select(".note-count")


def test_each_attention_reason_has_its_count(staff_client, rows):
    page = parse(staff_client.get(LIST))
    assert one(page, "#reason-count-exception").get_text(strip=True) == "1"
    assert one(page, "#reason-count-quiet").get_text(strip=True) == "1"
    assert one(page, "#reason-count-failed").get_text(strip=True) == "0"


def test_reason_counts_come_from_indexes_and_quiet_is_capped(staff_client, settings):
    old = timezone.now() - timedelta(days=30)
    for i in range(3):
        ShipmentFactory(status_code="IT", last_event_at=old - timedelta(hours=i))
    ShipmentFactory(status_code="DE", last_event_at=old)  # delivered: never quiet
    failing = ShipmentFactory(status_code="EX", last_event_at=timezone.now())
    failing.consecutive_failures = 2
    failing.save()
    settings.STAFF_REASON_COUNT_CAP = 2
    page = parse(staff_client.get(LIST))
    assert one(page, "#reason-count-quiet").get_text(strip=True) == "2+"  # more than the cap
    assert one(page, "#reason-count-exception").get_text(strip=True) == "1"  # from the tallies
    assert one(page, "#reason-count-failed").get_text(strip=True) == "1"
    settings.STAFF_REASON_COUNT_CAP = 10
    page = parse(staff_client.get(LIST))
    assert one(page, "#reason-count-quiet").get_text(strip=True) == "3"
    # Never fetched and added a month ago: quiet too (counted from when it was added).
    never = ShipmentFactory(status_code="", last_event_at=None)
    Shipment.objects.filter(pk=never.pk).update(created_at=old)
    page = parse(staff_client.get(LIST))
    assert one(page, "#reason-count-quiet").get_text(strip=True) == "4"


def test_failing_refreshes_are_counted_from_their_partial_index_alone(db):
    """On SQLite the condition must be the index's own literal (a bound parameter makes it read
    every entry's row); the count is still right."""
    for failures in (0, 1, 3):
        ShipmentFactory(consecutive_failures=failures)
    query = Shipment.objects.refresh_failing()
    assert query.count() == 2
    if connection.vendor != "sqlite":
        return
    sql, params = query.order_by().values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        plan = " ".join(str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "shipment_refresh_failing" in plan
    assert not params


def test_list_query_count_is_fixed_with_notes_and_saved_searches(
    staff_client, staff_user, rows, django_assert_max_num_queries
):
    SavedSearch.objects.create(user=staff_user, name="Exceptions", query="status=EX")
    staff_client.get(LIST)
    with django_assert_max_num_queries(12) as captured:
        staff_client.get(LIST)
    for i in range(40):
        s = ShipmentFactory(status_code="IT", last_event_at=timezone.now())
        ShipmentNote.objects.create(shipment=s, body=f"n{i}")
        SavedSearch.objects.create(user=staff_user, name=f"s{i}", query=f"q=x{i}")
    with django_assert_max_num_queries(len(captured)):
        response = staff_client.get(LIST)
    assert len(numbers(response)) == 25


def test_saved_searches_are_per_person_and_one_click_away(staff_client, staff_user, rows):
    response = staff_client.post(
        reverse("staff:saved_search_save"), {"name": " Open  exceptions ", "query": "status=EX"}
    )
    assert response["Location"] == LIST + "?status=EX"
    saved = SavedSearch.objects.get(user=staff_user)
    assert saved.name == "Open exceptions"
    page = parse(staff_client.get(LIST))
    link = one(page, ".saved-list a")
    assert link.get_text(strip=True) == "Open exceptions" and link["href"] == LIST + "?status=EX"
    assert numbers(staff_client.get(link["href"])) == ["BBB0002"]
    # Saving under the same name replaces it; another person does not see it.
    staff_client.post(reverse("staff:saved_search_save"), {"name": "Open exceptions", "query": ""})
    assert SavedSearch.objects.get(user=staff_user).query == ""
    other = get_user_model().objects.create_user("other", password="pw-x-123", is_staff=True)
    staff_client.force_login(other)
    assert not parse(staff_client.get(LIST)).select(".saved-list a")
    assert (
        staff_client.post(reverse("staff:saved_search_delete", args=[saved.pk])).status_code == 302
    )
    assert SavedSearch.objects.filter(pk=saved.pk).exists()  # not theirs to delete


def test_a_nameless_search_is_not_saved(staff_client, rows):
    response = staff_client.post(
        reverse("staff:saved_search_save"), {"name": " ", "query": "q=x"}, follow=True
    )
    assert "Give the search a name." in " ".join(texts(response, ".messages li"))
    assert not SavedSearch.objects.exists()


def test_bulk_note_export_and_refresh_run_as_tasks_with_progress(
    staff_client, rows, django_capture_on_commit_callbacks
):
    a, b, c = rows
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("staff:bulk_start"), {"kind": "note", "note": "Called", "ids": [a.pk, b.pk]}
        )
    action = BulkAction.objects.get()
    assert response["Location"].startswith(reverse("staff:bulk_status", args=[action.pk]))
    assert set(ShipmentNote.objects.filter(body="Called").values_list("shipment", flat=True)) == {
        a.pk,
        b.pk,
    }
    page = staff_client.get(response["Location"])
    assert "2 done, 0 failed, of 2" in one(page, "#bulk-progress").get_text(" ", strip=True)
    assert not one(page, "#bulk-progress").get("hx-trigger")  # finished: no more polling

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("staff:bulk_start"), {"kind": "export", "ids": [c.pk, a.pk]}
        )
    export = BulkAction.objects.get(kind="export")
    csv_text = staff_client.get(reverse("staff:bulk_download", args=[export.pk])).content.decode()
    assert "AAA0001" in csv_text and "CCC0003" in csv_text and "BBB0002" not in csv_text

    b.tracking_number = "FAULT-404"
    b.save()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("staff:bulk_start"), {"kind": "refresh", "ids": [a.pk, b.pk]})
    refresh = BulkAction.objects.get(kind="refresh")
    assert (refresh.state, refresh.done, refresh.failed) == ("done", 1, 1)
    assert refresh.errors[0].startswith("FAULT-404: ")


def test_bulk_without_a_selection_says_so(staff_client, rows):
    response = staff_client.post(
        reverse("staff:bulk_start"), {"kind": "refresh", "next": LIST + "?q=x"}, follow=True
    )
    assert "Select at least one shipment first." in " ".join(texts(response, ".messages li"))
    assert not BulkAction.objects.exists()
