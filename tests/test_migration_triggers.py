"""The SQLite search triggers survive every migration (a table rebuild would drop them)."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddField

from tracking.ops.migration_ops import AddTextFieldInPlace

TRIGGERS = {
    "tracking_shipment_search_ai",
    "tracking_shipment_search_au",
    "tracking_shipment_search_ad",
    "tracking_tally_ai",
    "tracking_tally_au",
    "tracking_tally_ad",
    "tracking_name_words_ai",
    "tracking_name_words_au",
}
BIG = {"shipment", "trackingevent"}


@pytest.mark.django_db
def test_the_search_triggers_exist_after_all_migrations():
    if connection.vendor != "sqlite":
        pytest.skip("the triggers are SQLite's search index")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[0] for row in cursor.fetchall()}
    assert names >= TRIGGERS


def test_fields_added_to_the_big_tables_are_added_in_place():
    """A plain AddField of a NOT NULL column rebuilds the table on SQLite (dropping the
    triggers and copying millions of rows): new columns there use AddTextFieldInPlace or are
    nullable."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = []
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app != "tracking" or name == "0001_initial":
            continue
        for op in migration.operations:
            if type(op) is AddField and op.model_name in BIG and not op.field.null:
                found.append(f"{name}: {op.describe()}")
    assert found == []
    assert AddTextFieldInPlace  # the operation to use
