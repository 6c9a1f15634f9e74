"""Migration operations that are safe on a live database (see docs/operations.md, "Upgrades").

`AddIndexConcurrentlyOnPostgres` / `RemoveIndexConcurrentlyOnPostgres`: on PostgreSQL the index is
built (or dropped) with CONCURRENTLY, which does not block writes to the table while it works; on
SQLite (one writer at a time anyway) a plain CREATE/DROP INDEX. Django's own AddIndexConcurrently
refuses to run on anything but PostgreSQL, so a project on both databases needs this. Use them in
a migration with `atomic = False` (CONCURRENTLY cannot run inside a transaction):

    class Migration(migrations.Migration):
        atomic = False
        operations = [
            AddIndexConcurrentlyOnPostgres(
                model_name="trackingevent",
                index=models.Index(fields=["status_code"], name="event_status"),
            ),
        ]

and keep the index in the model's Meta.indexes too, so that makemigrations sees no change.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


def _is_postgres(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.vendor == "postgresql")


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if _is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if _is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyOnPostgres(RemoveIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if _is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if _is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
