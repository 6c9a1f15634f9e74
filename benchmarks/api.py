"""REST API benchmark: POST /api/v1/shipments/bulk with 1,000 shipments, GET one shipment with
200 events, a list page of 100 on a big table; with baselines side by side in the same run.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/api.py --shipments 1000000
    .venv/bin/python benchmarks/api.py --db var/bench/api.sqlite3 --shipments 1000000

The database (an SQLite file with --db, else DATABASE_URL) is filled by benchmarks/generate.py up
to --shipments when it holds fewer (its first shipment has exactly 200 events). Requests go
through the whole Django stack with django.test.Client in this process (all middleware, API-key
lookup, the per-key rate-limit counter in the database, serialisation), production settings
(DEBUG off, the database task backend: a bulk request really writes its 1,000 queued fetches).
Times are wall clock around each request, median and p95 after a warm-up. Baselines: 1,000
single POSTs for the bulk request (the same work without batching), the staff shipment page for
GET one, the staff list page (100 rows) for the list. Targets (issue 15): bulk <= 1 s, one
shipment with 200 events <= 15 ms, a list page of 100 at 1M shipments <= 30 ms (PostgreSQL).
Rows this benchmark adds (its shipments, key, queued tasks) are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import BENCH_REFERENCE, generate, setup_django  # noqa: E402

TARGETS = {"bulk": 1000.0, "detail": 15.0, "list": 30.0}


def measure(call: Callable[[], object], runs: int, warmup: int = 5) -> dict[str, float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, int(len(samples) * 0.95))],
        "min": samples[0],
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file (default: DATABASE_URL)")
    parser.add_argument("--shipments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--bulk-runs", type=int, default=5)
    args = parser.parse_args(argv)
    # The staff baselines render templates: plain static storage (no collectstatic manifest).
    os.environ.setdefault(
        "STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    setup_django(args.db)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from tracking.models import ApiKey, ChangeRecord, Shipment
    from tracking.services import api_keys

    setup_test_environment()  # the test client's ALLOWED_HOSTS ("testserver"); DEBUG stays off
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    have = Shipment.objects.count()
    if have < args.shipments:
        generate(n_shipments=args.shipments - have, n_events=args.shipments - have, seed=15)
    total = Shipment.objects.count()
    bench = Shipment.objects.filter(reference=BENCH_REFERENCE).order_by("id").first()
    assert bench is not None and bench.events.count() >= 200, "no 200-event shipment"

    run_id = uuid.uuid4().hex[:6].upper()
    key = api_keys.create_key(
        name=f"benchmark {run_id}", scopes=["read", "write"], rate_limit_per_minute=10**9
    )
    client = Client(headers={"Authorization": f"Bearer {key.raw}"})
    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True}
    )
    staff = Client()
    staff.force_login(user)
    started_at = timezone.now()
    created: list[int] = []

    def check(response, status=200):
        assert response.status_code == status, (response.status_code, response.content[:300])
        return response

    # --- bulk ---------------------------------------------------------------------------------
    batch = iter(range(10_000))

    def bulk() -> None:
        n = next(batch)
        items = [
            {
                "tracking_number": f"APIB{run_id}{n:04d}{i:04d}",
                "carrier_code": "ups",
                "reference": f"B{n}-{i}",
            }
            for i in range(1000)
        ]
        body = check(
            client.post(
                "/api/v1/shipments/bulk", {"shipments": items}, content_type="application/json"
            )
        ).json()
        assert body["created"] == 1000, body["created"]
        created.extend(r["shipment"]["id"] for r in body["results"])

    singles = iter(range(100_000))

    def hundred_singles() -> None:
        for _ in range(100):
            n = next(singles)
            response = check(
                client.post(
                    "/api/v1/shipments",
                    {"tracking_number": f"APIS{run_id}{n:06d}", "carrier_code": "ups"},
                    content_type="application/json",
                ),
                201,
            )
            created.append(response.json()["id"])

    results = {
        "bulk": measure(bulk, args.bulk_runs, warmup=1),
        # 100 single POSTs, x10 below: the same 1,000 shipments one request each.
        "singles_x100": measure(hundred_singles, max(1, args.bulk_runs // 2), warmup=1),
    }

    # --- one shipment with 200 events ---------------------------------------------------------
    detail_url = f"/api/v1/shipments/{bench.pk}"
    assert len(check(client.get(detail_url)).json()["events"]) == bench.events.count()
    results["detail"] = measure(lambda: check(client.get(detail_url)), args.runs)
    results["staff_page"] = measure(
        lambda: check(staff.get(f"/staff/shipments/{bench.pk}/")), args.runs
    )

    # --- list pages ---------------------------------------------------------------------------
    first = check(client.get("/api/v1/shipments", {"limit": 100})).json()
    assert len(first["data"]) == 100
    middle = Shipment.objects.order_by("-id").values_list("id", flat=True)[total // 2]
    from tracking.api.shipments import _encode_cursor

    deep = _encode_cursor(middle)
    results["list"] = measure(
        lambda: check(client.get("/api/v1/shipments", {"limit": 100})), args.runs
    )
    results["list_deep"] = measure(
        lambda: check(client.get("/api/v1/shipments", {"limit": 100, "cursor": deep})), args.runs
    )
    results["list_status_ex"] = measure(
        lambda: check(client.get("/api/v1/shipments", {"limit": 100, "status": "EX"})), args.runs
    )
    results["list_carrier"] = measure(
        lambda: check(client.get("/api/v1/shipments", {"limit": 100, "carrier": "fedex"})),
        args.runs,
    )
    results["list_attention"] = measure(
        lambda: check(client.get("/api/v1/shipments", {"limit": 100, "needs_attention": "true"})),
        args.runs,
    )
    results["staff_list"] = measure(
        lambda: check(staff.get("/staff/", {"per_page": 100})), args.runs
    )

    # --- clean up what the run added ------------------------------------------------------------
    for start in range(0, len(created), 5000):
        ids = created[start : start + 5000]
        ChangeRecord.objects.filter(shipment_id__in=ids).delete()
        Shipment.objects.filter(pk__in=ids).delete()
    # The fetches the run queued (nobody runs them here): every task row enqueued since it began.
    DBTaskResult.objects.filter(enqueued_at__gte=started_at).delete()
    ApiKey.objects.filter(pk=key.api_key.pk).delete()

    vendor = connection.vendor
    print(
        f"\nREST API on {vendor} ({connection.settings_dict['NAME']}), {total:,} shipments, "
        f"Python {platform.python_version()}, {platform.machine()}"
    )
    rows = [
        ("bulk", "POST /shipments/bulk, 1,000 new shipments", TARGETS["bulk"]),
        ("singles_x100", "baseline: 100 single POST /shipments (x10 = 1,000)", None),
        ("detail", f"GET /shipments/{{id}}, {bench.events.count()} events", TARGETS["detail"]),
        ("staff_page", "baseline: staff shipment page, same shipment", None),
        ("list", "GET /shipments?limit=100 (first page)", TARGETS["list"]),
        ("list_deep", "GET /shipments?limit=100&cursor=<middle of the table>", TARGETS["list"]),
        ("list_status_ex", "GET /shipments?limit=100&status=EX", None),
        ("list_carrier", "GET /shipments?limit=100&carrier=fedex", None),
        ("list_attention", "GET /shipments?limit=100&needs_attention=true", None),
        ("staff_list", "baseline: staff list page, 100 rows", None),
    ]
    print(f"{'what':62} {'median ms':>10} {'p95 ms':>8} {'target':>8}")
    for name, label, target in rows:
        r = results[name]
        goal = f"<= {target:.0f}" if target else ""
        print(f"{label:62} {r['median']:10.1f} {r['p95']:8.1f} {goal:>8}")
    print(json.dumps({k: {m: round(v, 2) for m, v in r.items()} for k, r in results.items()}))


if __name__ == "__main__":
    main()
