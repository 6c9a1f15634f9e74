"""One staff search at a time per person, each bounded in time.

The live search box sends a request per pause in typing; htmx (`hx-sync="...:replace"`) aborts
the one in flight when the next starts, but the server would not notice: it would finish a search
nobody waits for, while the new one queues behind it. So, in the database:

- every search runs in one transaction with a statement timeout (STAFF_SEARCH_TIMEOUT_MS): a
  pathological search stops and says so instead of holding a worker;
- a new search from the same person stops the one still running: on PostgreSQL each search tags
  its connection (`application_name`, for this transaction only) and the next one cancels any
  statement still running under the same tag (`pg_cancel_backend`, same database role); on
  SQLite a progress handler aborts the older search's statement (within this process; gunicorn
  processes are separate, there the timeout alone bounds it).

`SearchStopped.reason` is "timeout" or "superseded".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connections, transaction

_TAG = "shiptrack-search:"
_lock = threading.Lock()
#: SQLite: the running search of each person in this process -> "stop now" flag.
_running: dict[str, threading.Event] = {}


class SearchStopped(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _reason(error: OperationalError) -> str | None:
    """PostgreSQL's words for the two ways a statement was cancelled."""
    text = str(error).lower()
    if "statement timeout" in text:
        return "timeout"
    if "user request" in text:
        return "superseded"
    return None


@contextmanager
def search_guard(owner: str, *, timeout_ms: int, alias: str = "default") -> Iterator[None]:
    """Run a search for `owner` (e.g. "user:12") inside this; raises SearchStopped."""
    connection = connections[alias]
    if connection.vendor == "sqlite":
        # No transaction: SQLite's (IMMEDIATE) transactions take the write lock, which a read
        # must not hold; the progress handler stops a statement without one.
        with _sqlite_guard(connection, owner, timeout_ms):
            yield
        return
    # Inside an outer transaction (a test, a caller's atomic block) ours is a savepoint, and a
    # transaction-local setting outlives a savepoint: put them back as they were afterwards.
    nested = connection.in_atomic_block
    previous: tuple[str, str] | None = None
    try:
        with transaction.atomic(using=alias):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    tag = f"{_TAG}{owner}"[:63]
                    # All three only for this transaction: the connection goes back to the pool
                    # as it was.
                    cursor.execute(
                        "SELECT current_setting('statement_timeout'),"
                        " current_setting('application_name'),"
                        " set_config('statement_timeout', %s, true),"
                        " set_config('application_name', %s, true),"
                        " (SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity"
                        "  WHERE application_name = %s AND pid <> pg_backend_pid()"
                        "  AND state = 'active')",
                        [str(max(1, timeout_ms)), tag, tag],
                    )
                    row = cursor.fetchone()
                    previous = (row[0], row[1]) if nested and row else None
            yield
    except OperationalError as exc:
        reason = _reason(exc)
        if reason is None:
            raise
        raise SearchStopped(reason) from exc
    finally:
        if previous is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true),"
                    " set_config('application_name', %s, true)",
                    list(previous),
                )


@contextmanager
def _sqlite_guard(connection, owner: str, timeout_ms: int) -> Iterator[None]:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    with _lock:
        previous = _running.get(owner)
        if previous is not None:
            previous.set()
        _running[owner] = stop
    deadline = time.monotonic() + timeout_ms / 1000
    timed_out = False

    def check() -> int:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return 1
        return 1 if stop.is_set() else 0

    connection.ensure_connection()
    raw = connection.connection
    raw.set_progress_handler(check, 20_000)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc).lower():
            raise SearchStopped("timeout" if timed_out else "superseded") from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)
        with _lock:
            if _running.get(owner) is stop:
                del _running[owner]
