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
from django.db.migrations.operations import AddField, AddIndex, RemoveIndex


def create_index_concurrently(cursor: Any, name: str, table: str, definition: str) -> None:
    """PostgreSQL: `CREATE INDEX CONCURRENTLY name ON table USING definition`, rerunnable: a
    valid index of that name is kept, one an interrupted build left INVALID is dropped and built
    again. For the expression indexes (pg_trgm, UPPER()) a models.Index cannot say."""
    cursor.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = %s AND pg_catalog.pg_table_is_visible(c.oid)",
        [name],
    )
    row = cursor.fetchone()
    if row is not None and row[0]:
        return
    if row is not None:
        cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
    cursor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON "{table}" USING {definition}')


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


class AddTextFieldInPlace(AddField):
    """AddField for a NOT NULL text column with a constant default, without rebuilding the table.

    Django's SQLite backend adds such a column by copying the whole table into a new one, which
    on the shipments table takes minutes at a million rows and drops the search triggers of
    migrations 0003/0008 with the old table. SQLite can add it in place (`ALTER TABLE ... ADD
    COLUMN ... NOT NULL DEFAULT '...'`); PostgreSQL's own AddField already does (no rewrite since
    PostgreSQL 11). The model state is Django's: makemigrations sees no difference."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        default = field.get_default()
        if not isinstance(default, str):
            raise ValueError("AddTextFieldInPlace takes text fields with a constant default")
        quote = schema_editor.quote_name
        column_type = field.db_type(schema_editor.connection)
        # DDL takes no parameters: the default is a literal, quoted by the backend.
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} ADD COLUMN {quote(field.column)} "
            f"{column_type} NOT NULL DEFAULT {schema_editor.quote_value(default)}"
        )
