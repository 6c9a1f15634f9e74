"""Fill the places from the stored events; the indexes the new search and list use, built without
blocking writes (CREATE INDEX CONCURRENTLY on PostgreSQL, so this migration is not atomic).

- Places: each distinct (city, state, postcode, country) of the events once, and a link per
  shipment and place. Idempotent (ON CONFLICT DO NOTHING): `manage.py rebuild_search` runs the
  same fill, e.g. after deploying, for events an old process stored meanwhile.
- PostgreSQL: GIN pg_trgm indexes on the search document (0011's function), the places' text and
  the name words (small tables); the indexes of 0006 the new search no longer uses are dropped
  (four trigram indexes on single shipment columns, two UPPER() indexes on 10 million events, the
  NULLS LAST list index: the list now reads never-updated shipments apart, so plain indexes serve
  it on both databases).
- Both: the status and carrier list indexes gain the id, the list's tie-breaker, so a page is the
  first rows of an index scan (no sort) whatever the filter.

A build interrupted on PostgreSQL leaves an INVALID index; running the migration again drops and
rebuilds it.
"""

import re

from django.db import migrations, models

from tracking.ops.migration_ops import (
    AddIndexConcurrentlyOnPostgres,
    RemoveIndexConcurrentlyOnPostgres,
    create_index_concurrently,
)

DOCUMENT = (
    "tracking_search_document(tracking_number, label_id, reference, customer_name,"
    " customer_email, customer_postcode, signer)"
)
# (name, table, method and expression)
PG_INDEXES = [
    ("shipment_document_trgm", "tracking_shipment", f"gin ({DOCUMENT} gin_trgm_ops)"),
    ("place_text_trgm", "tracking_place", "gin ((text::text) gin_trgm_ops)"),
    ("name_word_trgm", "tracking_nameword", "gin ((word::text) gin_trgm_ops)"),
]
# 0006's, superseded (0006's own forward builds them again when this is reversed).
PG_DROPPED = [
    "shipment_number_trgm",
    "shipment_reference_trgm",
    "shipment_customer_name_trgm",
    "shipment_customer_email_trgm",
    "event_city_upper",
    "event_postal_code_upper",
    "shipment_last_event_nulls_last",
]


_NOT_PLACE_TEXT = re.compile(r"[^\w]+")


def place_text(*parts):
    """tracking.models.search.place_text as it is today (a migration keeps its own copy)."""
    return " ".join(_NOT_PLACE_TEXT.sub(" ", " ".join(parts)).upper().split())


def fill_places(apps, schema_editor):
    # The same statements as tracking.models.search.rebuild_search.
    Place = apps.get_model("tracking", "Place")
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT city_locality, state_province, postal_code, country_code
            FROM tracking_trackingevent
            WHERE city_locality <> '' OR state_province <> '' OR postal_code <> ''"""
        )
        rows = cursor.fetchall()
    Place.objects.using(connection.alias).bulk_create(
        [
            Place(city=c, state=s, postal_code=p, country_code=k, text=place_text(c, s, p, k))
            for c, s, p, k in rows
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO tracking_shipmentplace (shipment_id, place_id)
            SELECT DISTINCT e.shipment_id, p.id FROM tracking_trackingevent e
            JOIN tracking_place p ON p.city = e.city_locality AND p.state = e.state_province
                AND p.postal_code = e.postal_code AND p.country_code = e.country_code
            WHERE true ON CONFLICT DO NOTHING"""
        )


def postgres_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, definition in PG_INDEXES:
            create_index_concurrently(cursor, name, table, definition)
        for name in PG_DROPPED:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        for table in ("tracking_place", "tracking_shipmentplace", "tracking_nameword"):
            cursor.execute(f"ANALYZE {table}")


def postgres_indexes_backward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from importlib import import_module

    with connection.cursor() as cursor:
        for name, _table, _definition in reversed(PG_INDEXES):
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
    import_module("tracking.migrations.0006_postgres_trigram_search").forward(apps, schema_editor)


def empty_places(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM tracking_shipmentplace")
        cursor.execute("DELETE FROM tracking_place")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("tracking", "0011_search_document_and_tally_triggers")]

    operations = [
        migrations.RunPython(fill_places, empty_places, elidable=False),
        migrations.RunPython(postgres_indexes, postgres_indexes_backward, elidable=False),
        AddIndexConcurrentlyOnPostgres(
            model_name="shipment",
            index=models.Index(
                fields=["status_code", "-last_event_at", "-id"], name="shipment_status_order"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="shipment",
            index=models.Index(
                fields=["carrier", "-last_event_at", "-id"], name="shipment_carrier_order"
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="shipment", name="shipment_status_last"),
        RemoveIndexConcurrentlyOnPostgres(model_name="shipment", name="shipment_carrier_last"),
    ]
