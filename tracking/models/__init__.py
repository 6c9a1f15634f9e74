"""The tables, one module per model family, with their QuerySets beside them."""

from .api_calls import ApiCall, ApiCallQuerySet
from .carriers import Carrier, CarrierQuerySet, InactiveReason
from .coordination import LookupThrottle, RateLimitState, WebhookReceipt, WebhookReceiptQuerySet
from .events import TrackingEvent, TrackingEventQuerySet
from .imports import ImportItem, ImportJob, ImportRowError
from .outbox import ChangeKind, ChangeRecord, ChangeRecordQuerySet
from .shipments import Shipment, ShipmentQuerySet, new_public_token
from .workers import QueuedRefresh, WorkerHeartbeat

__all__ = [
    "ApiCall",
    "ApiCallQuerySet",
    "Carrier",
    "CarrierQuerySet",
    "ChangeKind",
    "ChangeRecord",
    "ChangeRecordQuerySet",
    "ImportItem",
    "ImportJob",
    "ImportRowError",
    "InactiveReason",
    "LookupThrottle",
    "QueuedRefresh",
    "RateLimitState",
    "Shipment",
    "ShipmentQuerySet",
    "TrackingEvent",
    "TrackingEventQuerySet",
    "WebhookReceipt",
    "WebhookReceiptQuerySet",
    "WorkerHeartbeat",
    "new_public_token",
]
