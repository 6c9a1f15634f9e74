"""SQLite only: a trigram full-text index for the staff search.

`LIKE '%x%'` cannot use a B-tree index, so a partial search over a million shipments would scan
the table. An FTS5 table with the trigram tokenizer answers substring queries from an index. One
row per shipment (rowid = shipment id) holds the searchable staff fields and the distinct
"city postcode" places of its events; triggers keep it in step with every write, whoever writes.

On PostgreSQL this migration does nothing: the search uses plain icontains/contains lookups there,
which pg_trgm GIN indexes serve (see docs/performance.md).
"""

from django.db import migrations

TABLE = "tracking_shipment_search"

PLACES_OF = """coalesce((
    SELECT group_concat(p, ' ; ') FROM (
        SELECT DISTINCT trim(city_locality || ' ' || postal_code) AS p
        FROM tracking_trackingevent
        WHERE shipment_id = {sid} AND (city_locality <> '' OR postal_code <> '')
    )
), '')"""

FORWARD = [
    f"""CREATE VIRTUAL TABLE {TABLE} USING fts5(
        tracking_number, reference, customer_name, customer_email, places,
        tokenize = 'trigram'
    )""",
    f"""INSERT INTO {TABLE}(rowid, tracking_number, reference, customer_name, customer_email, places)
        SELECT s.id, s.tracking_number, s.reference, s.customer_name, s.customer_email,
               {PLACES_OF.format(sid="s.id")}
        FROM tracking_shipment s""",
    f"""CREATE TRIGGER tracking_shipment_search_ai AFTER INSERT ON tracking_shipment BEGIN
        INSERT INTO {TABLE}(rowid, tracking_number, reference, customer_name, customer_email, places)
        VALUES (new.id, new.tracking_number, new.reference, new.customer_name,
                new.customer_email, '');
    END""",
    f"""CREATE TRIGGER tracking_shipment_search_au
        AFTER UPDATE OF tracking_number, reference, customer_name, customer_email
        ON tracking_shipment
        WHEN new.tracking_number IS NOT old.tracking_number
          OR new.reference IS NOT old.reference
          OR new.customer_name IS NOT old.customer_name
          OR new.customer_email IS NOT old.customer_email
    BEGIN
        UPDATE {TABLE} SET tracking_number = new.tracking_number, reference = new.reference,
            customer_name = new.customer_name, customer_email = new.customer_email
        WHERE rowid = new.id;
    END""",
    f"""CREATE TRIGGER tracking_shipment_search_ad AFTER DELETE ON tracking_shipment BEGIN
        DELETE FROM {TABLE} WHERE rowid = old.id;
    END""",
    # A new event adds its place unless the shipment already has it (most events repeat one).
    f"""CREATE TRIGGER tracking_event_search_ai AFTER INSERT ON tracking_trackingevent
        WHEN new.city_locality <> '' OR new.postal_code <> ''
    BEGIN
        UPDATE {TABLE}
        SET places = CASE WHEN places = '' THEN '' ELSE places || ' ; ' END
                     || trim(new.city_locality || ' ' || new.postal_code)
        WHERE rowid = new.shipment_id
          AND instr(places, trim(new.city_locality || ' ' || new.postal_code)) = 0;
    END""",
    f"""CREATE TRIGGER tracking_event_search_au
        AFTER UPDATE OF city_locality, postal_code, shipment_id ON tracking_trackingevent
        WHEN new.city_locality IS NOT old.city_locality
          OR new.postal_code IS NOT old.postal_code
          OR new.shipment_id IS NOT old.shipment_id
    BEGIN
        UPDATE {TABLE} SET places = {PLACES_OF.format(sid="old.shipment_id")}
        WHERE rowid = old.shipment_id;
        UPDATE {TABLE} SET places = {PLACES_OF.format(sid="new.shipment_id")}
        WHERE rowid = new.shipment_id;
    END""",
    f"""CREATE TRIGGER tracking_event_search_ad AFTER DELETE ON tracking_trackingevent
        WHEN old.city_locality <> '' OR old.postal_code <> ''
    BEGIN
        UPDATE {TABLE} SET places = {PLACES_OF.format(sid="old.shipment_id")}
        WHERE rowid = old.shipment_id;
    END""",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS tracking_event_search_ad",
    "DROP TRIGGER IF EXISTS tracking_event_search_au",
    "DROP TRIGGER IF EXISTS tracking_event_search_ai",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_ad",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_au",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_ai",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0002_seed_carriers'),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
