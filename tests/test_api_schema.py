"""schemathesis against our own OpenAPI schema: generated requests (valid and invalid, bounded
per operation so CI stays fast) through the WSGI app; every answer must match the schema
(status documented, body shape, content type) and none may be a 500."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from shiptrack.wsgi import application
from tests.api_support import make_shipment
from tracking.services import api_keys, throttling

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

#: Examples per operation: enough to reach every status, small enough for CI (a few seconds).
#: A deeper look by hand: SCHEMATHESIS_EXAMPLES=300 bash scripts/test tests/test_api_schema.py
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture
def bearer(db, settings) -> Iterator[str]:
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    throttling.reset()
    for number in ("1Z999AA10123456784", "794698432183"):
        make_shipment(number, "ups" if number.startswith("1Z") else "fedex")
    # As django.test.Client does: the end of a request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield api_keys.create_key(name="schemathesis", scopes=["read", "write"]).raw
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, bearer):
    # Valid-by-schema input may still be refused for reasons a schema cannot say (a tracking
    # number whose format names no carrier, an unknown carrier code): 422 is right there.
    excluded = [positive_data_acceptance]
    if case.operation.path == "/api/v1/shipments/bulk":
        # By design a bad item is that item's error inside a 200, never a refusal of the lot.
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers={"Authorization": f"Bearer {bearer}"}, excluded_checks=excluded)
