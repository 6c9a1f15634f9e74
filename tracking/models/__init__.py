"""The tables, one module per model family, with their QuerySets beside them."""

from .api_calls import ApiCall, ApiCallQuerySet
from .carriers import Carrier, CarrierQuerySet
from .coordination import LookupThrottle, RateLimitState, WebhookReceipt, WebhookReceiptQuerySet
from .events import TrackingEvent, TrackingEventQuerySet
from .imports import ImportItem, ImportJob, ImportRowError
from .outbox import ChangeKind, ChangeRecord, ChangeRecordQuerySet
from .search import NameWord, Place, ShipmentPlace, ShipmentTally
from .shipments import Shipment, ShipmentQuerySet, new_public_token

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
    "LookupThrottle",
    "NameWord",
    "Place",
    "RateLimitState",
    "Shipment",
    "ShipmentPlace",
    "ShipmentQuerySet",
    "ShipmentTally",
    "TrackingEvent",
    "TrackingEventQuerySet",
    "WebhookReceipt",
    "WebhookReceiptQuerySet",
    "new_public_token",
]
