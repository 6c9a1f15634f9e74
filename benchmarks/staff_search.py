"""Staff portal speed on generated data, with the baselines measured in the same run.

    python benchmarks/generate.py --shipments 1000000 --events 10000000 --db var/bench/bench.sqlite3
    python benchmarks/staff_search.py --db var/bench/bench.sqlite3 [--runs 15] [--markdown out.md]

Server time = one request through Django's test Client (middleware, session, view, queries,
template), median of --runs after 2 warm-up requests. Measured for each case:

- portal: the staff portal page (/staff/...)
- project admin: the project's registered ShipmentAdmin changelist/change page
- stock admin: a plain ModelAdmin (search_fields on the four text fields, list_filter on status)
  on its own AdminSite: what Django gives without this project's search
- raw SQL: the single indexed lookup the page is built around, on the same connection

Without DATABASE_URL/--db it refuses to run (it writes a benchmark user and sessions).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import BENCH_REFERENCE, setup_django  # noqa: E402

NONE = "\u2013"  # en dash: no figure
TIMES = "\u00d7"  # multiplication sign
TARGETS_MS = {"exact": 20, "partial": 150, "status": 50, "detail": 30}


Timing = tuple[float, float]  # (wall ms, CPU ms)


def median_ms(fn: Callable[[], object], runs: int) -> Timing:
    """Median wall time and median CPU time of this process. With SQLite everything (Django and
    the database engine) runs in this process, so the CPU time is the work itself, unaffected by
    other programs competing for the machine; the wall time is what a user would wait here."""
    for _ in range(2):
        fn()
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def reference_loop_ms() -> float:
    """CPU ms of a fixed pure-Python loop: how fast this machine runs Python right now. On a
    shared, busy machine even CPU time stretches (shared cores and caches); compare this figure
    between runs (about 250 ms on an idle modern x86 core with Python 3.13)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        n = 0
        for i in range(3_000_000):
            n += i * i
        best = min(best, (time.process_time() - start) * 1000)
    return best


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    import sqlite3

    return (
        f"{cpu or platform.processor()} x{os.cpu_count()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load:.1f} at start"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file made by generate.py (default: DATABASE_URL)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument(
        "--skip-stock-admin",
        action="store_true",
        help="leave out the stock admin (its searches scan the table: slow on big data)",
    )
    args = parser.parse_args(argv)
    if not args.db and not os.environ.get("DATABASE_URL"):
        parser.error("give --db or set DATABASE_URL (the benchmark writes a user and sessions)")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    setup_django(args.db)

    from django.conf import settings
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from tracking.models import Shipment

    # No setup_test_environment(): its instrumented template rendering copies every context and
    # would triple the measured time. The Client only needs the host allowed.
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]

    # The stock admin: what Django does with search_fields and a status list_filter.
    stock_site = admin.AdminSite(name="stockadmin")

    class StockShipmentAdmin(admin.ModelAdmin):
        search_fields = ["tracking_number", "reference", "customer_name", "customer_email"]
        list_filter = ["status_code"]
        list_display = ["tracking_number", "carrier", "status_code", "reference", "customer_name"]
        list_select_related = ["carrier"]

    stock_site.register(Shipment, StockShipmentAdmin)
    if not admin.site.is_registered(Shipment):
        # The project's admin is not written yet: a minimal one stands in.
        admin.site.register(Shipment, StockShipmentAdmin)
    urls = types.ModuleType("bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("stockadmin/", stock_site.urls),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules["bench_urls"] = urls

    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)

    n_shipments = Shipment.objects.count()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tracking_trackingevent")
        n_events = cur.fetchone()[0]
    bench = (
        Shipment.objects.filter(reference=BENCH_REFERENCE).first()
        or Shipment.objects.order_by("-event_count").first()
    )
    assert bench is not None, "no shipments: run generate.py first"
    middle = Shipment.objects.filter(pk__gte=n_shipments // 2, carrier__code="ups").first()
    middle = middle or Shipment.objects.filter(pk__gte=n_shipments // 2).first()
    assert middle is not None
    exact = middle.tracking_number
    partial = exact[2:10]  # 8 characters from inside the number
    surname = (middle.customer_name.split() or ["Smith"])[-1]
    email_part = middle.customer_email.split("@")[0]
    postcode = "04435"  # generated places: Leipzig's main postcode

    def get(url: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            return response

        return run

    def sql(query: str, params: list) -> Callable[[], object]:
        def run() -> object:
            with connection.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()

        return run

    fts = connection.vendor == "sqlite"
    rows: list[tuple[str, str, Timing, Timing | None, Timing | None, Timing | None]] = []

    def case(
        key: str,
        label: str,
        portal: str,
        project_admin: str | None,
        stock_admin: str | None,
        raw: Callable[[], object] | None,
    ) -> None:
        print(f"  {label} ...", flush=True)
        p = median_ms(get(portal), args.runs)
        pa = median_ms(get(project_admin), args.runs) if project_admin else None
        sa = (
            median_ms(get(stock_admin), max(3, args.runs // 5))
            if stock_admin and not args.skip_stock_admin
            else None
        )
        r = median_ms(raw, args.runs) if raw else None
        rows.append((key, label, p, pa, sa, r))

    from urllib.parse import quote

    loop_before = reference_loop_ms()
    with override_settings(ROOT_URLCONF="bench_urls"):
        # One pass over every portal page first, so the first case measured does not pay for
        # loading templates and code paths the others then reuse.
        for url in (
            f"/staff/?q={exact}",
            f"/staff/?q={exact[2:10]}",
            "/staff/?status=IT",
            f"/staff/shipments/{bench.pk}/",
        ):
            client.get(url)
        cache.clear()
        print(f"{n_shipments:,} shipments, {n_events:,} events; {args.runs} runs each", flush=True)
        case(
            "exact",
            f"Exact tracking number ({exact})",
            f"/staff/?q={quote(exact)}",
            f"/admin/tracking/shipment/?q={quote(exact)}",
            f"/stockadmin/tracking/shipment/?q={quote(exact)}",
            sql("SELECT id FROM tracking_shipment WHERE tracking_number = %s", [exact]),
        )
        raw_partial = (
            sql(
                "SELECT rowid FROM tracking_shipment_search WHERE tracking_shipment_search MATCH %s"
                " LIMIT 25",
                [f'"{partial}"'],
            )
            if fts
            else sql(
                "SELECT id FROM tracking_shipment WHERE tracking_number LIKE %s LIMIT 25",
                [f"%{partial}%"],
            )
        )
        case(
            "partial",
            f"Partial tracking number ({partial})",
            f"/staff/?q={quote(partial)}",
            f"/admin/tracking/shipment/?q={quote(partial)}",
            f"/stockadmin/tracking/shipment/?q={quote(partial)}",
            raw_partial,
        )
        for label, q in (
            (f"Partial email ({email_part[:-1]})", email_part[:-1]),
            (f"Customer surname ({surname}: common)", surname),
            (f"Event postcode ({postcode}: common)", postcode),
        ):
            case(
                "partial-other",
                label,
                f"/staff/?q={quote(q)}",
                f"/admin/tracking/shipment/?q={quote(q)}",
                None,
                sql(
                    "SELECT rowid FROM tracking_shipment_search WHERE tracking_shipment_search"
                    " MATCH %s LIMIT 25",
                    [f'"{q}"'],
                )
                if fts
                else None,
            )
        status_raw = sql(
            "SELECT id, tracking_number, status_code, last_event_at FROM tracking_shipment"
            " WHERE status_code = %s ORDER BY last_event_at DESC LIMIT 25",
            ["IT"],
        )
        case(
            "status",
            "Status-filtered list, page 1 (In transit), counts cached",
            "/staff/?status=IT",
            "/admin/tracking/shipment/?status=IT",
            "/stockadmin/tracking/shipment/?status_code__exact=IT",
            status_raw,
        )
        with override_settings(STAFF_STATUS_COUNTS_CACHE_SECONDS=0):
            case(
                "status-cold",
                "Status-filtered list, counts not cached",
                "/staff/?status=IT",
                None,
                None,
                status_raw,
            )
        case(
            "detail",
            f"Shipment page, {bench.event_count} events",
            f"/staff/shipments/{bench.pk}/",
            f"/admin/tracking/shipment/{bench.pk}/change/",
            f"/stockadmin/tracking/shipment/{bench.pk}/change/",
            sql(
                "SELECT * FROM tracking_trackingevent WHERE shipment_id = %s"
                " ORDER BY occurred_at DESC, id DESC",
                [bench.pk],
            ),
        )

    def fmt(v: Timing | None) -> str:
        return f"{v[1]:.1f} ({v[0]:.0f})" if v is not None else NONE

    def ratio(a: Timing | None, b: Timing | None) -> str:
        if a is None or not b or b[1] <= 0:
            return NONE
        x = a[1] / b[1]
        if x >= 10:
            return f"{x:.0f}{TIMES}"
        return f"{x:.2f}{TIMES}" if x >= 0.1 else f"{x:.2g}{TIMES}"

    lines = [
        f"Data: {n_shipments:,} shipments, {n_events:,} events ({connection.vendor}). "
        f"Machine: {machine()}. Median of {args.runs} runs (stock admin: "
        f"{max(3, args.runs // 5)}). Each cell: CPU ms of the serving process (wall ms in "
        "brackets); ratios on CPU time. Reference loop (reference_loop_ms): "
        f"{loop_before:.0f} ms before, {reference_loop_ms():.0f} ms after.",
        "",
        "| case | target ms | portal | project admin | stock admin | raw SQL | portal / stock admin | portal / project admin | portal / raw SQL |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label, p, pa, sa, r in rows:
        target = TARGETS_MS.get(key)
        mark = ""
        if target is not None:
            mark = " ✓" if p[1] <= target else " ✗"
        lines.append(
            f"| {label} | {target or ''} | {fmt(p)}{mark} | {fmt(pa)} | {fmt(sa)} | {fmt(r)} "
            f"| {ratio(p, sa)} | {ratio(p, pa)} | {ratio(p, r)} |"
        )
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
