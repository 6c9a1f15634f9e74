"""One ShipEngine rate limit shared by every worker and web process.

The state is one database row (`RateLimitState`): the next free request slot and the end of any
429 pause, as Unix times. `acquire()` reserves a slot in one short transaction (a row lock on
PostgreSQL, the write lock on SQLite) and then sleeps until that slot *outside* the transaction,
so a waiting process never holds a lock. Slots are spaced 60/limit seconds apart (a generic cell
rate algorithm): however many processes ask, no more than `limit` requests a minute leave this
deployment, plus at most `burst - 1` sent early after an idle spell.

`pause(seconds)` (the API answered 429 with Retry-After) moves the next slot and the pause end
forward for everyone; a process already sleeping towards an earlier slot checks the pause when it
wakes and queues again.

Settings (read on every call, so a change needs no restart of the cached client):
SHIPENGINE_RATE_LIMIT_PER_MINUTE (default 200, the API's default) and SHIPENGINE_RATE_LIMIT_BURST
(default 1). If the table is missing (before `migrate`), the limit is kept per process and a warning
is logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, transaction

from ..models import RateLimitState

logger = logging.getLogger("shiptrack.ratelimit")

LIMITER_NAME = "shipengine"


def _per_minute() -> float:
    return max(1.0, float(settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE))


def _burst() -> int:
    return max(1, int(settings.SHIPENGINE_RATE_LIMIT_BURST))


def reserve(
    next_slot: float, paused_until: float, now: float, interval: float, burst: int
) -> tuple[float, float]:
    """The slot for one request and the next free slot after it (pure; tested on its own)."""
    tolerance = (burst - 1) * interval
    slot = max(now, next_slot - tolerance, paused_until)
    return slot, max(next_slot, slot) + interval


class SharedRateLimiter:
    """Implements shipengine.RateLimiter against the database row named `name`."""

    def __init__(
        self,
        name: str = LIMITER_NAME,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._local = _LocalState()
        self._warned = False
        #: Seconds this process spent waiting for slots (observability and benchmarks).
        self.waited = 0.0

    # -- shipengine.RateLimiter --------------------------------------------------------------
    def acquire(self) -> None:
        while True:
            slot = self._reserve()
            delay = slot - self._clock()
            if delay <= 0:
                return
            self._sleep(delay)
            self.waited += delay
            # A 429 during the sleep moved the pause past our slot: queue again behind it.
            if self._paused_until() <= self._clock():
                return

    def pause(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        until = self._clock() + seconds
        logger.warning("shipengine rate limit: pausing every process for %.1fs (429)", seconds)
        try:
            with transaction.atomic():
                state = self._locked_row()
                state.paused_until = max(state.paused_until, until)
                state.next_slot = max(state.next_slot, until)
                state.save(update_fields=["paused_until", "next_slot"])
        except DatabaseError:
            self._fallback_warning()
            self._local.pause(until)

    # -- machinery ---------------------------------------------------------------------------
    def _locked_row(self) -> RateLimitState:
        state = RateLimitState.objects.select_for_update().filter(name=self.name).first()
        if state is None:
            RateLimitState.objects.get_or_create(name=self.name)
            state = RateLimitState.objects.select_for_update().get(name=self.name)
        return state

    def _reserve(self) -> float:
        interval = 60.0 / _per_minute()
        burst = _burst()
        try:
            with transaction.atomic():
                state = self._locked_row()
                slot, state.next_slot = reserve(
                    state.next_slot, state.paused_until, self._clock(), interval, burst
                )
                state.save(update_fields=["next_slot"])
                return slot
        except DatabaseError:
            self._fallback_warning()
            return self._local.reserve(self._clock(), interval, burst)

    def _paused_until(self) -> float:
        try:
            value = (
                RateLimitState.objects.filter(name=self.name)
                .values_list("paused_until", flat=True)
                .first()
            )
        except DatabaseError:
            return self._local.paused_until
        return value or 0.0

    def _fallback_warning(self) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "shipengine rate limit: the database table is unavailable (run migrate); "
                "limiting per process only"
            )

    def reset(self) -> None:
        """Forget all reservations and pauses (tests, benchmarks)."""
        RateLimitState.objects.filter(name=self.name).delete()
        self._local = _LocalState()
        self.waited = 0.0


class _LocalState:
    """The same algorithm in one process, for when the database cannot be used."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_slot = 0.0
        self.paused_until = 0.0

    def reserve(self, now: float, interval: float, burst: int) -> float:
        with self.lock:
            slot, self.next_slot = reserve(self.next_slot, self.paused_until, now, interval, burst)
            return slot

    def pause(self, until: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, until)
            self.next_slot = max(self.next_slot, until)


_shared: SharedRateLimiter | None = None
_shared_lock = threading.Lock()


def shared_rate_limiter() -> SharedRateLimiter:
    """The process's limiter object; the limit itself lives in the database."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedRateLimiter()
        return _shared
