"""PostgreSQL: pg_trgm against full-text search (tsvector) for the shipment search document, side
by side on the same data (benchmarks/generate.py), to choose one.

    DATABASE_URL=postgres://.../shiptrack .venv/bin/python benchmarks/search_index_compare.py

Builds, one after the other, a GIN pg_trgm index and a GIN tsvector index ('simple'
configuration: no stemming, names and numbers stay as they are) on the same expression the
search uses (tracking_search_document(...), migration 0011), timing each build and measuring its
size; then runs each kind of query both ways (EXPLAIN ANALYZE, median of --runs) and counts what
each finds. Both extra indexes are dropped at the end (migration 0012's own index is left as is).
Takes a few minutes at 1,000,000 shipments and needs ~1 GB of free disk for the two builds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import setup_django  # noqa: E402

DOC = (
    "tracking_search_document(tracking_number, label_id, reference, customer_name,"
    " customer_email, customer_postcode, signer)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown")
    args = parser.parse_args()
    setup_django(None)
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only (DATABASE_URL=postgres://...)")
    cur = connection.cursor()
    cur.execute("SET maintenance_work_mem = '1GB'")
    cur.execute("SELECT count(*) FROM tracking_shipment")
    n = cur.fetchone()[0]
    cur.execute(
        "SELECT tracking_number, customer_name, customer_email, reference FROM tracking_shipment"
        " WHERE id >= %s AND label_id <> '' AND signer <> '' ORDER BY id LIMIT 1",
        [n // 2],
    )
    number, name, email, reference = cur.fetchone()
    surname = name.split()[-1]
    typo = surname[0] + surname[2] + surname[1] + surname[3:]
    local = email.split("@")[0]

    builds = {}
    for label, name_, definition in (
        ("pg_trgm", "compare_trgm", f"gin (({DOC}) gin_trgm_ops)"),
        ("tsvector", "compare_tsv", f"gin (to_tsvector('simple', {DOC}))"),
    ):
        print(f"  building {label} ...", flush=True)
        cur.execute(f"DROP INDEX IF EXISTS {name_}")
        started = time.perf_counter()
        cur.execute(f"CREATE INDEX {name_} ON tracking_shipment USING {definition}")
        seconds = time.perf_counter() - started
        cur.execute("SELECT pg_relation_size(%s)", [name_])
        builds[label] = (seconds, cur.fetchone()[0])
    cur.execute("ANALYZE tracking_shipment")

    def tsq(words: str, prefix: bool = False) -> str:
        terms = [re.sub(r"[^\w@.\-]", "", w).lower() for w in words.split()]
        return " & ".join(f"'{t}'" + (":*" if prefix else "") for t in terms if t)

    cases = [
        ("Exact tracking number", f"%{number.upper()}%", tsq(number)),
        (
            "Partial tracking number (from inside)",
            f"%{number[3:11].upper()}%",
            tsq(number[3:11], True),
        ),
        ("Order reference", f"%{reference.upper()}%", tsq(reference)),
        ("Email local part (beginning)", f"%{local[:-1].upper()}%", tsq(local[:-1], True)),
        ("Email (from inside)", f"%{local[2:].upper()}%", tsq(local[2:], True)),
        ("Full name", f"%{name.upper()}%", tsq(name)),
        (f"Common surname ({surname})", f"%{surname.upper()}%", tsq(surname)),
        (f"Name with a typo ({typo})", f"%{typo.upper()}%", tsq(typo)),
    ]

    def run(sql: str, param: str) -> tuple[float, int]:
        times, rows = [], 0
        for _ in range(args.runs + 1):
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, [param])
            plan = cur.fetchone()[0][0]
            times.append(plan["Execution Time"])
        cur.execute(sql.replace("SELECT id", "SELECT count(*)", 1), [param])
        rows = cur.fetchone()[0]
        return statistics.median(times[1:]), rows

    trgm_sql = f"SELECT id FROM tracking_shipment WHERE {DOC} LIKE %s"
    tsv_sql = f"SELECT id FROM tracking_shipment WHERE to_tsvector('simple', {DOC}) @@ to_tsquery('simple', %s)"
    lines = [
        f"{n:,} shipments, PostgreSQL; load average {os.getloadavg()[0]:.1f}. Builds: "
        + "; ".join(
            f"{label} {seconds:.0f} s, {size / 2**20:.0f} MB"
            for label, (seconds, size) in builds.items()
        )
        + f". Query time: EXPLAIN ANALYZE execution time, median of {args.runs}, every match read.",
        "",
        "| query | pg_trgm ms | found | tsvector ms | found |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, like, query in cases:
        print(f"  {label} ...", flush=True)
        t_ms, t_rows = run(trgm_sql, like)
        v_ms, v_rows = run(tsv_sql, query) if query else (0.0, 0)
        lines.append(f"| {label} | {t_ms:.1f} | {t_rows:,} | {v_ms:.1f} | {v_rows:,} |")
    for name_ in ("compare_trgm", "compare_tsv"):
        cur.execute(f"DROP INDEX IF EXISTS {name_}")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
