"""Broad staff searches (a hub city matches a large share of all shipments), with and without the
count cap, on an existing benchmark database (benchmarks/generate.py).

    .venv/bin/python benchmarks/broad_search.py --db var/bench/bench.sqlite3 [--runs 3]

Prints the median server time of `/staff/?q=...` through Django's test client for each query,
first with STAFF_SEARCH_COUNT_CAP=0 (count every match: the baseline), then with the default cap.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=str(ROOT / "var" / "bench" / "bench.sqlite3"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", nargs="*", default=["MEMPHIS", "Jackson", "7B29D800"])
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(args.db).resolve()}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiptrack.test_settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    user, _ = get_user_model().objects.get_or_create(
        username="bench-broad-search", defaults={"is_staff": True}
    )
    client = Client()
    client.force_login(user)
    default_cap = 10_000
    print(f"{'query':12} {'cap':>7} {'median ms':>10} {'capped':>7}")
    for cap in (0, default_cap):
        settings.STAFF_SEARCH_COUNT_CAP = cap
        for q in args.queries:
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.get("/staff/", {"q": q})
                times.append(time.perf_counter() - started)
            capped = "more than" in response.content.decode()
            print(f"{q:12} {cap:>7} {statistics.median(times) * 1000:>10.0f} {capped!s:>7}")


if __name__ == "__main__":
    main()
