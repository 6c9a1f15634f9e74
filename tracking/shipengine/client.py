"""The HTTP client: endpoints, retries within a budget, and the hooks (rate limiter, call
observer) through which the Django side plugs in without this package importing it.

Retries: 429 waits for Retry-After (seconds or an HTTP date); 5xx, transport errors and unreadable
bodies back off exponentially with full jitter; other 4xx never retry. All of it stays inside one
retry budget (seconds) and a maximum number of attempts, so a caller is never stuck.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote

import requests

from .answers import CarrierAccount, CarrierList, Label, TrackingInfo
from .errors import ApiError, BadResponseError, ErrorDetail, ShipEngineError, TransportError
from .fields import text

logger = logging.getLogger("shiptrack.shipengine")

DEFAULT_BASE_URL = "https://api.shipengine.com"
USER_AGENT = "shiptrack/0.1 (+ShipEngine tracking portal)"


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until one request may be sent."""

    def pause(self, seconds: float) -> None:
        """The API said 429: nobody sends for `seconds`."""


class NoRateLimit:
    def acquire(self) -> None:
        return None

    def pause(self, seconds: float) -> None:
        return None


@dataclass(frozen=True)
class CallRecord:
    """What the client tells its observer after every HTTP attempt. Never holds the API key."""

    method: str
    endpoint: str  # path template, e.g. /v1/labels/{label_id}/track
    http_status: int | None
    duration_ms: int
    attempt: int
    error_code: str = ""
    request_id: str = ""


CallObserver = Callable[[CallRecord], None]


@dataclass(frozen=True)
class ClientConfig:
    api_key: str = field(repr=False)  # never in a repr, a log line or an error report
    base_url: str = DEFAULT_BASE_URL
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_attempts: int = 4
    retry_budget: float = 30.0  # seconds of waiting between attempts, in all
    backoff_base: float = 0.5
    backoff_cap: float = 8.0


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------
class ShipEngineClient:
    def __init__(
        self,
        config: ClientConfig,
        *,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        observer: CallObserver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        # One pooled session per client: keep-alive connections are reused across calls.
        self.session = session or requests.Session()
        self.session.headers.update(
            {"API-Key": config.api_key, "Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self.limiter: RateLimiter = limiter or NoRateLimit()
        self.observer = observer
        self._sleep = sleep
        self._rng = rng or random.Random()

    # -- public calls ------------------------------------------------------------------------
    def get_tracking(
        self, carrier_code: str, tracking_number: str, *, carrier_id: str = ""
    ) -> TrackingInfo:
        """GET /v1/tracking by carrier_code, or by the account's carrier_id (se-...) when given
        (the spec allows either)."""
        params = {"carrier_id": carrier_id} if carrier_id else {"carrier_code": carrier_code}
        params["tracking_number"] = tracking_number
        data = self._request("GET", "/v1/tracking", endpoint="/v1/tracking", params=params)
        return TrackingInfo.from_json(data)

    def get_label_tracking(self, label_id: str) -> TrackingInfo:
        data = self._request(
            "GET",
            f"/v1/labels/{quote(label_id, safe='')}/track",
            endpoint="/v1/labels/{label_id}/track",
        )
        return TrackingInfo.from_json(data)

    def get_label(self, label_id: str) -> Label:
        """GET /v1/labels/{label_id}: the label names its carrier and tracking number (its track
        answer may not say the carrier)."""
        data = self._request(
            "GET", f"/v1/labels/{quote(label_id, safe='')}", endpoint="/v1/labels/{label_id}"
        )
        return Label.from_json(data)

    def list_carriers(self) -> CarrierList:
        data, status, request_id = self._request_full(
            "GET", "/v1/carriers", endpoint="/v1/carriers"
        )
        if not isinstance(data, Mapping) or not isinstance(data.get("carriers", []), list):
            raise BadResponseError("Carrier list answer has no 'carriers' list", http_status=status)
        # Entries without a carrier_code are kept (the spec does not require one): the caller
        # reports them rather than dropping them without a word.
        carriers = tuple(
            CarrierAccount.from_json(c)
            for c in data.get("carriers") or []
            if isinstance(c, Mapping)
        )
        errors = tuple(ErrorDetail.from_json(e) for e in data.get("errors") or [])
        return CarrierList(
            carriers=carriers,
            errors=errors,
            http_status=status,
            request_id=text(data.get("request_id")) or request_id,
        )

    def start_tracking(self, carrier_code: str, tracking_number: str) -> None:
        self._request(
            "POST",
            "/v1/tracking/start",
            endpoint="/v1/tracking/start",
            params={"carrier_code": carrier_code, "tracking_number": tracking_number},
            expect_body=False,
        )

    def create_webhook(
        self,
        url: str,
        *,
        event: str = "track",
        name: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"event": event, "url": url}
        if name:
            body["name"] = name
        if headers:
            body["headers"] = [{"key": k, "value": v} for k, v in headers.items()]
        data = self._request(
            "POST", "/v1/environment/webhooks", endpoint="/v1/environment/webhooks", json_body=body
        )
        if not isinstance(data, dict):
            raise BadResponseError("Webhook answer is not a JSON object")
        return data

    # -- machinery ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request_full(method, path, **kwargs)[0]

    def _request_full(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        expect_body: bool = True,
    ) -> tuple[Any, int, str]:
        cfg = self.config
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(
                    method, path, endpoint, params, json_body, expect_body, attempt
                )
            except ShipEngineError as exc:
                if not exc.retryable or attempt >= cfg.max_attempts:
                    raise
                delay = self._delay_for(exc, attempt)
                if waited + delay > cfg.retry_budget:
                    # Waiting longer than the budget allows would stall the caller: give up now
                    # with the real error, rather than sleeping and failing later anyway.
                    raise
                logger.info(
                    "shipengine retry method=%s endpoint=%s attempt=%d code=%s wait=%.2fs",
                    method,
                    endpoint,
                    attempt,
                    exc.code,
                    delay,
                )
                self._sleep(delay)
                waited += delay

    def _delay_for(self, exc: ShipEngineError, attempt: int) -> float:
        if isinstance(exc, ApiError) and exc.http_status == 429 and exc.retry_after is not None:
            return max(0.0, exc.retry_after)
        cap = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0, cap)  # full jitter: retries of many workers spread out

    def _attempt(
        self,
        method: str,
        path: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        expect_body: bool,
        attempt: int,
    ) -> tuple[Any, int, str]:
        self.limiter.acquire()
        started = time.monotonic()
        status: int | None = None
        request_id = ""
        error_code = ""
        try:
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,  # requests URL-encodes each value
                    json=json_body,
                    timeout=(self.config.connect_timeout, self.config.read_timeout),
                )
                body = response.content  # reads the whole body: a stall here is a read timeout
            except requests.Timeout as exc:
                error_code = "timeout"
                raise TransportError(
                    f"ShipEngine did not answer in time: {exc}", "timeout"
                ) from exc
            except requests.ConnectionError as exc:
                error_code = "connection_error"
                raise TransportError(
                    f"Could not reach ShipEngine at {self.base_url}: {_short(exc)}",
                    "connection_error",
                ) from exc
            except requests.RequestException as exc:
                error_code = "network_error"
                raise TransportError(f"Request to ShipEngine failed: {_short(exc)}") from exc
            status = response.status_code
            request_id = response.headers.get("x-shipengine-requestid", "") or response.headers.get(
                "request-id", ""
            )
            try:
                data, request_id = self._read(response, body, status, request_id, expect_body)
            except ShipEngineError as exc:
                error_code = exc.code
                request_id = exc.request_id or request_id  # error bodies carry their own id
                if isinstance(exc, ApiError) and exc.http_status == 429 and exc.retry_after:
                    self.limiter.pause(exc.retry_after)
                raise
            return data, status, request_id
        finally:
            duration_ms = int((time.monotonic() - started) * 1000)
            logger.info(
                "shipengine call method=%s endpoint=%s status=%s ms=%d attempt=%d%s",
                method,
                endpoint,
                status if status is not None else "-",
                duration_ms,
                attempt,
                f" error={error_code}" if error_code else "",
            )
            if self.observer is not None:
                try:
                    self.observer(
                        CallRecord(
                            method=method,
                            endpoint=endpoint,
                            http_status=status,
                            duration_ms=duration_ms,
                            attempt=attempt,
                            error_code=error_code,
                            request_id=request_id,
                        )
                    )
                except Exception:  # recording is best effort; it must never break a call
                    logger.exception("shipengine call observer failed")

    def _read(
        self,
        response: requests.Response,
        body: bytes,
        status: int,
        request_id: str,
        expect_body: bool,
    ) -> tuple[Any, str]:
        if 200 <= status < 300:
            if not expect_body or status == 204 or not body.strip():
                if expect_body:
                    raise BadResponseError(f"Empty answer from ShipEngine (HTTP {status})", status)
                return None, request_id
            data = _decode_json(body)
            if data is None:
                raise BadResponseError(
                    "ShipEngine sent an answer that is not JSON "
                    f"({response.headers.get('Content-Type', 'no content type')})",
                    status,
                )
            if isinstance(data, Mapping) and isinstance(data.get("request_id"), str):
                request_id = data["request_id"]
            return data, request_id

        data = _decode_json(body)
        retry_after = _retry_after(response.headers.get("Retry-After")) if status == 429 else None
        if isinstance(data, Mapping) and isinstance(data.get("errors"), list) and data["errors"]:
            errors = [ErrorDetail.from_json(e) for e in data["errors"]]
            request_id = text(data.get("request_id")) or request_id
            raise ApiError(status, errors, request_id, retry_after)
        # An error status without a readable error body (a proxy's HTML page, say).
        reason = response.reason or "error"
        message = f"ShipEngine answered HTTP {status} {reason}"
        if data is None and body.strip():
            message += " with a body that is not JSON"
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limit_exceeded"}
        detail = ErrorDetail(
            message=message,
            error_code=code.get(status, "system" if status >= 500 else "unspecified"),
            error_source="shipengine",
        )
        raise ApiError(status, [detail], request_id, retry_after)


def _decode_json(body: bytes) -> Any:
    """JSON or None. A truncated body is not JSON either."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


def _retry_after(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."
