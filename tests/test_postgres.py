"""PostgreSQL specifics of the search migrations: pg_trgm and the indexes of migration 0012 exist
and are valid, the migration is re-runnable, repairs an index an interrupted build left INVALID,
and goes back to 0006's indexes when reversed. Whether the search uses them (EXPLAIN on a big
table): tests/test_search_plans.py.

These run when the suite runs on PostgreSQL (`DATABASE_URL=postgres://... bash scripts/test`, as
.ci/run does); on SQLite only the no-op check runs.
"""

import importlib

import pytest
from django.db import connection

from tests.conftest import require_or_skip

migration = importlib.import_module("tracking.migrations.0012_search_indexes")
old = importlib.import_module("tracking.migrations.0006_postgres_trigram_search")
NEW = [name for name, _table, _definition in migration.PG_INDEXES]
OLD = migration.PG_DROPPED

# Skipped elsewhere; under CI=true with DATABASE_URL set, failed elsewhere (tests/conftest.py).
on_postgres = pytest.mark.postgres_only


def _indexes(names: list[str]) -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(%s)",
            [names],
        )
        return dict(cursor.fetchall())


@on_postgres
@pytest.mark.django_db
def test_pg_trgm_and_every_search_index_exist_and_are_valid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() is not None
    assert _indexes(NEW) == dict.fromkeys(NEW, True)
    assert _indexes(OLD) == {}  # 0006's, superseded


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_migration_is_reversible_rerunnable_and_repairs_an_invalid_index():
    with connection.schema_editor(atomic=False) as editor:
        migration.postgres_indexes_backward(None, editor)
    assert _indexes(NEW) == {}
    assert _indexes(OLD) == dict.fromkeys(OLD, True)  # 0006's are back
    with connection.schema_editor(atomic=False) as editor:
        migration.postgres_indexes(None, editor)
        migration.postgres_indexes(None, editor)  # a second run changes nothing
    assert _indexes(NEW) == dict.fromkeys(NEW, True)
    assert _indexes(OLD) == {}
    # What an interrupted CREATE INDEX CONCURRENTLY leaves behind: an INVALID index.
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        require_or_skip(cursor.fetchone()[0], "marking an index invalid needs a superuser")
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            ["shipment_document_trgm"],
        )
    assert _indexes(NEW)["shipment_document_trgm"] is False
    with connection.schema_editor(atomic=False) as editor:
        migration.postgres_indexes(None, editor)
    assert _indexes(NEW) == dict.fromkeys(NEW, True)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite side")
def test_migration_does_nothing_elsewhere():
    class Editor:
        def __init__(self):
            self.connection = self

        vendor = connection.vendor

        def cursor(self):
            raise AssertionError("the migration touched a non-PostgreSQL database")

    migration.postgres_indexes(None, Editor())
    migration.postgres_indexes_backward(None, Editor())
    old.forward(None, Editor())
