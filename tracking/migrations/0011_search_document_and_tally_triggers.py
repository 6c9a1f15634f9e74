"""The shipment's search document, and the triggers of the status tallies and the name words.

PostgreSQL:
- `tracking_search_document(...)`: an IMMUTABLE SQL function of the shipment's own searchable
  columns (tracking number, label id, reference, customer name, email and postcode, signer), one
  upper-case text with the fields on separate lines. 0012 indexes it with pg_trgm; the search
  filters on exactly this call (tracking/models/search.py, SearchDocument), so one GIN index
  answers every field without a stored column: adding a column to a million-row table would
  rewrite it, and a trigger-kept copy would cost every write.
- Tally triggers: a statement trigger per INSERT and DELETE on tracking_shipment (one grouped
  row per carrier and status however many rows the statement touched: an import of 100,000
  shipments adds a handful), a row trigger per UPDATE that changes a status or carrier.

SQLite:
- The FTS5 trigram table `tracking_shipment_search` is rebuilt with the label id, postcode and
  signer too, as an external-content table over tracking_shipment (no second copy of the text),
  kept by triggers. The events' place table of 0008 and its triggers go: places now live in
  tracking_place / tracking_shipmentplace, written by the ingest (0012 fills them).
- The same tally triggers, per row.

Both: name-word triggers add every new word of a customer name to tracking_nameword (on PostgreSQL
once per INSERT statement, and per row on an UPDATE that changes a name).

Both: the tallies and the words are filled from the shipments in this migration's transaction,
after the triggers exist, so nothing written meanwhile is counted twice or missed.
"""

from django.db import migrations

FIELDS = [
    "tracking_number",
    "label_id",
    "reference",
    "customer_name",
    "customer_email",
    "customer_postcode",
    "signer",
]
COLUMNS = ", ".join(FIELDS)
TALLY = "tracking_shipmenttally"
WORDS = "tracking_nameword"
# SQLite: the words of a name, split at spaces by turning its JSON string into a JSON array
# (json_quote escapes everything else, so any name gives valid JSON).
SQLITE_WORDS = """INSERT OR IGNORE INTO tracking_nameword (word)
    SELECT value FROM json_each('[' || replace(json_quote(upper({name})), ' ', '","') || ']')
    WHERE length(value) BETWEEN 3 AND 60"""
FILL_TALLY = f"""INSERT INTO {TALLY} (carrier_id, status_code, shipments)
    SELECT carrier_id, status_code, count(*) FROM tracking_shipment GROUP BY carrier_id, status_code"""

PG_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION tracking_search_document(
        text, text, text, text, text, text, text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT upper($1 || E'\\n' || $2 || E'\\n' || $3 || E'\\n' || $4 || E'\\n' || $5
                          || E'\\n' || $6 || E'\\n' || $7) $$""",
    f"""CREATE OR REPLACE FUNCTION tracking_tally_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO {TALLY} (carrier_id, status_code, shipments)
                SELECT carrier_id, status_code, count(*) FROM tally_new GROUP BY 1, 2;
        ELSE
            INSERT INTO {TALLY} (carrier_id, status_code, shipments)
                SELECT carrier_id, status_code, -count(*) FROM tally_old GROUP BY 1, 2;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION tracking_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {TALLY} (carrier_id, status_code, shipments)
            VALUES (OLD.carrier_id, OLD.status_code, -1), (NEW.carrier_id, NEW.status_code, 1);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tracking_tally_insert AFTER INSERT ON tracking_shipment
        REFERENCING NEW TABLE AS tally_new FOR EACH STATEMENT EXECUTE FUNCTION tracking_tally_rows()""",
    """CREATE TRIGGER tracking_tally_delete AFTER DELETE ON tracking_shipment
        REFERENCING OLD TABLE AS tally_old FOR EACH STATEMENT EXECUTE FUNCTION tracking_tally_rows()""",
    """CREATE TRIGGER tracking_tally_update AFTER UPDATE OF status_code, carrier_id
        ON tracking_shipment FOR EACH ROW
        WHEN (OLD.status_code IS DISTINCT FROM NEW.status_code
              OR OLD.carrier_id IS DISTINCT FROM NEW.carrier_id)
        EXECUTE FUNCTION tracking_tally_change()""",
    FILL_TALLY,
    f"""CREATE OR REPLACE FUNCTION tracking_name_words(name text) RETURNS void
        LANGUAGE sql AS $$
        INSERT INTO {WORDS} (word)
            SELECT DISTINCT w FROM unnest(regexp_split_to_array(upper(name), '[^[:alpha:]'']+')) w
            WHERE length(w) BETWEEN 3 AND 60
              AND NOT EXISTS (SELECT 1 FROM {WORDS} x WHERE x.word = w)
        ON CONFLICT DO NOTHING $$""",
    """CREATE OR REPLACE FUNCTION tracking_name_words_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM tracking_name_words(string_agg(DISTINCT customer_name, ' '))
            FROM name_rows WHERE customer_name <> '';
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION tracking_name_words_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM tracking_name_words(NEW.customer_name);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tracking_name_words_insert AFTER INSERT ON tracking_shipment
        REFERENCING NEW TABLE AS name_rows FOR EACH STATEMENT
        EXECUTE FUNCTION tracking_name_words_rows()""",
    """CREATE TRIGGER tracking_name_words_update AFTER UPDATE OF customer_name
        ON tracking_shipment FOR EACH ROW
        WHEN (OLD.customer_name IS DISTINCT FROM NEW.customer_name AND NEW.customer_name <> '')
        EXECUTE FUNCTION tracking_name_words_row()""",
    f"""INSERT INTO {WORDS} (word)
        SELECT DISTINCT w FROM tracking_shipment,
            unnest(regexp_split_to_array(upper(customer_name), '[^[:alpha:]'']+')) w
        WHERE length(w) BETWEEN 3 AND 60 ON CONFLICT DO NOTHING""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS tracking_name_words_update ON tracking_shipment",
    "DROP TRIGGER IF EXISTS tracking_name_words_insert ON tracking_shipment",
    "DROP FUNCTION IF EXISTS tracking_name_words_row()",
    "DROP FUNCTION IF EXISTS tracking_name_words_rows()",
    "DROP FUNCTION IF EXISTS tracking_name_words(text)",
    f"DELETE FROM {WORDS}",
    "DROP TRIGGER IF EXISTS tracking_tally_update ON tracking_shipment",
    "DROP TRIGGER IF EXISTS tracking_tally_delete ON tracking_shipment",
    "DROP TRIGGER IF EXISTS tracking_tally_insert ON tracking_shipment",
    "DROP FUNCTION IF EXISTS tracking_tally_change()",
    "DROP FUNCTION IF EXISTS tracking_tally_rows()",
    f"DELETE FROM {TALLY}",
    # The function stays until 0012's index on it is gone (0012 backward drops that first).
    "DROP FUNCTION IF EXISTS tracking_search_document(text, text, text, text, text, text, text)",
]

FTS = "tracking_shipment_search"
NEW = ", ".join(f"new.{f}" for f in FIELDS)
OLD = ", ".join(f"old.{f}" for f in FIELDS)
CHANGED = " OR ".join(f"new.{f} IS NOT old.{f}" for f in FIELDS)
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS tracking_event_search_ai",
    "DROP TRIGGER IF EXISTS tracking_event_search_au",
    "DROP TRIGGER IF EXISTS tracking_event_search_ad",
    "DROP TABLE IF EXISTS tracking_place_search",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_ai",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_au",
    "DROP TRIGGER IF EXISTS tracking_shipment_search_ad",
    f"DROP TABLE IF EXISTS {FTS}",
    f"""CREATE VIRTUAL TABLE {FTS} USING fts5(
        {COLUMNS}, content = 'tracking_shipment', content_rowid = 'id', tokenize = 'trigram'
    )""",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
    f"""CREATE TRIGGER tracking_shipment_search_ai AFTER INSERT ON tracking_shipment BEGIN
        INSERT INTO {FTS}(rowid, {COLUMNS}) VALUES (new.id, {NEW});
    END""",
    f"""CREATE TRIGGER tracking_shipment_search_ad AFTER DELETE ON tracking_shipment BEGIN
        INSERT INTO {FTS}({FTS}, rowid, {COLUMNS}) VALUES ('delete', old.id, {OLD});
    END""",
    f"""CREATE TRIGGER tracking_shipment_search_au AFTER UPDATE OF {COLUMNS} ON tracking_shipment
        WHEN {CHANGED}
    BEGIN
        INSERT INTO {FTS}({FTS}, rowid, {COLUMNS}) VALUES ('delete', old.id, {OLD});
        INSERT INTO {FTS}(rowid, {COLUMNS}) VALUES (new.id, {NEW});
    END""",
    f"""CREATE TRIGGER tracking_tally_ai AFTER INSERT ON tracking_shipment BEGIN
        INSERT INTO {TALLY} (carrier_id, status_code, shipments)
        VALUES (new.carrier_id, new.status_code, 1);
    END""",
    f"""CREATE TRIGGER tracking_tally_ad AFTER DELETE ON tracking_shipment BEGIN
        INSERT INTO {TALLY} (carrier_id, status_code, shipments)
        VALUES (old.carrier_id, old.status_code, -1);
    END""",
    f"""CREATE TRIGGER tracking_tally_au AFTER UPDATE OF status_code, carrier_id ON tracking_shipment
        WHEN new.status_code IS NOT old.status_code OR new.carrier_id IS NOT old.carrier_id
    BEGIN
        INSERT INTO {TALLY} (carrier_id, status_code, shipments)
        VALUES (old.carrier_id, old.status_code, -1), (new.carrier_id, new.status_code, 1);
    END""",
    FILL_TALLY,
    f"""CREATE TRIGGER tracking_name_words_ai AFTER INSERT ON tracking_shipment
        WHEN new.customer_name <> ''
    BEGIN {SQLITE_WORDS.format(name="new.customer_name")}; END""",
    f"""CREATE TRIGGER tracking_name_words_au AFTER UPDATE OF customer_name ON tracking_shipment
        WHEN new.customer_name IS NOT old.customer_name AND new.customer_name <> ''
    BEGIN {SQLITE_WORDS.format(name="new.customer_name")}; END""",
    f"""INSERT OR IGNORE INTO {WORDS} (word)
        SELECT value FROM tracking_shipment,
            json_each('[' || replace(json_quote(upper(customer_name)), ' ', '","') || ']')
        WHERE customer_name <> '' AND length(value) BETWEEN 3 AND 60""",
]


def _sqlite_backward(schema_editor):
    """Back to 0008's layout (its own forward statements rebuild its tables and triggers)."""
    from importlib import import_module

    for name in ("tally_ai", "tally_ad", "tally_au", "name_words_ai", "name_words_au"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS tracking_{name}", params=None)
    schema_editor.execute(f"DELETE FROM {TALLY}", params=None)
    schema_editor.execute(f"DELETE FROM {WORDS}", params=None)
    old = import_module("tracking.migrations.0008_sqlite_search_places_table")
    for sql in old.FORWARD:
        schema_editor.execute(sql, params=None)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(vendor)
    if statements is None:
        # Another database: no triggers, so no tallies (the list counts by GROUP BY there).
        return
    for sql in statements:
        schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for sql in PG_BACKWARD:
            schema_editor.execute(sql, params=None)
    elif vendor == "sqlite":
        _sqlite_backward(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0010_search_places_tallies")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
