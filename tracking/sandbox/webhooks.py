"""The sandbox's webhook registrations (/v1/environment/webhooks, checked like the real API checks
them) and its signed deliveries of API_TRACK updates to them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from .answers import SandboxResponse, error, json_response, no_content

DEFAULT_RESOURCE_BASE = "https://api.shipengine.com"
#: The spec's webhook_event values.
EVENTS = frozenset(
    {
        "batch",
        "carrier_connected",
        "order_source_refresh_complete",
        "rate",
        "report_complete",
        "sales_orders_imported",
        "track",
    }
)


def track_webhook_body(carrier_code: str, number: str, data: Mapping[str, Any]) -> bytes:
    resource_url = (
        f"{DEFAULT_RESOURCE_BASE}/v1/tracking?carrier_code={quote(carrier_code)}"
        f"&tracking_number={quote(number)}"
    )
    return json.dumps(
        {"resource_url": resource_url, "resource_type": "API_TRACK", "data": dict(data)}
    ).encode()


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and " " not in value


def _headers_problem(value: Any) -> str:
    if not isinstance(value, list):
        return "headers must be a list of {key, value} objects"
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or not isinstance(item.get("value"), str)
            or not item["key"]
        ):
            return "every header needs a string key and a string value"
    return ""


#: The fields the spec allows (additionalProperties: false): event is fixed once created.
_CREATE_FIELDS = frozenset({"event", "url", "headers", "name", "store_id"})
_UPDATE_FIELDS = _CREATE_FIELDS - {"event"}
_INT32 = range(-(2**31), 2**31)


def _is_int32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in _INT32


class WebhookRegistry:
    """Registered webhooks, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hooks: list[dict[str, Any]] = []
        self._next_id = 900001

    def _problem(self, data: Any, *, partial: bool) -> SandboxResponse | None:
        if not isinstance(data, dict):
            return error(400, "request_body_required", "The request body must be a JSON object.")
        if (not partial or "url" in data) and not _is_url(data.get("url")):
            return error(
                400, "invalid_field_value", "url must be an http(s) URL.", field_name="url"
            )
        if (not partial or "event" in data) and not (
            isinstance(data.get("event"), str) and data["event"] in EVENTS
        ):
            return error(
                400, "invalid_field_value", "event is not a webhook event.", field_name="event"
            )
        problem = _headers_problem(data["headers"]) if "headers" in data else ""
        if problem:
            return error(400, "invalid_field_value", problem, field_name="headers")
        if "name" in data and not isinstance(data["name"], str):
            return error(400, "invalid_field_value", "name must be text.", field_name="name")
        if "store_id" in data and not _is_int32(data["store_id"]):
            return error(
                400,
                "invalid_field_value",
                "store_id must be a 32-bit integer.",
                field_name="store_id",
            )
        allowed = _UPDATE_FIELDS if partial else _CREATE_FIELDS
        unknown = sorted(set(data) - allowed)
        if unknown:
            return error(
                400,
                "invalid_field_value",
                f"{unknown[0]} is not a webhook field.",
                field_name=unknown[0],
            )
        return None

    def create(self, body: bytes) -> SandboxResponse:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return error(400, "request_body_required", "The request body is not valid JSON.")
        problem = self._problem(data, partial=False)
        if problem is not None:
            return problem
        with self._lock:
            if any(w["event"] == data["event"] and w["url"] == data["url"] for w in self.hooks):
                return error(
                    409,
                    "webhook_event_type_conflict",
                    "A webhook for this event and URL already exists.",
                    error_type="business_rules",
                )
            hook = {"webhook_id": f"se-{self._next_id}", "url": data["url"], "event": data["event"]}
            self._next_id += 1
            for name in ("name", "headers", "store_id"):
                if data.get(name) is not None:
                    hook[name] = data[name]
            self.hooks.append(hook)
        return json_response(200, hook)

    def listing(self) -> SandboxResponse:
        with self._lock:
            return json_response(200, list(self.hooks))

    def _find(self, webhook_id: str) -> dict[str, Any] | None:
        return next((w for w in self.hooks if w["webhook_id"] == webhook_id), None)

    def one(self, method: str, webhook_id: str, body: bytes) -> SandboxResponse:
        with self._lock:
            hook = self._find(webhook_id)
            if hook is None:
                return error(404, "invalid_identifier", f"Webhook '{webhook_id}' was not found.")
            if method == "GET":
                return json_response(200, hook)
            if method == "DELETE":
                self.hooks.remove(hook)
                return no_content()
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return error(400, "request_body_required", "The request body is not valid JSON.")
            problem = self._problem(data, partial=True)
            if problem is not None:
                return problem
            for name in ("url", "headers", "name", "store_id"):
                if name in data:
                    hook[name] = data[name]
            return no_content()

    def deliver(
        self,
        body: bytes,
        *,
        sign: Callable[[bytes], dict[str, str]],
        url: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> list[int]:
        """POST `body` signed to `url`, or to every registered `track` webhook (with its custom
        headers). Returns the HTTP status of each delivery (0: no answer)."""
        with self._lock:
            targets = (
                [{"url": url, "headers": []}]
                if url
                else [dict(w) for w in self.hooks if str(w.get("event", "")).lower() == "track"]
            )
        http = session or requests.Session()
        statuses = []
        for hook in targets:
            headers = {"Content-Type": "application/json", **sign(body)}
            for item in hook.get("headers") or []:
                if isinstance(item, Mapping) and item.get("key"):
                    headers[str(item["key"])] = str(item.get("value", ""))
            try:
                response = http.post(str(hook["url"]), data=body, headers=headers, timeout=timeout)
                statuses.append(response.status_code)
            except requests.RequestException:
                statuses.append(0)
        return statuses
