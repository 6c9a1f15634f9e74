"""What the staff search and list read besides the shipments, kept up (models/search.py):

- places: each distinct place once, a link from every shipment that passed it. The ingest calls
  `link_places` in its transaction with the events it adds; a repeated answer adds nothing.
- tallies: the database's triggers add +1/-1 rows per change; `compact_tallies` (housekeeping)
  folds them into one row per carrier and status, so the list's sum stays a few hundred rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections, transaction
from django.db.models import CharField

from ..domain.event_identity import Scan
from ..models import Place, ShipmentPlace, ShipmentTally
from ..models.search import FTS_TABLE, place_text

PlaceKey = tuple[str, str, str, str]  # city, state, postal code, country code
_FIELDS = ("city", "state", "postal_code", "country_code")
_LIMITS = [
    f.max_length or 0
    for f in (Place._meta.get_field(n) for n in _FIELDS)
    if isinstance(f, CharField)
]


def place_key(event: Scan) -> PlaceKey | None:
    """The event's place as the dictionary stores it; None for an event without one."""
    if not (event.city_locality or event.state_province or event.postal_code):
        return None
    parts = (event.city_locality, event.state_province, event.postal_code, event.country_code)
    return tuple(value[:limit] for value, limit in zip(parts, _LIMITS, strict=True))  # type: ignore[return-value]


def _place_ids(keys: set[PlaceKey]) -> dict[PlaceKey, int]:
    """The dictionary's id of each place, added if new (a concurrent ingest adding the same
    place waits for the other's commit on the unique constraint, then reads its row). Read by
    their text (one indexed column; several places may share one) and matched here."""
    texts = sorted({place_text(*k) for k in keys})

    def read() -> dict[PlaceKey, int]:
        rows = Place.objects.filter(text__in=texts).values_list("pk", *_FIELDS)
        return {key: pk for pk, *rest in rows if (key := tuple(rest)) in keys}  # type: ignore[misc]

    found = read()
    if keys - found.keys():
        Place.objects.bulk_create(
            [
                Place(**dict(zip(_FIELDS, k, strict=True)), text=place_text(*k))
                for k in keys - found.keys()
            ],
            ignore_conflicts=True,
        )
        found = read()
    return found


def link_places(
    *, visits: Iterable[tuple[int, Scan]], answers: Iterable[tuple[int, Iterable[Scan]]] = ()
) -> None:
    """Record that each shipment passed each event's place: (shipment id, event) pairs of the
    events just stored. `answers`: the answers they came from, (shipment id, events); a place
    one of their other (already stored) events had is linked already and costs no query, so a
    poll that adds a scan at a known place writes nothing here. Call inside the ingest's
    transaction."""
    new = list(visits)
    fresh = {id(event) for _sid, event in new}
    linked = {
        (sid, key)
        for sid, events in answers
        for event in events
        if id(event) not in fresh and (key := place_key(event)) is not None
    }
    pairs = {
        (sid, key)
        for sid, event in new
        if (key := place_key(event)) is not None and (sid, key) not in linked
    }
    if not pairs:
        return
    ids = _place_ids({key for _sid, key in pairs})
    insert_links([(sid, ids[key]) for sid, key in sorted(pairs)])


def insert_links(links: list[tuple[int, int]]) -> None:
    """(shipment id, place id) pairs, each stored once: one INSERT ... ON CONFLICT DO NOTHING.
    Hand-written: bulk_create(ignore_conflicts=True) writes the same statement but measured
    4-8x slower for the handful of rows an answer brings (benchmarks/ingest.py)."""
    if not links:
        return
    connection = connections[ShipmentPlace.objects.db]
    table = connection.ops.quote_name(ShipmentPlace._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(links))
    with connection.cursor() as cursor:
        # Only the model's table name is interpolated; the ids are parameters.
        cursor.execute(
            f"INSERT INTO {table} (shipment_id, place_id) VALUES {rows} "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            [value for link in links for value in link],
        )


def compact_tallies() -> int:
    """Fold the tally rows into one per carrier and status (zero totals go); returns how many
    rows were folded. The rows read are locked and deleted by id, so rows the triggers add
    meanwhile are neither lost nor counted twice."""
    with transaction.atomic():
        rows = list(
            ShipmentTally.objects.select_for_update()
            .order_by()
            .values_list("pk", "carrier_id", "status_code", "shipments")
        )
        totals: dict[tuple[int, str], int] = {}
        for _pk, carrier_id, code, n in rows:
            totals[(carrier_id, code)] = totals.get((carrier_id, code), 0) + n
        if len(totals) == len(rows) and all(totals.values()):
            return 0  # already one row each
        ids = [r[0] for r in rows]
        for start in range(0, len(ids), 10_000):  # SQLite takes at most 32,766 parameters
            ShipmentTally.objects.filter(pk__in=ids[start : start + 10_000]).delete()
        ShipmentTally.objects.bulk_create(
            [
                ShipmentTally(carrier_id=carrier_id, status_code=code, shipments=n)
                for (carrier_id, code), n in totals.items()
                if n
            ],
            batch_size=1000,
        )
    return len(rows)


# --------------------------------------------------------------------------------------------
# Rebuilding: after a bulk load that bypassed the ingest and the triggers, or to repair
# --------------------------------------------------------------------------------------------
_EVENT_PLACES_SQL = """SELECT DISTINCT city_locality, state_province, postal_code, country_code
    FROM tracking_trackingevent
    WHERE city_locality <> '' OR state_province <> '' OR postal_code <> ''"""
# Every (shipment, place) pair of the events, once; WHERE true: SQLite's parser needs it before
# ON CONFLICT after a join.
_LINKS_SQL = """INSERT INTO tracking_shipmentplace (shipment_id, place_id)
    SELECT DISTINCT e.shipment_id, p.id FROM tracking_trackingevent e
    JOIN tracking_place p ON p.city = e.city_locality AND p.state = e.state_province
        AND p.postal_code = e.postal_code AND p.country_code = e.country_code
    WHERE true ON CONFLICT DO NOTHING"""
_TALLY_SQL = """INSERT INTO tracking_shipmenttally (carrier_id, status_code, shipments)
    SELECT carrier_id, status_code, count(*) FROM tracking_shipment
    GROUP BY carrier_id, status_code"""
# The words of the customer names, as migration 0011's triggers split them.
_WORDS_SQL = {
    "postgresql": """INSERT INTO tracking_nameword (word)
        SELECT DISTINCT w FROM tracking_shipment,
            unnest(regexp_split_to_array(upper(customer_name), '[^[:alpha:]'']+')) w
        WHERE length(w) BETWEEN 3 AND 60 ON CONFLICT DO NOTHING""",
    "sqlite": """INSERT OR IGNORE INTO tracking_nameword (word)
        SELECT value FROM tracking_shipment,
            json_each('[' || replace(json_quote(upper(customer_name)), ' ', '","') || ']')
        WHERE customer_name <> '' AND length(value) BETWEEN 3 AND 60""",
}


def rebuild(*, alias: str = "default") -> dict[str, int]:
    """Refill the places and links from the stored events, the tallies and the name words from
    the shipments, and (SQLite) the document table. Idempotent; set-based SQL, because it reads
    every event. Returns the row counts."""
    connection = connections[alias]
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute(_EVENT_PLACES_SQL)
            keys = [tuple(row) for row in cursor.fetchall()]
        Place.objects.using(alias).bulk_create(
            [Place(**dict(zip(_FIELDS, k, strict=True)), text=place_text(*k)) for k in keys],
            ignore_conflicts=True,
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            cursor.execute(_LINKS_SQL)
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # No shipment may change between the count and the swap (a second or so): its
            # trigger's row and the count would both have it.
            cursor.execute("LOCK TABLE tracking_shipment IN SHARE MODE")
        cursor.execute("DELETE FROM tracking_shipmenttally")
        cursor.execute(_TALLY_SQL)
        if connection.vendor in _WORDS_SQL:
            cursor.execute(_WORDS_SQL[connection.vendor])
        if connection.vendor == "sqlite":
            # An external-content FTS5 table: rebuilt from tracking_shipment itself.
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608
    return {
        "places": Place.objects.using(alias).count(),
        "links": ShipmentPlace.objects.using(alias).count(),
        "tallies": ShipmentTally.objects.using(alias).count(),
    }
