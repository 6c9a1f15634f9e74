"""How the sandbox answers: response objects and error bodies with the official spec's codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # never answer in time (a timeout)
    drip: float = 0.0  # seconds between bytes of the body (a slow drip that no read timeout sees)


def json_response(
    status: int, data: Any, headers: Mapping[str, str] | None = None
) -> SandboxResponse:
    return SandboxResponse(
        status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def no_content() -> SandboxResponse:
    # The spec's 204 answers name a content type for the (empty) body; text/plain, since an
    # empty body is no JSON document.
    return SandboxResponse(204, b"", {"Content-Type": "text/plain"})


def error_body(
    code: str,
    message: str,
    *,
    error_type: str = "validation",
    source: str = "shipengine",
    field_name: str = "",
) -> dict[str, Any]:
    """An error_response_body. `code` is one of the spec's error_code values."""
    error: dict[str, Any] = {
        "error_source": source,
        "error_type": error_type,
        "error_code": code,
        "message": message,
    }
    if field_name:
        error["field_name"] = field_name
    return {"request_id": str(uuid.uuid4()), "errors": [error]}


def error(status: int, code: str, message: str, **kwargs: Any) -> SandboxResponse:
    return json_response(status, error_body(code, message, **kwargs))
