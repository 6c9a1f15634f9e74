"""PostgreSQL: a GIN pg_trgm index on UPPER(body) of the staff notes, the expression the staff
search matches (tracking.models.search.note_shipment_ids), built CONCURRENTLY (so this migration
is not atomic). SQLite: nothing (the search scans the notes, far fewer than the shipments)."""

from django.db import migrations

from tracking.ops.migration_ops import create_index_concurrently

NAME = "note_body_trgm"


def build(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        create_index_concurrently(
            cursor, NAME, "tracking_shipmentnote", "gin ((upper(body)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tracking", "0015_merge_scale_notes")]

    operations = [migrations.RunPython(build, drop)]
