"""Migrations stay safe on a live database (docs/operations.md, "Upgrades").

The shipments and events tables are the big, busy ones. A plain CREATE INDEX or ADD CONSTRAINT on
them blocks every write for as long as the build takes (minutes at a few million rows), and an
AlterField may rewrite the whole table. So, for migrations after the initial one:
- indexes on them are added with `tracking.migration_ops.AddIndexConcurrentlyOnPostgres` in a
  non-atomic migration, or with raw CONCURRENTLY SQL as 0006 does;
- constraints and field changes on them need a reviewed entry in REVIEWED below, saying why that
  one is safe (for example: a NOT VALID constraint validated later, or a varchar made longer).
"""

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddConstraint, AddIndex, AlterField, RenameField

from tracking.ops.migration_ops import AddIndexConcurrentlyOnPostgres

BIG = {"shipment", "trackingevent"}
BASELINE = {"0001_initial"}  # created the tables: there was nothing to lock yet
# (migration name, operation index) -> why it is safe on a live database.
REVIEWED: dict[tuple[str, int], str] = {}


def problems() -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = []
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app != "tracking" or name in BASELINE:
            continue
        for number, op in enumerate(migration.operations):
            model = (getattr(op, "model_name", "") or "").lower()
            if model not in BIG or (name, number) in REVIEWED:
                continue
            where = f"{name} operation {number} ({op.describe()})"
            if isinstance(op, AddIndexConcurrentlyOnPostgres):
                if migration.atomic:
                    found.append(f"{where}: needs `atomic = False` on the migration")
            elif isinstance(op, AddIndex | AddConstraint):
                found.append(f"{where}: locks writes while it builds; build it concurrently")
            elif isinstance(op, AlterField | RenameField):
                found.append(f"{where}: may rewrite or lock the table; review it (REVIEWED)")
    return found


def test_migrations_do_not_lock_the_big_tables():
    assert problems() == []


def test_the_check_finds_a_plain_index(monkeypatch):
    """The check itself works: a plain AddIndex on the events table is reported."""
    from django.db import migrations

    class Migration(migrations.Migration):
        operations = [
            migrations.AddIndex(
                model_name="trackingevent",
                index=models.Index(fields=["status_code"], name="event_status_probe"),
            )
        ]

    original = MigrationLoader.load_disk

    def load_disk(self):
        original(self)
        self.disk_migrations[("tracking", "9999_probe")] = Migration("9999_probe", "tracking")

    monkeypatch.setattr(MigrationLoader, "load_disk", load_disk)
    assert [p for p in problems() if p.startswith("9999_probe")] == [
        "9999_probe operation 0 (Create index event_status_probe on field(s) status_code of "
        "model trackingevent): locks writes while it builds; build it concurrently"
    ]


@pytest.mark.django_db(transaction=True)
def test_add_index_concurrently_on_postgres_runs_on_this_database():
    """CONCURRENTLY on PostgreSQL, a plain index elsewhere; both ways."""
    executor = MigrationExecutor(connection)
    before = executor.loader.project_state()
    op = AddIndexConcurrentlyOnPostgres(
        model_name="trackingevent",
        index=models.Index(fields=["status_code"], name="event_status_probe"),
    )
    after = before.clone()
    op.state_forwards("tracking", after)

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, "tracking_trackingevent"))

    with connection.schema_editor(atomic=False) as editor:
        op.database_forwards("tracking", editor, before, after)
    assert "event_status_probe" in indexes()
    with connection.schema_editor(atomic=False) as editor:
        op.database_backwards("tracking", editor, after, before)
    assert "event_status_probe" not in indexes()
