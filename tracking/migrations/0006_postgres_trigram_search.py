"""PostgreSQL only: pg_trgm and the indexes the staff search uses there (see tracking/search.py).

On PostgreSQL the search is `tracking_number::text LIKE '%X%'` (contains), and
`UPPER(col::text) LIKE UPPER('%x%')` (icontains) on reference, customer name and email; event places
are matched by `UPPER(col::text) = UPPER(x)` (iexact); the staff list is ordered by
`last_event_at DESC NULLS LAST, id DESC`. A B-tree index serves none of these, so each
gets an index on exactly that expression: GIN trigram indexes for the LIKEs, B-tree expression
indexes for the place equality and the list order. The expressions must stay identical to the SQL Django generates,
or the planner will not use them (tests/test_postgres.py checks with EXPLAIN).

Safe on a live database: the indexes are built with CREATE INDEX CONCURRENTLY (no lock that blocks
writes to the shipments or events tables while they build), so this migration is not atomic. A
build that was interrupted leaves an INVALID index; running the migration again drops and rebuilds
it. SQLite and other databases: nothing happens (SQLite has its FTS5 trigram table, 0003).
"""

from django.db import migrations

from tracking.ops.migration_ops import create_index_concurrently

# (name, table, method and expression)
INDEXES = [
    ("shipment_number_trgm", "tracking_shipment", "gin ((tracking_number::text) gin_trgm_ops)"),
    ("shipment_reference_trgm", "tracking_shipment", "gin (UPPER(reference::text) gin_trgm_ops)"),
    ("shipment_customer_name_trgm", "tracking_shipment", "gin (UPPER(customer_name::text) gin_trgm_ops)"),
    ("shipment_customer_email_trgm", "tracking_shipment", "gin (UPPER(customer_email::text) gin_trgm_ops)"),
    ("event_city_upper", "tracking_trackingevent", "btree (UPPER(city_locality::text))"),
    ("event_postal_code_upper", "tracking_trackingevent", "btree (UPPER(postal_code::text))"),
    # The staff list's default order (filters.py "-updated"): newest first, never-updated last.
    # PostgreSQL's DESC puts NULLs first, so the model's shipment_last_event index cannot serve it.
    ("shipment_last_event_nulls_last", "tracking_shipment", "btree (last_event_at DESC NULLS LAST, id DESC)"),
]


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, definition in INDEXES:
            create_index_concurrently(cursor, name, table, definition)


def backward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name, _table, _definition in reversed(INDEXES):
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        # The extension stays: other objects may use it, and it costs nothing.


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("tracking", "0005_public_lookup_throttle"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
