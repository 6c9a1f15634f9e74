"""Staff notes (many per shipment, author and time, the old field migrated into the first one),
the customer's link on the shipment page, and the needs-attention queue with "handled"."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from tests.factories import ShipmentFactory, add_events
from tests.html import one, parse, texts
from tracking.models import AttentionHandled, Shipment, ShipmentNote, search
from tracking.services import notes as notes_service

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
QUEUE = reverse("staff:attention")


def detail(pk: int) -> str:
    return reverse("staff:shipment_detail", args=[pk])


def test_the_old_notes_field_becomes_the_first_note():
    migration = importlib.import_module("tracking.migrations.0014_notes_saved_searches")
    with_notes = ShipmentFactory(notes="Customer called twice\nwants a callback")
    without = ShipmentFactory(notes="")
    migration.notes_into_first_note(apps, None)
    [note] = ShipmentNote.objects.filter(shipment=with_notes)
    assert note.body == "Customer called twice\nwants a callback"
    assert note.author is None and note.author_name == ""
    with_notes.refresh_from_db()
    assert with_notes.notes == ""  # the text lives in one place
    assert not ShipmentNote.objects.filter(shipment=without).exists()
    migration.first_note_back(apps, None)
    with_notes.refresh_from_db()
    assert with_notes.notes == "Customer called twice\nwants a callback"


def test_notes_are_listed_newest_first_with_author_and_time(staff_client, staff_user):
    shipment = ShipmentFactory()
    ShipmentNote.objects.create(shipment=shipment, body="old note", author_name="")
    staff_client.post(reverse("staff:note_add", args=[shipment.pk]), {"body": "first call"})
    staff_client.post(reverse("staff:note_add", args=[shipment.pk]), {"body": "second call"})
    page = parse(staff_client.get(detail(shipment.pk)))
    notes = page.select("#notes .note")
    assert [n.select_one(".note-body").get_text(strip=True) for n in notes] == [
        "second call",
        "first call",
        "old note",
    ]
    assert texts(notes[0], ".note-meta strong") == ["agent"]
    assert texts(notes[2], ".note-meta strong") == ["Earlier notes"]
    assert notes[0].select_one("time")["datetime"]
    assert texts(page, "#notes-title") == ["3 notes"]
    # Near the top: right after the header card, before the milestones and the timeline.
    sections = [s.get("id") or s.get("aria-labelledby") for s in page.select("#tracking > section")]
    assert sections.index("notes") == 1


def test_adding_a_note_with_htmx_returns_the_notes_region(staff_client):
    shipment = ShipmentFactory()
    response = staff_client.post(
        reverse("staff:note_add", args=[shipment.pk]), {"body": "left at the door"}, **HX
    )
    assert response.status_code == 200
    region = one(response, "section#notes")
    assert texts(region, ".note-body") == ["left at the door"]
    assert texts(region, ".note-saved") == ["Note added."]
    assert ShipmentNote.objects.get(shipment=shipment).author.get_username() == "agent"


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "This field is required."), ("x" * 4001, "at most 4000 characters")],
)
def test_an_empty_or_too_long_note_is_refused_with_the_text_kept(staff_client, body, message):
    shipment = ShipmentFactory()
    response = staff_client.post(
        reverse("staff:note_add", args=[shipment.pk]), {"body": body}, **HX
    )
    assert response.status_code == 200  # htmx swaps the region with the error in it
    region = one(response, "section#notes")
    assert message in one(region, "#note-error").get_text()
    assert one(region, "textarea")["aria-invalid"] == "true"
    assert not ShipmentNote.objects.exists()
    # Without JavaScript: back to the page with the reason.
    response = staff_client.post(
        reverse("staff:note_add", args=[shipment.pk]), {"body": body}, follow=True
    )
    assert message in " ".join(texts(response, ".messages li"))


def test_notes_never_reach_the_public_page(client):
    shipment = ShipmentFactory(status_code="IT")
    ShipmentNote.objects.create(shipment=shipment, body="PRIVATE-NOTE-x7Q", author_name="agent")
    html = client.get(reverse("public:track_page", args=[shipment.public_token])).content
    assert b"PRIVATE-NOTE-x7Q" not in html


def test_the_customer_link_has_a_copy_button_and_room_to_send_it(staff_client, settings):
    settings.SITE_URL = "https://track.example.com/"
    shipment = ShipmentFactory()
    page = parse(staff_client.get(detail(shipment.pk)))
    link = one(page, ".customer-link a#public-link")
    assert link["href"] == f"https://track.example.com/t/{shipment.public_token}/"
    assert link.get_text(strip=True) == link["href"]
    button = one(page, ".customer-link-actions button[data-copy-target='public-link']")
    assert button.get_text(strip=True) == "Copy link"


def test_shipment_page_query_count_stays_fixed_with_many_notes(
    staff_client, settings, django_assert_max_num_queries
):
    # Every request builds the page's timeline part (a cached one reads no events): like with like.
    settings.STAFF_PAGE_CACHE_SECONDS = 0
    shipment = ShipmentFactory(status_code="IT")
    add_events(shipment, 5)
    ShipmentNote.objects.bulk_create(
        [ShipmentNote(shipment=shipment, body=f"n{i}", author_name="a") for i in range(150)]
    )
    staff_client.get(detail(shipment.pk))  # session, carriers cache
    with django_assert_max_num_queries(6) as captured:
        page = parse(staff_client.get(detail(shipment.pk)))
    assert len(page.select("#notes .note")) == 100
    assert texts(page, "#notes-title") == ["100 notes+"]
    fewer = ShipmentFactory()
    with django_assert_max_num_queries(len(captured)):
        staff_client.get(detail(fewer.pk))


# --------------------------------------------------------------------------------------------
# The needs-attention queue
# --------------------------------------------------------------------------------------------
@pytest.fixture
def troubled():
    now = timezone.now()
    return {
        "exception": ShipmentFactory(
            tracking_number="EXC0001", status_code="EX", last_event_at=now, event_count=2
        ),
        "attempt": ShipmentFactory(
            tracking_number="ATT0001", status_code="AT", last_event_at=now, event_count=1
        ),
        "quiet": ShipmentFactory(
            tracking_number="QUI0001", status_code="IT", last_event_at=now - timedelta(days=9)
        ),
        "failed": ShipmentFactory(
            tracking_number="FAI0001",
            status_code="IT",
            last_event_at=now,
            consecutive_failures=3,
            last_error="ShipEngine answered 503",
        ),
        "fine": ShipmentFactory(tracking_number="OK00001", status_code="IT", last_event_at=now),
        "delivered": ShipmentFactory(
            tracking_number="DEL0001", status_code="DE", last_event_at=now - timedelta(days=30)
        ),
    }


def queue_numbers(response) -> list[str]:
    return texts(response, ".queue-table a.row-link")


def test_queue_lists_each_reason_with_its_count(staff_client, troubled):
    response = staff_client.get(QUEUE)
    assert set(queue_numbers(response)) == {"EXC0001", "ATT0001", "QUI0001", "FAI0001"}
    tabs = dict(
        (a.get_text(" ", strip=True).rsplit(" ", 1))
        for a in parse(response).select(".queue-tabs a")
    )
    assert tabs == {
        "All": "4",
        "Exceptions": "1",
        "Failed delivery attempts": "1",
        "No new event for N days": "1",
        "Last refresh failed": "1",
    }
    only = staff_client.get(QUEUE, {"reason": "failed"})
    assert queue_numbers(only) == ["FAI0001"]
    assert "ShipEngine answered 503" in one(only, ".queue-table tbody tr").get_text()


def test_handled_leaves_the_queue_until_something_new_happens(staff_client, troubled):
    exc = troubled["exception"]
    response = staff_client.post(
        reverse("staff:mark_handled", args=[exc.pk]),
        {"body": "Called the depot, redelivery Friday", "next": QUEUE + "?reason=exception"},
    )
    assert response.status_code == 302 and response["Location"] == QUEUE + "?reason=exception"
    assert "EXC0001" not in queue_numbers(staff_client.get(QUEUE))
    note = ShipmentNote.objects.get(shipment=exc)
    assert note.body == "Handled: Called the depot, redelivery Friday"
    assert AttentionHandled.objects.get(shipment=exc).note == note
    # A new event (the count changes): back in the queue.
    Shipment.objects.filter(pk=exc.pk).update(event_count=3)
    assert "EXC0001" in queue_numbers(staff_client.get(QUEUE))


def test_handled_failures_return_when_another_refresh_fails(staff_client, troubled):
    failed = troubled["failed"]
    staff_client.post(reverse("staff:mark_handled", args=[failed.pk]), {"body": ""})
    assert ShipmentNote.objects.get(shipment=failed).body == "Marked as handled."
    assert "FAI0001" not in queue_numbers(staff_client.get(QUEUE))
    Shipment.objects.filter(pk=failed.pk).update(consecutive_failures=4)
    assert "FAI0001" in queue_numbers(staff_client.get(QUEUE))


def test_handled_ignores_an_outside_next_url(staff_client, troubled):
    response = staff_client.post(
        reverse("staff:mark_handled", args=[troubled["quiet"].pk]),
        {"next": "https://evil.example/"},
    )
    assert response["Location"] == QUEUE


def test_queue_query_count_stays_fixed(staff_client, troubled, django_assert_max_num_queries):
    staff_client.get(QUEUE)
    with django_assert_max_num_queries(5) as captured:
        staff_client.get(QUEUE)
    for i in range(30):
        ShipmentFactory(status_code="EX", last_event_at=timezone.now(), event_count=i)
    with django_assert_max_num_queries(len(captured)):
        response = staff_client.get(QUEUE)
    assert len(queue_numbers(response)) == 25


def test_add_notes_in_bulk_skips_deleted_shipments(staff_user):
    a, b = ShipmentFactory(), ShipmentFactory()
    assert (
        notes_service.add_notes(shipment_ids=[a.pk, b.pk, 999999], body="x", author=staff_user) == 2
    )


def test_the_staff_search_finds_a_shipment_by_its_notes(staff_client):
    noted = ShipmentFactory(tracking_number="NOTED0001", status_code="IT")
    ShipmentFactory(tracking_number="OTHER0001", status_code="IT")
    ShipmentNote.objects.create(shipment=noted, body="Customer moved to Lyon", author_name="a")
    ShipmentNote.objects.create(shipment=noted, body="second note also matching lyon")
    for q in ("moved to lyon", "LYON", "ved to"):
        response = staff_client.get(reverse("staff:shipment_list"), {"q": q})
        assert texts(response, "table.shipment-table a.row-link") == ["NOTED0001"], q
    found = search.search_shipments(Shipment.objects.all(), "moved to")
    assert list(found.values_list("tracking_number", flat=True)) == ["NOTED0001"]


def test_a_broad_search_walks_the_list_and_finds_notes_on_every_page(staff_client, settings):
    """Past the count cap the list walks its newest-first index in chunks: the notes part is
    tested per chunk, so the keyset pages stay right."""
    settings.STAFF_SEARCH_COUNT_CAP = 3
    now = timezone.now()
    noted = []
    for i in range(8):
        s = ShipmentFactory(
            tracking_number=f"WALK{i:04d}", status_code="IT", last_event_at=now - timedelta(hours=i)
        )
        if i % 2 == 0:
            ShipmentNote.objects.create(shipment=s, body=f"parcel held at depot {i}")
            noted.append(s.tracking_number)
    first = staff_client.get(reverse("staff:shipment_list"), {"q": "held at depot"})
    found = texts(first, "table.shipment-table a.row-link")
    assert found == noted  # newest first, only the noted ones
