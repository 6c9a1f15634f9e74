"""The analytics page's speed on generated data, with the baseline in the same run.

    python benchmarks/generate.py --shipments 1000000 --events 10000000 --db var/bench/analytics.sqlite3
    python benchmarks/analytics.py --db var/bench/analytics.sqlite3 --prepare --runs 11 --markdown out.md
    DATABASE_URL=postgres://... python benchmarks/analytics.py --prepare --runs 11

--prepare (once per database): migrate, give the generated delivered parcels a carrier date
(generate.py leaves them none; three in five on or after their delivery day, the others before
it, every seventh none), then the full recompute `rebuild_analytics --from-scratch` (timed: the
backfill an upgrade runs).

Then, each through Django's test Client (middleware, session, view, queries, template; DEBUG
off) as a logged-in staff user, median of --runs after 2 warm-ups, wall and CPU ms:
- the analytics page for 30 days (the default), 90 and 365 days, one carrier (its lanes), one
  lane, one origin, one destination, and a CSV;
- the baseline: the same numbers by plain SQL over the raw tables (benchmarks/analytics_sql.py:
  what a page without rollups would run), for the 30-day page, --baseline-runs times; its
  numbers are compared with the page's (they must be equal);
- the work behind the page: updating 200 shipments' rollups (one outbox batch), the hourly
  history refresh and the quiet-parcel count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import setup_django  # noqa: E402
from staff_search import machine  # noqa: E402
from staff_search import median_ms as timed  # noqa: E402

TARGET_MS = 200


def reference_loop_ms() -> float:
    """CPU ms of a fixed pure-Python loop: how fast this machine runs Python right now (on a
    shared machine even CPU time stretches); compare it between runs."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        n = 0
        for i in range(3_000_000):
            n += i * i
        best = min(best, (time.process_time() - start) * 1000)
    return best


def carrier_dates() -> int:
    from django.db import connection

    if connection.vendor == "sqlite":
        value = "datetime(actual_delivery_date, ((id % 5) - 2) || ' days')"
    else:
        value = "actual_delivery_date + ((id % 5) - 2) * interval '1 day'"
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE tracking_shipment SET estimated_delivery_date = {value} "
            "WHERE status_code IN ('DE', 'SP') AND actual_delivery_date IS NOT NULL "
            "AND id % 7 <> 0"
        )
        return cur.rowcount


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file made by generate.py (default: DATABASE_URL)")
    parser.add_argument("--prepare", action="store_true", help="carrier dates and the rebuild")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--markdown", help="also write the tables to this file")
    args = parser.parse_args(argv)
    if not args.db and not os.environ.get("DATABASE_URL"):
        parser.error("give --db or set DATABASE_URL")
    # Production settings, with what a test client needs: its host name and plain static
    # storage (no collectstatic manifest needed).
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    os.environ["LOG_LEVEL"] = "WARNING"
    setup_django(args.db)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    from benchmarks.analytics_sql import page_numbers, plain_sql
    from tracking.domain.analytics_figures import Filters
    from tracking.models import DailyRollup, DeliveryEstimate, Shipment, ShipmentFacts
    from tracking.services import analytics, analytics_refresh

    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    n_shipments = Shipment.objects.count()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tracking_trackingevent")
        n_events = cur.fetchone()[0]
    say(
        f"Data: {n_shipments:,} shipments, {n_events:,} events ({vendor}). Machine: {machine(vendor)}."
    )
    if args.prepare:
        started = time.monotonic()
        dated = carrier_dates()
        say(
            f"Carrier dates given to {dated:,} delivered parcels in {time.monotonic() - started:.0f} s."
        )
        started = time.monotonic()
        report = analytics_refresh.rebuild_all(from_scratch=True)
        seconds = time.monotonic() - started
        say(
            f"`rebuild_analytics --from-scratch`: {report['shipments']:,} shipments, "
            f"{report['estimates']:,} estimates in {seconds:.0f} s "
            f"({1000 * seconds / max(report['shipments'], 1):.2f} ms per shipment)."
        )
    say(
        f"Rollup rows: {DailyRollup.objects.count():,}; facts rows: "
        f"{ShipmentFacts.objects.count():,}; our estimates: {DeliveryEstimate.objects.count():,}."
    )
    if args.prepare:  # as rebuild_analytics does after the rebuild
        say(f"Then: {analytics_refresh.tidy_after_rebuild() or 'nothing'}.")

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-analytics", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    today = timezone.now().date()
    busiest = (
        ShipmentFacts.objects.exclude(origin="")
        .values("origin", "destination")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    assert busiest, "no facts: run with --prepare first"
    origin, destination = busiest["origin"], busiest["destination"]

    def get(url: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            return response

        return run

    loop_before = reference_loop_ms()
    cases = [
        ("Page, last 30 days, every carrier (default)", "/staff/analytics/"),
        ("Page, last 90 days", "/staff/analytics/?period=90"),
        ("Page, last 365 days", "/staff/analytics/?period=365"),
        ("Page, one carrier (UPS) by lane, 90 days", "/staff/analytics/?period=90&carrier=ups"),
        (
            f"Page, one lane ({origin} to {destination}), 90 days",
            f"/staff/analytics/?period=90&origin={origin}&destination={destination}",
        ),
        (f"Page, one origin ({origin}), 90 days", f"/staff/analytics/?period=90&origin={origin}"),
        (
            f"Page, one destination ({destination}), 90 days",
            f"/staff/analytics/?period=90&destination={destination}",
        ),
        (
            "CSV of transit by lane, UPS, 365 days",
            "/staff/analytics/transit.csv?period=365&carrier=ups",
        ),
    ]
    results = []
    for name, url in cases:
        wall, cpu = timed(get(url), args.runs)
        results.append((name, wall, cpu))
        print(f"  {name}: {wall:.1f} ms ({cpu:.1f} CPU)", flush=True)
    default = Filters(start=today - timedelta(days=29), end=today)
    # --baseline-runs 0 leaves the baseline out (at 1M shipments it runs for hours on
    # PostgreSQL); tests/test_analytics_generated.py compares the numbers on every test run.
    start = time.perf_counter()
    baseline = None
    for _ in range(args.baseline_runs):
        baseline = plain_sql(default)
    baseline_ms = (time.perf_counter() - start) * 1000 / max(args.baseline_runs, 1)
    equal = baseline == page_numbers(default) if args.baseline_runs else None
    print(f"  baseline: {baseline_ms:.0f} ms, equal: {equal}", flush=True)

    # The work behind the page.
    ids = list(Shipment.objects.order_by("-id").values_list("pk", flat=True)[:200])
    batch = timed(lambda: analytics.update_shipments(ids), 5, warm=1)
    history = timed(lambda: analytics_refresh.refresh_history(force=True), 3, warm=0)
    quiet = timed(lambda: analytics_refresh.refresh_quiet(force=True), 3, warm=0)
    loop_after = reference_loop_ms()

    say()
    say(
        f"Median of {args.runs} runs after 2 warm-ups; wall ms (CPU ms of this process). "
        f"Reference loop: {loop_before:.0f} ms before, {loop_after:.0f} ms after."
    )
    say()
    say(f"| request ({vendor}) | wall ms | CPU ms | target |")
    say("|---|---:|---:|---|")
    for name, wall, cpu in results:
        mark = "✓" if wall <= TARGET_MS else "✗"
        say(f"| {name} | **{wall:.1f}** | {cpu:.1f} | ≤ {TARGET_MS} {mark} |")
    if args.baseline_runs:
        say(
            f"| baseline: the 30-day page's numbers by plain SQL over the raw tables "
            f"({args.baseline_runs} run) | {baseline_ms:,.0f} | | |"
        )
        say()
        say(f"The baseline's numbers equal the page's: **{equal}**.")
    else:
        say()
        say("The baseline (plain SQL over the raw tables) was not run (--baseline-runs 0).")
    say()
    say("| work behind the page | wall ms | CPU ms |")
    say("|---|---:|---:|")
    say(
        f"| one outbox batch: 200 shipments' facts, rollups and estimates | {batch[0]:.0f} | {batch[1]:.0f} |"
    )
    say(f"| history refresh (hourly) | {history[0]:.0f} | {history[1]:.0f} |")
    say(f"| quiet-parcel count (every 15 minutes) | {quiet[0]:.0f} | {quiet[1]:.0f} |")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
