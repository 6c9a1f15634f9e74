"""Settings for the test suite and type checker: the real settings, with test-only defaults for
values a deployment must set itself."""

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from .settings import *  # noqa: F403

# Tests never touch the real API: every test that wants HTTP starts its own local server.
SHIPENGINE_API_KEY = ""
SHIPENGINE_SANDBOX = True
# The sandbox's journeys are anchored to the start of the current hour: recent enough that the
# refresh policy treats them as live, fixed for the whole run.
SHIPENGINE_SANDBOX_EPOCH = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# whitenoise warns for every request when STATIC_ROOT does not exist yet.
STATIC_ROOT = Path(tempfile.gettempdir()) / "shiptrack-test-static"
STATIC_ROOT.mkdir(exist_ok=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The shared limiter still runs in every test, but spaced 0.1 ms apart so that tests of other
# areas are not slowed; tests of the limiter set their own limit.
SHIPENGINE_RATE_LIMIT_PER_MINUTE = 600_000
# Imports go to a per-process directory.
IMPORT_DIR = Path(tempfile.gettempdir()) / f"shiptrack-test-imports-{os.getpid()}"
# Status counts are not cached between tests (each test makes its own data).
STAFF_STATUS_COUNTS_CACHE_SECONDS = 0
# Django 6.1 sends mail through MAILERS (EMAIL_BACKEND is deprecated), and warns on every message
# when none is configured. The test runner swaps each configured mailer for the in-memory one
# (mail.outbox) anyway; this names the one the tests use.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# E-mails go to mail.outbox above; nothing is written under var/mail by the tests.
EMAIL_DEMO_MODE = False
