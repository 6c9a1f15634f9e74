"""gunicorn settings for shiptrack: `gunicorn -c gunicorn.conf.py` (see docs/operations.md).

Every value can be changed through the environment (listed in .env.example, "Server" section).
The app itself takes its settings from the environment too (DATABASE_URL, SECRET_KEY, ...).
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


wsgi_app = "shiptrack.wsgi:application"

# Behind a reverse proxy (TLS ends there) on the same host by default.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Pages are short database reads: a few processes per core (Python runs one thread at a time per
# process), two threads each to overlap the database round trips. Measured on 2 cores with the
# load test (docs/performance.md, "Load test"): 5 x 2 gave 373 public pages/s and 61 staff
# searches/s on PostgreSQL; 4 x 4, 3 x 4, 2 x 8 and 8 x 1 were no better (search needs processes,
# the public pages' per-process cache wants few of them; PUBLIC_PAGE_CACHE_URL shares one).
# WEB_CONCURRENCY is the usual name platforms set.
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 2)
worker_class = "gthread" if threads > 1 else "sync"
# ShipEngine calls during "refresh now" are bounded by the client's own timeouts (connect + read,
# times retries within SHIPENGINE_RETRY_BUDGET); keep this above them.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, so that slow leaks cannot grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# X-Forwarded-* headers are trusted from these addresses only (the proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# One access line per request with its duration in microseconds (%(D)s); "-" is stdout.
# GUNICORN_ACCESSLOG= (empty) turns it off, for example during a load test.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
