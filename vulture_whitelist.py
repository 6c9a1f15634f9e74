"""Names vulture cannot see being used: read by Django, templates, settings or tests by name.

Run `vulture` (configured in pyproject.toml); add a name here only with the reason it is used.
"""

# ruff: noqa


# Model fields are used through the ORM by name: scripts/dead-code lists them (var/).

# Dotted paths in settings.py: the app config, the logging filter and the error reporter.
from tracking.apps import TrackingConfig
from tracking.ops import logging as ops_logging

TrackingConfig
ops_logging.RedactSecretsFilter
ops_logging.RedactingExceptionReporter
ops_logging.RedactSecretsFilter.filter
# LogRecord attributes the filter rewrites.
ops_logging.RedactSecretsFilter.msg

# Migration operations, used by migrations (outside vulture's paths) and kept for index changes
# on big tables (docs/operations.md, "Upgrades").
from tracking.ops import migration_ops

migration_ops.AddIndexConcurrentlyOnPostgres
migration_ops.RemoveIndexConcurrentlyOnPostgres
migration_ops.AddTextFieldInPlace

# Used by benchmarks/ and tests/ (outside vulture's paths).
from tracking.models import search
from tracking.services import api_client, api_rate_limit, inbound_webhooks

search.SearchDocument.function  # Func subclasses: Django reads these two by name
search.SearchDocument.output_field
api_client.reset_clients
api_rate_limit.SharedRateLimiter.reset
inbound_webhooks.JwksCache.clear
inbound_webhooks.JwksCache.fetches  # how often the keys were fetched: the refetch limit's test

# The rows a search matched exactly (ranked first): the tests check the ranking by them.
from tracking.queries import shipment_list

shipment_list.ListPage.exact_ids

# Template-only attributes ({{ x.name }}).
from tracking.presentation import milestones
from tracking.queries import api_health
from tracking.services import import_jobs

milestones.Milestone.state_text
import_jobs.Progress.rows_percent
import_jobs.Progress.fetch_percent
import_jobs.Progress.state_label
import_jobs.Progress.failed_fetches
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

# Named in settings (django-axes reads them by their dotted path).
from tracking.web import auth, client_address

auth.locked_out
client_address.client_ip_for_axes

# "Refresh these now": the one way to queue given shipments (tests, the shell, the admin).
from tracking import tasks

tasks.enqueue_refreshes
# The facts a page shows ({{ facts.x }}).
from tracking.presentation import facts

facts.Facts.delivered_text
facts.Facts.delivered_utc
facts.Facts.delivered_iso
facts.Facts.label_carrier_name
facts.Facts.last_scan_text
facts.Facts.last_scan_utc

# Class attribute Django's LogoutView reads.
from tracking.web import auth as web_auth

web_auth.LogoutView.next_page

# The staff workflow: read by templates ({{ s.reason_labels }}) and stored as choice values.
from tracking.models import BulkAction
from tracking.web.staff import notes as staff_notes

staff_notes.attention  # a view (urls.py)
staff_notes.reason_labels
staff_notes.notes_count  # {{ s.notes_count }} in the list
from tracking.queries import api_health

api_health.ErrorLine.call  # read by the API-health template
BulkAction.Kind.REFRESH
BulkAction.Kind.EXPORT
BulkAction.Kind.NOTE

# Read by templates/tracking/staff/_emails.html.
from tracking.presentation.notifications import NotificationRow

NotificationRow.when_iso

# The naive baseline our estimate is measured against (benchmarks/estimates.py).
from tracking.domain import estimates as domain_estimates

domain_estimates.naive


# The analytics page's sections ({{ s.chart }}, {{ s.legend }}, ...) and freshness note, read by
# templates/tracking/staff/analytics.html; the form's period field, read by the form by name.
from tracking.presentation import analytics as presentation_analytics
from tracking.queries import analytics as queries_analytics
from tracking.web.staff import analytics as web_analytics

presentation_analytics.Section.chart
presentation_analytics.Section.legend
presentation_analytics.Section.empty
presentation_analytics.Section.has_data
queries_analytics.Freshness.waiting_since
web_analytics.AnalyticsForm.period


# Our estimate in the API's schema (filled from presentation/estimates.api_estimate's keys).
from tracking.api import schemas

schemas.PredictedDeliveryOut.window_share
schemas.PredictedDeliveryOut.based_on_parcels
schemas.PredictedDeliveryOut.origin_region
schemas.PredictedDeliveryOut.destination_region
schemas.ShipmentOut.predicted_delivery

# Read by templates ({{ guidance.ask_support }}) and by MIDDLEWARE (settings).
from tracking.presentation import guidance
from tracking.web import language as web_language

guidance.Guidance.ask_support
web_language.PublicLocaleMiddleware

# Called by migrations 0006, 0012 and 0016 (vulture does not read tracking/migrations/).
from tracking.ops import migration_ops

migration_ops.create_index_concurrently
