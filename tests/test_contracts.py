"""The repo's copies of the shared contracts still match them: the tests read the copies, so that
a clone of this repository alone runs every test, and these tests say when ../shared moved on.

The shared directory sits next to the repository (`../shared`). Without it these tests skip, and
fail under CI=true (tests/conftest.py, `require_or_skip`). The OpenAPI contract tests in
test_sandbox.py read ../shared/contracts/ directly, the same way."""

from pathlib import Path

import pytest

from tests.conftest import SEED_CARRIERS, SEED_DIR, SEED_EXAMPLE, require_or_skip
from tracking import sandbox


@pytest.mark.parametrize(
    ("copy", "shared"),
    [
        (SEED_EXAMPLE, SEED_DIR / "example-tracking-response.json"),
        (SEED_CARRIERS, SEED_DIR / "supported-carriers.csv"),
    ],
    ids=["example-tracking-response", "supported-carriers"],
)
def test_repo_copy_equals_the_shared_seed(copy: Path, shared: Path):
    require_or_skip(shared.is_file(), f"{shared} is absent: the shared contracts live in ../shared")
    assert copy.read_bytes() == shared.read_bytes(), f"{copy} differs from {shared}"


def test_the_fixture_is_what_the_sandbox_serves(seed_example):
    assert seed_example == sandbox.seed_example()
