"""Staff portal views: access, search and list, filters, add a package, the shipment page,
refresh and details. Query counts are asserted not to grow with page size or event count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import ShipmentFactory, add_events
from tests.html import one, parse, texts
from tracking import services
from tracking.models import Carrier, Shipment, TrackingEvent
from tracking.services import ingest
from tracking.services import tracking as tracking_service
from tracking.shipengine import TrackingInfo

pytestmark = pytest.mark.django_db

LIST = reverse("staff:shipment_list")
ADD = reverse("staff:shipment_add")
HX = {"HTTP_HX_REQUEST": "true"}
DASH = "\u2013"  # the en dash between the first and last row numbers


def result_numbers(html: str) -> list[str]:
    """The tracking numbers of the result table, read from its "Tracking number" column, in
    page order. No table: the page must say why (the empty state)."""
    soup = parse(html)
    tables = soup.select("table.shipment-table")
    if not tables:
        one(soup, ".empty-state")
        return []
    [table] = tables
    column = texts(table, "thead th").index("Tracking number")
    numbers = []
    for row in table.select("tbody tr"):
        cell = row.find_all("td")[column]
        link = one(cell, "a.row-link")  # each number opens its shipment
        assert link["href"].startswith("/staff/shipments/"), link
        numbers.append(link.get_text(strip=True))
    return numbers


def make_shipment(number: str, carrier: str = "ups", **fields) -> Shipment:
    now = timezone.now()
    defaults = {
        "status_code": "IT",
        "status_description": "In Transit",
        "last_event_at": now - timedelta(hours=1),
        "ship_date": now - timedelta(days=2),
    }
    defaults.update(fields)
    return Shipment.objects.create(
        carrier=Carrier.objects.get(code=carrier), tracking_number=number, **defaults
    )


def numbers_in(html: str) -> set[str]:
    numbers = result_numbers(html)
    assert len(numbers) == len(set(numbers)), f"a shipment listed twice: {numbers}"
    return set(numbers)


# --------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [LIST, ADD, "/staff/shipments/1/"],
)
def test_anonymous_is_sent_to_the_staff_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("staff:login") + "?next=")


def test_logged_in_non_staff_gets_403(client):
    user = get_user_model().objects.create_user("customer", password="pw-x-12345")
    client.force_login(user)
    assert client.get(LIST).status_code == 403
    assert client.post("/staff/shipments/1/refresh/").status_code == 403


def test_login_page_rejects_non_staff_with_a_clear_message(client):
    get_user_model().objects.create_user("customer", password="pw-x-12345")
    response = client.post(
        reverse("staff:login"), {"username": "customer", "password": "pw-x-12345"}
    )
    assert response.status_code == 200
    assert "no access to the staff portal" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_login_and_logout(client, staff_user):
    response = client.post(
        reverse("staff:login"), {"username": "agent", "password": "pw-agent-123"}
    )
    assert response.status_code == 302 and response["Location"] == "/staff/"
    page = client.get(LIST).content.decode()
    for label in ("Shipments", "Add", "Admin", "Log out"):
        assert label in page
    response = client.post(reverse("staff:logout"))
    assert response.status_code == 302
    assert client.get(LIST).status_code == 302


def test_wrong_password_keeps_the_username(client, staff_user):
    response = client.post(reverse("staff:login"), {"username": "agent", "password": "nope"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="agent"' in html
    assert "form-errors" in html


# --------------------------------------------------------------------------------------------
# Search and list
# --------------------------------------------------------------------------------------------
@pytest.fixture
def three(db):
    a = ShipmentFactory(
        in_transit=True,
        tracking_number="1Z999AA10123456784",
        reference="ORD-1001",
        customer_name="Ada Lovelace",
    )
    b = ShipmentFactory(
        in_transit=True,
        tracking_number="794698432183",
        carrier__code="fedex",
        reference="ORD-2002",
        customer_email="grace@example.com",
        status_code="DE",
        status_description="Delivered",
    )
    c = ShipmentFactory(
        in_transit=True,
        tracking_number="4582917364",
        carrier__code="dhl_express",
        status_code="EX",
        exception_description="Held by customs",
        last_event_at=timezone.now() - timedelta(days=9),
    )
    add_events(a, 2, city="LOUISVILLE", postal="40209")
    add_events(b, 2, city="NEW YORK", postal="10001")
    add_events(c, 2, city="LEIPZIG", postal="04435")
    return a, b, c


def test_list_shows_every_shipment_newest_first(staff_client, three):
    html = staff_client.get(LIST).content.decode()
    assert html.index("1Z999AA10123456784") < html.index("4582917364")
    assert numbers_in(html) == {"1Z999AA10123456784", "794698432183", "4582917364"}
    assert f"Showing 1{DASH}3 of 3 shipments" in html


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("1Z999AA10123456784", {"1Z999AA10123456784"}),  # full number
        ("1z999aa", {"1Z999AA10123456784"}),  # partial, any case
        ("1Z 999 AA1", {"1Z999AA10123456784"}),  # typed with spaces
        ("98432", {"794698432183"}),  # middle of a number
        ("ORD-2002", {"794698432183"}),  # reference
        ("lovelace", {"1Z999AA10123456784"}),  # customer name
        ("grace@example", {"794698432183"}),  # customer email
        ("Leipzig", {"4582917364"}),  # city of an event
        ("10001", {"794698432183"}),  # postal code of an event
        ("ORD-", {"1Z999AA10123456784", "794698432183"}),
        ("no-such-thing", set()),
    ],
)
def test_search_finds_by_each_field(staff_client, three, q, expected):
    html = staff_client.get(LIST, {"q": q}).content.decode()
    assert numbers_in(html) == expected
    if not expected:
        assert "Nothing matches" in html


def test_live_search_returns_a_fragment_with_the_status_counts_out_of_band(staff_client, three):
    response = staff_client.get(LIST, {"q": "ORD-"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert re.search(r'<fieldset id="status-filter"[^>]*hx-swap-oob="true"', html)
    assert numbers_in(html) == {"1Z999AA10123456784", "794698432183"}
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_whole_page(staff_client, three):
    response = staff_client.get(
        LIST, {"q": "ORD-"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_the_page_works_without_javascript(staff_client, three):
    a, b, _c = three
    soup = parse(staff_client.get(LIST, {"q": "lovelace"}).content.decode())
    # A plain GET form to this page with a submit button, the search box filled in.
    form = one(soup, "form#shipment-filters")
    assert (form["method"], form["action"]) == ("get", LIST)
    assert one(form, "input[name=q]")["value"] == "lovelace"
    assert form.select("button[type=submit]")
    # Whatever htmx does with a GET, the plain form or a plain link does the same: every element
    # that asks htmx for a page is that form or one of its fields, or a link to the same URL.
    for element in soup.select("[hx-get]"):
        if element is form:
            assert form["hx-get"] == form["action"]
        elif element.name == "a":
            assert element["href"] == element["hx-get"], element
        else:
            assert form in element.parents, f"outside the form: {str(element)[:200]}"
            assert element.get("name"), f"not sent by the form: {str(element)[:200]}"
    # The result rows link to the shipment pages.
    links = soup.select("table.shipment-table a.row-link")
    assert [link["href"] for link in links] == [reverse("staff:shipment_detail", args=[a.pk])]
    # Submitting the form as a browser without JavaScript would: its named fields, as filled in.
    fields = {}
    for field in form.select("input[name]"):
        if field.get("type") in ("checkbox", "radio") and not field.has_attr("checked"):
            continue
        fields.setdefault(field["name"], []).append(field.get("value", ""))
    fields["q"] = ["grace@example"]
    submitted = staff_client.get(form["action"], fields).content.decode()
    assert numbers_in(submitted) == {b.tracking_number}


def test_status_counts_and_filter(staff_client, three):
    html = staff_client.get(LIST, {"status": "EX"}).content.decode()
    assert numbers_in(html) == {"4582917364"}
    counts = dict(
        re.findall(
            r'value="([A-Z]{2}|none)"[^>]*>\s*<span[^>]*>[^<]*</span>\s*<span class="count">(\d+)',
            html,
        )
    )
    # Counts ignore the status filter itself, so the other choices still show what they hold.
    assert (
        counts["IT"] == "1" and counts["DE"] == "1" and counts["EX"] == "1" and counts["AT"] == "0"
    )
    assert re.search(r'value="EX"\s+checked', html)


def test_unknown_status_code_is_counted_and_filterable(staff_client, three):
    ShipmentFactory(
        in_transit=True,
        tracking_number="ZZ123456",
        status_code="QQ",
        status_description="Something new",
    )
    html = staff_client.get(LIST, {"status": "QQ"}).content.decode()
    assert numbers_in(html) == {"ZZ123456"}
    assert 'value="QQ"' in html


def test_never_fetched_filter(staff_client, three):
    ShipmentFactory(
        in_transit=True,
        tracking_number="NEW00001",
        status_code="",
        status_description="",
        last_event_at=None,
    )
    html = staff_client.get(LIST, {"status": "none"}).content.decode()
    assert numbers_in(html) == {"NEW00001"}


def test_carrier_filter(staff_client, three):
    html = staff_client.get(LIST, {"carrier": "fedex"}).content.decode()
    assert numbers_in(html) == {"794698432183"}


def test_unknown_carrier_is_reported_not_a_crash(staff_client, three):
    response = staff_client.get(LIST, {"carrier": "nope"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unknown carrier" in html
    assert len(numbers_in(html)) == 3


def test_date_filters(staff_client, three):
    a, b, c = three
    old = timezone.now() - timedelta(days=30)
    Shipment.objects.filter(pk=a.pk).update(ship_date=old)
    day = old.date().isoformat()
    html = staff_client.get(LIST, {"shipped_from": day, "shipped_to": day}).content.decode()
    assert numbers_in(html) == {a.tracking_number}
    recent = (timezone.now() - timedelta(days=2)).date().isoformat()
    html = staff_client.get(LIST, {"updated_from": recent}).content.decode()
    assert numbers_in(html) == {a.tracking_number, b.tracking_number}
    html = staff_client.get(LIST, {"updated_to": recent}).content.decode()
    assert numbers_in(html) == {c.tracking_number}


def test_bad_dates_are_reported_and_ignored(staff_client, three):
    response = staff_client.get(
        LIST,
        {"shipped_from": "yesterday", "updated_from": "2026-05-02", "updated_to": "2026-05-01"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid date" in html
    assert "The end date is before the start date" in html


def test_needs_attention_filters(staff_client, three):
    _a, _b, c = three
    d = ShipmentFactory(
        in_transit=True,
        tracking_number="1Z12345E0205271688",
        status_code="AT",
        status_description="Attempt",
    )
    e = ShipmentFactory(
        in_transit=True, tracking_number="FAILED0001", consecutive_failures=2, last_error="HTTP 500"
    )
    html = staff_client.get(LIST, {"attention": "exception"}).content.decode()
    assert numbers_in(html) == {c.tracking_number}
    html = staff_client.get(LIST, {"attention": "attempt"}).content.decode()
    assert numbers_in(html) == {d.tracking_number}
    html = staff_client.get(LIST, {"attention": "failed"}).content.decode()
    assert numbers_in(html) == {e.tracking_number}
    assert "refresh failed" in html
    # Quiet for 5 days (default): c (EX, 9 days). Delivered b never counts as quiet.
    html = staff_client.get(LIST, {"attention": "quiet"}).content.decode()
    assert numbers_in(html) == {c.tracking_number}
    html = staff_client.get(LIST, {"attention": "quiet", "quiet_days": "10"}).content.decode()
    assert numbers_in(html) == set()
    html = staff_client.get(LIST, {"attention": ["attempt", "failed"]}).content.decode()
    assert numbers_in(html) == {d.tracking_number, e.tracking_number}


def test_sorting_by_eta(staff_client, three):
    a, b, c = three
    now = timezone.now()
    Shipment.objects.filter(pk=a.pk).update(estimated_delivery_date=now + timedelta(days=3))
    Shipment.objects.filter(pk=c.pk).update(estimated_delivery_date=now + timedelta(days=1))
    html = staff_client.get(LIST, {"sort": "eta"}).content.decode()
    order = result_numbers(html)
    assert order == [c.tracking_number, a.tracking_number, b.tracking_number]  # no ETA last
    html = staff_client.get(LIST, {"sort": "-eta"}).content.decode()
    order = result_numbers(html)
    assert order[:2] == [a.tracking_number, c.tracking_number]


def test_pagination_keeps_the_whole_state_in_the_url(staff_client):
    for i in range(30):
        ShipmentFactory(
            in_transit=True,
            tracking_number=f"PAGE{i:04d}",
            reference=f"ORD-P{i}",
            last_event_at=timezone.now() - timedelta(minutes=i),
        )
    response = staff_client.get(LIST, {"q": "ORD-P", "status": "IT", "sort": "updated"})
    html = response.content.decode()
    assert f"Showing 1{DASH}25 of 30 shipments" in html
    next_link = re.search(r'href="(\?[^"]*page=2)"', html).group(1).replace("&amp;", "&")
    assert "q=ORD-P" in next_link and "status=IT" in next_link and "sort=updated" in next_link
    page2 = staff_client.get(LIST + next_link).content.decode()
    assert f"Showing 26{DASH}30 of 30 shipments" in page2
    # sort=updated: oldest first, so page 2 holds the five newest.
    assert numbers_in(page2) == {f"PAGE{i:04d}" for i in range(5)}
    # A page past the end shows the last page, not an error.
    assert (
        f"Showing 26{DASH}30"
        in staff_client.get(LIST, {"q": "ORD-P", "page": "99"}).content.decode()
    )
    assert (
        f"Showing 1{DASH}25" in staff_client.get(LIST, {"q": "ORD-P", "page": "x"}).content.decode()
    )


def test_empty_database_invites_adding_a_package(staff_client):
    html = staff_client.get(LIST).content.decode()
    assert "No shipments yet" in html and ADD in html


# On PostgreSQL a search runs in the search guard's transaction (queries/search_guard.py) and sets
# its statement timeout (one query); inside the test's own transaction that transaction is a
# savepoint and its release, and the guard puts the settings back: three queries a request outside
# tests does not make.
GUARD_RESET = 4 if connection.vendor == "postgresql" else 0


def test_list_query_count_does_not_grow_with_page_size(staff_client, django_assert_max_num_queries):
    # Session, user, carriers, counts (the tallies), the page (and, when it is short, the rows
    # never updated); a search: its transaction, the exact path, each index, the matches'
    # statuses, the page; then the page's note counts, the counts per needs-attention reason (four
    # index reads: the tallies, the failing-refresh index, the quiet walk in two parts) and the
    # person's saved searches; a search asks the notes too.
    for i in range(3):
        ShipmentFactory(in_transit=True, tracking_number=f"FEW{i}")
    with django_assert_max_num_queries(12):
        staff_client.get(LIST)
    for i in range(120):
        ShipmentFactory(
            in_transit=True,
            tracking_number=f"MANY{i:04d}",
            carrier__code="fedex" if i % 2 else "usps",
        )
    with django_assert_max_num_queries(12):
        response = staff_client.get(LIST, {"per_page": "100"})
    assert len(numbers_in(response.content.decode())) == 100
    with django_assert_max_num_queries(17 + GUARD_RESET):
        staff_client.get(LIST, {"q": "MANY", "status": "IT", "attention": "quiet"}, **HX)


def test_a_broad_search_counts_only_up_to_the_cap(
    staff_client, settings, django_assert_max_num_queries
):
    settings.STAFF_SEARCH_COUNT_CAP = 10
    for i in range(14):
        ShipmentFactory(in_transit=True, tracking_number=f"HUB{i:04d}")
    ShipmentFactory(in_transit=True, tracking_number="OTHER0001")
    # 13 + the page's note counts, the reason counts, the saved searches, the notes part.
    with django_assert_max_num_queries(17 + GUARD_RESET):
        html = staff_client.get(LIST, {"q": "HUB0"}).content.decode()
    assert "more than 10 matches" in html
    assert len(numbers_in(html)) == 14  # the page itself is not cut short
    assert re.search(r'class="count">1[01]\+<', html)  # a lower bound, said as one
    narrow = staff_client.get(LIST, {"q": "HUB000"}).content.decode()
    assert "more than" not in narrow and len(numbers_in(narrow)) == 10
    settings.STAFF_SEARCH_COUNT_CAP = 0  # 0: count everything
    everything = staff_client.get(LIST, {"q": "HUB0"}).content.decode()
    assert "more than" not in everything and len(numbers_in(everything)) == 14


# --------------------------------------------------------------------------------------------
# Add a package
# --------------------------------------------------------------------------------------------
def test_add_form_offers_only_active_carriers(staff_client):
    Carrier.objects.filter(code="apc").update(is_active=False)
    html = staff_client.get(ADD, {"tracking_number": "794698432183"}).content.decode()
    assert 'value="fedex"' in html and 'value="apc"' not in html
    assert 'value="794698432183"' in html


def test_add_fetches_at_once_and_opens_the_shipment(staff_client):
    response = staff_client.post(
        ADD,
        {
            "carrier": "fedex",
            "tracking_number": " 7946 9843 2183 ",
            "reference": "ORD-9",
            "customer_name": "Ada",
            "customer_email": "ada@example.com",
        },
    )
    shipment = Shipment.objects.get(tracking_number="794698432183")
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:shipment_detail", args=[shipment.pk])
    assert shipment.status_code == "IT" and shipment.events.count() > 0
    assert shipment.reference == "ORD-9" and shipment.customer_email == "ada@example.com"


def test_add_existing_opens_it_without_a_duplicate_or_an_api_call(staff_client, monkeypatch):
    existing = ShipmentFactory(
        in_transit=True, tracking_number="794698432183", carrier__code="fedex"
    )

    def no_call(**kwargs):
        raise AssertionError("the API must not be called for a known package")

    monkeypatch.setattr(tracking_service, "track_shipment", no_call)
    response = staff_client.post(ADD, {"carrier": "fedex", "tracking_number": "794698432183"})
    assert response["Location"] == reverse("staff:shipment_detail", args=[existing.pk])
    assert Shipment.objects.filter(tracking_number="794698432183").count() == 1
    assert "already tracked" in staff_client.get(response["Location"]).content.decode()


def test_add_api_error_is_shown_in_the_form_with_the_input_kept(staff_client):
    response = staff_client.post(
        ADD,
        {
            "carrier": "ups",
            "tracking_number": "FAULT-404",
            "reference": "ORD-KEEP",
            "customer_name": "Kept Name",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "The tracking number was not found" in html
    assert (
        'value="FAULT-404"' in html and 'value="ORD-KEEP"' in html and 'value="Kept Name"' in html
    )
    assert not Shipment.objects.filter(tracking_number="FAULT-404").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"carrier": "ups", "tracking_number": ""}, "This field is required"),
        ({"carrier": "ups", "tracking_number": "ABC/123"}, "only letters and digits"),
        ({"carrier": "nope", "tracking_number": "ABC123"}, "Select a valid choice"),
        ({"carrier": "ups", "tracking_number": "ABC123", "customer_email": "x"}, "valid email"),
    ],
)
def test_add_bad_input_is_explained(staff_client, data, message):
    response = staff_client.post(ADD, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Shipment.objects.exists()


def test_add_inactive_carrier_is_refused(staff_client):
    Carrier.objects.filter(code="ups").update(is_active=False)
    response = staff_client.post(ADD, {"carrier": "ups", "tracking_number": "1Z999AA10123456784"})
    assert response.status_code == 422
    soup = parse(response)
    assert one(soup, "select#id_carrier")["aria-invalid"] == "true"
    assert one(soup, "#id_carrier_error").get_text(strip=True) == (
        "Select a valid choice. That choice is not one of the available choices."
    )
    assert not soup.select("select#id_carrier option[value=ups]")  # not offered either
    assert one(soup, "input#id_tracking_number")["value"] == "1Z999AA10123456784"  # input kept
    assert not Shipment.objects.filter(tracking_number="1Z999AA10123456784").exists()


# --------------------------------------------------------------------------------------------
# Shipment page
# --------------------------------------------------------------------------------------------
@pytest.fixture
def tracked(db):
    return services.track_shipment(
        carrier_code="ups", tracking_number="1Z5R89390357567127", reference="ORD-77"
    )


def test_shipment_page_shows_header_milestones_timeline_map_and_raw_answer(staff_client, tracked):
    response = staff_client.get(reverse("staff:shipment_detail", args=[tracked.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    badge = one(html, ".header-status .badge")
    assert "status-DE" in badge["class"] and badge.get_text(strip=True) == "Delivered"
    assert one(html, "#tracking-number").get_text(strip=True) == "1Z5R89390357567127"
    assert one(html, "h1 [data-copy-target]")["data-copy-target"] == "tracking-number"
    assert "J SMITH" in html  # signer
    assert 'class="milestones"' in html
    assert 'class="timeline"' in html
    assert 'data-map="shipment-map-points"' in html
    assert (
        "<details" in html and "Last raw API answer" in html and "&quot;status_code&quot;" in html
    )
    assert f'hx-post="/staff/shipments/{tracked.pk}/refresh/"' in html
    assert "ORD-77" in html
    assert "js/staff.js" in html


def test_shipment_without_coordinates_shows_the_empty_map_state(staff_client):
    shipment = ShipmentFactory(in_transit=True, tracking_number="NOCOORDS1")
    add_events(shipment, 1)
    TrackingEvent.objects.update(latitude=None, longitude=None)
    html = staff_client.get(reverse("staff:shipment_detail", args=[shipment.pk])).content.decode()
    assert "data-map=" not in html and "map-empty" in html


def test_shipment_page_404(staff_client):
    assert staff_client.get("/staff/shipments/999999/").status_code == 404


def test_shipment_page_query_count_does_not_grow_with_events(
    staff_client, django_assert_max_num_queries
):
    few = ShipmentFactory(in_transit=True, tracking_number="FEWEVENTS")
    add_events(few, 2)
    many = ShipmentFactory(in_transit=True, tracking_number="MANYEVENTS")
    add_events(many, 200)
    # The carrier names are cached per process (queries/carriers.py): warm them first, so the
    # count does not depend on which test ran before this one.
    staff_client.get(reverse("staff:shipment_detail", args=[few.pk]))
    for shipment in (few, many):
        # Session, user, shipment, events, notes, and the e-mails sent for the parcel.
        with django_assert_max_num_queries(6):
            response = staff_client.get(reverse("staff:shipment_detail", args=[shipment.pk]))
    assert response.content.decode().count('class="timeline-item') == 200


def test_a_shipment_page_opened_again_reads_no_events(staff_client, django_assert_max_num_queries):
    shipment = ShipmentFactory(in_transit=True, tracking_number="MANYEVENTS")
    add_events(shipment, 200)
    url = reverse("staff:shipment_detail", args=[shipment.pk])
    first = staff_client.get(url).content.decode()
    # Session, user, shipment, notes, e-mails: the timeline, map and facts come from the cache.
    with django_assert_max_num_queries(5) as captured:
        again = staff_client.get(url).content.decode()
    assert not [q for q in captured.captured_queries if "tracking_trackingevent" in q["sql"]]
    assert again.count('class="timeline-item') == 200
    assert texts(again, ".timeline-day-label") == texts(first, ".timeline-day-label")
    assert one(again, "#shipment-map-points").string == one(first, "#shipment-map-points").string


def test_a_cached_shipment_page_shows_new_events_at_once(staff_client, seed_example):
    shipment = ShipmentFactory(in_transit=True, tracking_number="1Z5R89390357567127")
    add_events(shipment, 3)
    url = reverse("staff:shipment_detail", args=[shipment.pk])
    assert staff_client.get(url).content.decode().count('class="timeline-item') == 3
    ingest.ingest_tracking(shipment_id=shipment.pk, info=TrackingInfo.from_json(seed_example))
    shipment.refresh_from_db()
    html = staff_client.get(url).content.decode()
    assert shipment.event_count > 3
    assert html.count('class="timeline-item') == shipment.event_count
    assert any(t.endswith("Delivered, In/At Mailbox") for t in texts(html, ".timeline-text"))


def test_refresh_htmx_updates_in_place(staff_client, tracked):
    TrackingEvent.objects.filter(shipment=tracked).order_by("occurred_at").first().delete()
    url = reverse("staff:shipment_refresh", args=[tracked.pk])
    response = staff_client.post(url, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="tracking"')
    assert "Refreshed just now: 1 new event." in html


def test_refresh_failure_is_shown_clearly_and_recorded(staff_client):
    shipment = ShipmentFactory(in_transit=True, tracking_number="FAULT-404")
    url = reverse("staff:shipment_refresh", args=[shipment.pk])
    html = staff_client.post(url, **HX).content.decode()
    assert 'role="alert"' in html and "Refresh failed." in html
    assert "The tracking number was not found" in html
    shipment.refresh_from_db()
    assert shipment.consecutive_failures == 1
    # Without htmx: back to the page with the message.
    response = staff_client.post(url)
    assert response.status_code == 302
    page = staff_client.get(response["Location"]).content.decode()
    assert "Refresh failed" in page and "The last 2 refreshes failed." in page


def test_refresh_without_htmx_redirects_with_a_message(staff_client, tracked):
    url = reverse("staff:shipment_refresh", args=[tracked.pk])
    response = staff_client.post(url)
    assert response.status_code == 302
    assert "Refreshed: 0 new events." in staff_client.get(response["Location"]).content.decode()


def test_refresh_needs_post(staff_client, tracked):
    assert staff_client.get(reverse("staff:shipment_refresh", args=[tracked.pk])).status_code == 405


def test_staff_details_are_editable(staff_client, tracked):
    url = reverse("staff:shipment_update", args=[tracked.pk])
    response = staff_client.post(
        url,
        {
            "reference": "ORD-NEW",
            "customer_name": "Bo",
            "customer_email": "bo@example.com",
            "customer_postcode": "10115",
        },
    )
    assert response.status_code == 302
    tracked.refresh_from_db()
    assert (tracked.reference, tracked.customer_name, tracked.customer_postcode) == (
        "ORD-NEW",
        "Bo",
        "10115",
    )
    # And the search finds the new reference at once (the search index follows).
    assert numbers_in(staff_client.get(LIST, {"q": "ORD-NEW"}).content.decode()) == {
        tracked.tracking_number
    }


def test_invalid_details_keep_the_input_and_store_nothing(staff_client, tracked):
    url = reverse("staff:shipment_update", args=[tracked.pk])
    response = staff_client.post(url, {"reference": "ORD-TYPED", "customer_email": "not-an-email"})
    html = response.content.decode()
    assert response.status_code == 422
    assert 'value="ORD-TYPED"' in html and "valid email" in html
    tracked.refresh_from_db()
    assert tracked.reference == "ORD-77"


def test_export_link_carries_the_list_state(staff_client, three):
    html = staff_client.get(LIST, {"q": "ORD-", "status": "IT", "page": "1"}).content.decode()
    assert f'href="{reverse("staff:export")}?q=ORD-&amp;status=IT"' in html
