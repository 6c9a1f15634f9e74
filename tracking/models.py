"""Carriers, shipments, tracking events, and the record of API calls.

Reads are chainable QuerySet methods; writes that span models live in services.py.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    """The API's tracking status codes (seed table). Codes not listed here are stored as sent."""

    ACCEPTED = "AC", _("Accepted")
    IN_TRANSIT = "IT", _("In Transit")
    DELIVERED = "DE", _("Delivered")
    EXCEPTION = "EX", _("Exception")
    UNKNOWN = "UN", _("Unknown")
    DELIVERY_ATTEMPT = "AT", _("Delivery Attempt")
    NOT_YET_IN_SYSTEM = "NY", _("Not Yet In System")
    DELIVERED_TO_COLLECTION = "SP", _("Delivered To The Collection Location")


FINAL_STATUSES = frozenset({Status.DELIVERED, Status.DELIVERED_TO_COLLECTION})
ATTENTION_STATUSES = frozenset({Status.EXCEPTION, Status.DELIVERY_ATTEMPT})


def new_public_token() -> str:
    # 32 random bytes -> 43 URL-safe characters (256 bits), independent of the tracking number.
    return secrets.token_urlsafe(32)


class CarrierQuerySet(models.QuerySet["Carrier"]):
    def active(self) -> CarrierQuerySet:
        return self.filter(is_active=True)


class Carrier(models.Model):
    code = models.CharField(_("carrier code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    # Other names the same code is known by (the seed lists "Australia Post eParcel" under
    # australia_post too); searched like the name.
    alternate_names = models.CharField(_("other names"), max_length=255, blank=True)
    shipengine_carrier_id = models.CharField(_("ShipEngine carrier_id"), max_length=25, blank=True)
    nickname = models.CharField(max_length=120, blank=True)
    friendly_name = models.CharField(max_length=120, blank=True)
    connection_status = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    tracking_url_template = models.CharField(
        _("tracking URL template"),
        max_length=500,
        blank=True,
        help_text=_("Used when the API gives no tracking URL; {tracking_number} is replaced."),
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CarrierQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def tracking_url_for(self, tracking_number: str) -> str:
        if not self.tracking_url_template:
            return ""
        from urllib.parse import quote

        return self.tracking_url_template.replace("{tracking_number}", quote(tracking_number))


class ShipmentQuerySet(models.QuerySet["Shipment"]):
    def in_transit(self) -> ShipmentQuerySet:
        return self.exclude(status_code__in=FINAL_STATUSES)

    def delivered(self) -> ShipmentQuerySet:
        return self.filter(status_code__in=FINAL_STATUSES)

    def with_status(self, code: str) -> ShipmentQuerySet:
        return self.filter(status_code=code)

    def needs_refresh(self, now=None) -> ShipmentQuerySet:
        """Due for a poll: not final, carrier active, next check reached (or never checked)."""
        now = now or timezone.now()
        return (
            self.in_transit()
            .filter(carrier__is_active=True)
            .filter(Q(next_check_at__lte=now) | Q(next_check_at__isnull=True))
        )

    def needs_attention(self, *, stale_days: int = 5, now=None) -> ShipmentQuerySet:
        now = now or timezone.now()
        return self.filter(
            Q(status_code__in=ATTENTION_STATUSES)
            | Q(consecutive_failures__gt=0)
            | (
                ~Q(status_code__in=FINAL_STATUSES)
                & Q(last_event_at__lt=now - timedelta(days=stale_days))
            )
        )

    def search(self, q: str) -> ShipmentQuerySet:
        """Tracking number (full or partial), reference, customer name or email, event city or
        postal code. SQLite answers substrings from a trigram FTS5 index; see search.py."""
        from .search import search_shipments

        return search_shipments(self, q)


class Shipment(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    label_id = models.CharField(_("label ID"), max_length=25, blank=True)

    # Staff-only fields: never shown on the public page.
    reference = models.CharField(_("order reference"), max_length=100, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_email = models.EmailField(_("customer email"), blank=True)
    notes = models.TextField(_("staff notes"), blank=True)

    # Summary of the latest answer. Empty status_code: never fetched successfully.
    status_code = models.CharField(_("status"), max_length=8, blank=True)
    status_description = models.CharField(max_length=200, blank=True)
    status_detail_code = models.CharField(max_length=64, blank=True)
    status_detail_description = models.CharField(max_length=500, blank=True)
    carrier_status_code = models.CharField(max_length=64, blank=True)
    carrier_status_description = models.CharField(max_length=500, blank=True)
    carrier_detail_code = models.CharField(max_length=64, blank=True)
    # The carrier code / account id as the API reported them (stamps_com answers as usps).
    api_carrier_code = models.CharField(max_length=64, blank=True)
    api_carrier_id = models.BigIntegerField(null=True, blank=True)
    tracking_url = models.URLField(max_length=1000, blank=True)
    ship_date = models.DateTimeField(null=True, blank=True)
    estimated_delivery_date = models.DateTimeField(null=True, blank=True)
    actual_delivery_date = models.DateTimeField(null=True, blank=True)
    exception_description = models.TextField(blank=True)
    signer = models.CharField(max_length=200, blank=True)

    # Denormalised newest event, so the list page needs no join.
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event_description = models.CharField(max_length=500, blank=True)
    last_event_location = models.CharField(max_length=200, blank=True)
    event_count = models.PositiveIntegerField(default=0)

    raw_response = models.JSONField(null=True, blank=True)

    # Refresh bookkeeping.
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    refresh_queued_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    push_subscribed_at = models.DateTimeField(null=True, blank=True)

    public_token = models.CharField(
        max_length=64, unique=True, default=new_public_token, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShipmentQuerySet.as_manager()

    class Meta:
        ordering = ["-last_event_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"], name="shipment_unique_per_carrier"
            )
        ]
        indexes = [
            models.Index(fields=["tracking_number"], name="shipment_tracking_number"),
            models.Index(fields=["reference"], name="shipment_reference"),
            models.Index(fields=["label_id"], name="shipment_label_id"),
            models.Index(fields=["status_code", "-last_event_at"], name="shipment_status_last"),
            models.Index(fields=["carrier", "-last_event_at"], name="shipment_carrier_last"),
            models.Index(fields=["-last_event_at", "-id"], name="shipment_last_event"),
            models.Index(fields=["estimated_delivery_date"], name="shipment_eta"),
            models.Index(fields=["next_check_at"], name="shipment_next_check"),
            models.Index(fields=["customer_email"], name="shipment_customer_email"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier.code} {self.tracking_number}"

    @property
    def is_final(self) -> bool:
        return self.status_code in FINAL_STATUSES

    @property
    def never_fetched(self) -> bool:
        return not self.status_code

    @property
    def carrier_link(self) -> str:
        return self.tracking_url or self.carrier.tracking_url_for(self.tracking_number)


class TrackingEventQuerySet(models.QuerySet["TrackingEvent"]):
    def newest_first(self) -> TrackingEventQuerySet:
        return self.order_by("-occurred_at", "-id")

    def with_location(self) -> TrackingEventQuerySet:
        return self.filter(latitude__isnull=False, longitude__isnull=False)


class TrackingEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    # Identity of the event across polls, webhooks and retries; see services.event_key().
    dedupe_key = models.CharField(max_length=64, editable=False)

    occurred_at = models.DateTimeField(null=True, blank=True)  # UTC
    carrier_occurred_at = models.CharField(max_length=40, blank=True)  # as the carrier sent it
    description = models.CharField(max_length=500, blank=True)
    city_locality = models.CharField(max_length=200, blank=True)
    state_province = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=32, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    event_code = models.CharField(max_length=64, blank=True)
    carrier_detail_code = models.CharField(max_length=64, blank=True)
    status_code = models.CharField(max_length=8, blank=True)
    status_detail_code = models.CharField(max_length=64, blank=True)
    status_description = models.CharField(max_length=200, blank=True)
    status_detail_description = models.CharField(max_length=500, blank=True)
    carrier_status_code = models.CharField(max_length=64, blank=True)
    carrier_status_description = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    proof_of_delivery_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrackingEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "dedupe_key"], name="event_unique_per_shipment"
            )
        ]
        indexes = [
            models.Index(fields=["shipment", "-occurred_at"], name="event_shipment_time"),
            # No plain index on city or postal code: the search reaches events' places through
            # SQLite's trigram table (0003) or PostgreSQL's UPPER() indexes (0006); plain ones
            # served no query and cost every event insert.
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description}"
            if self.occurred_at
            else self.description
        )

    @property
    def location(self) -> str:
        parts = [self.city_locality, self.state_province, self.postal_code, self.country_code]
        return ", ".join(p for p in parts if p)

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class ApiCallQuerySet(models.QuerySet["ApiCall"]):
    def failures(self) -> ApiCallQuerySet:
        return self.exclude(error_code="")

    def older_than(self, days: int) -> ApiCallQuerySet:
        return self.filter(at__lt=timezone.now() - timedelta(days=days))


class ApiCall(models.Model):
    """One HTTP attempt to ShipEngine, kept briefly for the API-health view. Never the API key."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    method = models.CharField(max_length=8)
    endpoint = models.CharField(max_length=100)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    error_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = ApiCallQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["error_code", "-at"], name="apicall_error_at")]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} {self.http_status or self.error_code}"


# --------------------------------------------------------------------------------------------
# Background work: shared rate limit, webhook receipts, bulk imports
# --------------------------------------------------------------------------------------------
class RateLimitState(models.Model):
    """One shared limiter (see ratelimit.py): the next free request slot and any 429 pause, as
    Unix times, so every worker and web process on every machine sees the same limit."""

    name = models.CharField(max_length=64, primary_key=True)
    next_slot = models.FloatField(default=0.0)
    paused_until = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return self.name


class WebhookReceiptQuerySet(models.QuerySet["WebhookReceipt"]):
    def older_than(self, days: int) -> WebhookReceiptQuerySet:
        return self.filter(received_at__lt=timezone.now() - timedelta(days=days))


class WebhookReceipt(models.Model):
    """One accepted webhook body, so that a replayed or re-sent delivery changes nothing."""

    digest = models.CharField(max_length=64, unique=True)  # sha256 of the raw body
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    resource_type = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    carrier_code = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=32)
    events_added = models.PositiveIntegerField(default=0)

    objects = WebhookReceiptQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.tracking_number} {self.outcome}"


class ImportJob(models.Model):
    """A CSV import: rows checked and stored by a task, then the new shipments fetched."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        IMPORTING = "importing", _("Importing rows")
        FETCHING = "fetching", _("Fetching tracking")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    task_result_id = models.CharField(max_length=64, blank=True)
    fetch = models.BooleanField(default=True)
    total_rows = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    fetches_enqueued = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField()
    tracking_number = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportItem(models.Model):
    """A shipment an import created: its fetch progress is what the progress bar shows."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="items")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "shipment"], name="import_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.shipment_id}"


class LookupThrottle(models.Model):
    """One counter per (key, time window), for the public lookup's per-address rate limit and the
    public page's refresh-on-open (see throttle.py). In the database so that every web process
    counts together; keys are keyed hashes, never raw client addresses."""

    key = models.CharField(max_length=64)
    window = models.BigIntegerField()  # start of the window, in seconds since the epoch
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="lookup_throttle_unique")
        ]
        indexes = [models.Index(fields=["window"], name="lookup_throttle_window")]

    def __str__(self) -> str:
        return f"{self.key[:8]}@{self.window}: {self.hits}"
