"""The staff list's ways of staying fast (queries/shipment_list.py, queries/search_guard.py): keyset
pages, a broad search walked in chunks with an honest "more than N", exact matches first, a
misspelt name corrected, counts from the tallies, and a search stopped when it runs too long or
the same person starts another. Small data with a small cap, so the broad paths run."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import timezone

from tests.html import parse
from tracking.models import Carrier, Shipment
from tracking.queries import keyset_pages, search_guard, shipment_list
from tracking.queries.keyset_pages import Cursor, PageRequest
from tracking.queries.shipment_list import ListState, filter_shipments
from tracking.services import search_index

pytestmark = pytest.mark.django_db
LIST = reverse("staff:shipment_list")
NOW = timezone.now().replace(microsecond=0)


def ship(number: str, *, minutes: int | None = 0, carrier: str = "ups", **fields) -> Shipment:
    return Shipment.objects.create(
        carrier=Carrier.objects.get(code=carrier),
        tracking_number=number,
        status_code=fields.pop("status_code", "IT"),
        last_event_at=None if minutes is None else NOW - timedelta(minutes=minutes),
        **fields,
    )


def walk_all(state: ListState) -> list[str]:
    """Every row, page by page through the links, as a person clicking "Next" would."""
    result = filter_shipments(state)
    seen, request = [], PageRequest()
    for _ in range(100):
        page = result.page(request)
        seen += [s.tracking_number for s in page.rows]
        if page.next is None:
            return seen
        request = page.next
        result = filter_shipments(state)  # a new request each time
    raise AssertionError("more pages than rows")


@pytest.fixture
def fifty(db):
    rows = [ship(f"K{i:03d}", minutes=i // 2) for i in range(45)]  # ties on the minute
    rows += [ship(f"N{i:03d}", minutes=None) for i in range(5)]  # never updated: last
    return rows


def test_keyset_pages_visit_every_row_once_in_order(fifty):
    order = [
        s.tracking_number for s in Shipment.objects.order_by(*shipment_list.ORDERINGS["-updated"])
    ]
    assert walk_all(ListState(per_page=7)) == order
    oldest = [
        s.tracking_number for s in Shipment.objects.order_by(*shipment_list.ORDERINGS["updated"])
    ]
    assert walk_all(ListState(per_page=7, sort="updated")) == oldest
    assert oldest[-5:] == [f"N{i:03d}" for i in range(5)]  # never updated: last either way


def test_previous_and_last_pages(fifty):
    result = filter_shipments(ListState(per_page=10))
    first = result.page()
    second = result.page(first.next)
    third = result.page(second.next)
    back = filter_shipments(ListState(per_page=10)).page(third.previous)
    assert [s.pk for s in back.rows] == [s.pk for s in second.rows]
    assert back.number == 2
    last = filter_shipments(ListState(per_page=10)).page(PageRequest(5, last=True))
    assert last.number == 5 and len(last.rows) == 10 and last.next is None
    assert [s.tracking_number for s in last.rows][-1] == "N000"
    assert first.previous is None and first.last == PageRequest(5, last=True)


def test_cursors_survive_the_url_and_nonsense_is_the_first_page():
    cursor = Cursor(NOW, 42)
    assert Cursor.parse(cursor.token()) == cursor
    assert Cursor.parse(Cursor(None, 7).token()) == Cursor(None, 7)
    for bad in ["", "x", "~", "2026-01-01~x", "notadate~3", "2026-01-01T00:00:00~3", "~" * 200]:
        assert Cursor.parse(bad) is None
    assert keyset_pages.page_request(page="x", after="bad", before=None, last="1") == PageRequest(
        1, last=True
    )


def test_an_exact_match_answers_alone_and_ranks_first_among_partial_ones(db, settings, client):
    settings.STAFF_SEARCH_COUNT_CAP = 100
    exact = ship("ORD77", minutes=500, reference="ORD-77")
    for i in range(5):
        ship(f"X{i}", minutes=i, reference=f"ORD-77{i}")
    # The exact fast path is the answer by itself: no substring work...
    result = filter_shipments(ListState(q="ORD-77"))
    page = result.page()
    assert result.exact_only and page.rows == [exact] and page.total == 1
    # ...unless the shipments that merely contain the text are asked for too: ranked after it.
    result = filter_shipments(ListState(q="ORD-77", contains=True))
    page = result.page()
    assert not result.exact_only
    assert page.rows[0] == exact and page.exact_ids == {exact.pk}
    assert [s.reference for s in page.rows[1:]] == [f"ORD-77{i}" for i in range(5)]
    assert page.total == 6 and not page.capped
    # The page offers the wider search, and the link keeps it.
    client.force_login(get_user_model().objects.create_user("e", is_staff=True))
    html = parse(client.get(LIST, {"q": "ORD-77"}).content)
    link = next(a["href"] for a in html.select(".result-summary a") if "contains=1" in a["href"])
    wider = parse(client.get(LIST + link).content)
    assert len(wider.select("a.row-link")) == 6
    # A query that is not an identifier has no exact match: substring search as always.
    assert filter_shipments(ListState(q="ORD-7")).page().total == 6


def test_a_broad_search_walks_newest_first_and_says_more_than(db, settings):
    settings.STAFF_SEARCH_COUNT_CAP = 5
    hub = []
    for i in range(40):
        s = ship(f"H{i:03d}", minutes=i, status_code="DE" if i % 4 == 0 else "IT")
        if i % 3 == 0:
            hub.append(s)
        search_index.link_places(visits=[(s.pk, _scan("MEMPHIS" if i % 3 == 0 else "RENO"))])
    state = ListState(q="memphis", per_page=4)
    result = filter_shipments(state)
    page = result.page()
    assert result.broad and page.capped and page.more_than == 5
    newest = [s.tracking_number for s in sorted(hub, key=lambda s: s.last_event_at, reverse=True)]
    assert [s.tracking_number for s in page.rows] == newest[:4]
    assert walk_all(state) == newest  # every match, once, through the keyset links
    # With a status filter the cap's "more than" is not known: a lower bound, said as one.
    filtered = filter_shipments(ListState(q="memphis", statuses=("DE",), per_page=4))
    page = filtered.page()
    assert page.capped and page.more_than == 0
    assert all(s.status_code == "DE" for s in page.rows)
    assert page.total <= sum(1 for s in hub if s.status_code == "DE")


def test_a_broad_page_is_bounded_work_and_carries_on_where_it_stopped(db, settings, monkeypatch):
    settings.STAFF_SEARCH_COUNT_CAP = 2
    monkeypatch.setattr(shipment_list, "CHUNK", 5)
    monkeypatch.setattr(shipment_list, "CHUNK_GROWTH", 1)
    monkeypatch.setattr(shipment_list, "MAX_ROWS", 10)  # at most 10 rows read per page
    rare = []
    for i in range(60):
        s = ship(f"R{i:03d}", minutes=i)
        if i % 20 == 19:
            rare.append(s.tracking_number)
            search_index.link_places(visits=[(s.pk, _scan("BOISE"))])
    for i in range(3):  # more than the cap elsewhere, so that the search is broad
        s = ship(f"Z{i}", minutes=1000 + i)
        search_index.link_places(visits=[(s.pk, _scan("BOISE"))])
    state = ListState(q="boise", per_page=2)
    first = filter_shipments(state).page()
    assert first.rows == [] and first.next is not None  # nothing in the first 10: go on
    assert walk_all(state) == [*rare, "Z0", "Z1", "Z2"]


def test_carrier_names_match_by_their_own_index(db, settings):
    settings.STAFF_SEARCH_COUNT_CAP = 3
    for i in range(6):
        ship(f"F{i}", minutes=i, carrier="fedex")
    ship("U1", minutes=0)
    result = filter_shipments(ListState(q="FedEx", per_page=4))
    page = result.page()
    assert result.broad and [s.tracking_number for s in page.rows] == ["F0", "F1", "F2", "F3"]
    assert walk_all(ListState(q="fedex", per_page=4)) == [f"F{i}" for i in range(6)]


def test_a_misspelt_name_is_corrected_on_both_databases(db):
    ship("J1", customer_name="Mary Johnson")
    ship("J2", customer_name="Peter Johnston")
    ship("O1", customer_name="Olga Other")
    result = filter_shipments(ListState(q="jonhson"))
    page = result.page()
    assert result.corrected == ("JOHNSON",)
    assert page.similar and [s.tracking_number for s in page.rows] == ["J1"]
    assert filter_shipments(ListState(q="johnson")).corrected == ()  # found as typed: as is
    assert filter_shipments(ListState(q="xqzvwk")).page().rows == []


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("JOHNSON", "JONHSON", 1),
        ("SMITH", "SMIHT", 1),
        ("SMITH", "SMYTH", 1),
        ("ADA", "ADAM", 1),
        ("KITTEN", "SITTING", 3),
    ],
)
def test_edit_distance(a, b, distance):
    from tracking.models.search import edit_distance

    assert edit_distance(a, b) == distance == edit_distance(b, a)


def test_the_list_counts_from_the_tallies_and_they_follow_every_write(db):
    a = ship("T1", status_code="IT")
    b = ship("T2", status_code="IT", carrier="fedex")
    Shipment.objects.bulk_create(
        [
            Shipment(
                carrier=a.carrier, tracking_number=f"B{i}", status_code="DE", public_token=f"t{i}"
            )
            for i in range(3)
        ]
    )
    assert shipment_list.shipment_search.tally_totals() == {"IT": 2, "DE": 3}
    Shipment.objects.filter(pk=a.pk).update(status_code="DE")
    b.delete()
    Shipment.objects.filter(pk=a.pk).update(notes="no status change")
    assert shipment_list.shipment_search.tally_totals() == {"DE": 4}
    fedex = Carrier.objects.get(code="fedex").pk
    Shipment.objects.filter(tracking_number="B0").update(carrier_id=fedex)
    assert shipment_list.shipment_search.tally_totals(carrier_ids=[fedex]) == {"DE": 1}
    assert filter_shipments(ListState()).total == 4
    assert filter_shipments(ListState(carrier="fedex")).total == 1
    rows_before = shipment_list.shipment_search.ShipmentTally.objects.count()
    assert search_index.compact_tallies() == rows_before
    assert shipment_list.shipment_search.ShipmentTally.objects.count() == 2  # ups/DE, fedex/DE
    assert shipment_list.shipment_search.tally_totals() == {"DE": 4}
    assert search_index.compact_tallies() == 0  # nothing to fold


def test_a_search_too_slow_is_stopped_and_said_so(db, settings, client, monkeypatch):
    settings.STAFF_SEARCH_TIMEOUT_MS = 1
    client.force_login(get_user_model().objects.create_user("s", is_staff=True))
    ship("SLOW1", reference="ORD-SLOW")

    def slow(*args, **kwargs):
        raise search_guard.SearchStopped("timeout")

    monkeypatch.setattr(shipment_list.ListResult, "page", slow)
    html = client.get(LIST, {"q": "ORD-SLOW"}).content.decode()
    assert "took too long" in parse(html).select_one(".form-errors").get_text()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's progress handler")
def test_sqlite_statements_stop_at_the_deadline_and_when_superseded(db):
    def long_query() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                "SELECT count(*) FROM n"
            )

    with (
        pytest.raises(search_guard.SearchStopped) as stopped,
        search_guard.search_guard("user:1", timeout_ms=50),
    ):
        long_query()
    assert stopped.value.reason == "timeout"
    # A second search of the same person stops the first one's statement.
    started = threading.Event()
    outcome: list[str] = []

    def first() -> None:
        from django.db import connections

        try:
            with search_guard.search_guard("user:2", timeout_ms=20_000):
                started.set()
                long_query()
        except search_guard.SearchStopped as exc:
            outcome.append(exc.reason)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(5)
    with search_guard.search_guard("user:2", timeout_ms=1000):
        pass
    thread.join(10)
    assert outcome == ["superseded"]


@pytest.mark.postgres_only  # PostgreSQL's statement_timeout
def test_postgresql_statements_stop_at_the_timeout(db):
    with (
        pytest.raises(search_guard.SearchStopped) as stopped,
        search_guard.search_guard("user:1", timeout_ms=50),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(2)")
    assert stopped.value.reason == "timeout"
    with connection.cursor() as cursor:  # the connection is usable again, and reset
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.postgres_only  # PostgreSQL's statement_timeout
def test_a_search_inside_a_transaction_leaves_its_settings_behind(db):
    # The test's transaction is the outer one: the guard's is a savepoint, which a successful
    # search releases, and a transaction-local setting outlives a released savepoint.
    with search_guard.search_guard("user:1", timeout_ms=50), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
        cursor.execute("SELECT pg_sleep(0.2)")  # later statements are not cut at 50 ms


def test_other_database_errors_are_not_swallowed(db):
    with (
        pytest.raises(DatabaseError),
        search_guard.search_guard("user:1", timeout_ms=1000),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table_here")


class _scan:  # a stand-in for a TrackEvent: just a place
    def __init__(self, city: str) -> None:
        self.city_locality = city
        self.state_province = ""
        self.postal_code = ""
        self.country_code = "US"
