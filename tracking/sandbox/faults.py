"""Faults on request: the fault numbers, a random share of faulty answers, and an enforced rate
limit (429 with Retry-After beyond it), for tests and load tests of the client."""

from __future__ import annotations

import json
import random
import threading
import time

from .answers import SandboxResponse, error, error_body, json_response
from .scenarios import seed_example

RANDOM_FAULTS = ("FAULT-429", "FAULT-500", "FAULT-TIMEOUT", "FAULT-BADJSON", "FAULT-TRUNCATED")


def fault(kind: str, *, retry_after: float, drip_seconds: float = 1.0) -> SandboxResponse:
    if kind == "FAULT-429":
        return json_response(
            429,
            error_body(
                "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
            ),
            {"Retry-After": f"{retry_after:g}"},
        )
    if kind == "FAULT-500":
        return error(500, "unspecified", "An unexpected error occurred.", error_type="system")
    if kind == "FAULT-TIMEOUT":
        return SandboxResponse(200, stall=True)
    if kind == "FAULT-DRIP":
        body = json.dumps(seed_example()).encode()
        return SandboxResponse(200, body, {"Content-Type": "application/json"}, drip=drip_seconds)
    if kind == "FAULT-BADJSON":
        return SandboxResponse(
            200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}
        )
    if kind == "FAULT-TRUNCATED":
        full = json.dumps(seed_example()).encode()
        return SandboxResponse(200, full[: len(full) // 2], {"Content-Type": "application/json"})
    if kind == "FAULT-401":
        return error(
            401,
            "unauthorized",
            "The API key is invalid. Please use a valid API key.",
            error_type="security",
        )
    return error(404, "invalid_identifier", "The tracking number was not found.", source="carrier")


class RateLimit:
    """The generic cell rate algorithm: `burst` requests may arrive early; beyond, 429."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.interval = 60.0 / per_minute
        self.tolerance = (max(1, burst) - 1) * self.interval
        self._tat = 0.0
        self._lock = threading.Lock()
        self.refused = 0

    def check(self) -> SandboxResponse | None:
        now = time.monotonic()
        with self._lock:
            if now < self._tat - self.tolerance:
                self.refused += 1
                wait = self._tat - self.tolerance - now
            else:
                self._tat = max(self._tat, now) + self.interval
                return None
        return json_response(
            429,
            error_body(
                "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
            ),
            {"Retry-After": str(max(1, int(wait + 0.999)))},
        )


def random_fault(
    rng: random.Random, *, retry_after: float, drip_seconds: float = 0.0
) -> SandboxResponse:
    """One of RANDOM_FAULTS; with `drip_seconds`, slow drips too (one byte every that long)."""
    kinds = (*RANDOM_FAULTS, "FAULT-DRIP") if drip_seconds else RANDOM_FAULTS
    return fault(rng.choice(kinds), retry_after=retry_after, drip_seconds=drip_seconds or 1.0)


class Storms:
    """429 storms: for `seconds` out of every `every`, every request is answered 429 with a
    Retry-After until the storm ends."""

    def __init__(self, every: float, seconds: float) -> None:
        self.every = every
        self.seconds = seconds
        self._started = time.monotonic()

    def check(self) -> SandboxResponse | None:
        into = (time.monotonic() - self._started) % self.every
        if into >= self.seconds:
            return None
        return json_response(
            429,
            error_body(
                "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
            ),
            {"Retry-After": str(max(1, int(self.seconds - into + 0.999)))},
        )
