"""A process-wide "we are stopping" flag (a worker got SIGTERM): the ShipEngine client gives up
between body pieces and before each attempt, and every wait (retry back-off, the shared rate
limit) wakes at once, so a worker stops within seconds and its task is released, not lost.
Web processes never set it."""

from __future__ import annotations

import threading

from ..shipengine import CallCancelled

_stopping = threading.Event()


def request_stop() -> None:
    _stopping.set()


def should_stop() -> bool:
    return _stopping.is_set()


def reset() -> None:
    """Tests: forget a stop request."""
    _stopping.clear()


def sleep(seconds: float) -> None:
    """time.sleep that ends early, raising CallCancelled, when the process is told to stop."""
    if _stopping.wait(max(0.0, seconds)):
        raise CallCancelled()
