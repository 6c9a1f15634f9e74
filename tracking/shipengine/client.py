"""The HTTP client: endpoints, retries within a budget, and the hooks (rate limiter, call
observer) through which the Django side plugs in without this package importing it.

Retries: 429 waits for Retry-After (seconds or an HTTP date, clamped; absurd values ignored); 5xx,
transport errors and unreadable bodies back off exponentially with full jitter; other 4xx never
retry. All of it stays inside one retry budget (seconds of sleeping) and a maximum number of
attempts, so a caller is never stuck.

Wall-clock bounds: each attempt has a deadline (`attempt_deadline`, from sending to the last byte
of the body, so a server dripping one byte a second is cut off) and the whole call has one
(`call_deadline`, attempts, sleeps and rate-limit waits together). The body is read in pieces as
they arrive and refused past `max_body_bytes`. Anything that looks like the API key in an answer
(an error that echoes it) is replaced before it reaches an exception, a record or a page.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote, unquote

import requests
import urllib3

from .answers import CarrierAccount, CarrierList, Label, TrackingInfo
from .errors import (
    ApiError,
    BadResponseError,
    CallCancelled,
    ErrorDetail,
    ShipEngineError,
    TransportError,
)
from .fields import text

logger = logging.getLogger("shiptrack.shipengine")

DEFAULT_BASE_URL = "https://api.shipengine.com"
USER_AGENT = "shiptrack/0.1 (+ShipEngine tracking portal)"
#: A Retry-After beyond a day is no plan but a bug or an attack (1e308): it is ignored.
MAX_RETRY_AFTER = 86400.0
REDACTED = "[redacted]"


class RateLimiter(Protocol):
    def acquire(self, max_wait: float | None = None) -> None:
        """Block until one request may be sent. When that is more than `max_wait` seconds away,
        raise `RateLimited` at once instead (nothing is sent)."""

    def pause(self, seconds: float) -> None:
        """The API said 429: nobody sends for `seconds`."""


class NoRateLimit:
    def acquire(self, max_wait: float | None = None) -> None:
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
    # What the call was about, so that a failure can name its parcel (the API-health page).
    carrier_code: str = ""
    tracking_number: str = ""
    label_id: str = ""


def _label_id_of(path: str, endpoint: str) -> str:
    """The label id of a /v1/labels/{label_id}... call (the path has it URL-quoted)."""
    if "{label_id}" not in endpoint:
        return ""
    parts = path.split("/")
    return unquote(parts[3]) if len(parts) > 3 else ""


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
    attempt_deadline: float = 25.0  # seconds from sending one attempt to its last body byte
    call_deadline: float = 60.0  # seconds for the whole call: attempts, sleeps, rate-limit waits
    max_body_bytes: int = 5_000_000  # a larger answer is refused (and not read further)


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
        should_stop: Callable[[], bool] = lambda: False,
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
        # A stopping worker gives up between body pieces and before each attempt or sleep.
        self._should_stop = should_stop
        self._scrub = _scrubber(config.api_key)

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
        call_ends = time.monotonic() + cfg.call_deadline
        while True:
            attempt += 1
            if self._should_stop():
                raise CallCancelled()
            try:
                return self._attempt(
                    method, path, endpoint, params, json_body, expect_body, attempt, call_ends
                )
            except ShipEngineError as exc:
                if not exc.retryable or attempt >= cfg.max_attempts:
                    raise
                delay = self._delay_for(exc, attempt)
                left = call_ends - time.monotonic()
                if waited + delay > cfg.retry_budget or delay >= left - 0.5:
                    # Waiting longer than the budget (or the call's deadline) allows would stall
                    # the caller: give up now with the real error, rather than fail later anyway.
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
        call_ends: float,
    ) -> tuple[Any, int, str]:
        cfg = self.config
        # The shared pause and the rate limit wait at most the retry budget and what is left of
        # the call: past that the caller hears "try again in N s" at once (RateLimited).
        self.limiter.acquire(max_wait=max(0.0, min(cfg.retry_budget, call_ends - time.monotonic())))
        started = time.monotonic()
        ends = min(started + cfg.attempt_deadline, call_ends)
        status: int | None = None
        request_id = ""
        error_code = ""
        try:
            try:
                left = max(0.05, ends - time.monotonic())
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,  # requests URL-encodes each value
                    json=json_body,
                    timeout=(min(cfg.connect_timeout, left), min(cfg.read_timeout, left)),
                    stream=True,  # the body is read below, piece by piece, against the deadline
                )
                try:
                    status = response.status_code
                    body = self._read_body(response, ends)
                finally:
                    response.close()
            except BadResponseError as exc:
                error_code = exc.code
                raise
            except (TransportError, CallCancelled) as exc:
                error_code = exc.code
                raise
            except (requests.Timeout, urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
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
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                error_code = "network_error"
                raise TransportError(
                    f"Request to ShipEngine failed: {_short(self._scrub(str(exc)))}"
                ) from exc
            request_id = self._scrub(
                response.headers.get("x-shipengine-requestid", "")
                or response.headers.get("request-id", "")
            )[:200]
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
                            carrier_code=(params or {}).get("carrier_code", ""),
                            tracking_number=(params or {}).get("tracking_number", ""),
                            label_id=_label_id_of(path, endpoint),
                        )
                    )
                except Exception:  # recording is best effort; it must never break a call
                    logger.exception("shipengine call observer failed")

    def _read_body(self, response: requests.Response, ends: float) -> bytes:
        """The whole body, read as it arrives: past the attempt's deadline it is a timeout,
        past max_body_bytes a refused answer; a stopping worker gives up between pieces."""
        limit = self.config.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BadResponseError(
                f"ShipEngine's answer is larger than {limit:,} bytes ({int(declared):,} announced)",
                response.status_code,
                code="too_large",
                retryable=False,
            )
        raw = response.raw
        if raw is None or not hasattr(raw, "read1"):
            body = response.content  # an in-process transport: the body is already in memory
        else:
            pieces: list[bytes] = []
            size = 0
            while True:
                left = ends - time.monotonic()
                if left <= 0:
                    raise TransportError(
                        f"ShipEngine's answer did not arrive within the "
                        f"{self.config.attempt_deadline:g} s deadline ({size:,} bytes read)",
                        "deadline",
                    )
                if self._should_stop():
                    raise CallCancelled("The worker is stopping; the answer was not read")
                _socket_timeout(raw, min(self.config.read_timeout, left))
                piece = raw.read1(65536, decode_content=True)
                if not piece:
                    break
                size += len(piece)
                if size > limit:
                    raise BadResponseError(
                        f"ShipEngine's answer is larger than {limit:,} bytes",
                        response.status_code,
                        code="too_large",
                        retryable=False,
                    )
                pieces.append(piece)
            body = b"".join(pieces)
        if len(body) > limit:
            raise BadResponseError(
                f"ShipEngine's answer is larger than {limit:,} bytes",
                response.status_code,
                code="too_large",
                retryable=False,
            )
        return self._scrub_bytes(body)

    def _scrub_bytes(self, body: bytes) -> bytes:
        key = self.config.api_key
        if len(key) < 8 or not body:
            return body
        text_body = body.decode("utf-8", "surrogateescape")
        cleaned = self._scrub(text_body)
        return body if cleaned == text_body else cleaned.encode("utf-8", "surrogateescape")

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
        if isinstance(data, Mapping):
            # The id identifies the call for ShipEngine's support, also when `errors` is empty.
            request_id = text(data.get("request_id")) or request_id
            if isinstance(data.get("errors"), list) and data["errors"]:
                errors = [ErrorDetail.from_json(e) for e in data["errors"]]
                raise ApiError(status, errors, request_id, retry_after)
        # An error status without a readable error list (a proxy's HTML page, `errors: []`): the
        # status says what happened, and no error code is made up for it.
        reason = response.reason or "error"
        message = f"ShipEngine answered HTTP {status} {reason}"
        if data is None and body.strip():
            message += " with a body that is not JSON"
        raise ApiError(status, [ErrorDetail(message=message)], request_id, retry_after)


def _decode_json(body: bytes) -> Any:
    """JSON or None. A truncated body is not JSON either, nor one nested past Python's stack."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _socket_timeout(raw: Any, seconds: float) -> None:
    """Each read of the body waits at most what is left of the deadline (best effort: the
    socket of urllib3's connection, when it exposes one)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(0.05, seconds))


def _scrubber(api_key: str) -> Callable[[str], str]:
    """A function that replaces anything looking like `api_key` in a text: the key itself (also
    URL- or HTML-escaped), a truncated copy of it (its first 12 characters and what follows),
    and ShipEngine's sandbox-key shape (TEST_...)."""
    if len(api_key) < 8:
        return lambda value: value
    forms = {api_key, quote(api_key, safe=""), api_key.replace("&", "&amp;")}
    parts = [re.escape(f) for f in sorted(forms, key=len, reverse=True)]
    parts.append(re.escape(api_key[:12]) + r"[\w+/=.\-]*")
    parts.append(r"\bTEST_[A-Za-z0-9+/=_\-]{6,}")
    pattern = re.compile("|".join(parts))

    def scrub(value: str) -> str:
        return pattern.sub(REDACTED, value) if value else value

    return scrub


def _retry_after(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date. Values that are no
    plan (not finite, negative, beyond MAX_RETRY_AFTER) are ignored; the shared pause clamps
    long ones further (SHIPENGINE_MAX_PAUSE_SECONDS)."""
    if not value:
        return None
    value = value.strip()[:100]
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            seconds = (when - now()).total_seconds()
        except OverflowError:
            return None
        seconds = max(0.0, seconds)
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_RETRY_AFTER:
        return None
    return seconds


def _short(exc: BaseException | str) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."
