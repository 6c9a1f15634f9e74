"""A ShipEngine (ShipStation API) client for tracking. No Django in here.

The client turns HTTP answers into typed objects that tolerate what real answers contain (nulls,
missing and extra fields, numbers where strings are expected, timestamps with or without offsets,
events in any order, unknown status codes), and turns every failure into a `ShipEngineError`:

- `ApiError`: the API answered with an error (`error_response_body`, or an error status).
- `BadResponseError`: the answer was not the JSON it should be (non-JSON, truncated, wrong shape).
- `TransportError`: no answer at all (timeout, connection refused, DNS).

Retries: 429 waits for Retry-After (seconds or an HTTP date); 5xx, transport errors and unreadable
bodies back off exponentially with full jitter; other 4xx never retry. All of it stays inside one
retry budget (seconds) and a maximum number of attempts, so a caller is never stuck.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote

import requests

logger = logging.getLogger("shiptrack.shipengine")

DEFAULT_BASE_URL = "https://api.shipengine.com"
USER_AGENT = "shiptrack/0.1 (+ShipEngine tracking portal)"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorDetail:
    """One entry of `error_response_body.errors`."""

    message: str
    error_code: str = "unspecified"
    error_source: str = ""
    error_type: str = ""
    field_name: str = ""
    carrier_code: str = ""
    carrier_id: str = ""

    @classmethod
    def from_json(cls, data: Any) -> ErrorDetail:
        if not isinstance(data, Mapping):
            return cls(message=_text(data) or "Unknown error")
        return cls(
            message=_text(data.get("message")) or "Unknown error",
            error_code=_text(data.get("error_code")) or "unspecified",
            error_source=_text(data.get("error_source")),
            error_type=_text(data.get("error_type")),
            field_name=_text(data.get("field_name")),
            carrier_code=_text(data.get("carrier_code")),
            carrier_id=_text(data.get("carrier_id")),
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "error_source": self.error_source,
            "error_type": self.error_type,
            "error_code": self.error_code,
            "message": self.message,
        }


class ShipEngineError(Exception):
    """Base of every failure the client reports."""

    #: Short machine-readable code, stored on the shipment and in API-call records.
    code: str = "error"
    http_status: int | None = None
    request_id: str = ""

    @property
    def message(self) -> str:
        return str(self)

    def one_line(self) -> str:
        """A single human line with the API's message and code (for CLI output and the UI)."""
        status = f"HTTP {self.http_status}, " if self.http_status else ""
        rid = f", request_id {self.request_id}" if self.request_id else ""
        return f"{self.message} ({status}{self.code}{rid})"

    @property
    def retryable(self) -> bool:
        return False


class ApiError(ShipEngineError):
    """The API answered with an error status; carries every error it listed."""

    http_status: int

    def __init__(
        self,
        http_status: int,
        errors: list[ErrorDetail],
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.http_status = http_status
        self.errors = errors or [ErrorDetail(message=f"HTTP {http_status}")]
        self.request_id = request_id
        self.retry_after = retry_after
        self.code = self.errors[0].error_code
        super().__init__("; ".join(e.message for e in self.errors))

    @property
    def retryable(self) -> bool:
        return self.http_status == 429 or self.http_status >= 500


class BadResponseError(ShipEngineError):
    """The answer could not be read: not JSON, truncated, or not the expected shape."""

    code = "bad_response"

    def __init__(self, message: str, http_status: int | None = None, body_start: str = "") -> None:
        self.http_status = http_status
        self.body_start = body_start
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        return True


class TransportError(ShipEngineError):
    """No answer: timeout, refused connection, DNS failure, reset."""

    def __init__(self, message: str, code: str = "network_error") -> None:
        self.code = code
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        return True


# --------------------------------------------------------------------------------------------
# Tolerant field readers
# --------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """A string field: null/missing -> "", numbers -> their text, anything else -> str()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value).strip()


def _code(value: Any, max_length: int = 64) -> str:
    return _text(value).upper()[:max_length]


def _float(value: Any, low: float, high: float) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or not (low <= number <= high):  # NaN or out of range
        return None
    return number


def _int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp. Returns an aware datetime when the text has an offset (or Z),
    a naive one when it has none, None when it is empty or unreadable.

    Accepts `2021-09-20T19:03:00Z`, `...+02:00`, `...-0500`, `.123` up to nanoseconds, a space instead of
    `T`, and a bare date.
    """
    text = _text(value)
    if not text:
        return None
    text = _FRACTION.sub(r"\1", text, count=1)
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    if _DATE_ONLY.match(text):
        text += "T00:00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_utc(value: Any) -> datetime | None:
    """A timestamp meant to be UTC (`occurred_at`, the dates of the summary): naive means UTC."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Typed answers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackEvent:
    """One `track_event`. `carrier_occurred_at` keeps the carrier's text (usually naive local time)."""

    occurred_at: datetime | None
    carrier_occurred_at: str = ""
    description: str = ""
    city_locality: str = ""
    state_province: str = ""
    postal_code: str = ""
    country_code: str = ""
    company_name: str = ""
    signer: str = ""
    event_code: str = ""
    carrier_detail_code: str = ""
    status_code: str = ""
    status_detail_code: str = ""
    status_description: str = ""
    status_detail_description: str = ""
    carrier_status_code: str = ""
    carrier_status_description: str = ""
    latitude: float | None = None
    longitude: float | None = None
    proof_of_delivery_url: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrackEvent:
        carrier_text = _text(data.get("carrier_occurred_at"))
        occurred = parse_utc(data.get("occurred_at"))
        if occurred is None and carrier_text:
            # No UTC time: the carrier's own time is the best we have (better than dropping it).
            occurred = parse_utc(carrier_text)
        latitude = _float(data.get("latitude"), -90, 90)
        longitude = _float(data.get("longitude"), -180, 180)
        if latitude is None or longitude is None:
            latitude = longitude = None
        return cls(
            occurred_at=occurred,
            carrier_occurred_at=carrier_text,
            description=_text(data.get("description")),
            city_locality=_text(data.get("city_locality")),
            state_province=_text(data.get("state_province")),
            postal_code=_text(data.get("postal_code")),
            country_code=_code(data.get("country_code"), 2),
            company_name=_text(data.get("company_name")),
            signer=_text(data.get("signer")),
            event_code=_text(data.get("event_code")),
            carrier_detail_code=_text(data.get("carrier_detail_code")),
            status_code=_code(data.get("status_code"), 8),
            status_detail_code=_code(data.get("status_detail_code")),
            status_description=_text(data.get("status_description")),
            status_detail_description=_text(data.get("status_detail_description")),
            carrier_status_code=_text(data.get("carrier_status_code")),
            carrier_status_description=_text(data.get("carrier_status_description")),
            latitude=latitude,
            longitude=longitude,
            proof_of_delivery_url=_text(data.get("proof_of_delivery_url")),
        )

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class TrackingInfo:
    """A `tracking_information` answer. Events are sorted newest first, whatever order they came in."""

    tracking_number: str
    status_code: str
    status_description: str = ""
    status_detail_code: str = ""
    status_detail_description: str = ""
    tracking_url: str = ""
    carrier_code: str = ""
    carrier_id: int | None = None
    carrier_status_code: str = ""
    carrier_status_description: str = ""
    carrier_detail_code: str = ""
    ship_date: datetime | None = None
    estimated_delivery_date: datetime | None = None
    actual_delivery_date: datetime | None = None
    exception_description: str = ""
    events: tuple[TrackEvent, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> TrackingInfo:
        if not isinstance(data, Mapping):
            raise BadResponseError(
                f"Tracking answer is a JSON {type(data).__name__}, expected an object"
            )
        raw_events = data.get("events")
        if raw_events is None:
            raw_events = []
        if not isinstance(raw_events, list):
            raise BadResponseError("Tracking answer has 'events' that is not a list")
        events = [TrackEvent.from_json(e) for e in raw_events if isinstance(e, Mapping)]
        # Newest first; events without any time sink to the end, keeping their given order.
        events.sort(key=lambda e: e.occurred_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return cls(
            tracking_number=_text(data.get("tracking_number")),
            status_code=_code(data.get("status_code"), 8),
            status_description=_text(data.get("status_description")),
            status_detail_code=_code(data.get("status_detail_code")),
            status_detail_description=_text(data.get("status_detail_description")),
            tracking_url=_text(data.get("tracking_url")),
            carrier_code=_text(data.get("carrier_code")).lower(),
            carrier_id=_int(data.get("carrier_id")),
            carrier_status_code=_text(data.get("carrier_status_code")),
            carrier_status_description=_text(data.get("carrier_status_description")),
            carrier_detail_code=_text(data.get("carrier_detail_code")),
            ship_date=parse_utc(data.get("ship_date")),
            estimated_delivery_date=parse_utc(data.get("estimated_delivery_date")),
            actual_delivery_date=parse_utc(data.get("actual_delivery_date")),
            exception_description=_text(data.get("exception_description")),
            events=tuple(events),
            raw=dict(data),
        )


@dataclass(frozen=True)
class CarrierAccount:
    """One entry of GET /v1/carriers (the fields shiptrack uses)."""

    carrier_code: str
    carrier_id: str = ""
    nickname: str = ""
    friendly_name: str = ""
    account_number: str = ""
    connection_status: str = ""
    disabled_by_billing_plan: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CarrierAccount:
        return cls(
            carrier_code=_text(data.get("carrier_code")).lower(),
            carrier_id=_text(data.get("carrier_id")),
            nickname=_text(data.get("nickname")),
            friendly_name=_text(data.get("friendly_name")),
            account_number=_text(data.get("account_number")),
            connection_status=_text(data.get("connection_status")),
            disabled_by_billing_plan=bool(data.get("disabled_by_billing_plan") or False),
        )


@dataclass(frozen=True)
class CarrierList:
    """GET /v1/carriers. A 207 answer carries carriers *and* errors: both are kept."""

    carriers: tuple[CarrierAccount, ...]
    errors: tuple[ErrorDetail, ...] = ()
    http_status: int = 200
    request_id: str = ""

    @property
    def partial(self) -> bool:
        return bool(self.errors) or self.http_status == 207


# --------------------------------------------------------------------------------------------
# Hooks: rate limiting and call recording, supplied by the caller (Django code lives there)
# --------------------------------------------------------------------------------------------
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
    def get_tracking(self, carrier_code: str, tracking_number: str) -> TrackingInfo:
        data = self._request(
            "GET",
            "/v1/tracking",
            endpoint="/v1/tracking",
            params={"carrier_code": carrier_code, "tracking_number": tracking_number},
        )
        return TrackingInfo.from_json(data)

    def get_label_tracking(self, label_id: str) -> TrackingInfo:
        data = self._request(
            "GET",
            f"/v1/labels/{quote(label_id, safe='')}/track",
            endpoint="/v1/labels/{label_id}/track",
        )
        return TrackingInfo.from_json(data)

    def list_carriers(self) -> CarrierList:
        data, status, request_id = self._request_full(
            "GET", "/v1/carriers", endpoint="/v1/carriers"
        )
        if not isinstance(data, Mapping) or not isinstance(data.get("carriers", []), list):
            raise BadResponseError("Carrier list answer has no 'carriers' list", http_status=status)
        carriers = tuple(
            CarrierAccount.from_json(c)
            for c in data.get("carriers") or []
            if isinstance(c, Mapping) and c.get("carrier_code")
        )
        errors = tuple(ErrorDetail.from_json(e) for e in data.get("errors") or [])
        return CarrierList(
            carriers=carriers,
            errors=errors,
            http_status=status,
            request_id=_text(data.get("request_id")) or request_id,
        )

    def start_tracking(self, carrier_code: str, tracking_number: str) -> None:
        self._request(
            "POST",
            "/v1/tracking/start",
            endpoint="/v1/tracking/start",
            params={"carrier_code": carrier_code, "tracking_number": tracking_number},
            expect_body=False,
        )

    def stop_tracking(self, carrier_code: str, tracking_number: str) -> None:
        self._request(
            "POST",
            "/v1/tracking/stop",
            endpoint="/v1/tracking/stop",
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

    def list_webhooks(self) -> list[dict[str, Any]]:
        data = self._request("GET", "/v1/environment/webhooks", endpoint="/v1/environment/webhooks")
        if not isinstance(data, list):
            raise BadResponseError("Webhook list answer is not a JSON array")
        return [w for w in data if isinstance(w, dict)]

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
            data = _decode_json(body, status)
            if data is None:
                raise BadResponseError(
                    "ShipEngine sent an answer that is not JSON "
                    f"({response.headers.get('Content-Type', 'no content type')})",
                    status,
                    _snippet(body),
                )
            if isinstance(data, Mapping) and isinstance(data.get("request_id"), str):
                request_id = data["request_id"]
            return data, request_id

        data = _decode_json(body, status)
        retry_after = _retry_after(response.headers.get("Retry-After")) if status == 429 else None
        if isinstance(data, Mapping) and isinstance(data.get("errors"), list) and data["errors"]:
            errors = [ErrorDetail.from_json(e) for e in data["errors"]]
            request_id = _text(data.get("request_id")) or request_id
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


def _decode_json(body: bytes, status: int) -> Any:
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


def _snippet(body: bytes, limit: int = 120) -> str:
    return body[:limit].decode("utf-8", "replace")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."
