"""The staff search: one box that finds a shipment by full or partial tracking number, order
reference, customer name or email, or the city or postal code of any of its events.

Two paths, one behaviour:

- SQLite: FTS5 tables with the trigram tokenizer (migrations 0003 and 0008), one row per shipment
  and one per distinct place of its events, kept in step by triggers. A substring of 3+
  characters is answered from the index instead of scanning.
- Other databases (PostgreSQL): plain `contains`/`icontains` lookups, which pg_trgm GIN indexes on
  the same expressions serve; event places by exact (case-insensitive) city or postal code.

Queries shorter than 3 characters cannot use trigrams; they match exact values only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

from ..domain.numbers import normalize_tracking_number
from .events import TrackingEvent

if TYPE_CHECKING:
    from .shipments import ShipmentQuerySet

FTS_TABLE = "tracking_shipment_search"  # one row per shipment: number, reference, customer
PLACE_TABLE = "tracking_place_search"  # one row per distinct place of a shipment's events
MIN_PARTIAL = 3
MAX_QUERY = 200


def clean_query(q: str | None) -> str:
    return " ".join((q or "").split())[:MAX_QUERY]


def _fts_phrase(q: str) -> str:
    # One FTS5 string: the trigram tokenizer turns it into a substring match; quotes are doubled
    # so nothing typed can become FTS query syntax.
    return '"' + q.replace('"', '""') + '"'


def _has_fts(alias: str) -> bool:
    # Migration 0003 creates the table on every SQLite database, so no query is spent asking.
    return connections[alias].vendor == "sqlite"


def _fts_table_exists(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE]
        )
        return cursor.fetchone() is not None


def search_shipments(queryset: ShipmentQuerySet, q: str | None) -> ShipmentQuerySet:
    q = clean_query(q)
    if not q:
        return queryset
    number = normalize_tracking_number(q)
    exact = Q(tracking_number=number) | Q(reference=q)
    if len(q) < MIN_PARTIAL:
        return queryset.filter(exact)
    if _has_fts(queryset.db):
        # A tracking number typed with spaces ("1Z 999 AA1") is matched without them too.
        phrases = {_fts_phrase(q)}
        if number != q.upper() and len(number) >= MIN_PARTIAL:
            phrases.add(_fts_phrase(number))
        match = " OR ".join(sorted(phrases))
        # The table name is a constant; what was typed is only ever a parameter.
        sql = (
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608
            f"UNION SELECT shipment_id FROM {PLACE_TABLE} WHERE {PLACE_TABLE} MATCH %s"
        )
        return queryset.filter(pk__in=RawSQL(sql, [match, match]))  # noqa: S611
    places = (
        TrackingEvent.objects.order_by()
        .filter(Q(city_locality__iexact=q) | Q(postal_code__iexact=q))
        .values("shipment_id")
    )
    own_fields = (
        queryset.model._default_manager.order_by()
        .filter(
            Q(tracking_number__contains=number)
            | Q(reference__icontains=q)
            | Q(customer_name__icontains=q)
            | Q(customer_email__icontains=q)
        )
        .values("pk")
    )
    # A UNION, not one OR: PostgreSQL cannot combine an `id IN (subquery)` with index scans in a
    # single OR, so it would scan every shipment; as two selects each arm uses its indexes (the
    # pg_trgm GIN indexes and the UPPER() expression indexes of migration 0006).
    return queryset.filter(pk__in=own_fields.union(places))


# Each distinct place of a shipment, owned by (rowid =) the first event seen there (migration 0008).
PLACE_REBUILD_SQL = f"""INSERT INTO {PLACE_TABLE}(rowid, place, shipment_id)
    SELECT min(id), trim(city_locality || ' ' || postal_code), shipment_id
    FROM tracking_trackingevent WHERE city_locality <> '' OR postal_code <> ''
    GROUP BY shipment_id, city_locality, postal_code"""  # noqa: S608


def rebuild_sqlite_index(alias: str = "default") -> int:
    """Refill the SQLite search table from the shipments and events (after a raw bulk load that
    bypassed the triggers, or to repair it). Returns the number of rows indexed."""
    connection = connections[alias]
    if not _has_fts(alias) or not _fts_table_exists(alias):
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608 (a constant name)
        cursor.execute(
            f"""INSERT INTO {FTS_TABLE}
                (rowid, tracking_number, reference, customer_name, customer_email)
            SELECT id, tracking_number, reference, customer_name, customer_email
            FROM tracking_shipment"""  # noqa: S608
        )
        cursor.execute(f"DELETE FROM {PLACE_TABLE}")  # noqa: S608
        cursor.execute(PLACE_REBUILD_SQL)
        cursor.execute(f"SELECT count(*) FROM {FTS_TABLE}")  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0
