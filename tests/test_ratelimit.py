"""The shared rate limit: one database row, slots spaced 60/limit seconds, 429 pauses everyone."""

import itertools
import queue
import threading
import time

import pytest
from django.db import OperationalError

from tests.concurrency import run_concurrently
from tests.conftest import EPOCH, make_client
from tracking.models import RateLimitState
from tracking.sandbox import Sandbox, serve_in_thread, transport
from tracking.services import api_client
from tracking.services.api_rate_limit import SharedRateLimiter, reserve
from tracking.shipengine import ApiError


class FakeTime:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_reserve_spaces_requests_evenly():
    slot, nxt = reserve(0.0, 0.0, 100.0, 0.5, 1)
    assert (slot, nxt) == (100.0, 100.5)
    slot, nxt = reserve(nxt, 0.0, 100.0, 0.5, 1)
    assert (slot, nxt) == (100.5, 101.0)


def test_reserve_allows_a_burst_after_idling_but_no_more():
    nxt = 0.0
    slots = []
    for _ in range(5):
        slot, nxt = reserve(nxt, 0.0, 100.0, 1.0, 3)
        slots.append(slot)
    assert slots == [100.0, 100.0, 100.0, 101.0, 102.0]


def test_reserve_waits_for_a_pause():
    slot, nxt = reserve(0.0, 130.0, 100.0, 1.0, 5)
    assert slot == 130.0
    assert nxt == 131.0


@pytest.mark.django_db
def test_acquire_sleeps_until_its_slot(settings):
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 60
    settings.SHIPENGINE_RATE_LIMIT_BURST = 1
    t = FakeTime()
    limiter = SharedRateLimiter("t1", clock=t.clock, sleep=t.sleep)
    for _ in range(4):
        limiter.acquire()
    assert t.sleeps == [1.0, 1.0, 1.0]
    assert limiter.waited == pytest.approx(3.0)


@pytest.mark.django_db
def test_two_processes_share_one_limit(settings):
    """Two limiter objects (as in two processes) draw from the same row."""
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 120
    t = FakeTime()
    a = SharedRateLimiter("shared", clock=t.clock, sleep=lambda s: None)
    b = SharedRateLimiter("shared", clock=t.clock, sleep=lambda s: None)
    slots = [a._reserve(), b._reserve(), a._reserve(), b._reserve()]
    assert [s - t.now for s in slots] == [0.0, 0.5, 1.0, 1.5]
    assert RateLimitState.objects.get(name="shared").next_slot == pytest.approx(t.now + 2.0)


@pytest.mark.django_db
def test_pause_holds_every_process(settings):
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 600
    t = FakeTime()
    a = SharedRateLimiter("p", clock=t.clock, sleep=t.sleep)
    b = SharedRateLimiter("p", clock=t.clock, sleep=t.sleep)
    a.acquire()
    a.pause(30)
    b.acquire()
    assert sum(t.sleeps) == pytest.approx(30.0)
    state = RateLimitState.objects.get(name="p")
    assert state.paused_until == pytest.approx(1_000_030.0)


@pytest.mark.django_db
def test_a_pause_during_the_wait_queues_again(settings):
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 60
    t = FakeTime()
    other = SharedRateLimiter("q", clock=t.clock, sleep=lambda s: None)

    def sleep(seconds: float) -> None:
        t.sleep(seconds)
        if len(t.sleeps) == 1:
            other.pause(10)  # a 429 elsewhere while we wait

    limiter = SharedRateLimiter("q", clock=t.clock, sleep=sleep)
    limiter.acquire()  # slot now
    limiter.acquire()  # slot +1 s, but the pause moves everyone to +11 s
    assert t.now >= 1_000_011.0


@pytest.mark.django_db
def test_without_the_table_the_limit_is_kept_per_process(settings, monkeypatch, caplog):
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 60
    t = FakeTime()
    limiter = SharedRateLimiter("gone", clock=t.clock, sleep=t.sleep)

    def broken(self):
        raise OperationalError("no such table: tracking_ratelimitstate")

    monkeypatch.setattr(SharedRateLimiter, "_locked_row", broken)
    monkeypatch.setattr(
        RateLimitState.objects, "filter", lambda **kw: (_ for _ in ()).throw(OperationalError())
    )
    limiter.acquire()
    limiter.acquire()
    limiter.pause(5)
    limiter.acquire()
    assert t.sleeps == [1.0, 5.0]
    assert "limiting per process only" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_threads_never_exceed_the_limit(settings):
    """Real time, real threads, separate database connections: 4 x 6 requests at 1,200 a minute
    (one every 50 ms). The slots handed out are all distinct and at least 50 ms apart (the
    guarantee; when a request then leaves depends on the OS scheduler), and no thread returns
    before its slot, so the 24 requests take at least 23 intervals."""
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 1200
    settings.SHIPENGINE_RATE_LIMIT_BURST = 1
    slots: list[float] = []
    early: list[float] = []  # a thread let through before its slot
    lock = threading.Lock()

    class Recording(SharedRateLimiter):
        last = 0.0

        def _reserve(self, max_wait=None) -> float:
            self.last = super()._reserve(max_wait)
            with lock:
                slots.append(self.last)
            return self.last

    def work() -> None:
        limiter = Recording("threads")
        for _ in range(6):
            limiter.acquire()
            if time.time() < limiter.last - 0.001:
                early.append(limiter.last)

    started = time.time()
    run_concurrently(work, 4)
    slots.sort()
    assert len(slots) == 24
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 0.05 - 1e-5, gaps
    assert early == []
    assert time.time() - started >= 23 * 0.05 - 0.01
    assert slots[-1] - slots[0] == pytest.approx(23 * 0.05, abs=1e-4)


@pytest.mark.django_db
def test_a_429_from_the_api_pauses_the_shared_limit(settings):
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 600_000
    sandbox = Sandbox(retry_after=2)
    limiter = SharedRateLimiter("api")
    with serve_in_thread(sandbox) as base:
        client = make_client(base, limiter=limiter, max_attempts=1)
        before = time.time()
        with pytest.raises(ApiError) as caught:
            client.get_tracking("ups", "FAULT-429")
        assert caught.value.http_status == 429
    state = RateLimitState.objects.get(name="api")
    assert state.paused_until >= before + 2 - 0.01
    assert state.next_slot >= state.paused_until


@pytest.mark.django_db
def test_sandbox_enforced_limit_sees_no_429_through_the_limiter(settings):
    """The sandbox enforces 600 a minute; 15 calls through the shared limiter get no 429, while
    the same calls without it do."""
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 600
    sandbox = Sandbox(rate_limit_per_minute=600, rate_limit_burst=2)
    with serve_in_thread(sandbox) as base:
        limited = make_client(base, limiter=SharedRateLimiter("sbx"), max_attempts=1)
        for _ in range(15):
            limited.get_tracking("ups", "1Z999AA10123456784")
        assert sandbox.rate_limited == 0
        unlimited = make_client(base, max_attempts=1)
        with pytest.raises(ApiError):
            for _ in range(15):
                unlimited.get_tracking("ups", "1Z999AA10123456784")
        assert sandbox.rate_limited >= 1


@pytest.mark.django_db(transaction=True)
def test_the_background_and_the_interactive_client_share_one_limit(settings):
    """The clients the services get (a worker's, and a page's with its short retry budget) take
    their turns from the one shared limit: used at the same time from two threads, together they
    stay within it. The in-process sandbox enforces the same limit, so a client that went around
    the shared limiter would be answered 429."""
    settings.SHIPENGINE_RATE_LIMIT_PER_MINUTE = 600  # one request every 100 ms
    settings.SHIPENGINE_RATE_LIMIT_BURST = 1
    # The judge lets a request come up to 300 ms early: a thread that wakes late from its wait
    # bunches the requests after it (a busy machine), but two clients going at the limit each
    # are caught within 12 requests.
    judge = Sandbox(epoch=EPOCH, rate_limit_per_minute=600, rate_limit_burst=4)
    transport._default_sandbox = judge  # the sandbox the clients are built on (reset after)
    background = api_client.get_client()
    interactive = api_client.get_client(interactive=True)
    assert background is not interactive
    assert background.config.retry_budget > interactive.config.retry_budget
    clients: queue.SimpleQueue = queue.SimpleQueue()
    clients.put(background)
    clients.put(interactive)

    def six_calls() -> list[str]:
        client = clients.get_nowait()
        return [client.get_tracking("ups", "1Z999AA10123456784").status_code for _ in range(6)]

    started = time.monotonic()
    answers = run_concurrently(six_calls, 2)
    assert answers == [["AC"] * 6] * 2
    assert judge.rate_limited == 0
    assert time.monotonic() - started >= 11 * 0.1 - 0.01  # 12 requests, 11 intervals at least
