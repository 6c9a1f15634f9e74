import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from django.conf import settings

from tests.apiserver import ApiServer
from tracking.sandbox import Sandbox, serve_in_thread
from tracking.shipengine import ClientConfig, ShipEngineClient

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED_DIR = SHARED / "seed"
OPENAPI = SHARED / "contracts" / "shipengine-openapi.yaml"
# The seed's example answer, verbatim, as the sandbox serves it, and the seed's carrier table: the
# repo's copies of ../shared/seed/ files (tests/test_contracts.py checks they still match).
SEED_EXAMPLE = ROOT / "tracking" / "sandbox" / "seed_example.json"
SEED_CARRIERS = ROOT / "tests" / "data" / "supported-carriers.csv"
EPOCH = datetime.fromisoformat(settings.SHIPENGINE_SANDBOX_EPOCH)  # see test_settings

# pytest-playwright's session-scoped Playwright keeps an event loop in the test thread from the
# first browser test to the end of the session (in random order, any test may come after one).
# Django refuses ORM calls from a thread with an event loop unless told it is safe, which it is
# here: every test calls the ORM from synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# .ci/run sets CI=true: there, whatever the suite needs from the machine must be present.
CI = os.environ.get("CI") == "true"


def require_or_skip(condition: object, reason: str) -> None:
    """For a test that needs something from its environment (a browser, ../shared, a database):
    skip when it is missing, except under CI=true, where a missing requirement fails the test. A
    CI run that quietly skipped its browser or contract tests would prove nothing."""
    if condition:
        return
    if CI:
        pytest.fail(
            f"{reason} (CI=true: a missing requirement fails instead of skipping)", pytrace=False
        )
    pytest.skip(reason)


def require_postgres() -> None:
    """For PostgreSQL-only tests. On another database they skip (the SQLite run is not missing
    anything), unless DATABASE_URL is set under CI=true: that is .ci/run's PostgreSQL step, and
    a test database that is not PostgreSQL there means the step tests the wrong thing."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    if os.environ.get("DATABASE_URL"):
        require_or_skip(
            False,
            f"DATABASE_URL is set, but the test database is {connection.vendor}, not PostgreSQL",
        )
    pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres_only"):
        require_postgres()


@pytest.fixture
def staff_user(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("agent", password="pw-agent-123", is_staff=True)


@pytest.fixture
def staff_client(client, staff_user):
    """A client logged in as a staff user (customer service, not an admin)."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def seed_example() -> dict:
    """The seed's example answer (a fresh copy per test: tests change it)."""
    return json.loads(SEED_EXAMPLE.read_text())


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(epoch=EPOCH, clock=lambda: EPOCH)


@pytest.fixture
def sandbox_url(sandbox: Sandbox) -> Iterator[str]:
    """A real HTTP server on loopback speaking the API's URLs."""
    with serve_in_thread(sandbox, stall_seconds=3) as url:
        yield url


def make_client(base_url: str, **overrides) -> ShipEngineClient:
    config = ClientConfig(
        api_key=overrides.pop("api_key", "test-key"),
        base_url=base_url,
        connect_timeout=overrides.pop("connect_timeout", 2.0),
        read_timeout=overrides.pop("read_timeout", 2.0),
        max_attempts=overrides.pop("max_attempts", 4),
        retry_budget=overrides.pop("retry_budget", 10.0),
        backoff_base=overrides.pop("backoff_base", 0.01),
        backoff_cap=overrides.pop("backoff_cap", 0.05),
    )
    return ShipEngineClient(config, **overrides)


@pytest.fixture
def api(sandbox_url: str) -> ShipEngineClient:
    return make_client(sandbox_url)


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[ApiServer]:
    """pytest-httpserver's server, threaded (a slow answer must not hold up the next request),
    one per test process (replaces the plugin's fixture of the same name)."""
    server = ApiServer()
    server.start()
    yield server
    server.reset()
    server.stop()


@pytest.fixture
def httpserver(make_httpserver: ApiServer) -> Iterator[ApiServer]:
    """The scripted API server, empty; after the test, a request that no script answered (or an
    error in a script) fails it."""
    server = make_httpserver
    server.reset()
    try:
        yield server
        server.check_assertions()
        server.check_handler_errors()
    finally:
        server.reset()


def _reset_process_state() -> None:
    """Forget what one test left in module-level state, so that tests pass in any order (the
    suite runs in random order, pytest-randomly): the cached API clients, the in-process default
    sandbox (its registered webhooks, subscriptions and rate counters), the webhook signing keys,
    the shared rate limiter's per-process fallback state, and the cache."""
    from django.core.cache import caches
    from django.utils import translation

    from tracking.sandbox import transport
    from tracking.services import api_client, api_rate_limit, inbound_webhooks

    api_client.reset_clients()
    with transport._default_lock:
        transport._default_sandbox = None
    inbound_webhooks.jwks_cache.clear()
    limiter = api_rate_limit._shared
    if limiter is not None:
        limiter._local = api_rate_limit._LocalState()
        limiter._warned = False
        limiter.waited = 0.0
    for cache in caches.all(initialized_only=True):
        cache.clear()
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture(autouse=True)
def _carrier_seed_after_flush(request: pytest.FixtureRequest) -> None:
    """A transactional test (transaction=True, live_server) empties every table when it ends, the
    carrier seed of migration 0002 included. Put the seed back for the database tests that come
    after it, whatever order they run in: pytest-django runs the transactional ones last in a
    worker, but a worker of `--dist worksteal` can be handed tests of either kind after them. A
    transactional test gets the seed back for good; any other one inside its own transaction
    (rolled back with it: the next one checks again). The flush's DELETEs also fire the
    status-tally triggers (models/search.py), which can leave -1 rows behind for shipments that
    are gone: with no shipment left, no tally row is true."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    transactional = bool({"live_server", "transactional_db"} & names) or bool(
        marker and marker.kwargs.get("transaction")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker or "db" in names:
        request.getfixturevalue("db")
    else:
        return
    import importlib

    from django.apps import apps

    from tracking.models import Carrier, Shipment, ShipmentTally

    if not Carrier.objects.exists():
        importlib.import_module("tracking.migrations.0002_seed_carriers").load(apps, None)
    if not Shipment.objects.exists():
        ShipmentTally.objects.all().delete()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """pytest-django deletes this process's SQLite test database at the end, but connections
    that outlive it (the live server's threads) leave its -wal and -shm files behind in var/,
    tens of megabytes a run: remove this process's leftovers."""
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if not test_name or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return
    for leftover in Path(test_name).parent.glob(f"{Path(test_name).name}*"):
        if leftover.name.endswith(("-wal", "-shm")):
            database = leftover.with_name(leftover.name[: -len("-wal")])
            if not database.exists():
                leftover.unlink(missing_ok=True)
