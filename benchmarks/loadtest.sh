#!/usr/bin/env bash
# Load test on loopback: gunicorn (gunicorn.conf.py, production settings) serving the database
# DATABASE_URL names, driven by wrk from a second process. Two scenarios:
#   public  GET /t/<token>/      the shareable tracking page, a random shipment each request
#   search  GET /staff/?q=...    the staff search, logged in (session cookie), a random query
# Prints requests/s and p50/p90/p99 latency per scenario (and writes them to $OUT, if set).
#
#   python benchmarks/generate.py --shipments 1000000 --events 6000000            # PostgreSQL
#   DATABASE_URL=postgres://postgres@127.0.0.1:55440/shiptrack bash benchmarks/loadtest.sh
#   python benchmarks/generate.py --shipments 1000000 --events 6000000 --db /tmp/bench.sqlite3
#   DATABASE_URL=sqlite:////tmp/bench.sqlite3 bash benchmarks/loadtest.sh
#
# Environment: DURATION (30s), WARMUP (5s), CONNECTIONS (16), WRK_THREADS (1), PORT (8765),
# SAMPLE (2000 shipments to draw URLs from), WEB_CONCURRENCY / GUNICORN_THREADS (gunicorn.conf.py).
# wrk: `apt-get install wrk`. Requests go to 127.0.0.1 only; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a database filled by benchmarks/generate.py}"
command -v wrk >/dev/null 2>&1 || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
PY=.venv/bin/python
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-16}"
WRK_THREADS="${WRK_THREADS:-1}"
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

user, _ = get_user_model().objects.get_or_create(
    username="loadtest", defaults={"is_staff": True, "email": "loadtest@example.com"}
)
user.is_staff = True
user.set_unusable_password()
user.save()
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
(work / "session.txt").write_text(session.session_key)
total = Shipment.objects.count()
print(f"database: {connection.vendor}, {total:,} shipments; {len(rows)} sampled")
PY

cat >"$work/paths.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1000000
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f non2xx3xx=%d socket_errors=%d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
LUA

.venv/bin/gunicorn -c gunicorn.conf.py >"$work/gunicorn.log" 2>&1 &
gunicorn_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.3
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$work/gunicorn.log"; exit 1; }

session="$(cat "$work/session.txt")"
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
  local name="$1" file="$2"
  shift 2
  echo "== $name: $(wc -l <"$file") URLs, $CONNECTIONS connections, $DURATION (after $WARMUP warm-up)"
  PATHS_FILE="$file" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -s "$work/paths.lua" \
    -H 'X-Forwarded-Proto: https' "$@" "http://127.0.0.1:$PORT" >/dev/null
  PATHS_FILE="$file" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s \
    -s "$work/paths.lua" -H 'X-Forwarded-Proto: https' "$@" "http://127.0.0.1:$PORT" \
    | tee "$work/$name.out" | grep -E '^RESULT|Latency|Requests/sec'
  echo "$name $(grep '^RESULT' "$work/$name.out" | cut -d' ' -f2-)" >>"$work/results.txt"
}
run public "$work/public.txt"
run search "$work/search.txt" -H "Cookie: sessionid=$session"

echo "== summary ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
cat "$work/results.txt"
if [ -n "${OUT:-}" ]; then cp "$work/results.txt" "$OUT"; fi
