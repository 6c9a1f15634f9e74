"""The simulator: answers ShipEngine's URLs with the demo journeys, faults on request, an
optional enforced rate limit, and webhook registrations it can deliver to."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from ..shipengine import webhook_signatures
from .journeys import generated_scenario, render_tracking
from .scenarios import FAULT_NUMBERS, LABELS, SCENARIOS, SEED_NUMBER, Scenario, seed_example

DEFAULT_RESOURCE_BASE = "https://api.shipengine.com"


@dataclass
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # never answer in time (a timeout)
    drip: float = 0.0  # seconds between bytes of the body (a slow drip that no read timeout sees)


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    return SandboxResponse(
        status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def error_body(
    code: str, message: str, *, error_type: str = "validation", source: str = "shipengine"
) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "errors": [
            {
                "error_source": source,
                "error_type": error_type,
                "error_code": code,
                "message": message,
            }
        ],
    }


SANDBOX_CARRIERS = [
    ("stamps_com", "se-100001", "Stamps.com", "ShipEngine Account - Stamps.com"),
    ("ups", "se-100002", "UPS", "Sandbox UPS"),
    ("fedex", "se-100003", "FedEx", "Sandbox FedEx"),
    ("dhl_express", "se-100004", "DHL Express", "Sandbox DHL Express"),
    ("canada_post", "se-100005", "Canada Post", "Sandbox Canada Post"),
    ("sandbox_courier", "se-100006", "Sandbox Courier", "Sandbox Courier (not in the seed table)"),
]


class Sandbox:
    """Answers ShipEngine URLs. Thread-safe; holds only webhook registrations and counters."""

    def __init__(
        self,
        *,
        epoch: datetime | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        api_key: str | None = None,
        fault_rate: float = 0.0,
        rng: random.Random | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        rate_limit_per_minute: float | None = None,
        rate_limit_burst: int = 5,
        retry_after: float = 1.0,
        slow_drip: bool = False,
        drip_seconds: float = 1.0,
        storm_every: float = 0.0,
        storm_seconds: float = 0.0,
    ) -> None:
        self.clock = clock
        self.epoch = epoch or clock()
        self.api_key = api_key  # when set, other keys get 401
        self.fault_rate = fault_rate
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self.webhooks: list[dict[str, Any]] = []
        self.subscriptions: set[tuple[str, str]] = set()
        # Webhook signing: the sandbox's own RSA key (made on first use unless given), its JWKS at
        # GET /jwks, and every delivery signed like ShipEngine's (see sign_webhook()).
        self._signing_key = signing_key
        # Optional enforcement of an API rate limit (GCRA: `rate_limit_burst` requests may arrive
        # early), answering 429 with Retry-After beyond it; `rate_limited` counts those answers.
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_burst = max(1, rate_limit_burst)
        self._rate_tat = 0.0
        self.rate_limited = 0
        # Retry-After (seconds) of simulated 429 faults; tests shorten it.
        self.retry_after = retry_after
        # Random faults include slow drips (one byte every `drip_seconds`) when asked.
        self.slow_drip = slow_drip
        self.drip_seconds = drip_seconds
        # 429 storms: for `storm_seconds` out of every `storm_every`, every request gets a 429
        # with Retry-After until the storm ends.
        self.storm_every = storm_every
        self.storm_seconds = storm_seconds
        self._started = time.monotonic()

    # -- entry point -------------------------------------------------------------------------
    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> SandboxResponse:
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if method == "GET" and path in {"/jwks", "/.well-known/jwks.json"}:
            return _json(200, self.jwks())  # public keys: no API key needed, never faulty
        key = next((v for k, v in headers.items() if k.lower() == "api-key"), "")
        if not key or (self.api_key is not None and key != self.api_key):
            return _json(
                401,
                error_body(
                    "unauthorized",
                    "The API key is invalid. Please use a valid API key.",
                    error_type="security",
                ),
            )
        limited = self._over_rate_limit() or self._storm()
        if limited is not None:
            return limited
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._random_fault()
        if method == "POST" and path == "/v1/sandbox/webhooks/deliver":
            return self._deliver_route(query)
        if method == "GET" and path == "/v1/tracking":
            return self._tracking(query.get("carrier_code", ""), query.get("tracking_number", ""))
        if method == "GET" and path.startswith("/v1/labels/") and path.endswith("/track"):
            return self._label(path.removeprefix("/v1/labels/").removesuffix("/track"))
        if method == "GET" and path == "/v1/carriers":
            return self._carriers()
        if method == "POST" and path in {"/v1/tracking/start", "/v1/tracking/stop"}:
            return self._subscribe(path.endswith("start"), query)
        if path == "/v1/environment/webhooks":
            if method == "POST":
                return self._create_webhook(body)
            if method == "GET":
                return _json(200, self.webhooks)
        return _json(
            404, error_body("not_found", f"No route for {method} {path}", error_type="system")
        )

    # -- routes ------------------------------------------------------------------------------
    def scenario_for(self, carrier_code: str, number: str) -> Scenario | None:
        number = "".join(number.split()).upper()
        if number in SCENARIOS:
            return SCENARIOS[number]
        if (
            len(number) < 6
            or len(number) > 64
            or not all(c.isalnum() or c in "-_." for c in number)
        ):
            return None
        return generated_scenario(carrier_code, number)

    def _tracking(self, carrier_code: str, number: str) -> SandboxResponse:
        if not carrier_code or not number:
            return _json(
                400,
                error_body("field_value_required", "carrier_code and tracking_number are required"),
            )
        normalized = "".join(number.split()).upper()
        if normalized in FAULT_NUMBERS:
            return self._fault(normalized)
        if normalized == SEED_NUMBER and carrier_code in {"stamps_com", "usps"}:
            return _json(200, seed_example())
        scenario = self.scenario_for(carrier_code, number)
        if scenario is None:
            return _json(
                404,
                error_body(
                    "invalid_identifier",
                    f"Tracking number '{number}' is not valid for carrier '{carrier_code}'.",
                ),
            )
        if scenario.carrier_code != carrier_code and normalized in SCENARIOS:
            scenario = Scenario(
                scenario.number,
                carrier_code,
                scenario.steps,
                scenario.eta_hours,
                scenario.exception,
            )
        return _json(200, render_tracking(scenario, epoch=self.epoch, now=self.clock()))

    def _label(self, label_id: str) -> SandboxResponse:
        number = LABELS.get(label_id.lower())
        if number is None:
            return _json(
                404, error_body("invalid_identifier", f"Label '{label_id}' was not found.")
            )
        if number == SEED_NUMBER:
            answer = seed_example()
            answer["carrier_code"] = "stamps_com"
            return _json(200, answer)
        return _json(200, render_tracking(SCENARIOS[number], epoch=self.epoch, now=self.clock()))

    def _carriers(self) -> SandboxResponse:
        carriers = [
            {
                "carrier_id": cid,
                "carrier_code": code,
                "account_number": f"sandbox_{code}",
                "nickname": nickname,
                "friendly_name": friendly,
                "primary": code == "stamps_com",
                "connection_status": "approved",
                "disabled_by_billing_plan": False,
            }
            for code, cid, friendly, nickname in SANDBOX_CARRIERS
        ]
        return _json(200, {"carriers": carriers, "request_id": str(uuid.uuid4()), "errors": []})

    def _subscribe(self, start: bool, query: Mapping[str, str]) -> SandboxResponse:
        pair = (query.get("carrier_code", ""), query.get("tracking_number", ""))
        if not all(pair):
            return _json(
                400,
                error_body("field_value_required", "carrier_code and tracking_number are required"),
            )
        with self._lock:
            (self.subscriptions.add if start else self.subscriptions.discard)(pair)
        return SandboxResponse(204)

    def _create_webhook(self, body: bytes) -> SandboxResponse:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _json(
                400, error_body("request_body_required", "The request body is not valid JSON.")
            )
        if not isinstance(data, dict) or not data.get("url") or not data.get("event"):
            return _json(400, error_body("field_value_required", "url and event are required"))
        with self._lock:
            if any(w["event"] == data["event"] and w["url"] == data["url"] for w in self.webhooks):
                return _json(
                    409,
                    error_body(
                        "webhook_event_type_conflict",
                        "A webhook for this event and URL already exists.",
                        error_type="business_rules",
                    ),
                )
            hook = {
                "webhook_id": f"se-{len(self.webhooks) + 900001}",
                "url": data["url"],
                "event": data["event"],
            }
            if data.get("name"):
                hook["name"] = data["name"]
            if data.get("headers"):
                hook["headers"] = data["headers"]
            self.webhooks.append(hook)
        return _json(200, hook)

    # -- faults ------------------------------------------------------------------------------
    def _fault(self, kind: str) -> SandboxResponse:
        if kind == "FAULT-429":
            return _json(
                429,
                error_body(
                    "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
                ),
                {"Retry-After": f"{self.retry_after:g}"},
            )
        if kind == "FAULT-500":
            return _json(
                500, error_body("unspecified", "An unexpected error occurred.", error_type="system")
            )
        if kind == "FAULT-TIMEOUT":
            return SandboxResponse(200, stall=True)
        if kind == "FAULT-DRIP":
            body = json.dumps(seed_example()).encode()
            return SandboxResponse(
                200, body, {"Content-Type": "application/json"}, drip=self.drip_seconds
            )
        if kind == "FAULT-BADJSON":
            return SandboxResponse(
                200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}
            )
        if kind == "FAULT-TRUNCATED":
            full = json.dumps(seed_example()).encode()
            return SandboxResponse(
                200, full[: len(full) // 2], {"Content-Type": "application/json"}
            )
        if kind == "FAULT-401":
            return _json(
                401,
                error_body(
                    "unauthorized",
                    "The API key is invalid. Please use a valid API key.",
                    error_type="security",
                ),
            )
        return _json(
            404,
            error_body(
                "invalid_identifier", "The tracking number was not found.", source="carrier"
            ),
        )

    def _storm(self) -> SandboxResponse | None:
        if not (self.storm_every and self.storm_seconds):
            return None
        into = (time.monotonic() - self._started) % self.storm_every
        if into >= self.storm_seconds:
            return None
        return _json(
            429,
            error_body(
                "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
            ),
            {"Retry-After": str(max(1, int(self.storm_seconds - into + 0.999)))},
        )

    # -- rate limit ----------------------------------------------------------------------------
    def _over_rate_limit(self) -> SandboxResponse | None:
        if not self.rate_limit_per_minute:
            return None
        interval = 60.0 / self.rate_limit_per_minute
        tolerance = (self.rate_limit_burst - 1) * interval
        now = time.monotonic()
        with self._lock:
            if now < self._rate_tat - tolerance:
                self.rate_limited += 1
                wait = self._rate_tat - tolerance - now
            else:
                self._rate_tat = max(self._rate_tat, now) + interval
                return None
        return _json(
            429,
            error_body(
                "rate_limit_exceeded", "You have exceeded the rate limit.", error_type="system"
            ),
            {"Retry-After": str(max(1, int(wait + 0.999)))},
        )

    # -- webhooks: signing and delivery ----------------------------------------------------------
    @property
    def signing_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._signing_key is None:
                self._signing_key = webhook_signatures.generate_signing_key()
            return self._signing_key

    @property
    def key_id(self) -> str:
        return webhook_signatures.key_id_for(self.signing_key.public_key())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [webhook_signatures.public_jwk(self.signing_key.public_key())]}

    def sign_webhook(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """ShipEngine's webhook signature headers: RSA-SHA256 (PKCS#1 v1.5) over
        "<x-shipengine-timestamp>.<raw body>", base64, with the key id of the JWKS entry."""
        timestamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return webhook_signatures.sign(self.signing_key, body, timestamp)

    def track_webhook_body(self, carrier_code: str, number: str) -> bytes:
        """An API_TRACK delivery for a package, as ShipEngine sends it to a `track` webhook."""
        answer = self._tracking(carrier_code, number)
        if answer.status != 200:
            raise ValueError(f"No tracking answer for {carrier_code} {number}: {answer.status}")
        data = json.loads(answer.body)
        return track_webhook_body(carrier_code, number, data)

    def deliver_track_webhook(
        self,
        carrier_code: str,
        number: str,
        url: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> list[int]:
        """POST a signed API_TRACK delivery to `url`, or to every registered `track` webhook (with
        the custom headers configured on it). Returns the HTTP status of each delivery."""
        body = self.track_webhook_body(carrier_code, number)
        targets = (
            [{"url": url, "headers": []}]
            if url
            else [w for w in self.webhooks if str(w.get("event", "")).lower() == "track"]
        )
        http = session or requests.Session()
        statuses = []
        for hook in targets:
            headers = {"Content-Type": "application/json", **self.sign_webhook(body)}
            for item in hook.get("headers") or []:
                if isinstance(item, Mapping) and item.get("key"):
                    headers[str(item["key"])] = str(item.get("value", ""))
            try:
                response = http.post(str(hook["url"]), data=body, headers=headers, timeout=timeout)
                statuses.append(response.status_code)
            except requests.RequestException:
                statuses.append(0)
        return statuses

    def _deliver_route(self, query: Mapping[str, str]) -> SandboxResponse:
        """Sandbox-only: POST /v1/sandbox/webhooks/deliver?carrier_code=&tracking_number=[&url=]"""
        carrier_code = query.get("carrier_code", "")
        number = query.get("tracking_number", "")
        try:
            statuses = self.deliver_track_webhook(carrier_code, number, query.get("url") or None)
        except ValueError as exc:
            return _json(400, error_body("invalid_identifier", str(exc)))
        return _json(200, {"deliveries": statuses})

    def _random_fault(self) -> SandboxResponse:
        kinds = ["FAULT-429", "FAULT-500", "FAULT-TIMEOUT", "FAULT-BADJSON", "FAULT-TRUNCATED"]
        if self.slow_drip:
            kinds.append("FAULT-DRIP")
        return self._fault(self._rng.choice(kinds))


def track_webhook_body(carrier_code: str, number: str, data: Mapping[str, Any]) -> bytes:
    resource_url = (
        f"{DEFAULT_RESOURCE_BASE}/v1/tracking?carrier_code={quote(carrier_code)}"
        f"&tracking_number={quote(number)}"
    )
    return json.dumps(
        {"resource_url": resource_url, "resource_type": "API_TRACK", "data": dict(data)}
    ).encode()
