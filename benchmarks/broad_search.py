"""Broad staff searches (a hub city, a state, a common surname or postcode, a carrier: thousands to
hundreds of thousands of matches) on a benchmark database (benchmarks/generate.py): the portal as
shipped (past STAFF_SEARCH_COUNT_CAP matches: no full count, a newest-first walk of the list's
index, "more than N") against the same portal told to count and sort every match
(STAFF_SEARCH_COUNT_CAP=0: the baseline), in the same run; and the next pages through their
keyset links.

    .venv/bin/python benchmarks/broad_search.py --db /work/bench/bench.sqlite3 [--runs 5]
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/broad_search.py [--markdown out.md]

Median wall time of `/staff/?q=...` through Django's test client (production settings).
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

QUERIES = ["MEMPHIS", "Newark, NJ", "NJ", "04435", "Smith", "FedEx"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file made by generate.py (default: DATABASE_URL)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", nargs="*", default=QUERIES)
    parser.add_argument("--markdown")
    args = parser.parse_args()
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_django(args.db)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    user, _ = get_user_model().objects.get_or_create(
        username="bench-broad-search", defaults={"is_staff": True}
    )
    client = Client()
    client.force_login(user)
    default_cap = settings.STAFF_SEARCH_COUNT_CAP

    def timed(url: str, runs: int) -> tuple[float, str]:
        client.get(url)
        times, html = [], ""
        for _ in range(runs):
            started = time.perf_counter()
            html = client.get(url).content.decode()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times), html

    def summary(html: str) -> str:
        found = re.search(r'class="result-summary">\s*(.*?)\s*·', html, re.S)
        return " ".join(found.group(1).split()) if found else "(no rows)"

    load = os.getloadavg()[0]
    lines = [
        f"Database: {connection.vendor}. Median of {args.runs} requests (the count-everything "
        f"baseline: {max(1, args.runs // 2)}), wall ms; load average {load:.1f} at the start.",
        "",
        "| query | shipped: page 1 | page 2 | page 3 | what the page says | count and sort every match (cap 0) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for q in args.queries:
        print(f"  {q} ...", flush=True)
        settings.STAFF_SEARCH_COUNT_CAP = default_cap
        first, html = timed(f"/staff/?q={q}", args.runs)
        pages = []
        for _ in range(2):
            link = re.search(r'href="(\?[^"]*after=[^"]+)"[^>]*rel="next"', html)
            if not link:
                pages.append(None)
                continue
            nxt, html = timed("/staff/" + link.group(1).replace("&amp;", "&"), args.runs)
            pages.append(nxt)
        said = summary(client.get(f"/staff/?q={q}").content.decode())
        settings.STAFF_SEARCH_COUNT_CAP = 0
        everything, _html = timed(f"/staff/?q={q}", max(1, args.runs // 2))
        settings.STAFF_SEARCH_COUNT_CAP = default_cap
        cells = " | ".join(f"{p:.0f}" if p is not None else "\u2013" for p in pages)
        lines.append(f"| {q} | {first:.0f} | {cells} | {said} | {everything:.0f} |")
    lines.append("")
    lines.append(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
