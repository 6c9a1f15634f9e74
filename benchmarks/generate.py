"""Fill a database with generated shipments and tracking events, fast (raw bulk inserts).

    python benchmarks/generate.py --shipments 1000000 --events 10000000 --db var/bench/bench.sqlite3

--db PATH     an SQLite file (created and migrated if needed); without it DATABASE_URL is used
              (PostgreSQL is filled with COPY).
--reset       delete the shipments and events already there first (otherwise rows are added).
--seed N      the random seed (same seed, same data).

The first generated shipment (reference BENCH-200-EVENTS) has exactly 200 events, for the
shipment-page benchmark; the other events are spread evenly (about events/shipments each, +-5).
On SQLite the secondary indexes and search triggers are dropped during the load and rebuilt after
it (much faster than maintaining them row by row), then ANALYZE runs so the planner has statistics.
Other helpers import `generate()` and `setup_django()` from here.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tracking.sandbox import STATUS_DESCRIPTIONS  # noqa: E402 (Django-free; needs ROOT on the path)

BENCH_REFERENCE = "BENCH-200-EVENTS"

# (city, state, postal code, country, lat, lon); each also gets nearby postal codes.
CITIES = [
    ("LOS ANGELES", "CA", "90021", "US", 34.0298, -118.2394),
    ("PHOENIX", "AZ", "85043", "US", 33.4362, -112.1967),
    ("MEMPHIS", "TN", "38118", "US", 35.0424, -89.9767),
    ("INDIANAPOLIS", "IN", "46241", "US", 39.7173, -86.2944),
    ("NEWARK", "NJ", "07114", "US", 40.6895, -74.1745),
    ("NEW YORK", "NY", "10001", "US", 40.7506, -73.9972),
    ("BROOKLYN", "NY", "11201", "US", 40.6959, -73.9901),
    ("LOUISVILLE", "KY", "40209", "US", 38.1744, -85.7360),
    ("ATLANTA", "GA", "30354", "US", 33.6407, -84.4277),
    ("CHICAGO", "IL", "60638", "US", 41.7868, -87.7522),
    ("SEATTLE", "WA", "98108", "US", 47.5480, -122.3153),
    ("DENVER", "CO", "80239", "US", 39.7886, -104.8340),
    ("DALLAS", "TX", "75261", "US", 32.8998, -97.0403),
    ("HOUSTON", "TX", "77032", "US", 29.9902, -95.3368),
    ("KANSAS CITY", "MO", "64153", "US", 39.2976, -94.7139),
    ("MIAMI", "FL", "33126", "US", 25.7959, -80.2870),
    ("ORLANDO", "FL", "32824", "US", 28.4312, -81.3081),
    ("BOSTON", "MA", "02128", "US", 42.3656, -71.0096),
    ("PHILADELPHIA", "PA", "19153", "US", 39.8744, -75.2424),
    ("PORTLAND", "OR", "97218", "US", 45.5898, -122.5951),
    ("SALT LAKE CITY", "UT", "84116", "US", 40.7899, -111.9791),
    ("MINNEAPOLIS", "MN", "55450", "US", 44.8848, -93.2223),
    ("DETROIT", "MI", "48242", "US", 42.2162, -83.3554),
    ("SAN FRANCISCO", "CA", "94128", "US", 37.6213, -122.3790),
    ("LEIPZIG", "SN", "04435", "DE", 51.4239, 12.2364),
    ("BERLIN", "BE", "10115", "DE", 52.5320, 13.3849),
    ("PARIS", "IDF", "75001", "FR", 48.8606, 2.3376),
    ("LONDON", "", "SW1A 1AA", "GB", 51.5014, -0.1419),
    ("MISSISSAUGA", "ON", "L5T 2T1", "CA", 43.6777, -79.6248),
    ("TORONTO", "ON", "M5V 2T6", "CA", 43.6426, -79.3871),
    ("SYDNEY", "NSW", "2000", "AU", -33.8688, 151.2093),
    ("MELBOURNE", "VIC", "3000", "AU", -37.8136, 144.9631),
]

FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Chris Nancy Daniel Lisa Matthew Betty Anthony Sandra Mark Ashley Paul Emily Steven Donna Andrew Michelle Ken Carol Josh Amanda Kevin Melissa Brian Deborah George Stephanie Tim Rebecca Ron Sharon Ed Laura Jason Cynthia Jeff Kathleen Ryan Amy Jacob Angela Gary Helen Nick Anna Eric Brenda Jon Pamela Stephen Nicole Larry Emma Justin Samantha Scott Katherine Brandon Christine Ben Debra Sam Rachel Greg Carolyn Alex Janet Frank Maria Patrick Heather Ray Diane Jack Julie Dennis Joyce Jerry Victoria Tyler Kelly Aaron Christina Jose Lauren Adam Joan Nathan Evelyn Henry Olivia Zach Judith Doug Megan Peter Andrea Kyle Cheryl Noah Hannah Ethan Jacqueline Jeremy Martha Walter Gloria Christian Teresa Keith Ann Roger Sara Terry Madison Austin Frances Sean Kathryn Gerald Janice Carl Jean Harold Abigail Dylan Alice Arthur Judy Lawrence Sophia Jordan Grace Jesse Denise Bryan Amber Billy Doris Bruce Marilyn Gabriel Danielle Joe Beverly Logan Isabella Albert Theresa Willie Diana Alan Natalie Juan Brittany Wayne Charlotte Elijah Marie Randy Kayla Roy Alexis Vincent Lori".split()  # noqa: SIM905
LAST = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval".split()  # noqa: SIM905
DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "shop.example"]

# (status, event_code, description, status_detail_code)
STEPS_START = [
    ("AC", "PU", "Picked up", "PICKED_UP"),
    ("AC", "OR", "Origin scan", "RECEIVED_BY_CARRIER"),
]
STEPS_MIDDLE = [
    ("IT", "DP", "Departed facility", "HUB_SCAN_OUT"),
    ("IT", "AR", "Arrived at facility", "HUB_SCAN_IN"),
    ("IT", "IT", "In transit", "IN_TRANSIT"),
    ("IT", "PL", "Processed at sort facility", "HUB_PROCESSING"),
]
STEPS_END = {
    "DE": ("DE", "DL", "Delivered, front door", "DELIVERED"),
    "SP": ("SP", "PL", "Delivered to parcel locker", "DELIVERED_TO_COLLECTION_LOCATION"),
    "EX": ("EX", "CD", "Held by customs: documents required", "CUSTOMS_HOLD"),
    "AT": ("AT", "NA", "Delivery attempted: no one available", "DELIVERY_ATTEMPTED"),
    "IT": ("IT", "OD", "Out for delivery", "OUT_FOR_DELIVERY"),
    "AC": ("AC", "OR", "Origin scan", "RECEIVED_BY_CARRIER"),
    "UN": ("UN", "XX", "Scan without status mapping", ""),
    "NY": ("NY", "MP", "Label created, not yet received", "SHIPMENT_CREATED"),
}
STATUS_WEIGHTS = [
    ("DE", 55),
    ("IT", 22),
    ("AC", 5),
    ("NY", 3),
    ("EX", 4),
    ("AT", 4),
    ("UN", 2),
    ("SP", 5),
]
STATUS_TEXT = STATUS_DESCRIPTIONS  # the API's own wording, as the sandbox sends it


def setup_django(db: str | None = None) -> None:
    """Point Django at `db` (an SQLite path) or DATABASE_URL, with production-like settings."""
    if db:
        path = Path(db)
        if not path.is_absolute():
            path = ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiptrack.settings")
    import django

    django.setup()


def _places() -> list[tuple]:
    rng = random.Random(7)
    out = []
    for city, state, postal, country, lat, lon in CITIES:
        out.append((city, state, postal, country, lat, lon))
        for _ in range(5):
            if postal.isdigit():
                other = str(int(postal) + rng.randint(1, 80)).zfill(len(postal))
            else:
                other = postal[:-1] + str(rng.randint(0, 9))
            out.append(
                (
                    city,
                    state,
                    other,
                    country,
                    lat + rng.uniform(-0.2, 0.2),
                    lon + rng.uniform(-0.2, 0.2),
                )
            )
    return out


def _tracking_number(rng: random.Random, carrier_code: str, i: int) -> str:
    # Shaped like the carriers' own numbers; the sequence number keeps them unique.
    if carrier_code == "ups":
        return f"1Z{rng.randrange(16**6):06X}{i:010d}"
    if carrier_code in ("usps", "stamps_com"):
        return f"9400{rng.randrange(10**8):08d}{i:010d}"
    if carrier_code == "fedex":
        return f"7{rng.randrange(10):01d}{i:010d}"
    return f"{rng.randrange(10**4):04d}{i:08d}"


def _fmt(dt: datetime, vendor: str) -> str:
    # Naive UTC in, text out; isoformat is several times faster than strftime.
    text = dt.isoformat(" ")
    return text if vendor == "sqlite" else text + "+00"


def _event_counts(rng: random.Random, n_shipments: int, n_events: int) -> Iterator[int]:
    """200 for the first shipment, then an even spread with +-jitter that keeps the exact total."""
    first = min(200, n_events)
    yield first
    rest = n_shipments - 1
    left = n_events - first
    if rest <= 0:
        return
    base, extra = divmod(left, rest)
    jitter = 0
    for i in range(rest):
        k = base + (1 if i < extra else 0)
        if i % 2 == 0:
            jitter = rng.randint(0, min(5, max(0, base - 1))) if i + 1 < rest else 0
            yield k + jitter
        else:
            yield k - jitter


def generate(
    *,
    n_shipments: int,
    n_events: int,
    seed: int = 1,
    reset: bool = False,
    batch: int = 20000,
    log=print,
) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from tracking.models import Carrier, Shipment, TrackingEvent

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    carriers = list(Carrier.objects.active().values_list("id", "code"))
    if not carriers:
        raise SystemExit("No active carriers: the carrier seed migration should have added them.")
    if reset:
        log("deleting existing shipments and events")
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {TrackingEvent._meta.db_table}")
            cur.execute(f"DELETE FROM {Shipment._meta.db_table}")
    with connection.cursor() as cur:
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {Shipment._meta.db_table}")
        first_id = int(cur.fetchone()[0]) + 1
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {TrackingEvent._meta.db_table}")
        first_event_id = int(cur.fetchone()[0]) + 1

    s_fields = [f for f in Shipment._meta.concrete_fields]
    e_fields = [f for f in TrackingEvent._meta.concrete_fields]
    s_cols = [f.column for f in s_fields]
    e_cols = [f.column for f in e_fields]

    def defaults(fields) -> dict:
        out = {}
        for f in fields:
            if f.has_default() and not callable(f.default):
                out[f.attname] = f.default
            elif f.null:
                out[f.attname] = None
            else:
                out[f.attname] = ""
        return out

    s_default = defaults(s_fields)
    e_default = defaults(e_fields)
    now = timezone.now().replace(microsecond=0, tzinfo=None)  # naive UTC
    now_text = _fmt(now, vendor)
    s_default.update(
        created_at=now_text, updated_at=now_text, event_count=0, consecutive_failures=0
    )
    e_default.update(created_at=now_text)
    e_template = [e_default[f.attname] for f in e_fields]
    ei = {f.attname: i for i, f in enumerate(e_fields)}

    rng = random.Random(seed)
    places = _places()
    n_places = len(places)
    rnd = rng.random
    statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    counts = _event_counts(rng, n_shipments, n_events)

    raw = None
    saved_sql: list[str] = []
    if vendor == "postgresql":
        # Secondary indexes are built once after the load (much faster than row by row); the
        # primary keys and unique constraints stay, they guard the data.
        with connection.cursor() as cur:
            cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s)"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                " WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
                [[Shipment._meta.db_table, TrackingEvent._meta.db_table]],
            )
            for name, definition in cur.fetchall():
                saved_sql.append(definition)
                cur.execute(f'DROP INDEX "{name}"')
    if vendor == "sqlite":
        import sqlite3

        # Our own connection with explicit transactions: one commit per batch, not per row.
        path = connection.settings_dict["NAME"]
        connection.close()
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("PRAGMA cache_size=-400000")
        raw.execute("PRAGMA temp_store=MEMORY")
        # Drop what each inserted row would otherwise maintain; recreated after the load.
        rows = raw.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
            "((type = 'index' AND tbl_name IN (?, ?)) OR type = 'trigger')",
            [Shipment._meta.db_table, TrackingEvent._meta.db_table],
        ).fetchall()
        for kind, name, sql in rows:
            saved_sql.append(sql)
            raw.execute(f'DROP {kind.upper()} "{name}"')

    s_sql = f"INSERT INTO {Shipment._meta.db_table} ({', '.join(s_cols)}) VALUES ({', '.join(['%s'] * len(s_cols))})"
    e_sql = f"INSERT INTO {TrackingEvent._meta.db_table} ({', '.join(e_cols)}) VALUES ({', '.join(['%s'] * len(e_cols))})"
    if vendor == "sqlite":
        s_sql = s_sql.replace("%s", "?")
        e_sql = e_sql.replace("%s", "?")

    def write(ship_rows: list, event_rows: list) -> None:
        if vendor == "sqlite":
            raw.execute("BEGIN")
            raw.executemany(s_sql, ship_rows)
            raw.executemany(e_sql, event_rows)
            raw.execute("COMMIT")
        elif vendor == "postgresql":
            with connection.cursor() as cur:
                pg = cur.cursor
                with pg.copy(
                    f"COPY {Shipment._meta.db_table} ({', '.join(s_cols)}) FROM STDIN"
                ) as copy:
                    for r in ship_rows:
                        copy.write_row(r)
                with pg.copy(
                    f"COPY {TrackingEvent._meta.db_table} ({', '.join(e_cols)}) FROM STDIN"
                ) as copy:
                    for r in event_rows:
                        copy.write_row(r)
        else:
            with connection.cursor() as cur:
                cur.executemany(s_sql, ship_rows)
                cur.executemany(e_sql, event_rows)

    ship_rows: list = []
    event_rows: list = []
    event_id = first_event_id
    total_events = 0
    bench_id = first_id
    span = 120 * 86400
    for n in range(n_shipments):
        sid = first_id + n
        carrier_id, carrier_code = carriers[rng.randrange(len(carriers))] if n else carriers[0]
        k = next(counts, 0)
        status = "IT" if n == 0 else statuses[rng.randrange(len(statuses))]
        if k == 0:
            status = "NY"
        created = now - timedelta(seconds=rng.randrange(span))
        number = _tracking_number(rng, carrier_code, sid)
        first_name = FIRST[rng.randrange(len(FIRST))]
        last_name = LAST[rng.randrange(len(LAST))]
        reference = BENCH_REFERENCE if n == 0 else f"ORD-{rng.randrange(10**7):07d}"
        email = f"{first_name}.{last_name}{rng.randrange(100)}@{DOMAINS[rng.randrange(len(DOMAINS))]}".lower()
        # Who signed for a delivery: the customer, as carriers write it ("J SMITH").
        signer = f"{first_name[0]} {last_name}".upper()
        # Events from `created` onward, an hour or more apart, never in the future.
        step_seconds = max(600, min(43200, int((now - created).total_seconds() / max(k, 1))))
        origin = rng.randrange(len(places))
        dest = rng.randrange(len(places))
        hubs = [places[int(rnd() * n_places)] for _ in range(3)]
        last_at = created
        last_desc = ""
        last_loc = ""
        for j in range(k):
            at = created + timedelta(seconds=j * step_seconds + int(rnd() * 300))
            if j == 0:
                st = STEPS_START[0]
                place = places[origin]
            elif j == k - 1:
                st = STEPS_END[status]
                place = places[dest]
            else:
                st = STEPS_MIDDLE[int(rnd() * 4)]
                place = hubs[int(rnd() * 3)]
            at_text = _fmt(at, vendor)
            row = e_template.copy()
            row[ei["id"]] = event_id
            row[ei["shipment_id"]] = sid
            row[ei["dedupe_key"]] = f"{event_id:016x}"
            row[ei["occurred_at"]] = at_text
            row[ei["carrier_occurred_at"]] = at_text[:10] + "T" + at_text[11:19]
            row[ei["description"]] = st[2]
            row[ei["city_locality"]] = place[0]
            row[ei["state_province"]] = place[1]
            row[ei["postal_code"]] = place[2]
            row[ei["country_code"]] = place[3]
            row[ei["event_code"]] = st[1]
            row[ei["status_code"]] = st[0]
            row[ei["status_detail_code"]] = st[3]
            row[ei["status_description"]] = STATUS_TEXT[st[0]]
            row[ei["carrier_status_code"]] = st[1]
            row[ei["carrier_status_description"]] = st[2]
            if rnd() < 0.85:
                row[ei["latitude"]] = place[4]
                row[ei["longitude"]] = place[5]
            if st[0] == "DE":
                row[ei["signer"]] = signer
            event_rows.append(row)
            event_id += 1
            last_at, last_desc, last_loc = at, st[2], f"{place[0]}, {place[1]}, {place[3]}"
        total_events += k
        values = dict(s_default)
        failures = 1 if rng.random() < 0.01 else 0
        values.update(
            id=sid,
            carrier_id=carrier_id,
            tracking_number=number,
            reference=reference,
            customer_name=f"{first_name} {last_name}",
            customer_email=email,
            status_code=status,
            status_description=STATUS_TEXT[status],
            ship_date=_fmt(created, vendor),
            estimated_delivery_date=_fmt(last_at + timedelta(days=2), vendor)
            if status not in ("DE", "SP")
            else None,
            actual_delivery_date=_fmt(last_at, vendor) if status in ("DE", "SP") else None,
            exception_description="Held by customs: documents required" if status == "EX" else "",
            last_event_at=_fmt(last_at, vendor) if k else None,
            last_event_description=last_desc,
            last_event_location=last_loc,
            event_count=k,
            last_checked_at=now_text,
            consecutive_failures=failures,
            last_error="Simulated: the carrier did not answer" if failures else "",
            public_token=secrets.token_urlsafe(32),
            raw_response=None,
            # A third of the packages were bought as ShipEngine labels (searchable by label id).
            label_id=f"se-{sid}" if sid % 3 == 0 else "",
            customer_postcode=f"{rng.randrange(10**5):05d}",
        )
        if status == "DE":
            values["signer"] = signer
        ship_rows.append(tuple(values[f.attname] for f in s_fields))
        if len(event_rows) >= batch * 5 or len(ship_rows) >= batch:
            write(ship_rows, event_rows)
            ship_rows, event_rows = [], []
            log(
                f"  {n + 1:,} shipments, {total_events:,} events, {time.monotonic() - started:.0f} s"
            )
    if ship_rows:
        write(ship_rows, event_rows)
    load_seconds = time.monotonic() - started
    log(f"rows loaded in {load_seconds:.0f} s; rebuilding indexes")

    if vendor == "sqlite":
        for sql in saved_sql:
            raw.execute(sql)
        log(f"indexes and triggers rebuilt, {time.monotonic() - started:.0f} s")
        raw.close()
    elif vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '1GB'")
            for sql in saved_sql:
                log(f"  {sql[:100]}")
                cur.execute(sql)
            log(f"indexes rebuilt, {time.monotonic() - started:.0f} s; ANALYZE")
            for table in (Shipment._meta.db_table, TrackingEvent._meta.db_table):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    # What the ingest and the triggers would have written row by row: the places of the events,
    # the status tallies, the name words (and SQLite's search table), in set-based passes.
    from tracking.services import search_index

    log(f"search places, tallies and words: {search_index.rebuild()}")
    with connection.cursor() as cur:
        if vendor == "postgresql":
            cur.execute("VACUUM ANALYZE")  # visibility map too: index-only scans need it
        elif vendor == "sqlite":
            cur.execute("PRAGMA analysis_limit=2000")
            cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.monotonic() - started
    log(
        f"done: {n_shipments:,} shipments, {total_events:,} events in {seconds:.0f} s "
        f"(bench shipment id {bench_id})"
    )
    return {
        "shipments": n_shipments,
        "events": total_events,
        "seconds": round(seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "bench_shipment_id": bench_id,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shipments", type=int, default=10000)
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--db", help="SQLite file to fill (default: DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true")
    args = parser.parse_args(argv)
    if args.shipments < 1 or args.events < 0:
        parser.error("--shipments must be at least 1 and --events at least 0")
    setup_django(args.db)
    generate(n_shipments=args.shipments, n_events=args.events, seed=args.seed, reset=args.reset)


if __name__ == "__main__":
    main()
