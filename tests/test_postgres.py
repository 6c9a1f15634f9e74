"""PostgreSQL specifics: pg_trgm and the search indexes of migration 0006 exist, are valid, match
the SQL the search generates (EXPLAIN), and the migration is re-runnable and reversible.

These run when the suite runs on PostgreSQL (`DATABASE_URL=postgres://... bash scripts/test`, as
.ci/run does); on SQLite only the no-op check runs.
"""

import importlib

import pytest
from django.db import connection

from tests.conftest import require_or_skip
from tracking.models import Carrier, Shipment, TrackingEvent

migration = importlib.import_module("tracking.migrations.0006_postgres_trigram_search")
INDEX_NAMES = [name for name, _table, _definition in migration.INDEXES]

# Skipped elsewhere; under CI=true with DATABASE_URL set, failed elsewhere (tests/conftest.py).
on_postgres = pytest.mark.postgres_only


def _indexes() -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(%s)",
            [INDEX_NAMES],
        )
        return dict(cursor.fetchall())


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # A test database is tiny: the planner would scan it whatever indexes exist. With
        # sequential scans priced out, an index is chosen if and only if its expression matches.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@on_postgres
@pytest.mark.django_db
def test_pg_trgm_and_every_search_index_exist_and_are_valid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() is not None
    assert _indexes() == dict.fromkeys(INDEX_NAMES, True)


@pytest.fixture
def searchable(db):
    carrier = Carrier.objects.get(code="ups")
    shipment = Shipment.objects.create(
        carrier=carrier,
        tracking_number="1Z999AA10123456784",
        reference="ORDER-55821",
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
    )
    TrackingEvent.objects.create(
        shipment=shipment, dedupe_key="k1", city_locality="MEMPHIS", postal_code="38118"
    )
    return shipment


@on_postgres
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("99AA1012", "shipment_number_trgm"),
        ("rder-558", "shipment_reference_trgm"),
        ("lovela", "shipment_customer_name_trgm"),
        ("example.co", "shipment_customer_email_trgm"),
        ("memphis", "event_city_upper"),
        ("38118", "event_postal_code_upper"),
    ],
)
def test_search_uses_the_indexes(searchable, query, index):
    queryset = Shipment.objects.search(query)
    assert list(queryset) == [searchable]
    assert index in _plan(queryset)


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_migration_is_reversible_and_repairs_an_invalid_index():
    with connection.schema_editor(atomic=False) as editor:
        migration.backward(None, editor)
    assert _indexes() == {}
    with connection.schema_editor(atomic=False) as editor:
        migration.forward(None, editor)
        migration.forward(None, editor)  # a second run changes nothing
    assert _indexes() == dict.fromkeys(INDEX_NAMES, True)
    # What an interrupted CREATE INDEX CONCURRENTLY leaves behind: an INVALID index.
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        require_or_skip(cursor.fetchone()[0], "marking an index invalid needs a superuser")
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            ["shipment_reference_trgm"],
        )
    assert _indexes()["shipment_reference_trgm"] is False
    with connection.schema_editor(atomic=False) as editor:
        migration.forward(None, editor)
    assert _indexes() == dict.fromkeys(INDEX_NAMES, True)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite side")
def test_migration_does_nothing_elsewhere():
    class Editor:
        def __init__(self):
            self.connection = self

        vendor = connection.vendor

        def cursor(self):
            raise AssertionError("the migration touched a non-PostgreSQL database")

    migration.forward(None, Editor())
    migration.backward(None, Editor())


@on_postgres
@pytest.mark.django_db
def test_staff_list_order_uses_its_index():
    from tracking.queries.shipment_list import ListState, filter_shipments

    queryset = filter_shipments(ListState()).queryset[:25]
    assert "shipment_last_event_nulls_last" in _plan(queryset)
