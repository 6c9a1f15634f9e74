"""shiptrack settings: one module, every value from the environment (django-environ), by topic.

`.env.example` lists every setting with its default, in the same order. Nothing here differs
between development and production except through the environment. Code reads `settings.X`;
no default is repeated anywhere else.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
import xstatic.pkg.leaflet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's .env is read when present; real deployments set the environment directly.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or DEBUG=1 for development)."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Where people reach this site: the links in e-mails, outgoing webhooks and API answers.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    # django-ninja: the REST API (tracking/api/); listed so its docs page uses the Swagger UI
    # files the package ships (served by whitenoise) instead of a CDN.
    "ninja",
    "axes",
    "tracking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Public pages speak the reader's language (Accept-Language, or the switcher's cookie); staff
    # pages, the admin and the API stay in LANGUAGE_CODE.
    "tracking.web.language.PublicLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shiptrack.urls"
WSGI_APPLICATION = "shiptrack.wsgi.application"
ASGI_APPLICATION = "shiptrack.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tracking.web.context_processors.shiptrack",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite file by default; PostgreSQL (or anything Django supports) through DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so a web process and a worker writing at
    # the same time wait for each other (up to `timeout`) instead of failing with "database is
    # locked" on a read-to-write upgrade. WAL lets readers go on while one writer writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_TIMEOUT_SECONDS", default=20),
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64000;"
            ),
        }
    )
    # Tests use a file (not :memory:) so that the race tests can open several connections.
    # One file per test process, so that two test runs on one machine never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# What is cached is short-lived and safe to lose: the status counts of an unsearched staff list
# and the public carrier menu. Per process by default; CACHE_URL (e.g. a Redis or memcached URL,
# django-environ's format) shares it between processes.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://shiptrack"),
    # Rendered public tracking pages (a few tens of KB each), keyed on the shipment's state: a
    # page opened again costs one indexed query. Per process by default (locmem keeps the most
    # recent MAX_ENTRIES); a shared PUBLIC_PAGE_CACHE_URL serves every process from one copy.
    "public_pages": env.cache_url(
        "PUBLIC_PAGE_CACHE_URL", default="locmemcache://shiptrack-public-pages?MAX_ENTRIES=3000"
    ),
    # The event-drawn part of staff shipment pages (timeline, map, facts, raw answer), keyed on
    # the shipment's state the same way (web/staff/tracking_part.py). Up to a few hundred KB each
    # (200 events and a raw answer of up to RAW_RESPONSE_MAX_BYTES): 200 per process by default.
    "staff_pages": env.cache_url(
        "STAFF_PAGE_CACHE_URL", default="locmemcache://shiptrack-staff-pages?MAX_ENTRIES=200"
    ),
}

# --- Users and login ------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"
# Login throttling (django-axes) on the staff and the admin login alike: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked out
# for LOGIN_LOCKOUT_MINUTES (a 429 page saying so); a right password resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("LOGIN_THROTTLING", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "tracking.web.client_address.client_ip_for_axes"
AXES_LOCKOUT_CALLABLE = "tracking.web.auth.locked_out"
AXES_VERBOSE = False

# --- Languages and time -----------------------------------------------------------------------
# The public pages' languages (catalogs in tracking/locale/, made and checked by
# scripts/translations); staff pages and the admin stay in LANGUAGE_CODE. Names in their own
# language: the switcher shows each as its readers know it.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "tracking" / "locale"]
# The switcher's choice is remembered for a year (a cookie, not a session).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = env.bool("LANGUAGE_COOKIE_SECURE", default=not DEBUG)
# One date and time style per language (tracking/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["tracking.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Leaflet comes from the xstatic-leaflet package, never a CDN and never copied into the repo.
STATICFILES_DIRS = [BASE_DIR / "static", ("leaflet", str(xstatic.pkg.leaflet.BASE_DIR))]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Security -------------------------------------------------------------------------------
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str(
    "MAP_TILE_ATTRIBUTION", default="\N{COPYRIGHT SIGN} OpenStreetMap contributors"
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    # Map tiles come from the tile server named by MAP_TILE_URL; data: for Leaflet's marker images.
    "img-src": [
        CSP.SELF,
        "data:",
        *env.list("CSP_IMG_SRC", default=["https://*.tile.openstreetmap.org"]),
    ],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers probe /healthz over plain HTTP from inside the network: no redirect for it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself; otherwise a client could forge it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)

# --- Logging and error reports -----------------------------------------------------------------
# Secret values (the ShipEngine API key first of all) are replaced in every record, in the DEBUG
# 500 page and in the ADMINS e-mails.
DEFAULT_EXCEPTION_REPORTER = "tracking.ops.logging.RedactingExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "redact_secrets": {"()": "tracking.ops.logging.RedactSecretsFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
        # Error reports by e-mail to ADMINS (none unless ADMINS is set), with secrets removed.
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Replaces Django's default handlers for "django"; its records reach the root's console.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Background tasks and workers -------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}
# Seconds between scheduler runs inside `manage.py run_worker` (0 = no scheduler there).
REFRESH_SCHEDULE_SECONDS = env.int("REFRESH_SCHEDULE_SECONDS", default=60)
# How many due shipments one scheduler run queues at most (the rest wait for the next run).
REFRESH_BATCH_SIZE = env.int("REFRESH_BATCH_SIZE", default=1000)
# A queued refresh not served after this long is treated as lost and queued again. The queue never
# holds more than SHIPENGINE_RATE_LIMIT_PER_MINUTE x this (what the plan serves in that time).
REFRESH_QUEUE_TIMEOUT_MINUTES = env.int("REFRESH_QUEUE_TIMEOUT_MINUTES", default=30)
# Shipments per refresh_many task (one task serves a chunk, one shipment at a time).
REFRESH_TASK_CHUNK = env.int("REFRESH_TASK_CHUNK", default=25)
# Each run_worker writes a heartbeat this often; one silent for WORKER_LOST_AFTER_SECONDS is taken
# for dead and its running task is handed to another worker (at most TASK_MAX_DELIVERIES times,
# then it is marked failed; an import job then offers "Retry").
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=5.0)
WORKER_LOST_AFTER_SECONDS = env.float("WORKER_LOST_AFTER_SECONDS", default=30.0)
TASK_MAX_DELIVERIES = env.int("TASK_MAX_DELIVERIES", default=3)
# On SIGTERM a worker gives its task this long to finish, then hands it back and exits.
WORKER_STOP_GRACE_SECONDS = env.float("WORKER_STOP_GRACE_SECONDS", default=5.0)
API_CALL_RETENTION_DAYS = env.int("API_CALL_RETENTION_DAYS", default=14)
WEBHOOK_RECEIPT_RETENTION_DAYS = env.int("WEBHOOK_RECEIPT_RETENTION_DAYS", default=7)

# --- ShipEngine API ---------------------------------------------------------------------------
# No key: sandbox mode (answers come from tracking/sandbox/, in-process; see
# services/api_client.py, the one place that reads SHIPENGINE_SANDBOX).
SHIPENGINE_API_KEY = env.str("SHIPENGINE_API_KEY", default="")
SHIPENGINE_SANDBOX = not SHIPENGINE_API_KEY
SHIPENGINE_BASE_URL = env.str("SHIPENGINE_BASE_URL", default="https://api.shipengine.com")
SHIPENGINE_CONNECT_TIMEOUT = env.float("SHIPENGINE_CONNECT_TIMEOUT", default=5.0)
SHIPENGINE_READ_TIMEOUT = env.float("SHIPENGINE_READ_TIMEOUT", default=20.0)
SHIPENGINE_MAX_ATTEMPTS = env.int("SHIPENGINE_MAX_ATTEMPTS", default=4)
# Total seconds one call may spend waiting between retries (backoff and Retry-After).
SHIPENGINE_RETRY_BUDGET = env.float("SHIPENGINE_RETRY_BUDGET", default=30.0)
# The same when a person is waiting on a page (staff add/refresh, the public page's refresh).
SHIPENGINE_INTERACTIVE_RETRY_BUDGET = env.float("SHIPENGINE_INTERACTIVE_RETRY_BUDGET", default=3.0)
# Wall-clock deadlines, body read included: one attempt, and one whole call (attempts, back-off
# and rate-limit waits together); a person waiting on a page gets the shorter interactive one.
SHIPENGINE_ATTEMPT_DEADLINE_SECONDS = env.float("SHIPENGINE_ATTEMPT_DEADLINE_SECONDS", default=25.0)
SHIPENGINE_CALL_DEADLINE_SECONDS = env.float("SHIPENGINE_CALL_DEADLINE_SECONDS", default=60.0)
SHIPENGINE_INTERACTIVE_CALL_DEADLINE_SECONDS = env.float(
    "SHIPENGINE_INTERACTIVE_CALL_DEADLINE_SECONDS", default=10.0
)
# A larger answer is refused (a recorded failure with back-off) and never read whole.
SHIPENGINE_MAX_BODY_BYTES = env.int("SHIPENGINE_MAX_BODY_BYTES", default=5_000_000)
# The longest shared pause a 429's Retry-After can impose on every process (longer ones are
# clamped to it; non-numbers and infinities are ignored).
SHIPENGINE_MAX_PAUSE_SECONDS = env.float("SHIPENGINE_MAX_PAUSE_SECONDS", default=120.0)
# One limit for every worker and web process together (the API's default is 200 a minute).
SHIPENGINE_RATE_LIMIT_PER_MINUTE = env.int("SHIPENGINE_RATE_LIMIT_PER_MINUTE", default=200)
# Requests that may go out at once after an idle spell (1 = evenly spaced, never early).
SHIPENGINE_RATE_LIMIT_BURST = env.int("SHIPENGINE_RATE_LIMIT_BURST", default=1)
# ISO timestamp the sandbox's demo journeys are anchored to (default: first use on this machine).
SHIPENGINE_SANDBOX_EPOCH = env.str("SHIPENGINE_SANDBOX_EPOCH", default="")

# --- What is stored per shipment -------------------------------------------------------------
# The last raw answer is kept for staff to read up to this size (JSON bytes); a larger one keeps
# its summary and as many events as fit, with a note. Events are stored in full either way.
RAW_RESPONSE_MAX_BYTES = env.int("RAW_RESPONSE_MAX_BYTES", default=256_000)
# The most events stored for one shipment (the newest win); more are dropped with a log line.
EVENTS_PER_SHIPMENT_MAX = env.int("EVENTS_PER_SHIPMENT_MAX", default=5_000)

# --- Refresh policy (minutes between polls, by status code; "*" for codes not listed) --------
REFRESH_INTERVALS = {
    "NY": env.int("REFRESH_MINUTES_NOT_YET_IN_SYSTEM", default=360),
    "AC": env.int("REFRESH_MINUTES_ACCEPTED", default=360),
    "IT": env.int("REFRESH_MINUTES_IN_TRANSIT", default=120),
    "EX": env.int("REFRESH_MINUTES_EXCEPTION", default=60),
    "AT": env.int("REFRESH_MINUTES_DELIVERY_ATTEMPT", default=60),
    "UN": env.int("REFRESH_MINUTES_UNKNOWN", default=360),
    "": env.int("REFRESH_MINUTES_NEVER_FETCHED", default=15),
    "*": env.int("REFRESH_MINUTES_OTHER", default=240),
}
# Stop polling a shipment after this many days without a new event.
REFRESH_GIVE_UP_DAYS = env.int("REFRESH_GIVE_UP_DAYS", default=30)
REFRESH_FAILURE_BACKOFF_MINUTES = env.int("REFRESH_FAILURE_BACKOFF_MINUTES", default=5)
REFRESH_FAILURE_BACKOFF_MAX_MINUTES = env.int("REFRESH_FAILURE_BACKOFF_MAX_MINUTES", default=720)

# --- Webhooks from ShipEngine ---------------------------------------------------------------
# ShipEngine's signing keys (empty: the API base URL + /jwks; the sandbox's own key in sandbox
# mode), kept this many seconds; an unknown key id fetches them again at most every 30 s.
SHIPENGINE_WEBHOOK_JWKS_URL = env.str("SHIPENGINE_WEBHOOK_JWKS_URL", default="")
SHIPENGINE_WEBHOOK_JWKS_TTL = env.int("SHIPENGINE_WEBHOOK_JWKS_TTL", default=3600)
# Deliveries whose x-shipengine-timestamp is further than this from our clock are refused.
SHIPENGINE_WEBHOOK_TOLERANCE_SECONDS = env.int("SHIPENGINE_WEBHOOK_TOLERANCE_SECONDS", default=300)
SHIPENGINE_WEBHOOK_MAX_BYTES = env.int("SHIPENGINE_WEBHOOK_MAX_BYTES", default=1_000_000)
# Optional shared secret sent by ShipEngine in a custom header configured on the webhook
# (register_webhook sets it); accepted instead of the RSA signature when both match.
SHIPENGINE_WEBHOOK_SECRET = env.str("SHIPENGINE_WEBHOOK_SECRET", default="")
SHIPENGINE_WEBHOOK_SECRET_HEADER = env.str(
    "SHIPENGINE_WEBHOOK_SECRET_HEADER", default="X-Shiptrack-Webhook-Secret"
)

# --- REST API for shops and other systems (tracking/api/) ------------------------------------
# Requests per minute per API key unless the key sets its own (answered 429 + Retry-After).
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
# Largest request body the API reads (a bulk request of 1,000 shipments is ~300 KB); 413 beyond.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=2_000_000)
# Hours an Idempotency-Key's stored answer is replayed for a retry (then pruned).
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)

# --- Outgoing webhooks (services/outbound_webhooks.py) ----------------------------------------
# Seconds to wait before each retry of a failed delivery (then it is given up): about a day.
WEBHOOK_RETRY_SCHEDULE_SECONDS = [
    int(s)
    for s in env.list("WEBHOOK_RETRY_SCHEDULE_SECONDS", default=[5, 300, 1800, 7200, 18000, 36000])
]
# An endpoint whose deliveries have failed for this long (no success between) is disabled.
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=24)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
# Private, loopback and link-local targets are refused unless this is on (an endpoint inside
# your own network). With DEBUG on, http://localhost (and loopback) is allowed for development.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Deliveries (and their attempt log) are kept this many days.
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)

# --- CSV import -------------------------------------------------------------------------------
# Uploaded CSV files wait here for the worker (a directory every worker can read).
IMPORT_DIR = BASE_DIR / env.str("IMPORT_DIR", default="var/imports")  # relative: to BASE_DIR
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50_000_000)
# An import making no progress for this long whose task is gone is marked failed (with Retry).
IMPORT_STALE_MINUTES = env.int("IMPORT_STALE_MINUTES", default=10)

# --- Staff portal -----------------------------------------------------------------------------
# Seconds the per-status counts of an unsearched list are reused (over a whole table they are the
# page's costliest query). 0: counted on every request.
STAFF_STATUS_COUNTS_CACHE_SECONDS = env.int("STAFF_STATUS_COUNTS_CACHE_SECONDS", default=30)
# A staff search sorts and counts at most this many matches (a hub city can match a third of all
# shipments); past it the page says "more than 10,000", walks the newest-first index instead
# and shows lower bounds per status (queries/shipment_list.py).
STAFF_SEARCH_COUNT_CAP = env.int("STAFF_SEARCH_COUNT_CAP", default=10_000)
# The counts beside the list's "needs attention" reasons stop here ("1,000+"): the quiet-parcel
# count walks an index, and its cost grows with the cap (queries/attention.py).
STAFF_REASON_COUNT_CAP = env.int("STAFF_REASON_COUNT_CAP", default=1_000)
# A staff search (all its queries) is stopped after this long, and when the same person starts
# another one (queries/search_guard.py).
STAFF_SEARCH_TIMEOUT_MS = env.int("STAFF_SEARCH_TIMEOUT_MS", default=3000)
# Seconds the event-drawn part of a shipment page (timeline, map, facts, raw answer) is kept in
# CACHES["staff_pages"], keyed on the shipment's state: a change is never served stale; this only
# bounds memory. 0: built on every request.
STAFF_PAGE_CACHE_SECONDS = env.int("STAFF_PAGE_CACHE_SECONDS", default=3600)


# --- E-mail (customer updates; services/notifications.py) -------------------------------------
def _mailers_from_url(url: str) -> dict[str, dict]:
    """Django 6.1's MAILERS from one EMAIL_URL (django-environ's schemes: smtp://, smtp+tls://,
    smtps:// (TLS on connect), consolemail://, dummymail://, memorymail://), plus
    filemail://PATH (relative to the project; default var/mail) for the demo, whose e-mails are
    written as files there and shown on the staff page of each shipment."""
    if url.startswith("filemail:"):
        path = url.removeprefix("filemail:").removeprefix("//") or "var/mail"
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "OPTIONS": {"file_path": str(BASE_DIR / path)},
            }
        }
    config = environ.Env.email_url_config(url)
    options: dict = {"timeout": EMAIL_TIMEOUT_SECONDS}
    if url.startswith("smtps:") or url.startswith("smtp+ssl:"):
        options["use_ssl"] = True
    elif config.get("EMAIL_USE_TLS"):
        options["use_tls"] = True
    for key, name in (("EMAIL_HOST", "host"), ("EMAIL_PORT", "port")):
        if config.get(key):
            options[name] = config[key]
    if config.get("EMAIL_HOST_USER"):
        options["username"] = config["EMAIL_HOST_USER"]
        options["password"] = config.get("EMAIL_HOST_PASSWORD") or ""
    for key, value in (config.get("OPTIONS") or {}).items():
        options[key.lower()] = value
    backend = config["EMAIL_BACKEND"]
    if not backend.endswith("smtp.EmailBackend"):
        options = {}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


# Seconds an SMTP connection or command may take before the attempt counts as failed (retried).
EMAIL_TIMEOUT_SECONDS = env.float("EMAIL_TIMEOUT_SECONDS", default=10.0)
# Where e-mail goes: smtp://host:port (smtp+tls://user:password@host:587, smtps://...:465), or
# filemail://var/mail (the default: the demo writes each e-mail there, no server needed).
EMAIL_URL = env.str("EMAIL_URL", default="filemail://var/mail")
MAILERS = _mailers_from_url(EMAIL_URL)
# True when e-mails are only written to files (the staff page then says so beside each one).
EMAIL_DEMO_MODE = EMAIL_URL.startswith("filemail:")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shiptrack <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# 1: the shipment's stored customer e-mail (staff form, CSV import, API) gets the important
# updates (out for delivery, attempted, exception, delivered, ready for collection) without
# subscribing; every e-mail has a one-click unsubscribe.
NOTIFY_CUSTOMERS = env.bool("NOTIFY_CUSTOMERS", default=False)
# A change whose parcel's newest scan is older than this (hours) e-mails nobody: an import of
# parcels delivered last month is no news.
NOTIFY_MAX_AGE_HOURS = env.int("NOTIFY_MAX_AGE_HOURS", default=72)
# Seconds before each retry of an e-mail the server did not take (a temporary failure); then
# it is given up and shown as failed in the admin's notification log. A permanent refusal
# (5xx) is failed at once.
NOTIFY_RETRY_SCHEDULE_SECONDS = [
    int(s) for s in env.list("NOTIFY_RETRY_SCHEDULE_SECONDS", default=[30, 300, 1800, 7200, 21600])
]
# Connections to the mail server one sender keeps open, each sending in its own thread (SMTP is
# mostly waiting for the server's answers; the next e-mails are rendered meanwhile).
NOTIFY_SMTP_CONNECTIONS = env.int("NOTIFY_SMTP_CONNECTIONS", default=4)
# How long the confirmation link of a subscription works (hours), and an unsubscribe link (days).
NOTIFY_CONFIRM_TOKEN_HOURS = env.int("NOTIFY_CONFIRM_TOKEN_HOURS", default=48)
NOTIFY_UNSUBSCRIBE_TOKEN_DAYS = env.int("NOTIFY_UNSUBSCRIBE_TOKEN_DAYS", default=180)
# Subscribe requests one client address may make per window (a friendly 429 beyond); one
# address is sent a confirmation at most once per NOTIFY_CONFIRM_RESEND_MINUTES per parcel.
NOTIFY_SUBSCRIBE_RATE_LIMIT = env.int("NOTIFY_SUBSCRIBE_RATE_LIMIT", default=5)
NOTIFY_SUBSCRIBE_RATE_WINDOW_SECONDS = env.int("NOTIFY_SUBSCRIBE_RATE_WINDOW_SECONDS", default=3600)
NOTIFY_CONFIRM_RESEND_MINUTES = env.int("NOTIFY_CONFIRM_RESEND_MINUTES", default=10)

# --- Analytics and our delivery estimate (services/analytics*.py, services/estimates.py) -------
# The deliveries our estimate and "quiet longer than usual" rest on: the last this many days.
ANALYTICS_HISTORY_DAYS = env.int("ANALYTICS_HISTORY_DAYS", default=90)
# Fewer comparable delivered parcels than this (per carrier and lane, or wider group): no estimate.
ESTIMATE_MIN_PARCELS = env.int("ESTIMATE_MIN_PARCELS", default=20)
# Minutes between recounts of the parcels quiet for longer than their lane's usual gap.
ANALYTICS_QUIET_REFRESH_MINUTES = env.int("ANALYTICS_QUIET_REFRESH_MINUTES", default=15)
# Estimates one scheduler run works out again at most (the rest wait for the next run).
ANALYTICS_SWEEP_BATCH = env.int("ANALYTICS_SWEEP_BATCH", default=2000)

# --- Public tracking page and branding --------------------------------------------------------
BRAND_NAME = env.str("BRAND_NAME", default="shiptrack")
# A logo the page can load: a path on this site (/static/...) or an https URL whose host is also
# in CSP_IMG_SRC. Empty: the name alone.
BRAND_LOGO_URL = env.str("BRAND_LOGO_URL", default="")
# Buttons and the header stripe; a hex colour (#rgb or #rrggbb), served as CSS from /brand.css.
BRAND_ACCENT_COLOR = env.str("BRAND_ACCENT_COLOR", default="#0b5fff")
if not re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", BRAND_ACCENT_COLOR):
    raise ImproperlyConfigured(
        f"BRAND_ACCENT_COLOR must be a hex colour like #0b5fff, not {BRAND_ACCENT_COLOR!r}."
    )
BRAND_SUPPORT_URL = env.str("BRAND_SUPPORT_URL", default="")
# Whom customers contact, shown on every tracking page (as written: not translated). Empty: a
# sentence in the reader's language sending them to the shop they ordered from.
SUPPORT_CONTACT = env.str("SUPPORT_CONTACT", default="")
# Look up numbers the portal does not know yet by asking the API (off: only known parcels).
PUBLIC_LOOKUP_FETCH_UNKNOWN = env.bool("PUBLIC_LOOKUP_FETCH_UNKNOWN", default=False)
# Lookups one client address may make per window.
PUBLIC_LOOKUP_RATE_LIMIT = env.int("PUBLIC_LOOKUP_RATE_LIMIT", default=10)
PUBLIC_LOOKUP_RATE_WINDOW_SECONDS = env.int("PUBLIC_LOOKUP_RATE_WINDOW_SECONDS", default=60)
# All lookups together per window, whatever their addresses (forged or many): a ceiling on what
# the public lookup can cost. 0: no global limit.
PUBLIC_LOOKUP_GLOBAL_RATE_LIMIT = env.int("PUBLIC_LOOKUP_GLOBAL_RATE_LIMIT", default=300)
# Behind a reverse proxy: the request header it fills with the client's address, as a META key
# (HTTP_X_FORWARDED_FOR, or HTTP_X_REAL_IP). Empty: REMOTE_ADDR. The client is counted from the
# right of that header (web/client_address.py): either past our proxies' own addresses
# (TRUSTED_PROXY_IPS, addresses or networks; the request must come from one of them) or, without
# that list, the TRUSTED_PROXY_COUNT-th entry from the right (1: one proxy in front of gunicorn).
PUBLIC_CLIENT_IP_HEADER = env.str("PUBLIC_CLIENT_IP_HEADER", default="")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=[])
# A shipment not delivered and not checked for this many minutes is refreshed when its public
# page is opened (at most once per this many minutes per shipment). 0: never.
PUBLIC_STALE_MINUTES = env.int("PUBLIC_STALE_MINUTES", default=30)
# An open tracking page checks for news this often (seconds) until the parcel is delivered.
# 0: never (the page says to reload instead).
PUBLIC_PAGE_REFRESH_SECONDS = env.int("PUBLIC_PAGE_REFRESH_SECONDS", default=120)
# Seconds a rendered tracking page is kept (it is keyed on the shipment's state, so a change is
# never served stale; this only bounds memory). 0: render every time.
PUBLIC_PAGE_CACHE_SECONDS = env.int("PUBLIC_PAGE_CACHE_SECONDS", default=3600)
