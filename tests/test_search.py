"""The staff search: the SQLite trigram index and its triggers, and the plain-lookup path the
other databases use (run here on SQLite by switching the index off)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tracking.models import Carrier, Shipment, TrackingEvent, search

pytestmark = pytest.mark.django_db
# The FTS5 table and its triggers exist on SQLite only (migration 0003).
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 index")


def ship(number: str, **fields) -> Shipment:
    return Shipment.objects.create(
        carrier=Carrier.objects.get(code=fields.pop("carrier", "ups")),
        tracking_number=number,
        **fields,
    )


def event(shipment: Shipment, key: str, city: str = "", postal: str = "") -> TrackingEvent:
    return TrackingEvent.objects.create(
        shipment=shipment,
        dedupe_key=key,
        occurred_at=timezone.now() - timedelta(hours=1),
        city_locality=city,
        postal_code=postal,
    )


def found(q: str) -> set[str]:
    return set(Shipment.objects.search(q).values_list("tracking_number", flat=True))


def places(shipment: Shipment) -> str:
    """The shipment's indexed places, in the order they were first seen."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT place FROM {search.PLACE_TABLE} WHERE shipment_id = %s ORDER BY rowid",
            [shipment.pk],
        )
        return " ; ".join(row[0] for row in cur.fetchall())


@pytest.fixture
def data(db):
    a = ship(
        "1Z999AA10123456784",
        reference="ORD-1001",
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
    )
    b = ship("794698432183", carrier="fedex", reference="PO 77/2", customer_name="Grace Hopper")
    event(a, "a1", "LOUISVILLE", "40209")
    event(b, "b1", "NEW YORK", "10001")
    return a, b


@pytest.fixture(params=["sqlite-fts", "plain-lookups"])
def path(request, monkeypatch):
    if request.param == "plain-lookups":
        monkeypatch.setattr(search, "_has_fts", lambda alias: False)
    return request.param


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("1Z999AA10123456784", {"1Z999AA10123456784"}),
        ("aa1012", {"1Z999AA10123456784"}),
        ("7946 9843", {"794698432183"}),
        ("ord-1001", {"1Z999AA10123456784"}),
        ("PO 77/2", {"794698432183"}),
        ("hopper", {"794698432183"}),
        ("ADA@EXAMPLE", {"1Z999AA10123456784"}),
        ("louisville", {"1Z999AA10123456784"}),
        ("10001", {"794698432183"}),
        ("  ", {"1Z999AA10123456784", "794698432183"}),  # empty: everything
        ("zzzz", set()),
    ],
)
def test_both_paths_find_the_same(data, path, q, expected):
    assert found(q) == expected


def test_short_queries_match_exact_values_only(data, path):
    ship("Z9", reference="R1")
    assert found("Z9") == {"Z9"}
    assert found("r1") == set()  # references are exact, as typed
    assert found("R1") == {"Z9"}
    assert found("1Z") == set()


@pytest.mark.parametrize(
    "q", ['"', 'a"b', "OR", "NEAR(a b)", "a* OR b", "-x", "^abc", "col:abc", "'"]
)
def test_query_syntax_is_never_interpreted(data, path, q):
    # Nothing typed can be FTS query syntax: no error, and only literal matches.
    assert found(q) == set()


@sqlite_only
def test_partial_place_matches_on_sqlite(data):
    assert found("LOUISV") == {"1Z999AA10123456784"}
    assert found("4020") == {"1Z999AA10123456784"}


@sqlite_only
def test_triggers_follow_inserts_updates_and_deletes(data):
    c = ship("NEWPARCEL123", reference="ORD-3")
    assert found("PARCEL12") == {"NEWPARCEL123"}
    Shipment.objects.filter(pk=c.pk).update(reference="ORD-CHANGED")
    assert found("ORD-CHANGED") == {"NEWPARCEL123"}
    assert found("ORD-3") == set()
    c.delete()
    assert found("PARCEL12") == set()
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {search.FTS_TABLE} WHERE rowid = %s", [c.pk or 0])
        assert cur.fetchone()[0] == 0


@sqlite_only
def test_event_places_are_added_once_and_follow_changes(data):
    a, _b = data
    event(a, "a2", "LOUISVILLE", "40209")  # same place again
    event(a, "a3", "ATLANTA", "30354")
    event(a, "a4", "", "")  # no place: nothing to add
    assert places(a) == "LOUISVILLE 40209 ; ATLANTA 30354"
    assert found("atlanta") == {"1Z999AA10123456784"}
    TrackingEvent.objects.filter(shipment=a, dedupe_key="a3").update(
        city_locality="DECATUR", postal_code="30030"
    )
    assert found("atlanta") == set()
    assert found("decatur") == {"1Z999AA10123456784"}
    TrackingEvent.objects.filter(shipment=a, dedupe_key="a3").delete()
    assert found("decatur") == set()
    assert found("louisville") == {"1Z999AA10123456784"}


def test_full_saves_do_not_rewrite_the_index_row_needlessly(data):
    a, _ = data
    a.notes = "called the customer"
    a.save()  # every column in the UPDATE: the trigger's WHEN clause skips the index
    assert found("ORD-1001") == {"1Z999AA10123456784"}


@sqlite_only
def test_rebuild_restores_a_damaged_index(data):
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {search.FTS_TABLE}")
    assert found("lovelace") == set()
    assert search.rebuild_sqlite_index() == 2
    assert found("lovelace") == {"1Z999AA10123456784"}
    assert found("new york") == {"794698432183"}


def test_rebuild_is_a_no_op_elsewhere(data, monkeypatch):
    monkeypatch.setattr(search, "_has_fts", lambda alias: False)
    assert search.rebuild_sqlite_index() == 0


def test_clean_query_squashes_whitespace_and_limits_length():
    assert search.clean_query("  a \t b\n") == "a b"
    assert len(search.clean_query("x" * 1000)) == search.MAX_QUERY
    assert search.clean_query(None) == ""
