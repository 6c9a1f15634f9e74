"""Settings for the test suite and type checker: the real settings, with test-only defaults for
values a deployment must set itself."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from .settings import *  # noqa: E402,F403

# Tests never touch the real API: every test that wants HTTP starts its own local server.
SHIPENGINE_API_KEY = ""
SHIPENGINE_SANDBOX = True
SHIPENGINE_SANDBOX_EPOCH = "2026-01-05T12:00:00+00:00"
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
