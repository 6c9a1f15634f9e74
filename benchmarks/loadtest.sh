#!/usr/bin/env bash
# Load test on loopback: gunicorn (gunicorn.conf.py, production settings) serving the database
# DATABASE_URL names, driven by wrk from a second process. Two scenarios:
#   public  GET /t/<token>/      the shareable tracking page, a random shipment each request
#   search  GET /staff/?q=...    the staff search, logged in (session cookie), a random query
# Prints requests/s and p50/p90/p99 latency per scenario (and writes them to $OUT, if set).
#
#   python benchmarks/generate.py --shipments 1000000 --events 10000000            # PostgreSQL
#   DATABASE_URL=postgres://postgres@127.0.0.1:55412/shiptrack bash benchmarks/loadtest.sh
#   python benchmarks/generate.py --shipments 1000000 --events 10000000 --db /work/bench/bench.sqlite3
#   DATABASE_URL=sqlite:////work/bench/bench.sqlite3 bash benchmarks/loadtest.sh
#
# Environment: DURATION (30s), WARMUP (10s), CONNECTIONS (16), PORT (8765), SAMPLE (2000
# shipments to draw URLs from), WEB_CONCURRENCY / GUNICORN_THREADS (gunicorn.conf.py).
# The search scenario logs in one staff member per connection (one wrk thread each): a person
# has one search in flight at a time, and a second one of the same person would stop the first
# (queries/search_guard.py), which is not what is measured here. Responses other than 200 are
# counted (a 204 would be a search stopped that way).
# wrk: `apt-get install wrk`. Requests go to 127.0.0.1 only; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a database filled by benchmarks/generate.py}"
command -v wrk >/dev/null 2>&1 || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
PY=.venv/bin/python
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
export CONNECTIONS
PORT="${PORT:-8765}"
SAMPLE="${SAMPLE:-2000}"

work="$(mktemp -d /tmp/shiptrack-loadtest.XXXXXX)"
gunicorn_pid=""
cleanup() {
  if [ -n "$gunicorn_pid" ]; then
    kill "$gunicorn_pid" 2>/dev/null || true
    wait "$gunicorn_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Production settings, as behind a TLS-terminating proxy (wrk sends X-Forwarded-Proto: https).
export DEBUG=0
SECRET_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')"
export SECRET_KEY
export ALLOWED_HOSTS=127.0.0.1 USE_X_FORWARDED_PROTO=1 SECURE_SSL_REDIRECT=1
export SESSION_COOKIE_SECURE=1 CSRF_COOKIE_SECURE=1 SECURE_HSTS_SECONDS=31536000
export SHIPENGINE_API_KEY="" LOG_LEVEL=WARNING
# Measure the read path: no refresh-on-open API calls while the page is being hammered.
export PUBLIC_STALE_MINUTES=0
# No access log line per request during the run (it is on in production, see gunicorn.conf.py).
export GUNICORN_ACCESSLOG="" GUNICORN_BIND="127.0.0.1:$PORT"

$PY manage.py collectstatic --noinput -v0

# URLs to request: public pages and search queries drawn from random shipments; a staff session.
$PY - "$work" "$SAMPLE" <<'PY'
import os, random, sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiptrack.settings")
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Max, Min
from urllib.parse import quote

from tracking.models import Shipment

work, sample = Path(sys.argv[1]), int(sys.argv[2])
rng = random.Random(42)
bounds = Shipment.objects.aggregate(lo=Min("id"), hi=Max("id"))
ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(sample)]
rows = list(
    Shipment.objects.filter(id__in=ids).values_list(
        "public_token", "tracking_number", "reference", "customer_name", "customer_email",
        "last_event_location",
    )
)
public, search = [], []
for token, number, reference, name, email, place in rows:
    public.append(f"/t/{token}/")
    kind = rng.randrange(5)
    if kind == 0:
        q = number[3:11]  # part of a tracking number
    elif kind == 1:
        q = reference[-5:] if reference else number
    elif kind == 2:
        q = name.split()[-1] if name else number  # a surname: many matches
    elif kind == 3:
        q = email.split("@")[0] if email else number
    else:
        q = place.split(",")[0] if place else number  # a city
    search.append(f"/staff/?q={quote(q)}")
(work / "public.txt").write_text("\n".join(public) + "\n")
(work / "search.txt").write_text("\n".join(search) + "\n")

keys = []
for n in range(int(os.environ.get("CONNECTIONS", "16"))):
    user, _ = get_user_model().objects.get_or_create(
        username=f"loadtest{n}", defaults={"is_staff": True, "email": f"loadtest{n}@example.com"}
    )
    user.is_staff = True
    user.set_unusable_password()
    user.save()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
(work / "sessions.txt").write_text("\n".join(keys) + "\n")
total = Shipment.objects.count()
print(f"database: {connection.vendor}, {total:,} shipments; {len(rows)} sampled")
PY

cat >"$work/paths.lua" <<'LUA'
-- One wrk thread per connection; with SESSIONS_FILE each thread is its own staff member.
local threads, counter = {}, 0
setup = function(thread)
  counter = counter + 1
  thread:set("number", counter)
  table.insert(threads, thread)
end
init = function(args)
  paths = {}
  for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
  local sessions = {}
  local file = os.getenv("SESSIONS_FILE")
  if file and file ~= "" then
    for line in io.lines(file) do sessions[#sessions + 1] = line end
    cookie = "sessionid=" .. sessions[(number - 1) % #sessions + 1]
  end
  not_ok = 0
  math.randomseed(os.time() + number * 7919)
end
request = function()
  local headers = {["X-Forwarded-Proto"] = "https"}
  if cookie then headers["Cookie"] = cookie end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
response = function(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1000000
  local errors = summary.errors
  local other = 0
  for _, thread in ipairs(threads) do other = other + (thread:get("not_ok") or 0) end
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f non200=%d socket_errors=%d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    other, errors.connect + errors.read + errors.write + errors.timeout))
end
LUA

.venv/bin/gunicorn -c gunicorn.conf.py >"$work/gunicorn.log" 2>&1 &
gunicorn_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.3
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$work/gunicorn.log"; exit 1; }

session="$(head -n1 "$work/sessions.txt")"
check() {  # every scenario must really answer 200 with a page (not a redirect to the login)
  local path="$1" cookie="${2:-}" code
  code="$(curl -s -o "$work/page.html" -w '%{http_code}' -H 'X-Forwarded-Proto: https' \
    ${cookie:+-H "Cookie: sessionid=$cookie"} "http://127.0.0.1:$PORT$path")"
  if [ "$code" != 200 ]; then
    echo "GET $path answered $code, not 200" >&2
    tail -n 30 "$work/gunicorn.log" >&2
    exit 1
  fi
}
check "$(head -n1 "$work/public.txt")"
check "$(head -n1 "$work/search.txt")" "$session"

run() {
  local name="$1" file="$2" sessions="${3:-}"
  echo "== $name: $(wc -l <"$file") URLs, $CONNECTIONS connections, $DURATION (after $WARMUP warm-up)"
  PATHS_FILE="$file" SESSIONS_FILE="$sessions" wrk -t"$CONNECTIONS" -c"$CONNECTIONS" \
    -d"$WARMUP" -s "$work/paths.lua" "http://127.0.0.1:$PORT" >/dev/null
  local load
  load="$(cut -d' ' -f1 /proc/loadavg)"
  PATHS_FILE="$file" SESSIONS_FILE="$sessions" wrk -t"$CONNECTIONS" -c"$CONNECTIONS" \
    -d"$DURATION" --timeout 10s -s "$work/paths.lua" "http://127.0.0.1:$PORT" \
    | tee "$work/$name.out" | grep -E '^RESULT|Latency|Requests/sec'
  echo "$name $(grep '^RESULT' "$work/$name.out" | cut -d' ' -f2-) load_before=$load load_after=$(cut -d' ' -f1 /proc/loadavg)" >>"$work/results.txt"
}
run public "$work/public.txt"
run search "$work/search.txt" "$work/sessions.txt"

sizing="$($PY -c 'import runpy; c = runpy.run_path("gunicorn.conf.py"); print(c["workers"], "workers x", c["threads"], "threads,", c["worker_class"])')"
echo "== summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); gunicorn $sizing)"
cat "$work/results.txt"
if [ -n "${OUT:-}" ]; then { echo "gunicorn $sizing"; cat "$work/results.txt"; } >"$OUT"; fi
