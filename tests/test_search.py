"""The staff search's matching (tracking/models/search.py): what one query finds, on the SQLite
trigram table and on the plain row-by-row lookups (the other path, run here by switching the
table off), and the SQLite table's triggers. PostgreSQL's plans: tests/test_search_plans.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tracking.models import Carrier, Shipment, TrackingEvent, search
from tracking.services import search_index

pytestmark = pytest.mark.django_db
# The FTS5 table and its triggers exist on SQLite only (migration 0011).
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 index")


def ship(number: str, **fields) -> Shipment:
    return Shipment.objects.create(
        carrier=Carrier.objects.get(code=fields.pop("carrier", "ups")),
        tracking_number=number,
        **fields,
    )


def event(
    shipment: Shipment, key: str, city: str = "", postal: str = "", state: str = ""
) -> TrackingEvent:
    stored = TrackingEvent.objects.create(
        shipment=shipment,
        dedupe_key=key,
        occurred_at=timezone.now() - timedelta(hours=1),
        city_locality=city,
        state_province=state,
        postal_code=postal,
        country_code="US",
    )
    # What the ingest does for each new event (these skip the ingest).
    search_index.link_places(visits=[(shipment.pk, stored)])
    return stored


def found(q: str) -> set[str]:
    return set(Shipment.objects.search(q).values_list("tracking_number", flat=True))


@pytest.fixture
def data(db):
    a = ship(
        "1Z999AA10123456784",
        reference="ORD-1001",
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        customer_postcode="SW1A 2AA",
        label_id="se-774201",
    )
    b = ship(
        "794698432183",
        carrier="fedex",
        reference="PO 77/2",
        customer_name="Grace Hopper",
        signer="G HOPPER",
    )
    event(a, "a1", "LOUISVILLE", "40209", "KY")
    event(b, "b1", "NEWARK", "07114", "NJ")
    return a, b


@pytest.fixture(params=["sqlite-fts", "plain-lookups"])
def path(request, monkeypatch):
    if request.param == "plain-lookups":
        monkeypatch.setattr(search, "_has_fts", lambda alias: False)
    return request.param


A, B = "1Z999AA10123456784", "794698432183"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (A, {A}),
        ("aa1012", {A}),  # part of a number, any case
        ("7946 9843", {B}),  # typed with spaces
        ("ord-1001", {A}),  # reference
        ("PO 77/2", {B}),
        ("hopper", {B}),  # customer name (and signer)
        ("ADA@EXAMPLE", {A}),  # email
        ("SW1A 2AA", {A}),  # customer postcode
        ("se-774201", {A}),  # label id, whole
        ("774201", {A}),  # label id, part
        ("G HOPPER", {B}),  # the signer
        ("louisville", {A}),  # a place of its events
        ("40209", {A}),  # a postcode of its events
        ("Newark NJ", {B}),
        ("Newark, NJ", {B}),
        ("newark,nj 07114", {B}),
        ("NJ", {B}),  # a state on its own
        ("ky", {A}),
        ("FedEx", {B}),  # the carrier's name
        ("fedex", {B}),  # ... or code
        ("  ", {A, B}),  # empty: everything
        ("zzzz", set()),
    ],
)
def test_both_paths_find_the_same(data, path, q, expected):
    assert found(q) == expected


def test_short_queries_match_exact_values_and_codes_only(data, path):
    ship("Z9", reference="R1")
    assert found("Z9") == {"Z9"}
    assert found("r1") == set()  # references are exact, as typed
    assert found("R1") == {"Z9"}
    assert found("1Z") == set()


@pytest.mark.parametrize(
    "q", ['"', 'a"b', "OR", "NEAR(a b)", "a* OR b", "-x", "^abc", "col:abc", "'", "%", "_", "%_%"]
)
def test_query_syntax_is_never_interpreted(data, path, q):
    # Nothing typed can be FTS or LIKE syntax: no error, and only literal matches.
    assert found(q) == set()


def test_terms_are_worked_out_once():
    carriers = list(Carrier.objects.filter(code__in=["ups", "dhl_express"]))
    terms = search.terms_for("  DHL   Express ", carriers)
    assert terms is not None
    assert terms.q == "DHL Express"
    assert terms.carrier_ids == (Carrier.objects.get(code="dhl_express").pk,)
    assert terms.place == "DHL EXPRESS"
    assert search.terms_for(" ", carriers) is None
    spaced = search.terms_for("1z 999 aa1", [])
    assert spaced is not None and spaced.patterns == ("1Z 999 AA1", "1Z999AA1")
    assert spaced.exact_numbers == ("1Z999AA1",)
    dashed = search.terms_for("1Z5R-8939-0357", [])
    assert dashed is not None and dashed.exact_numbers == ("1Z5R-8939-0357", "1Z5R89390357")


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (("Newark", "NJ", "07114", "US"), "NEWARK NJ 07114 US"),
        (("  St. Louis ", "", "63101", "US"), "ST LOUIS 63101 US"),
        (("LONDON", "", "SW1A 1AA", "GB"), "LONDON SW1A 1AA GB"),
        (("Köln", "NRW", "", "DE"), "KÖLN NRW DE"),
    ],
)
def test_place_text_is_what_queries_are_compared_with(parts, text):
    assert search.place_text(*parts) == text
    assert search.place_text("newark, nj") == "NEWARK NJ"


@sqlite_only
def test_the_document_table_follows_inserts_updates_and_deletes(data):
    c = ship("NEWPARCEL123", reference="ORD-3")
    assert found("PARCEL12") == {"NEWPARCEL123"}
    Shipment.objects.filter(pk=c.pk).update(reference="ORD-CHANGED", signer="M CURIE")
    assert found("ORD-CHANGED") == {"NEWPARCEL123"}
    assert found("M CURIE") == {"NEWPARCEL123"}
    assert found("ORD-3") == set()
    c.delete()
    assert found("PARCEL12") == set()
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH %s",
            ['"PARCEL12"'],
        )
        assert cur.fetchone()[0] == 0


def test_full_saves_keep_the_index_right(data):
    a, _ = data
    a.notes = "called the customer"
    a.save()  # every column in the UPDATE: the trigger's WHEN clause skips the index
    assert found("ORD-1001") == {A}


def test_a_place_is_stored_once_and_linked_once(data):
    a, b = data
    event(a, "a2", "LOUISVILLE", "40209", "KY")  # same place again
    event(a, "a3", "ATLANTA", "30354", "GA")
    event(a, "a4")  # no place: nothing to add
    event(b, "b2", "LOUISVILLE", "40209", "KY")
    louisville = search.Place.objects.get(text="LOUISVILLE KY 40209 US")
    assert search.ShipmentPlace.objects.filter(place=louisville).count() == 2
    assert search.Place.objects.count() == 3
    assert found("atlanta") == {A}
    assert found("louisville") == {A, B}


@sqlite_only
def test_rebuild_restores_a_damaged_index(data):
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}) VALUES ('delete-all')")
        cur.execute("DELETE FROM tracking_shipmentplace")
    assert found("lovelace") == set()
    assert found("newark") == set()
    counts = search_index.rebuild()
    assert counts["links"] == 2
    assert found("lovelace") == {A}
    assert found("newark") == {B}


def test_clean_query_squashes_whitespace_and_limits_length():
    assert search.clean_query("  a \t b\n") == "a b"
    assert len(search.clean_query("x" * 1000)) == search.MAX_QUERY
    assert search.clean_query(None) == ""
