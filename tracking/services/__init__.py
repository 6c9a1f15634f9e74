"""Writes and side effects: keyword-only, typed; never importing tasks or views.

Modules by feature: tracking (add, track by label, refresh), ingest, refresh (policy, failures),
scheduling (claims), carriers, push_updates, csv_import / import_jobs / csv_export,
inbound_webhooks, api_client (settings -> client; the only module that knows about the sandbox),
api_rate_limit, throttling, housekeeping. The names below are the ones callers use most.
"""

from .carriers import CarrierSyncReport, set_carriers_active, sync_carriers
from .ingest import IngestResult, ingest_many, ingest_tracking
from .push_updates import register_webhook, start_push_updates
from .refresh import next_check_at, record_failure
from .tracking import get_carrier, refresh_if_stale, refresh_shipment, track_label, track_shipment

__all__ = [
    "CarrierSyncReport",
    "IngestResult",
    "get_carrier",
    "ingest_many",
    "ingest_tracking",
    "next_check_at",
    "record_failure",
    "refresh_if_stale",
    "refresh_shipment",
    "register_webhook",
    "set_carriers_active",
    "start_push_updates",
    "sync_carriers",
    "track_label",
    "track_shipment",
]
