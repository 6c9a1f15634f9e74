"""SQLite only: event places move from a column of the shipment's search row to a table of their own.

0003 kept a shipment's places as one growing text column of its FTS5 row, so every event with a
new place rewrote (and re-tokenised) the whole row: about 60 % of an ingest's time. Here each
distinct place of a shipment is one small row of `tracking_place_search`, inserted once, whose
rowid is the id of the first event at that place, so that deletes and changes are rowid look-ups
rather than scans. The shipments' own search row keeps tracking number, reference and customer.

On PostgreSQL this migration does nothing (the search uses pg_trgm indexes there).
"""

from django.db import migrations

SHIPMENTS = "tracking_shipment_search"
PLACES = "tracking_place_search"
EVENTS = "tracking_trackingevent"
PLACE_OF = "trim({e}.city_locality || ' ' || {e}.postal_code)"
HAS_PLACE = "({e}.city_locality <> '' OR {e}.postal_code <> '')"


def same_place(alias: str, row: str) -> str:
    return (
        f"{alias}.shipment_id = {row}.shipment_id AND {alias}.city_locality = {row}.city_locality"
        f" AND {alias}.postal_code = {row}.postal_code"
    )


# The place row an event leaves behind goes to the next event at the same place, if any.
HAND_OVER = f"""
    INSERT INTO {PLACES}(rowid, place, shipment_id)
        SELECT min(e.id), {PLACE_OF.format(e="old")}, old.shipment_id
        FROM {EVENTS} e
        WHERE {same_place("e", "old")} AND e.id <> old.id
          AND EXISTS (SELECT 1 FROM {PLACES} WHERE rowid = old.id)
        HAVING min(e.id) IS NOT NULL;
    DELETE FROM {PLACES} WHERE rowid = old.id;
"""
# Every distinct place of a shipment has exactly one row, owned by one of its events.
ADD_IF_NEW = f"""
    INSERT INTO {PLACES}(rowid, place, shipment_id)
        SELECT new.id, {PLACE_OF.format(e="new")}, new.shipment_id
        WHERE {HAS_PLACE.format(e="new")}
          AND NOT EXISTS (
              SELECT 1 FROM {EVENTS} e WHERE {same_place("e", "new")} AND e.id <> new.id
          );
"""

FORWARD = [
    "DROP TRIGGER IF EXISTS tracking_event_search_ai",
    "DROP TRIGGER IF EXISTS tracking_event_search_au",
    "DROP TRIGGER IF EXISTS tracking_event_search_ad",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_ai",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_au",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_ad",
    f"DROP TABLE IF EXISTS {SHIPMENTS}",
    f"""CREATE VIRTUAL TABLE {SHIPMENTS} USING fts5(
        tracking_number, reference, customer_name, customer_email, tokenize = 'trigram'
    )""",
    f"""INSERT INTO {SHIPMENTS}(rowid, tracking_number, reference, customer_name, customer_email)
        SELECT id, tracking_number, reference, customer_name, customer_email
        FROM tracking_shipment""",
    f"""CREATE VIRTUAL TABLE {PLACES} USING fts5(
        place, shipment_id UNINDEXED, tokenize = 'trigram'
    )""",
    f"""INSERT INTO {PLACES}(rowid, place, shipment_id)
        SELECT min(e.id), {PLACE_OF.format(e="e")}, e.shipment_id
        FROM {EVENTS} e WHERE {HAS_PLACE.format(e="e")}
        GROUP BY e.shipment_id, e.city_locality, e.postal_code""",
    f"""CREATE TRIGGER tracking_shipment_search_ai AFTER INSERT ON tracking_shipment BEGIN
        INSERT INTO {SHIPMENTS}(rowid, tracking_number, reference, customer_name, customer_email)
        VALUES (new.id, new.tracking_number, new.reference, new.customer_name, new.customer_email);
    END""",
    f"""CREATE TRIGGER tracking_shipment_search_au
        AFTER UPDATE OF tracking_number, reference, customer_name, customer_email
        ON tracking_shipment
        WHEN new.tracking_number IS NOT old.tracking_number
          OR new.reference IS NOT old.reference
          OR new.customer_name IS NOT old.customer_name
          OR new.customer_email IS NOT old.customer_email
    BEGIN
        UPDATE {SHIPMENTS} SET tracking_number = new.tracking_number, reference = new.reference,
            customer_name = new.customer_name, customer_email = new.customer_email
        WHERE rowid = new.id;
    END""",
    f"""CREATE TRIGGER tracking_shipment_search_ad AFTER DELETE ON tracking_shipment BEGIN
        DELETE FROM {SHIPMENTS} WHERE rowid = old.id;
    END""",
    f"""CREATE TRIGGER tracking_event_search_ai AFTER INSERT ON {EVENTS}
        WHEN {HAS_PLACE.format(e="new")}
    BEGIN {ADD_IF_NEW} END""",
    f"""CREATE TRIGGER tracking_event_search_au
        AFTER UPDATE OF city_locality, postal_code, shipment_id ON {EVENTS}
        WHEN new.city_locality IS NOT old.city_locality
          OR new.postal_code IS NOT old.postal_code
          OR new.shipment_id IS NOT old.shipment_id
    BEGIN {HAND_OVER} {ADD_IF_NEW}
    END""",
    f"""CREATE TRIGGER tracking_event_search_ad AFTER DELETE ON {EVENTS}
        WHEN {HAS_PLACE.format(e="old")}
    BEGIN {HAND_OVER} END""",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


def _backward(apps, schema_editor):
    """Back to 0003's layout: drop the new objects, then run 0003's forward statements again."""
    if schema_editor.connection.vendor != "sqlite":
        return
    from importlib import import_module

    old = import_module("tracking.migrations.0003_shipment_search_sqlite")
    for name in ("event_search_ai", "event_search_au", "event_search_ad"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS tracking_{name}", params=None)
    for name in ("shipment_search_ai", "shipment_search_au", "shipment_search_ad"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS tracking_{name}", params=None)
    schema_editor.execute(f"DROP TABLE IF EXISTS {PLACES}", params=None)
    schema_editor.execute(f"DROP TABLE IF EXISTS {SHIPMENTS}", params=None)
    for sql in old.FORWARD:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0007_drop_unused_event_place_indexes")]

    operations = [migrations.RunPython(_run(FORWARD), _backward, elidable=False)]
