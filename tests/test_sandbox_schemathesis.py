"""schemathesis against the official ShipEngine definition, for every operation the sandbox serves:
generated requests (valid and invalid, bounded so CI stays fast) to the sandbox's HTTP server;
every answer must match the definition (a documented status, the body's schema, the content
type), none may be a 5xx, and invalid input must be refused.

The definition is used as published except where it cannot describe any real answer (each change
below says why); the one deliberate difference of the sandbox's own is the seed document's answer,
served verbatim (see test_sandbox.py: it breaks the schema exactly where the real API does).
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import EPOCH, OPENAPI
from tests.test_sandbox import real_api_components
from tracking.sandbox import SEED_NUMBER, Sandbox, make_server

pytestmark = pytest.mark.slow

OPERATIONS = (
    "get_tracking_log",
    "get_tracking_log_from_label",
    "get_label_by_id",
    "list_carriers",
    "get_carrier_by_id",
    "start_tracking",
    "stop_tracking",
    "list_webhooks",
    "create_webhook",
    "get_webhook_by_id",
    "update_webhook",
    "delete_webhook",
)
EXAMPLES = 20
API_KEY = "TEST_schemathesis"
# Response bodies the definition closes with additionalProperties: false next to an allOf: in
# JSON Schema that rejects every property, so no real answer could pass. They are opened (the
# schema they refer to stays closed, so extra fields are still caught there).


@functools.cache
def definition() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(OPENAPI.read_text(), Loader=loader)
    spec = copy.deepcopy(spec)
    spec["components"] = real_api_components(spec["components"])
    schemas = spec["components"]["schemas"]
    for name, schema in list(schemas.items()):
        if (
            isinstance(schema, dict)
            and "allOf" in schema
            and schema.get("additionalProperties") is False
        ):
            schemas[name] = {k: v for k, v in schema.items() if k != "additionalProperties"}
    # get_carriers_response_body is an allOf of two closed schemas, which no body can satisfy:
    # one closed schema with the properties of both says what the definition means.
    parts = [
        schemas[ref["$ref"].rsplit("/", 1)[1]]
        for ref in schemas["get_carriers_response_body"]["allOf"]
    ]
    schemas["get_carriers_response_body"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: v for part in parts for k, v in part.get("properties", {}).items()},
    }
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            # The security scheme says a missing or wrong key gets 401; no operation lists it.
            operation["responses"].setdefault(
                "401",
                {
                    "description": "The API key is missing or wrong.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/error_response_body"}
                        }
                    },
                },
            )
    # The example webhook URL ("https://[YOUR ENDPOINT ID].x.requestbin.com") is no URL.
    text = yaml.safe_dump(spec).replace("[YOUR ENDPOINT ID].x.requestbin.com", "hooks.example.com")
    return yaml.safe_load(text)


_server_lock = threading.Lock()
_server: dict[str, str] = {}


def sandbox_url() -> str:
    with _server_lock:
        if "url" not in _server:
            server = make_server(Sandbox(epoch=EPOCH, api_key=API_KEY), stall_seconds=1)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            _server["url"] = f"http://127.0.0.1:{server.server_port}"
        return _server["url"]


def test_the_official_definition_is_here():
    # Without it the test below has nothing to run: that is a failure, not a pass.
    assert OPENAPI.exists(), f"{OPENAPI} is missing: the official definition lives in ../shared"


schema = (
    schemathesis.openapi.from_dict(definition())
    if OPENAPI.exists()
    else schemathesis.openapi.from_dict({"openapi": "3.0.0", "info": {}, "paths": {}})
).include(operation_id=list(OPERATIONS))


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_sandbox_answers_as_the_official_definition_says(case):
    if (case.query or {}).get("tracking_number") == SEED_NUMBER:
        # The definition's own example asks for the seed parcel, whose answer is the seed
        # document's, served verbatim (test_sandbox.py checks it breaks the schema only where
        # the real API does): here only that it is answered.
        assert case.call(base_url=sandbox_url(), headers={"API-Key": API_KEY}).status_code < 500
        return
    # A well-formed request for something the sandbox does not hold (a random label id, an
    # unknown webhook) is rightly a 404; the definition marks every parameter optional.
    case.call_and_validate(
        base_url=sandbox_url(),
        headers={"API-Key": API_KEY},
        excluded_checks=[positive_data_acceptance],
    )
