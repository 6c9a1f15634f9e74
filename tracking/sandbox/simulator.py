"""The simulator: answers ShipEngine's URLs as the real API does (the official spec's routes,
methods, parameters, error codes), with the demo journeys, faults on request, an optional
enforced rate limit, and webhook registrations it can deliver to.

Routes: GET /v1/tracking (carrier_code or carrier_id, tracking_number), GET /v1/labels/{id} and
/v1/labels/{id}/track, GET /v1/carriers and /v1/carriers/{id}, POST /v1/tracking/start|stop,
GET|POST /v1/environment/webhooks, GET|PUT|DELETE /v1/environment/webhooks/{id}, GET /jwks, and
the sandbox's own POST /v1/sandbox/webhooks/deliver. Another method on a known path is 405 with
a JSON error; an unknown path is 404.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from ..shipengine import webhook_signatures
from .answers import SandboxResponse, error, error_body, json_response, no_content
from .faults import RateLimit, Storms, fault, random_fault
from .journeys import DEFAULT_CARRIER_PAGES, generated_scenario, render_tracking
from .scenarios import FAULT_NUMBERS, LABELS, SCENARIOS, SEED_NUMBER, Scenario, seed_example
from .webhooks import WebhookRegistry, track_webhook_body

__all__ = ["SANDBOX_CARRIERS", "Sandbox", "SandboxResponse", "error_body"]

SANDBOX_CARRIERS = [
    ("stamps_com", "se-100001", "Stamps.com", "ShipEngine Account - Stamps.com"),
    ("ups", "se-100002", "UPS", "Sandbox UPS"),
    ("fedex", "se-100003", "FedEx", "Sandbox FedEx"),
    ("dhl_express", "se-100004", "DHL Express", "Sandbox DHL Express"),
    ("canada_post", "se-100005", "Canada Post", "Sandbox Canada Post"),
    ("sandbox_courier", "se-100006", "Sandbox Courier", "Sandbox Courier (not in the seed table)"),
]
_CODE_OF_ID = {cid: code for code, cid, _friendly, _nick in SANDBOX_CARRIERS}
_ID_OF_CODE = {code: cid for code, cid, _friendly, _nick in SANDBOX_CARRIERS}
# The spec's patterns.
_CARRIER_CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
_SE_ID = re.compile(r"^se(-[a-z0-9]+)+$")

# Known paths and the methods each allows (the rest get 405).
_ROUTES: list[tuple[re.Pattern[str], frozenset[str]]] = [
    (re.compile(r"^/v1/tracking$"), frozenset({"GET"})),
    (re.compile(r"^/v1/tracking/(start|stop)$"), frozenset({"POST"})),
    (re.compile(r"^/v1/labels/(?P<label_id>[^/]+)/track$"), frozenset({"GET"})),
    (re.compile(r"^/v1/labels/(?P<label_id>[^/]+)$"), frozenset({"GET"})),
    (re.compile(r"^/v1/carriers$"), frozenset({"GET"})),
    (re.compile(r"^/v1/carriers/(?P<carrier_id>[^/]+)$"), frozenset({"GET", "DELETE"})),
    (re.compile(r"^/v1/environment/webhooks$"), frozenset({"GET", "POST"})),
    (
        re.compile(r"^/v1/environment/webhooks/(?P<webhook_id>[^/]+)$"),
        frozenset({"GET", "PUT", "DELETE"}),
    ),
    (re.compile(r"^/v1/sandbox/webhooks/deliver$"), frozenset({"POST"})),
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
        carrier_pages: str = DEFAULT_CARRIER_PAGES,
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
        self.registry = WebhookRegistry()
        self.subscriptions: set[tuple[str, str]] = set()
        # Carriers disconnected with DELETE /v1/carriers/{id}: gone from the account until the
        # sandbox restarts, as a real disconnection is until the carrier is connected again.
        self.disconnected: set[str] = set()
        # Webhook signing: the sandbox's own RSA key (made on first use unless given), its JWKS at
        # GET /jwks, and every delivery signed like ShipEngine's (webhook_signatures.sign).
        self._signing_key = signing_key
        self._rate_limit = (
            RateLimit(rate_limit_per_minute, rate_limit_burst) if rate_limit_per_minute else None
        )
        # Retry-After (seconds) of simulated 429 faults; tests shorten it.
        self.retry_after = retry_after
        # Random faults include slow drips (one byte every `drip_seconds`) when asked; FAULT-DRIP
        # always drips at that pace.
        self.slow_drip = slow_drip
        self.drip_seconds = drip_seconds
        self._storms = Storms(storm_every, storm_seconds) if storm_every and storm_seconds else None
        # Where the carriers' own tracking pages (tracking_url) are: the demo serves them.
        self.carrier_pages = carrier_pages

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        return self.registry.hooks

    @webhooks.setter
    def webhooks(self, hooks: list[dict[str, Any]]) -> None:
        self.registry.hooks = hooks

    @property
    def rate_limited(self) -> int:
        """How many answers the enforced rate limit refused (429)."""
        return self._rate_limit.refused if self._rate_limit else 0

    # -- entry point -------------------------------------------------------------------------
    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> SandboxResponse:
        parts = urlsplit(url)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if method == "GET" and path in {"/jwks", "/.well-known/jwks.json"}:
            return json_response(200, self.jwks())  # public keys: no API key, never faulty
        key = next((v for k, v in headers.items() if k.lower() == "api-key"), "")
        if not key or (self.api_key is not None and key != self.api_key):
            return error(
                401,
                "unauthorized",
                "The API key is invalid. Please use a valid API key.",
                error_type="security",
            )
        route = next(((rx, allowed) for rx, allowed in _ROUTES if rx.match(path)), None)
        if route is None:
            return error(404, "unspecified", f"No resource at {path}.", error_type="system")
        pattern, allowed = route
        if method not in allowed:
            answer = error(405, "unspecified", f"{method} is not allowed on {path}.")
            answer.headers["Allow"] = ", ".join(sorted(allowed))
            return answer
        limited = self._rate_limit.check() if self._rate_limit else None
        if limited is None and self._storms is not None:
            limited = self._storms.check()
        if limited is not None:
            return limited
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return random_fault(
                self._rng,
                retry_after=self.retry_after,
                drip_seconds=self.drip_seconds if self.slow_drip else 0.0,
            )
        found = pattern.match(path)
        params = found.groupdict() if found else {}
        return self._dispatch(method, path, params, query, body)

    def _dispatch(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
    ) -> SandboxResponse:
        if path == "/v1/tracking":
            return self._tracking_route(query)
        if path.startswith("/v1/tracking/"):
            return self._subscribe(path.endswith("start"), query)
        if path.startswith("/v1/labels/"):
            if path.endswith("/track"):
                return self._label_tracking(params["label_id"])
            return self._label(params["label_id"])
        if path == "/v1/carriers":
            return self._carriers()
        if path.startswith("/v1/carriers/"):
            if method == "DELETE":
                return self._disconnect(params["carrier_id"])
            return self._carrier(params["carrier_id"])
        if path == "/v1/environment/webhooks":
            return self.registry.create(body) if method == "POST" else self.registry.listing()
        if path.startswith("/v1/environment/webhooks/"):
            return self.registry.one(method, params["webhook_id"], body)
        return self._deliver_route(query)

    # -- tracking ------------------------------------------------------------------------------
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

    def _carrier_code(self, query: Mapping[str, str]) -> tuple[str, SandboxResponse | None]:
        """The carrier asked for, by carrier_code or by carrier_id (se-id), checked like the
        real API: the spec's patterns, a known account, both naming the same carrier."""
        code = query.get("carrier_code", "")
        carrier_id = query.get("carrier_id", "")
        if code and not _CARRIER_CODE.match(code):
            return "", error(
                400,
                "invalid_field_value",
                "carrier_code is not a carrier code.",
                field_name="carrier_code",
            )
        if carrier_id:
            if not _SE_ID.match(carrier_id):
                return "", error(
                    400,
                    "invalid_field_value",
                    "carrier_id is not a carrier id.",
                    field_name="carrier_id",
                )
            by_id = _CODE_OF_ID.get(carrier_id)
            if by_id is None or carrier_id in self.disconnected:
                return "", error(
                    400,
                    "invalid_identifier",
                    f"Carrier '{carrier_id}' is not connected.",
                    field_name="carrier_id",
                )
            if code and code != by_id:
                return "", error(
                    400,
                    "identifiers_must_match",
                    "carrier_code and carrier_id name different carriers.",
                )
            code = by_id
        if not code:
            return "", error(
                400,
                "field_value_required",
                "carrier_code or carrier_id is required.",
                field_name="carrier_code",
            )
        return code, None

    def _carrier_and_number(
        self, query: Mapping[str, str]
    ) -> tuple[str, str, SandboxResponse | None]:
        """The carrier (code or id) and tracking number the query names, or the API's 400."""
        code, problem = self._carrier_code(query)
        if problem is not None:
            return "", "", problem
        number = query.get("tracking_number", "")
        if not number:
            return (
                "",
                "",
                error(
                    400,
                    "field_value_required",
                    "tracking_number is required.",
                    field_name="tracking_number",
                ),
            )
        return code, number, None

    def _tracking_route(self, query: Mapping[str, str]) -> SandboxResponse:
        code, number, problem = self._carrier_and_number(query)
        return problem if problem is not None else self._tracking(code, number)

    def _tracking(self, carrier_code: str, number: str) -> SandboxResponse:
        normalized = "".join(number.split()).upper()
        if normalized in FAULT_NUMBERS:
            return fault(normalized, retry_after=self.retry_after, drip_seconds=self.drip_seconds)
        if normalized == SEED_NUMBER and carrier_code in {"stamps_com", "usps"}:
            # The seed document's answer, verbatim (it breaks the spec in 7 small ways: nulls
            # where the spec wants strings, a naive carrier time: that is what real answers do).
            return json_response(200, seed_example())
        scenario = self.scenario_for(carrier_code, number)
        if scenario is None:
            return error(
                404,
                "invalid_identifier",
                f"Tracking number '{number}' is not valid for carrier '{carrier_code}'.",
            )
        if scenario.carrier_code != carrier_code and normalized in SCENARIOS:
            scenario = Scenario(
                scenario.number,
                carrier_code,
                scenario.steps,
                scenario.eta_hours,
                scenario.exception,
            )
        return json_response(200, self._render(scenario))

    def _render(self, scenario: Scenario) -> dict[str, Any]:
        return render_tracking(
            scenario, epoch=self.epoch, now=self.clock(), carrier_pages=self.carrier_pages
        )

    def _label_number(self, label_id: str) -> str | None:
        return LABELS.get(label_id) if _SE_ID.match(label_id) else None

    def _label_tracking(self, label_id: str) -> SandboxResponse:
        number = self._label_number(label_id)
        if number is None:
            return error(404, "invalid_identifier", f"Label '{label_id}' was not found.")
        if number == SEED_NUMBER:
            answer = seed_example()
            # A label's track answer: the real one may carry no carrier_code at all (the
            # label names it; GET /v1/labels/{id}).
            answer.pop("carrier_code", None)
            return json_response(200, answer)
        return json_response(200, self._render(SCENARIOS[number]))

    def _label(self, label_id: str) -> SandboxResponse:
        """GET /v1/labels/{label_id}: the label, naming its carrier and tracking number."""
        number = self._label_number(label_id)
        if number is None:
            return error(404, "invalid_identifier", f"Label '{label_id}' was not found.")
        code = "stamps_com" if number == SEED_NUMBER else SCENARIOS[number].carrier_code
        return json_response(
            200,
            {
                "label_id": label_id,
                "status": "completed",
                "shipment_id": f"se-{abs(hash(number)) % 10**7}",
                "ship_date": self.epoch.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created_at": self.epoch.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tracking_number": number,
                "is_return_label": False,
                "is_international": False,
                "carrier_id": _ID_OF_CODE.get(code, "se-100006"),
                "carrier_code": code,
                "service_code": "sandbox_ground",
                "trackable": True,
                "voided": False,
                "tracking_status": "in_transit",
            },
        )

    # -- carriers -------------------------------------------------------------------------------
    def _carrier_entry(self, code: str, cid: str, friendly: str, nickname: str) -> dict[str, Any]:
        return {
            "carrier_id": cid,
            "carrier_code": code,
            "account_number": f"sandbox_{code}",
            "nickname": nickname,
            "friendly_name": friendly,
            "primary": code == "stamps_com",
            "connection_status": "approved",
            "disabled_by_billing_plan": False,
        }

    def _carriers(self) -> SandboxResponse:
        carriers = [
            self._carrier_entry(*row) for row in SANDBOX_CARRIERS if row[1] not in self.disconnected
        ]
        return json_response(
            200, {"carriers": carriers, "request_id": str(uuid.uuid4()), "errors": []}
        )

    def _carrier(self, carrier_id: str) -> SandboxResponse:
        row = next((r for r in SANDBOX_CARRIERS if r[1] == carrier_id), None)
        if row is None or carrier_id in self.disconnected:
            return error(404, "invalid_identifier", f"Carrier '{carrier_id}' was not found.")
        return json_response(200, self._carrier_entry(*row))

    def _disconnect(self, carrier_id: str) -> SandboxResponse:
        with self._lock:
            if carrier_id not in _CODE_OF_ID or carrier_id in self.disconnected:
                return error(404, "invalid_identifier", f"Carrier '{carrier_id}' was not found.")
            self.disconnected.add(carrier_id)
        return no_content()

    def _subscribe(self, start: bool, query: Mapping[str, str]) -> SandboxResponse:
        code, number, problem = self._carrier_and_number(query)
        if problem is not None:
            return problem
        with self._lock:
            (self.subscriptions.add if start else self.subscriptions.discard)((code, number))
        return no_content()

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
        """ShipEngine's webhook signature headers (webhook_signatures.sign)."""
        timestamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return webhook_signatures.sign(self.signing_key, body, timestamp)

    def track_webhook_body(self, carrier_code: str, number: str) -> bytes:
        """An API_TRACK delivery for a package, as ShipEngine sends it to a `track` webhook."""
        answer = self._tracking(carrier_code, number)
        if answer.status != 200:
            raise ValueError(f"No tracking answer for {carrier_code} {number}: {answer.status}")
        return track_webhook_body(carrier_code, number, json.loads(answer.body))

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
        return self.registry.deliver(
            body, sign=self.sign_webhook, url=url, session=session, timeout=timeout
        )

    def _deliver_route(self, query: Mapping[str, str]) -> SandboxResponse:
        """Sandbox-only: POST /v1/sandbox/webhooks/deliver?carrier_code=&tracking_number=[&url=]"""
        try:
            statuses = self.deliver_track_webhook(
                query.get("carrier_code", ""),
                query.get("tracking_number", ""),
                query.get("url") or None,
            )
        except ValueError as exc:
            return error(400, "invalid_identifier", str(exc))
        return json_response(200, {"deliveries": statuses})
