"""One ShipEngine rate limit shared by every worker and web process.

The state is one database row (`RateLimitState`): the next free request slot and the end of any
429 pause, as Unix times. `acquire()` reserves a slot in one short transaction (a row lock on
PostgreSQL, the write lock on SQLite) and then sleeps until that slot *outside* the transaction,
so a waiting process never holds a lock. Slots are spaced 60/limit seconds apart (a generic cell
rate algorithm): however many processes ask, no more than `limit` requests a minute leave this
deployment, plus at most `burst - 1` sent early after an idle spell.

`pause(seconds)` (the API answered 429 with Retry-After) moves the next slot and the pause end
forward for everyone; a process already sleeping towards an earlier slot checks the pause when it
wakes and queues again. A pause is never longer than SHIPENGINE_MAX_PAUSE_SECONDS (also when the
row already holds a longer or absurd one: it is clamped when read), and `acquire(max_wait)` never
waits longer than its caller may: a page (or a worker) whose slot is further away than that gets
`RateLimited` ("ShipEngine asked us to slow down, try again in N s") at once, with nothing sent and
no slot used up. Waits end early when the process is stopping (services/stopping.py).

Settings (read on every call, so a change needs no restart of the cached client):
SHIPENGINE_RATE_LIMIT_PER_MINUTE (default 200, the API's default) and SHIPENGINE_RATE_LIMIT_BURST
(default 1). If the table is missing (before `migrate`), the limit is kept per process and a warning
is logged once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, transaction

from ..models import RateLimitState
from ..shipengine import RateLimited
from . import stopping

logger = logging.getLogger("shiptrack.ratelimit")

LIMITER_NAME = "shipengine"


def _per_minute() -> float:
    return max(1.0, float(settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE))


def _burst() -> int:
    return max(1, int(settings.SHIPENGINE_RATE_LIMIT_BURST))


def _max_pause() -> float:
    return max(0.0, float(settings.SHIPENGINE_MAX_PAUSE_SECONDS))


def clamp(value: float, now: float, max_pause: float) -> float:
    """A stored time no further ahead than `max_pause` (a NaN or infinity counts as now)."""
    if not math.isfinite(value):
        return now
    return min(value, now + max_pause)


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
        sleep: Callable[[float], None] = stopping.sleep,
    ) -> None:
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._local = _LocalState()
        self._warned = False
        #: Seconds this process spent waiting for slots (observability and benchmarks).
        self.waited = 0.0

    # -- shipengine.RateLimiter --------------------------------------------------------------
    def acquire(self, max_wait: float | None = None) -> None:
        while True:
            slot = self._reserve(max_wait)
            delay = slot - self._clock()
            if delay <= 0:
                return
            self._sleep(delay)
            self.waited += delay
            if max_wait is not None:
                max_wait -= delay
            # A 429 during the sleep moved the pause past our slot: queue again behind it.
            if self._paused_until() <= self._clock():
                return

    def paused_for(self) -> float:
        """Seconds until the shared pause ends (0: none), clamped like every read of it."""
        now = self._clock()
        return max(0.0, clamp(self._paused_until(), now, _max_pause()) - now)

    def pause(self, seconds: float) -> None:
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds <= 0:
            return
        seconds = min(seconds, _max_pause())
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

    def _reserve(self, max_wait: float | None = None) -> float:
        interval = 60.0 / _per_minute()
        burst = _burst()
        max_pause = _max_pause()
        refused: float | None = None
        try:
            with transaction.atomic():
                state = self._locked_row()
                now = self._clock()
                # A pause stored longer (or absurd: 1e308, NaN) is clamped, and the row healed.
                paused_until = clamp(state.paused_until, now, max_pause)
                next_slot = clamp(state.next_slot, now, max_pause + 60.0)
                slot, following = reserve(next_slot, paused_until, now, interval, burst)
                if max_wait is not None and slot - now > max_wait:
                    refused = slot - now  # no slot taken: nothing will be sent
                    following = next_slot
                state.paused_until, state.next_slot = paused_until, following
                state.save(update_fields=["paused_until", "next_slot"])
        except DatabaseError:
            self._fallback_warning()
            return self._local.reserve(self._clock(), interval, burst, max_wait, max_pause)
        if refused is not None:
            raise RateLimited(refused)
        return slot

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

    def reserve(
        self, now: float, interval: float, burst: int, max_wait: float | None, max_pause: float
    ) -> float:
        with self.lock:
            paused_until = clamp(self.paused_until, now, max_pause)
            slot, following = reserve(self.next_slot, paused_until, now, interval, burst)
            if max_wait is not None and slot - now > max_wait:
                raise RateLimited(slot - now)
            self.next_slot = following
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
