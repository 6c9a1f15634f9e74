"""Chaos: the web server and two workers on PostgreSQL against a faulty ShipEngine, with a worker
killed by SIGKILL every 30 seconds. Nothing may be lost, duplicated or stuck, the queue must stay
within its bound, and every page must answer within a second at p99.

    bash scripts/postgres.sh start /tmp/pg-chaos 55411      # prints the DATABASE_URL
    .venv/bin/python benchmarks/chaos.py --database-url postgres://postgres@127.0.0.1:55411/shiptrack
    .venv/bin/python benchmarks/chaos.py --database-url ... --short   # 2 minutes, for development

What runs (all on loopback, every process started and stopped by this script, by PID):
- a fresh database `<name>_chaos` on the given server; --shipments shipments (default 10,000), of
  which 2 x --import-rows arrive through CSV imports during the run (run by the workers, with
  "fetch" on) and the rest are stored up front as the sandbox answered them at the start (through
  the real ingest), each due again within the first 3 minutes;
- `manage.py shipengine_sandbox` over HTTP with --fault-rate 0.2 (a random fifth of answers are
  429s, 500s, stalls, HTML, truncated JSON or slow drips of one byte every 0.5 s), a 429 storm of
  5 s every 90 s, and a clock 60 times faster than real time, so journeys move on and every
  re-poll can bring new events;
- gunicorn (2 processes x 4 threads) and two `run_worker` processes (each with its scheduler,
  every 5 s), with short refresh intervals so that shipments are polled again and again;
- a killer: every --kill-every seconds one worker gets SIGKILL and is started again at once;
- a prober: staff list, staff search, a staff shipment page, a public tracking page, the home page
  and /healthz in turn, recording each answer's time and status;
- a sampler: the refresh queue (QueuedRefresh rows, against its bound of rate x queue timeout;
  rows older than the timeout) and the task table, every 2 s.

At the end the killer stops, the workers are given --settle seconds to hand on what the killed
ones held, the database is checked, and the workers get SIGTERM (their stop times are measured). The
check: for
every fetched shipment, every event the sandbox had revealed 5 s before its last successful check
is stored (lost), nothing is stored that the sandbox never sent (phantom), no (shipment, event)
twice (duplicated); no task RUNNING for a dead worker, no import job unfinished, no queued
refresh older than its timeout (stuck). The table is printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.shell import django_shell  # noqa: E402

RATE_PER_MINUTE = 1200
QUEUE_TIMEOUT_MINUTES = 2
SPEED = 60.0
KEY = "TEST_chaos_benchmark_key_0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_chaos"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def environment(database_url: str, sandbox_url: str, bind: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="chaos-benchmark-secret-key-not-for-production-0123456789",
        DEBUG="0",
        PYTHONUNBUFFERED="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        LOG_LEVEL="WARNING",
        SHIPENGINE_API_KEY=KEY,
        SHIPENGINE_BASE_URL=sandbox_url,
        SHIPENGINE_CONNECT_TIMEOUT="2",
        SHIPENGINE_READ_TIMEOUT="3",
        SHIPENGINE_ATTEMPT_DEADLINE_SECONDS="5",
        SHIPENGINE_CALL_DEADLINE_SECONDS="15",
        SHIPENGINE_MAX_ATTEMPTS="3",
        SHIPENGINE_RETRY_BUDGET="5",
        SHIPENGINE_RATE_LIMIT_PER_MINUTE=str(RATE_PER_MINUTE),
        SHIPENGINE_RATE_LIMIT_BURST="5",
        REFRESH_SCHEDULE_SECONDS="5",
        REFRESH_QUEUE_TIMEOUT_MINUTES=str(QUEUE_TIMEOUT_MINUTES),
        REFRESH_BATCH_SIZE="1000",
        REFRESH_TASK_CHUNK="25",
        REFRESH_MINUTES_NOT_YET_IN_SYSTEM="3",
        REFRESH_MINUTES_ACCEPTED="3",
        REFRESH_MINUTES_IN_TRANSIT="3",
        REFRESH_MINUTES_EXCEPTION="2",
        REFRESH_MINUTES_DELIVERY_ATTEMPT="2",
        REFRESH_MINUTES_UNKNOWN="3",
        REFRESH_MINUTES_NEVER_FETCHED="1",
        REFRESH_MINUTES_OTHER="3",
        REFRESH_FAILURE_BACKOFF_MINUTES="1",
        REFRESH_FAILURE_BACKOFF_MAX_MINUTES="2",
        WORKER_HEARTBEAT_SECONDS="2",
        WORKER_LOST_AFTER_SECONDS="10",
        WORKER_STOP_GRACE_SECONDS="3",
        # The workers keep pages fresh; a page that called the API while a person waits is the
        # interactive path the hostile-API tests measure (tests/test_hostile_api.py).
        PUBLIC_STALE_MINUTES="0",
        STAFF_STATUS_COUNTS_CACHE_SECONDS="5",
        GUNICORN_BIND=bind,
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        GUNICORN_ACCESSLOG="",
        IMPORT_DIR=tempfile.mkdtemp(prefix="chaos-imports-"),
    )
    return env


SETUP = """
import json, random
from datetime import datetime, timedelta
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from tracking.models import Carrier, Shipment
from tracking.sandbox import Sandbox, render_tracking
from tracking.services.ingest import ingest_many
from tracking.shipengine import TrackingInfo
fedex = Carrier.objects.get(code='fedex')
Shipment.objects.bulk_create(
    [Shipment(carrier=fedex, tracking_number=f'CHAOS{{i:07d}}') for i in range({stored})],
    batch_size=2000,
)
# Stored as the sandbox answered them at its start (through the real ingest), each due again
# some time in the first minutes of the run: the run is re-polls with new events, not only
# first fetches.
epoch = datetime.fromisoformat({epoch!r})
sandbox = Sandbox(epoch=epoch)
now = timezone.now()
rng = random.Random(1)
ids = list(Shipment.objects.order_by('pk').values_list('pk', 'tracking_number'))
for start in range(0, len(ids), 500):
    chunk = ids[start:start + 500]
    answers = [
        (pk, TrackingInfo.from_json(render_tracking(sandbox.scenario_for('fedex', n), epoch=epoch, now=now)))
        for pk, n in chunk
    ]
    ingest_many(answers=answers, now=now)
    for pk, _n in chunk:
        Shipment.objects.filter(pk=pk).update(next_check_at=now + timedelta(seconds=rng.uniform(0, 180)))
user = get_user_model().objects.create_user('chaos', password='chaos-pass-123', is_staff=True)
session = SessionStore()
session['_auth_user_id'] = str(user.pk)
session['_auth_user_backend'] = 'django.contrib.auth.backends.ModelBackend'
session['_auth_user_hash'] = user.get_session_auth_hash()
session.create()
some = list(Shipment.objects.order_by('pk').values_list('pk', 'public_token')[:20])
from tracking.models import TrackingEvent
print(json.dumps({{'session': session.session_key, 'shipments': some, 'events': TrackingEvent.objects.count()}}))
"""

IMPORT = """
from pathlib import Path
from tracking import tasks
from tracking.services import import_jobs
job = import_jobs.job_for_file(Path({path!r}), fetch=True)
tasks.enqueue_import(job.pk)
print(job.pk)
"""

VERIFY = """
import json
from datetime import datetime, timedelta
from django.db.models import Count
from django_tasks_db.models import DBTaskResult
from tracking.domain.event_identity import event_key
from tracking.models import ApiCall, ImportJob, QueuedRefresh, Shipment, TrackingEvent, WorkerHeartbeat
from tracking.sandbox import Sandbox, render_tracking
from tracking.shipengine import TrackingInfo
from django.utils import timezone

epoch = datetime.fromisoformat({epoch!r})
sb_start = datetime.fromisoformat({sb_start!r})
speed = {speed}
sandbox = Sandbox(epoch=epoch)

def sandbox_time(real):
    return sb_start + (real - sb_start) * speed

def keys(number, when):
    scenario = sandbox.scenario_for('fedex', number)
    answer = TrackingInfo.from_json(render_tracking(scenario, epoch=epoch, now=when))
    return {{event_key(e) for e in answer.events}}

# Shipments first, events after: events only ever grow, so a check that lands while a worker
# ingests can find more events than expected, never fewer.
shipments = list(Shipment.objects.only('pk', 'tracking_number', 'last_checked_at', 'consecutive_failures', 'status_code'))
stored = {{}}
for sid, key in TrackingEvent.objects.values_list('shipment_id', 'dedupe_key').iterator(chunk_size=20000):
    stored.setdefault(sid, []).append(key)
end = sandbox_time(timezone.now()) + timedelta(days=30)
lost = phantom = duplicated = checked = 0
for s in shipments:
    have = stored.get(s.pk, [])
    duplicated += len(have) - len(set(have))
    phantom += len(set(have) - keys(s.tracking_number, end))
    if s.status_code and s.consecutive_failures == 0 and s.last_checked_at:
        checked += 1
        # The setup stored the sandbox's answer at real time 'now' (before the sandbox started).
        when = max(sandbox_time(s.last_checked_at - timedelta(seconds=5)), s.last_checked_at)
        want = keys(s.tracking_number, when)
        lost += len(want - set(have))
now = timezone.now()
alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=now - timedelta(seconds=10)).values_list('worker_id', flat=True))
running = list(DBTaskResult.objects.filter(status='RUNNING').values_list('worker_ids', flat=True))
stuck_tasks = sum(1 for w in running if not w or w[-1] not in alive)
unfinished_imports = ImportJob.objects.exclude(state__in=['done', 'fetching']).count()
stale_queue = QueuedRefresh.objects.filter(queued_at__lt=now - timedelta(minutes={timeout})).count()
calls = dict(ApiCall.objects.values_list('error_code').annotate(n=Count('id')).values_list('error_code', 'n'))
print(json.dumps(dict(
    shipments=Shipment.objects.count(),
    fetched=Shipment.objects.exclude(status_code='').count(),
    checked=checked,
    events=sum(len(v) for v in stored.values()),
    lost=lost, phantom=phantom, duplicated=duplicated,
    stuck_tasks=stuck_tasks, unfinished_imports=unfinished_imports, stale_queue=stale_queue,
    imports=list(ImportJob.objects.values_list('state', 'imported', 'attempts')),
    task_states=dict(DBTaskResult.objects.values_list('status').annotate(n=Count('id')).values_list('status', 'n')),
    calls=calls,
)))
"""


class Fleet:
    """The processes this run started, each stopped by its PID."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []
        self.kills = 0

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def start_worker(self, index: int) -> subprocess.Popen[bytes]:
        return self.start(
            f"worker{index}",
            "manage.py",
            "run_worker",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0.2",
            "-v",
            "0",
        )

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.workers))
        victim = self.workers[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.workers[index] = self.start_worker(index)

    def stop_workers(self) -> list[float]:
        times = []
        for worker in self.workers:
            started = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            times.append(time.monotonic() - started)
        return times

    def stop_all(self) -> None:
        for proc in [*self.workers, *self.others]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, *self.others]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server (postgres://)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--short", action="store_true", help="2 minutes (development runs)")
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("--import-rows", type=int, default=1_000)
    parser.add_argument("--kill-every", type=float, default=30.0)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--settle", type=float, default=45.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    minutes = 2.0 if args.short else args.minutes
    rng = random.Random(args.seed)
    log_dir = Path(tempfile.mkdtemp(prefix="chaos-logs-"))

    database_url = fresh_database(args.database_url)
    sandbox_port, web_port = free_port(), free_port()
    sandbox_url, web = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{web_port}"
    env = environment(database_url, sandbox_url, f"127.0.0.1:{web_port}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    stored = args.shipments - 2 * args.import_rows
    # The journeys' epoch lies ahead: at the start only their early steps are revealed, and the
    # sandbox clock (x SPEED) reveals the rest during the run.
    epoch = (datetime.now(UTC) + timedelta(hours=60)).replace(microsecond=0)
    setup = json.loads(django_shell(SETUP.format(stored=stored, epoch=epoch.isoformat()), env))
    files = []
    for n in range(2):
        path = log_dir / f"import{n}.csv"
        with path.open("w") as fh:
            fh.write("carrier_code,tracking_number,reference,customer_name,customer_email\n")
            for i in range(args.import_rows):
                fh.write(f"fedex,CHAOSIMP{n}{i:06d},ORDER-{n}-{i},Customer {i},\n")
        files.append(path)

    fleet = Fleet(env, log_dir)
    stop = threading.Event()
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    samples: list[tuple[int, int, int, int]] = []
    try:
        sandbox = fleet.start(
            "sandbox",
            "manage.py",
            "shipengine_sandbox",
            "--port",
            str(sandbox_port),
            "--fault-rate",
            str(args.fault_rate),
            "--slow-drip",
            "0.5",
            "--storm-every",
            "90",
            "--storm-seconds",
            "5",
            "--stall-seconds",
            "20",
            "--retry-after",
            "1",
            "--latency",
            "0.01",
            "--speed",
            str(SPEED),
            "--epoch",
            epoch.isoformat(),
        )
        fleet.others.append(sandbox)
        wait_for(sandbox_url + "/jwks")
        sandbox_started = datetime.now(UTC)  # within a second of the sandbox's own start
        for line in (log_dir / "sandbox.log").read_text().splitlines():
            if "started " in line:
                sandbox_started = datetime.fromisoformat(line.split("started ")[1].split(")")[0])
        fleet.others.append(fleet.start("web", "-m", "gunicorn", "-c", "gunicorn.conf.py"))
        wait_for(web + "/healthz")
        fleet.workers = [fleet.start_worker(i) for i in range(2)]

        session = {"sessionid": setup["session"]}
        pk, token = setup["shipments"][3]
        pages = [
            ("staff list", "/staff/", session),
            ("staff search", "/staff/?q=CHAOS00001", session),
            ("staff shipment", f"/staff/shipments/{pk}/", session),
            ("public page", f"/t/{token}/", {}),
            ("home", "/", {}),
            ("healthz", "/healthz", {}),
        ]

        def probe() -> None:
            http = requests.Session()
            while not stop.is_set():
                for name, path, cookies in pages:
                    started = time.monotonic()
                    try:
                        response = http.get(web + path, cookies=cookies, timeout=10)
                        if response.status_code != 200:
                            errors[f"{name} {response.status_code}"] += 1
                    except requests.RequestException as exc:
                        errors[f"{name} {type(exc).__name__}"] += 1
                    latencies[name].append(time.monotonic() - started)
                    time.sleep(0.1)

        def sample() -> None:
            with psycopg.connect(database_url, autocommit=True) as conn:
                while not stop.is_set():
                    queued = conn.execute("SELECT count(*) FROM tracking_queuedrefresh").fetchone()
                    ready = conn.execute(
                        "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                        "WHERE status = 'READY'"
                    ).fetchone()
                    running = conn.execute(
                        "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                        "WHERE status = 'RUNNING'"
                    ).fetchone()
                    # Rows older than the timeout are lost (deleted and queued again by the
                    # next scheduler run): how many there are at any moment.
                    stale = conn.execute(
                        "SELECT count(*) FROM tracking_queuedrefresh WHERE queued_at < "
                        f"now() - interval '{QUEUE_TIMEOUT_MINUTES} minutes'"
                    ).fetchone()
                    samples.append((queued[0], ready[0], running[0], stale[0]))  # type: ignore[index]
                    stop.wait(2)

        threads = [
            threading.Thread(target=probe, daemon=True),
            threading.Thread(target=sample, daemon=True),
        ]
        for t in threads:
            t.start()
        started = time.monotonic()
        ends = started + minutes * 60
        next_kill = started + args.kill_every
        imports_at = [started + 15, started + minutes * 30]
        while time.monotonic() < ends:
            now = time.monotonic()
            if imports_at and now >= imports_at[0]:
                imports_at.pop(0)
                django_shell(IMPORT.format(path=str(files[len(files) - len(imports_at) - 1])), env)
            if now >= next_kill:
                fleet.kill_one(rng)
                next_kill += args.kill_every
            time.sleep(0.2)
        # No more kills: the workers hand on what the killed ones held, then stop cleanly.
        time.sleep(args.settle)
        stop.set()
        for t in threads:
            t.join(timeout=15)
        # Checked while the workers still run (a task RUNNING for a live worker is not stuck).
        result = json.loads(
            django_shell(
                VERIFY.format(
                    epoch=epoch.isoformat(),
                    sb_start=sandbox_started.isoformat(),
                    speed=SPEED,
                    timeout=QUEUE_TIMEOUT_MINUTES,
                ),
                env,
            )
        )
        stop_times = fleet.stop_workers()
    finally:
        stop.set()
        fleet.stop_all()

    bound = RATE_PER_MINUTE * QUEUE_TIMEOUT_MINUTES
    worker_logs = "".join(p.read_text() for p in log_dir.glob("worker*.log"))
    handed_on = worker_logs.count("handed on: worker")
    calls = result["calls"]
    total_calls = sum(calls.values())
    failed_calls = sum(n for code, n in calls.items() if code)
    print(f"\n## Chaos run: {minutes:g} minutes, PostgreSQL, logs in {log_dir}\n")
    print("| measure | result |")
    print("|---|---|")
    print(
        f"| shipments (of which imported during the run) | {result['shipments']:,} ({2 * args.import_rows:,}) |"
    )
    print(f"| workers killed with SIGKILL | {fleet.kills} (every {args.kill_every:g} s) |")
    print(f"| tasks of killed workers handed on by the reaper | {handed_on} |")
    print(
        f"| API calls (failed: faults, storms, drips cut at the deadline) | {total_calls:,} ({failed_calls:,}) |"
    )
    print(
        f"| shipments with a stored answer / checked for loss | {result['fetched']:,} / {result['checked']:,} |"
    )
    print(
        f"| events stored (at the start; added during the run) | {result['events']:,} "
        f"({setup['events']:,}; {result['events'] - setup['events']:,}) |"
    )
    print(
        f"| events lost / phantom / duplicated | {result['lost']} / {result['phantom']} / {result['duplicated']} |"
    )
    print(
        f"| stuck at the end: tasks of dead workers / unfinished imports / queued past the "
        f"timeout | {result['stuck_tasks']} / {result['unfinished_imports']} / "
        f"{result['stale_queue']} |"
    )
    print(
        f"| queued refreshes past the timeout during the run, max | "
        f"{max((s[3] for s in samples), default=0):,} |"
    )
    print(f"| import jobs (state, rows, runs) | {result['imports']} |")
    print(
        f"| refresh queue depth, max (bound at the rate limit: rate x timeout) | "
        f"{max((s[0] for s in samples), default=0):,} ({bound:,}) |"
    )
    print(f"| READY tasks, max | {max((s[1] for s in samples), default=0):,} |")
    print(f"| worker stop on SIGTERM, seconds | {', '.join(f'{t:.1f}' for t in stop_times)} |")
    print(f"| page errors | {dict(errors) or 0} |")
    print("\n| page | requests | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for name, values in latencies.items():
        print(
            f"| {name} | {len(values):,} | {statistics.median(values) * 1000:.0f} ms | "
            f"{percentile(values, 99) * 1000:.0f} ms | {max(values) * 1000:.0f} ms |"
        )
    print(f"\nAPI calls by outcome: {dict(sorted(calls.items()))}")
    print(f"Task states at the end: {result['task_states']}")


if __name__ == "__main__":
    main()
