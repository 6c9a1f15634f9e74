"""The tables, one module per model family, with their QuerySets beside them."""

from .analytics import (
    AnalyticsBacklog,
    AnalyticsState,
    DailyRollup,
    LaneHistory,
    QuietLane,
    ShipmentFacts,
)
from .api_calls import ApiCall, ApiCallQuerySet
from .api_keys import ApiKey, ApiKeyQuerySet, ApiScope, IdempotencyRecord
from .carriers import Carrier, CarrierQuerySet, InactiveReason
from .coordination import LookupThrottle, RateLimitState, WebhookReceipt, WebhookReceiptQuerySet
from .estimates import DeliveryEstimate, EstimateBasis, EstimateReason
from .events import TrackingEvent, TrackingEventQuerySet
from .imports import ImportItem, ImportJob, ImportRowError
from .notes import AttentionHandled, ShipmentNote, ShipmentNoteQuerySet, still_handled
from .notifications import (
    EMAIL_MAX,
    Frequency,
    Notification,
    NotificationKind,
    NotificationQuerySet,
    NotificationState,
    Subscription,
    SubscriptionQuerySet,
    SubscriptionSource,
)
from .outbox import ChangeKind, ChangeRecord, ChangeRecordQuerySet
from .search import NameWord, Place, ShipmentPlace, ShipmentTally
from .shipments import Shipment, ShipmentQuerySet, new_public_token
from .staff_work import BulkAction, SavedSearch
from .webhook_endpoints import (
    RESPONSE_BODY_MAX,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryQuerySet,
    WebhookEndpoint,
)
from .workers import QueuedRefresh, WorkerHeartbeat

__all__ = [
    "EMAIL_MAX",
    "RESPONSE_BODY_MAX",
    "AnalyticsBacklog",
    "AnalyticsState",
    "ApiCall",
    "ApiCallQuerySet",
    "ApiKey",
    "ApiKeyQuerySet",
    "ApiScope",
    "AttentionHandled",
    "BulkAction",
    "Carrier",
    "CarrierQuerySet",
    "ChangeKind",
    "ChangeRecord",
    "ChangeRecordQuerySet",
    "DailyRollup",
    "DeliveryEstimate",
    "DeliveryState",
    "EstimateBasis",
    "EstimateReason",
    "Frequency",
    "IdempotencyRecord",
    "ImportItem",
    "ImportJob",
    "ImportRowError",
    "InactiveReason",
    "LaneHistory",
    "LookupThrottle",
    "NameWord",
    "Notification",
    "NotificationKind",
    "NotificationQuerySet",
    "NotificationState",
    "Place",
    "QueuedRefresh",
    "QuietLane",
    "RateLimitState",
    "SavedSearch",
    "Shipment",
    "ShipmentFacts",
    "ShipmentNote",
    "ShipmentNoteQuerySet",
    "ShipmentPlace",
    "ShipmentQuerySet",
    "ShipmentTally",
    "Subscription",
    "SubscriptionQuerySet",
    "SubscriptionSource",
    "TrackingEvent",
    "TrackingEventQuerySet",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryQuerySet",
    "WebhookEndpoint",
    "WebhookReceipt",
    "WebhookReceiptQuerySet",
    "WorkerHeartbeat",
    "new_public_token",
    "still_handled",
]
