"""Names vulture cannot see being used: read by Django, templates, settings or tests by name.

Run `vulture` (configured in pyproject.toml); add a name here only with the reason it is used.
"""

# ruff: noqa

from tracking import models


# Model fields: read and written through the ORM, forms, admin and templates by name.
models.ApiCall.at
models.ApiCall.attempt
models.ApiCall.duration_ms
models.ApiCall.endpoint
models.ApiCall.error_code
models.ApiCall.http_status
models.ApiCall.id
models.ApiCall.method
models.ApiCall.request_id
models.Carrier.alternate_names
models.Carrier.code
models.Carrier.connection_status
models.Carrier.created_at
models.Carrier.friendly_name
models.Carrier.id
models.Carrier.is_active
models.Carrier.last_synced_at
models.Carrier.name
models.Carrier.nickname
models.Carrier.shipengine_carrier_id
models.Carrier.tracking_url_template
models.Carrier.updated_at
models.RateLimitState.name
models.RateLimitState.next_slot
models.RateLimitState.paused_until
models.WebhookReceipt.carrier_code
models.WebhookReceipt.digest
models.WebhookReceipt.events_added
models.WebhookReceipt.id
models.WebhookReceipt.outcome
models.WebhookReceipt.received_at
models.WebhookReceipt.resource_type
models.WebhookReceipt.tracking_number
models.LookupThrottle.hits
models.LookupThrottle.id
models.LookupThrottle.key
models.LookupThrottle.window
models.TrackingEvent.carrier_detail_code
models.TrackingEvent.carrier_occurred_at
models.TrackingEvent.carrier_status_code
models.TrackingEvent.carrier_status_description
models.TrackingEvent.city_locality
models.TrackingEvent.company_name
models.TrackingEvent.country_code
models.TrackingEvent.created_at
models.TrackingEvent.dedupe_key
models.TrackingEvent.description
models.TrackingEvent.event_code
models.TrackingEvent.id
models.TrackingEvent.latitude
models.TrackingEvent.longitude
models.TrackingEvent.occurred_at
models.TrackingEvent.postal_code
models.TrackingEvent.proof_of_delivery_url
models.TrackingEvent.shipment
models.TrackingEvent.signer
models.TrackingEvent.state_province
models.TrackingEvent.status_code
models.TrackingEvent.status_description
models.TrackingEvent.status_detail_code
models.TrackingEvent.status_detail_description
models.Shipment.actual_delivery_date
models.Shipment.api_carrier_code
models.Shipment.api_carrier_id
models.Shipment.carrier
models.Shipment.carrier_detail_code
models.Shipment.carrier_status_code
models.Shipment.carrier_status_description
models.Shipment.consecutive_failures
models.Shipment.created_at
models.Shipment.customer_email
models.Shipment.customer_name
models.Shipment.estimated_delivery_date
models.Shipment.event_count
models.Shipment.exception_description
models.Shipment.id
models.Shipment.label_id
models.Shipment.last_checked_at
models.Shipment.last_error
models.Shipment.last_error_at
models.Shipment.last_error_code
models.Shipment.last_event_at
models.Shipment.last_event_description
models.Shipment.last_event_location
models.Shipment.next_check_at
models.Shipment.notes
models.Shipment.public_token
models.Shipment.push_subscribed_at
models.Shipment.raw_response
models.Shipment.reference
models.Shipment.refresh_queued_at
models.Shipment.ship_date
models.Shipment.signer
models.Shipment.status_code
models.Shipment.status_description
models.Shipment.status_detail_code
models.Shipment.status_detail_description
models.Shipment.tracking_number
models.Shipment.tracking_url
models.Shipment.updated_at
models.ImportJob.created_at
models.ImportJob.created_by
models.ImportJob.duplicates
models.ImportJob.error_count
models.ImportJob.fetch
models.ImportJob.fetches_enqueued
models.ImportJob.file_name
models.ImportJob.file_path
models.ImportJob.finished_at
models.ImportJob.id
models.ImportJob.imported
models.ImportJob.message
models.ImportJob.rows_processed
models.ImportJob.state
models.ImportJob.task_result_id
models.ImportJob.total_rows
models.ImportRowError.id
models.ImportRowError.job
models.ImportRowError.line
models.ImportRowError.message
models.ImportRowError.tracking_number
models.ImportItem.id
models.ImportItem.job
models.ImportItem.shipment

# Dotted paths in settings.py: the app config, the logging filter and the error reporter.
from tracking.apps import TrackingConfig
from tracking.ops import logging as ops_logging

TrackingConfig
ops_logging.RedactSecretsFilter
ops_logging.RedactingExceptionReporter
ops_logging.RedactSecretsFilter.filter
# LogRecord attributes the filter rewrites.
ops_logging.RedactSecretsFilter.msg

# Migration operations kept for index changes on big tables (docs/operations.md, "Upgrades").
from tracking.ops import migration_ops

migration_ops.AddIndexConcurrentlyOnPostgres
migration_ops.RemoveIndexConcurrentlyOnPostgres

# Used by benchmarks/ and tests/ (outside vulture's paths).
from tracking.models import search
from tracking.services import api_client, api_rate_limit, inbound_webhooks

search.rebuild_sqlite_index
api_client.reset_clients
api_rate_limit.SharedRateLimiter.reset
inbound_webhooks.JwksCache.clear
inbound_webhooks.JwksCache.fetches  # how often the keys were fetched: the refetch limit's test

# Template-only attributes ({{ x.name }}).
from tracking.presentation import milestones
from tracking.queries import api_health
from tracking.services import import_jobs

milestones.Milestone.state_text
import_jobs.Progress.rows_percent
import_jobs.Progress.fetch_percent
import_jobs.Progress.state_label
api_health.HourBucket.ok
api_health.Summary.failure_percent
api_health.Summary.rate_limited
api_health.Summary.avg_duration_ms
api_health.Summary.max_duration_ms
api_health.ErrorCount.last_at

# Counted by load tests through the sandbox object; requests' Response internals set by the
# in-process transport.
from tracking.sandbox import simulator, transport

simulator.Sandbox.rate_limited
transport.SandboxAdapter.send

# Enum members, iterated as statuses.CODES.
from tracking.domain import statuses

statuses.Status.ACCEPTED
statuses.Status.NOT_YET_IN_SYSTEM

# Fields of the API's answers, kept in the typed answer as the API sent them.
from tracking.shipengine import answers, errors

answers.CarrierAccount.disabled_by_billing_plan
errors.ErrorDetail.error_source
errors.ErrorDetail.field_name

# The context processor (settings.TEMPLATES) and form fields read by name.
from tracking.web import context_processors
from tracking.web.staff import forms

context_processors.shiptrack
forms.ImportUploadForm.file
