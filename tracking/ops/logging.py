"""Logging helpers: timings for tasks and jobs, and keeping secrets out of logs and error reports.

- `timed("task", "refresh_shipment", shipment_id=7)`: a context manager that logs one line
  when the block ends, with its duration and outcome ("ok" or the exception's class).
- `logged_task`: the same as a decorator for task functions (put it under `@task()`).
- `RedactSecretsFilter`: a logging filter (installed on every handler in settings.LOGGING) that
  replaces the values of secret settings (the ShipEngine API key first of all) in a record's
  message, arguments and traceback text.
- `RedactingExceptionReporter`: Django's error report (the DEBUG 500 page and the admin e-mails)
  with the same values replaced everywhere in its text.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter

REDACTED = "[redacted]"
# Settings whose values never appear in a log line or an error report.
SECRET_SETTINGS = ("SHIPENGINE_API_KEY", "SECRET_KEY", "SHIPENGINE_WEBHOOK_SECRET")
# Shorter values would redact ordinary words; real keys are far longer.
MIN_SECRET_LENGTH = 8

task_logger = logging.getLogger("shiptrack.tasks")


def secret_values() -> list[str]:
    """The secret values in use now, longest first (so a secret containing another goes whole)."""
    if not settings.configured:
        return []
    values: set[str] = set()
    for name in SECRET_SETTINGS:
        value = getattr(settings, name, "")
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            values.add(value)
    password = settings.DATABASES.get("default", {}).get("PASSWORD", "")
    if isinstance(password, str) and len(password) >= MIN_SECRET_LENGTH:
        values.add(password)
    return sorted(values, key=len, reverse=True)


#: Secrets no setting holds but whose form is ours: REST API keys (services/api_keys.py) and
#: outgoing webhook signing secrets (services/outbound_webhooks.py), wherever they turn up.
SECRET_FORMS = re.compile(r"stk_[0-9a-f]{8}_[A-Za-z0-9_\-]{16,}|whsec_[A-Za-z0-9+/=]{16,}")


def redact(text: str, secrets: list[str] | None = None) -> str:
    for secret in secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
        escaped = html.escape(secret)
        if escaped != secret and escaped in text:
            text = text.replace(escaped, REDACTED)
    return SECRET_FORMS.sub(REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """Never drops a record; rewrites it when it carries a secret value."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error path
            return True
        cleaned = redact(message, secrets)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


class RedactingExceptionReporter(ExceptionReporter):
    """Django's safe filter already hides settings named like KEY/SECRET; this also removes their
    values from local variables, exception messages and request data in the report."""

    # Replacing a value with a fixed word keeps Django's escaping intact: still safe to mark so.
    def get_traceback_html(self) -> SafeString:
        return mark_safe(redact(str(super().get_traceback_html())))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(str(super().get_traceback_text())))  # noqa: S308


@contextmanager
def timed(
    kind: str, name: str, logger: logging.Logger | None = None, /, **fields: Any
) -> Iterator[None]:
    """Log `<kind> name=... <fields> ms=... outcome=...` once the block is done. The first three
    parameters are positional-only, so that any field name (even `name`) can be logged."""
    log = logger or task_logger
    started = time.monotonic()
    outcome = "ok"
    try:
        yield
    except BaseException as exc:
        outcome = type(exc).__name__
        raise
    finally:
        ms = int((time.monotonic() - started) * 1000)
        extra = "".join(f" {key}={value}" for key, value in fields.items())
        level = logging.INFO if outcome == "ok" else logging.WARNING
        log.log(level, "%s name=%s%s ms=%d outcome=%s", kind, name, extra, ms, outcome)


def logged_task[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """One log line per run of a task function, with its id-like arguments and its timing."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            bound = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:  # let the call itself raise the real error
            bound = {}
        fields: dict[str, Any] = {
            key: value
            for key, value in bound.items()
            if isinstance(value, int | str) and not isinstance(value, bool)
        }
        with timed("task", func.__name__, **fields):
            return func(*args, **kwargs)

    return wrapper
