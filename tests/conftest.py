import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracking.sandbox import Sandbox, serve_in_thread
from tracking.shipengine import ClientConfig, ShipEngineClient

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED_DIR = SHARED / "seed"
OPENAPI = SHARED / "contracts" / "shipengine-openapi.yaml"
EPOCH = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # the sandbox epoch in test_settings


@pytest.fixture
def seed_example() -> dict:
    path = SEED_DIR / "example-tracking-response.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the seed's example answer lives in ../shared/seed/")
    return json.loads(path.read_text())


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(epoch=EPOCH, clock=lambda: EPOCH)


@pytest.fixture
def sandbox_url(sandbox: Sandbox) -> Iterator[str]:
    """A real HTTP server on loopback speaking the API's URLs."""
    yield from serve_in_thread(sandbox, stall_seconds=3)


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
