"""Background refresh against a rate-limited API: how much of the allowed rate is used, and 429s.

    .venv/bin/python benchmarks/refresh_rate.py                      # 2,000 shipments, ~3.5 min
    .venv/bin/python benchmarks/refresh_rate.py --shipments 300      # a quicker look

What runs: the sandbox as a real HTTP server in this process, adding --latency seconds to every
answer and *enforcing* --limit requests a minute itself (a GCRA with a small burst tolerance,
answering 429 + Retry-After beyond it, counting those). A fresh SQLite database gets --shipments due
shipments; `tasks.enqueue_due()` queues one refresh task each (django_tasks_db backend); then
--workers separate `manage.py db_worker --batch` processes run them, all sharing the one database
rate limiter set to the same --limit. Reported: requests the sandbox saw, 429s it answered, and the
used share of the allowed rate over the run (first to last request).

--baseline also runs the same work with the shared limiter switched off (each worker sends as fast
as it can, as without this feature) for comparison.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.shell import django_shell  # noqa: E402
from tracking.sandbox import Sandbox, make_server  # noqa: E402  (Django-free)


class CountingSandbox(Sandbox):
    """Records when each tracking request arrived."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.arrivals: list[float] = []
        self.answers: dict[int, int] = {}

    def handle(self, method, url, headers, body=b""):
        answer = super().handle(method, url, headers, body)
        if "/v1/tracking" in url:
            with self._lock:
                self.arrivals.append(time.monotonic())
                self.answers[answer.status] = self.answers.get(answer.status, 0) + 1
        return answer


def run(args: argparse.Namespace, *, limiter_on: bool) -> dict:
    db_path = ROOT / "var" / f"bench-refresh-{os.getpid()}-{int(limiter_on)}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    sandbox = CountingSandbox(rate_limit_per_minute=args.limit, rate_limit_burst=args.server_burst)
    server = make_server(sandbox, latency=args.latency)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shiptrack.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "SHIPENGINE_API_KEY": "bench-key",
        "SHIPENGINE_BASE_URL": f"http://127.0.0.1:{server.server_port}",
        "SHIPENGINE_RATE_LIMIT_PER_MINUTE": str(args.limit if limiter_on else 10_000_000),
        "SHIPENGINE_RATE_LIMIT_BURST": "1",
        "SHIPENGINE_MAX_ATTEMPTS": "4",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    setup = (
        "from tracking.models import Carrier, Shipment\n"
        "from tracking import scheduler\n"
        "c, _ = Carrier.objects.get_or_create(code='fedex', defaults={'name': 'FedEx'})\n"
        f"Shipment.objects.bulk_create([Shipment(carrier=c, tracking_number=f'RATE{{i:07d}}') for i in range({args.shipments})], batch_size=1000)\n"
        f"print(tasks.enqueue_due(limit={args.shipments}))\n"
    )
    queued = django_shell(setup, env)
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--no-reload",
                "-v",
                "0",
            ],
            cwd=ROOT,
            env=env,
        )
        for _ in range(args.workers)
    ]
    for w in workers:
        w.wait()
    wall = time.monotonic() - started
    check = (
        "from tracking.models import Shipment, ApiCall\n"
        "print(Shipment.objects.filter(last_checked_at__isnull=False, consecutive_failures=0).count(),"
        " Shipment.objects.filter(consecutive_failures__gt=0).count(),"
        " ApiCall.objects.filter(http_status=429).count())\n"
    )
    fetched, failed, recorded_429 = django_shell(check, env).split()
    server.shutdown()
    arrivals = sorted(sandbox.arrivals)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    allowed = args.limit / 60.0 * span + 1 if span else 0.0
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    return {
        "limiter": "shared limiter on" if limiter_on else "baseline: no shared limiter",
        "queued": int(queued),
        "requests": len(arrivals),
        "answers": dict(sorted(sandbox.answers.items())),
        "429s": sandbox.rate_limited,
        "span_s": round(span, 1),
        "wall_s": round(wall, 1),
        "rate_per_min": round((len(arrivals) - 1) / span * 60, 1) if span else 0,
        "utilisation_pct": round(100 * len(arrivals) / allowed, 1) if allowed else 0,
        "fetched_ok": int(fetched),
        "failed": int(failed),
        "429_recorded": int(recorded_429),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shipments", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--limit", type=float, default=600, help="requests a minute")
    parser.add_argument(
        "--server-burst", type=int, default=5, help="requests the sandbox lets arrive early"
    )
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    print(
        f"refresh_rate: {args.shipments} due shipments, {args.workers} db_worker processes, "
        f"sandbox latency {args.latency * 1000:.0f} ms, limit {args.limit:g}/min "
        f"(sandbox burst tolerance {args.server_burst}); python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    runs = [run(args, limiter_on=True)]
    if args.baseline:
        runs.append(run(args, limiter_on=False))
    for r in runs:
        print(" ".join(f"{k}={v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
