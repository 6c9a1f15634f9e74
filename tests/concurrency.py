"""Races on purpose: the same work in several threads at once, each with its own database
connection, as several workers (or web processes) would do it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently[T](fn: Callable[[], T], n: int, *, timeout: float = 120.0) -> list[T]:
    """Call `fn` in `n` threads released together (a barrier, so that they really overlap) and
    return the `n` results in thread order. Each thread closes its database connections when it
    ends. The first exception raised in a thread is raised here, after every thread finished."""
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = fn()
        except BaseException as exc:  # raised in the calling thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    alive = [thread.name for thread in threads if thread.is_alive()]
    assert not alive, f"threads still running after {timeout} s: {alive}"
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
