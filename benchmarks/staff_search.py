"""Staff portal speed on generated data (benchmarks/generate.py), every row of issue 12's goal
table, with the baselines measured in the same run.

    python benchmarks/staff_search.py --db /work/bench/bench.sqlite3 --markdown out.md     # SQLite
    DATABASE_URL=postgres://.../shiptrack python benchmarks/staff_search.py --markdown out.md

Server time = one request through Django's test Client (every middleware, session, view,
queries, template), production settings (DEBUG off), median wall time of --runs after 2 warm-up
requests; the CPU time of this process beside it (with SQLite that is the database's work too;
with PostgreSQL the server's share is not in it). For each case:

- portal: the staff page as a browser loads it (/staff/?q=...), and the live search's htmx
  request (HX-Request: only the results and the status counts), which is what typing sends;
- project admin: this project's ShipmentAdmin (which uses the portal's search);
- stock admin: a plain ModelAdmin (search_fields on the four text fields, list_filter on the
  status) on its own AdminSite: what Django gives without this project's search (fewer runs:
  it reads the whole table);
- raw SQL: the single indexed lookup the page is built around, on the same connection.

Facts checked on the way (the script stops if one is false): an exact match is the first row, a
broad search says "more than", its rows are newest first, its next page continues the order.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import BENCH_REFERENCE, setup_django  # noqa: E402

NONE = "\u2013"  # en dash: no figure
Timing = tuple[float, float]  # (wall ms, CPU ms)


def median_ms(fn: Callable[[], object], runs: int, warm: int = 2) -> Timing:
    """Median wall and CPU ms of `runs` calls after `warm` untimed ones."""
    for _ in range(warm):
        fn()
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def machine(vendor: str) -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    engine = f"SQLite {sqlite3.sqlite_version}" if vendor == "sqlite" else "PostgreSQL"
    return f"{cpu or platform.processor()} x{os.cpu_count()}, Python {platform.python_version()}, {engine}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file made by generate.py (default: DATABASE_URL)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--admin-runs", type=int, default=3)
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--skip-stock-admin", action="store_true")
    args = parser.parse_args(argv)
    if not args.db and not os.environ.get("DATABASE_URL"):
        parser.error("give --db or set DATABASE_URL (the benchmark writes a user and sessions)")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_django(args.db)

    from django.conf import settings
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from tracking.models import Carrier, Shipment, search
    from tracking.queries.shipment_list import ListState, filter_shipments

    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    vendor = connection.vendor
    stock_site = admin.AdminSite(name="stockadmin")

    class StockShipmentAdmin(admin.ModelAdmin):
        search_fields = ["tracking_number", "reference", "customer_name", "customer_email"]
        list_filter = ["status_code"]
        list_display = ["tracking_number", "carrier", "status_code", "reference", "customer_name"]
        list_select_related = ["carrier"]

    stock_site.register(Shipment, StockShipmentAdmin)
    urls = types.ModuleType("bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("stockadmin/", stock_site.urls),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules["bench_urls"] = urls

    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    client = Client()
    client.force_login(user)

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tracking_shipment")
        n_shipments = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM tracking_trackingevent")
        n_events = cur.fetchone()[0]
    bench = Shipment.objects.filter(reference=BENCH_REFERENCE).first()
    assert bench is not None, "no BENCH-200-EVENTS shipment: run generate.py first"
    ups = Carrier.objects.get(code="ups")
    middle = (
        Shipment.objects.filter(pk__gte=n_shipments // 2, carrier=ups, status_code="DE")
        .exclude(label_id="")
        .order_by("pk")
        .first()
    )
    assert middle is not None
    number, reference = middle.tracking_number, middle.reference
    partial = number[3:11]  # 8 characters from inside the number
    email_part = middle.customer_email.split("@")[0][:-1]
    full_name = middle.customer_name
    surname = full_name.split()[-1]
    typo = surname[0] + surname[2] + surname[1] + surname[3:]  # two letters swapped
    fedex = Carrier.objects.get(code="fedex")

    def doc_sql(pattern: str) -> tuple[str, list]:
        if vendor == "sqlite":
            return (
                f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH %s LIMIT 26",
                [f'"{pattern}"'],
            )
        fields = ", ".join(search.DOCUMENT_FIELDS)
        return (
            f"SELECT id FROM tracking_shipment WHERE {search.DOCUMENT_FUNCTION}({fields}) LIKE %s"
            " LIMIT 26",
            [f"%{pattern.upper()}%"],
        )

    place_sql = (
        "SELECT shipment_id FROM tracking_shipmentplace WHERE place_id IN"
        " (SELECT id FROM tracking_place WHERE text LIKE %s) LIMIT 26"
    )
    list_sql = (
        "SELECT id FROM tracking_shipment WHERE {} ORDER BY last_event_at DESC, id DESC LIMIT 26"
    )

    # (key, label, goal ms, portal url, project admin url, stock admin url, raw SQL)
    cases: list[tuple[str, str, int | None, str, str | None, str | None, tuple | None]] = [
        (
            "exact",
            f"Exact tracking number ({number})",
            10,
            f"q={quote(number)}",
            f"q={quote(number)}",
            f"q={quote(number)}",
            ("SELECT id FROM tracking_shipment WHERE tracking_number = %s", [number]),
        ),
        (
            "exact",
            f"Exact order reference ({reference})",
            10,
            f"q={quote(reference)}",
            f"q={quote(reference)}",
            None,
            ("SELECT id FROM tracking_shipment WHERE reference = %s", [reference]),
        ),
        (
            "exact",
            f"Exact label id ({middle.label_id})",
            10,
            f"q={quote(middle.label_id)}",
            None,
            None,
            ("SELECT id FROM tracking_shipment WHERE label_id = %s", [middle.label_id]),
        ),
        (
            "partial",
            f"Partial tracking number ({partial})",
            30,
            f"q={quote(partial)}",
            f"q={quote(partial)}",
            f"q={quote(partial)}",
            doc_sql(partial),
        ),
        (
            "partial",
            f"Part of an email ({email_part})",
            30,
            f"q={quote(email_part)}",
            f"q={quote(email_part)}",
            None,
            doc_sql(email_part),
        ),
        (
            "partial",
            f"Customer name ({full_name})",
            30,
            f"q={quote(full_name)}",
            f"q={quote(full_name)}",
            None,
            doc_sql(full_name),
        ),
        (
            "typo",
            f"Name with a typo ({typo}: corrected to {surname.upper()})",
            None,
            f"q={quote(typo)}",
            None,
            None,
            doc_sql(surname),
        ),
        (
            "partial",
            f"Signer ({middle.signer})",
            None,
            f"q={quote(middle.signer)}",
            None,
            None,
            doc_sql(middle.signer),
        ),
        (
            "broad",
            "Carrier name (FedEx)",
            100,
            "q=FedEx",
            None,
            None,
            (list_sql.format("carrier_id = %s"), [fedex.pk]),
        ),
        (
            "broad",
            "Hub city (MEMPHIS)",
            100,
            "q=MEMPHIS",
            "q=MEMPHIS",
            None,
            (place_sql, ["%MEMPHIS%"]),
        ),
        (
            "broad",
            "City and state (Newark, NJ)",
            100,
            "q=Newark%2C%20NJ",
            None,
            None,
            (place_sql, ["%NEWARK NJ%"]),
        ),
        (
            "broad",
            "A state on its own (NJ)",
            100,
            "q=NJ",
            None,
            None,
            (
                "SELECT shipment_id FROM tracking_shipmentplace WHERE place_id IN (SELECT id FROM tracking_place WHERE state = %s) LIMIT 26",
                ["NJ"],
            ),
        ),
        ("broad", "Common postcode (04435)", 100, "q=04435", None, None, (place_sql, ["%04435%"])),
        (
            "broad",
            f"Common surname ({surname})",
            100,
            f"q={quote(surname)}",
            f"q={quote(surname)}",
            None,
            doc_sql(surname),
        ),
        (
            "status",
            "Status-filtered list (In transit), counts fresh",
            50,
            "status=IT",
            "status=IT",
            "status_code__exact=IT",
            (list_sql.format("status_code = %s"), ["IT"]),
        ),
    ]

    def get(url: str, **headers: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(url, **headers)
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

    # Facts first (untimed): ranking, "more than", order, the next page.
    def rows_of(html: str) -> list[str]:
        return re.findall(r'class="row-link[^"]*"[^>]*>([^<]+)<', html)

    for q, want in ((number, number), (reference, number)):
        assert rows_of(client.get(f"/staff/?q={quote(q)}").content.decode())[0] == want, q
    broad_html = client.get("/staff/?q=MEMPHIS").content.decode()
    assert "more than" in broad_html, "a hub city must say 'more than'"
    page = filter_shipments(ListState(q="MEMPHIS")).page()
    stamps = [s.last_event_at for s in page.rows]
    assert stamps == sorted(stamps, reverse=True), "broad search: newest first"
    nxt = filter_shipments(ListState(q="MEMPHIS")).page(page.next)
    assert nxt.rows and nxt.rows[0].last_event_at <= stamps[-1], "the next page continues"

    load_before = os.getloadavg()[0]
    results = []
    hx = {"HTTP_HX_REQUEST": "true"}
    with override_settings(ROOT_URLCONF="bench_urls", STAFF_STATUS_COUNTS_CACHE_SECONDS=0):
        # One pass over every page first, so that the first case measured does not pay for
        # loading templates and code paths the others then reuse.
        for _key, _label, _goal, portal, _project, _stock, _raw in cases:
            get(f"/staff/?{portal}")()
            get(f"/staff/?{portal}", **hx)()
        get(f"/staff/shipments/{bench.pk}/")()
        for _key, label, _goal, portal, project, stock, raw in cases:
            print(f"  {label} ...", flush=True)
            full = median_ms(get(f"/staff/?{portal}"), args.runs)
            live = median_ms(get(f"/staff/?{portal}", **hx), args.runs)
            pa = (
                median_ms(get(f"/admin/tracking/shipment/?{project}"), args.admin_runs)
                if project
                else None
            )
            sa = (
                median_ms(get(f"/stockadmin/tracking/shipment/?{stock}"), args.admin_runs)
                if stock and not args.skip_stock_admin
                else None
            )
            r = median_ms(sql(*raw), args.runs) if raw else None
            results.append((label, _goal, full, live, pa, sa, r))
        print(f"  Shipment page, {bench.event_count} events ...", flush=True)
        detail = f"/staff/shipments/{bench.pk}/"
        results.append(
            (
                f"Shipment page, {bench.event_count} events",
                15,
                median_ms(get(detail), args.runs),
                None,
                median_ms(get(f"/admin/tracking/shipment/{bench.pk}/change/"), args.admin_runs),
                None
                if args.skip_stock_admin
                else median_ms(
                    get(f"/stockadmin/tracking/shipment/{bench.pk}/change/"), args.admin_runs
                ),
                median_ms(
                    sql(
                        "SELECT * FROM tracking_trackingevent WHERE shipment_id = %s"
                        " ORDER BY occurred_at DESC, id DESC",
                        [bench.pk],
                    ),
                    args.runs,
                ),
            )
        )

        # The same page when its timeline part is built, as on the first opening after the
        # shipment changed (web/staff/tracking_part.py): the baseline of the cached one above.
        with override_settings(STAFF_PAGE_CACHE_SECONDS=0):
            results.append(
                (
                    f"Shipment page, {bench.event_count} events, timeline built (not cached)",
                    None,
                    median_ms(get(detail), args.runs),
                    None,
                    None,
                    None,
                    None,
                )
            )

    def fmt(v: Timing | None) -> str:
        return f"{v[0]:.1f} ({v[1]:.1f})" if v is not None else NONE

    lines = [
        f"Data: {n_shipments:,} shipments, {n_events:,} events ({vendor}). Machine: "
        f"{machine(vendor)}; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end (2 cores shared with other work). Median of "
        f"{args.runs} requests (admins: {args.admin_runs}). Each cell: wall ms (CPU ms of this "
        "process). The goal is checked against the full page.",
        "",
        "| case | goal ms | portal page | live search (htmx) | project admin | stock admin | raw SQL |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, goal, full, live, pa, sa, r in results:
        mark = "" if goal is None else (" ✓" if full[0] <= goal else " ✗")
        lines.append(
            f"| {label} | {goal or ''} | {fmt(full)}{mark} | {fmt(live)} | {fmt(pa)} | {fmt(sa)} | {fmt(r)} |"
        )
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
