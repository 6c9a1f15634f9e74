"""Every failure the client reports is a `ShipEngineError`:

- `ApiError`: the API answered with an error (`error_response_body`, or an error status).
- `BadResponseError`: the answer was not the JSON it should be (non-JSON, truncated, wrong shape).
- `TransportError`: no answer at all (timeout, connection refused, DNS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .fields import text


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of `error_response_body.errors`, as sent: a field the API left out stays empty
    (never a code of ours passed off as the API's)."""

    message: str
    error_code: str = ""
    error_source: str = ""
    error_type: str = ""
    field_name: str = ""
    carrier_code: str = ""
    carrier_id: str = ""

    @classmethod
    def from_json(cls, data: Any) -> ErrorDetail:
        if not isinstance(data, Mapping):
            return cls(message=text(data) or "Unknown error")
        return cls(
            message=text(data.get("message")) or "Unknown error",
            error_code=text(data.get("error_code")),
            error_source=text(data.get("error_source")),
            error_type=text(data.get("error_type")),
            field_name=text(data.get("field_name")),
            carrier_code=text(data.get("carrier_code")),
            carrier_id=text(data.get("carrier_id")),
        )


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
        # The API's own code when it sent one; otherwise the status, plainly ours ("http_502").
        self.code = next((e.error_code for e in self.errors if e.error_code), f"http_{http_status}")
        super().__init__("; ".join(e.message for e in self.errors))

    def one_line(self) -> str:
        """The message, the status and code, what the API said it was about (the field, the
        carrier) and the request id for a support ticket."""
        about = []
        for e in self.errors:
            for label, value in (
                ("field", e.field_name),
                ("carrier", e.carrier_code),
                ("carrier_id", e.carrier_id),
            ):
                item = f"{label} {value}"
                if value and item not in about:
                    about.append(item)
        parts = [f"HTTP {self.http_status}", self.code, *about]
        if self.request_id:
            parts.append(f"request_id {self.request_id}")
        return f"{self.message} ({', '.join(parts)})"

    @property
    def retryable(self) -> bool:
        return self.http_status == 429 or self.http_status >= 500


class BadResponseError(ShipEngineError):
    """The answer could not be read: not JSON, truncated, too large, nested too deep, or not the
    expected shape. `retryable=False` for answers a retry would only fetch again (too large)."""

    code = "bad_response"

    def __init__(
        self,
        message: str,
        http_status: int | None = None,
        *,
        code: str = "bad_response",
        retryable: bool = True,
    ) -> None:
        self.http_status = http_status
        self.code = code
        self._retryable = retryable
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        return self._retryable


class NotSent(ShipEngineError):
    """The request never left: nothing was asked of the API, so nothing about the shipment is
    known to have failed (callers record no failure on it)."""


class RateLimited(NotSent):
    """ShipEngine asked every process to slow down (a 429's Retry-After, shared) for longer than
    this caller may wait: it fails at once instead of hanging the page or the worker."""

    code = "rate_limited"

    def __init__(self, retry_in: float) -> None:
        self.retry_in = max(1, int(retry_in + 0.999))
        super().__init__(f"ShipEngine asked us to slow down, try again in {self.retry_in} s")

    def one_line(self) -> str:
        return self.message


class CallCancelled(NotSent):
    """The process is stopping (SIGTERM): the call was given up before or while it ran."""

    code = "cancelled"

    def __init__(self, message: str = "The worker is stopping; the call was not made") -> None:
        super().__init__(message)


class TransportError(ShipEngineError):
    """No answer: timeout, refused connection, DNS failure, reset."""

    def __init__(self, message: str, code: str = "network_error") -> None:
        self.code = code
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        return True
