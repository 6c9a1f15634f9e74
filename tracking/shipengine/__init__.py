"""A ShipEngine (ShipStation API) client for tracking. No Django in here.

The client turns HTTP answers into typed objects that tolerate what real answers contain (nulls,
missing and extra fields, numbers where strings are expected, timestamps with or without offsets,
events in any order, unknown status codes), and turns every failure into a `ShipEngineError`.
Modules: `errors`, `fields` (tolerant readers), `answers` (typed answers), `client` (HTTP, retries,
hooks), `webhook_signatures` (RSA-SHA256 webhook signing and verifying).
"""

from .answers import CarrierAccount, CarrierList, Label, TrackEvent, TrackingInfo, capped_raw
from .client import (
    DEFAULT_BASE_URL,
    CallObserver,
    CallRecord,
    ClientConfig,
    NoRateLimit,
    RateLimiter,
    ShipEngineClient,
)
from .errors import (
    ApiError,
    BadResponseError,
    CallCancelled,
    ErrorDetail,
    NotSent,
    RateLimited,
    ShipEngineError,
    TransportError,
)
from .fields import parse_timestamp, parse_utc

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiError",
    "BadResponseError",
    "CallCancelled",
    "CallObserver",
    "CallRecord",
    "CarrierAccount",
    "CarrierList",
    "ClientConfig",
    "ErrorDetail",
    "Label",
    "NoRateLimit",
    "NotSent",
    "RateLimited",
    "RateLimiter",
    "ShipEngineClient",
    "ShipEngineError",
    "TrackEvent",
    "TrackingInfo",
    "TransportError",
    "capped_raw",
    "parse_timestamp",
    "parse_utc",
]
