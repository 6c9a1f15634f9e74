"""Shipments: one parcel with one carrier, its latest summary and its refresh bookkeeping.

Reads are chainable QuerySet methods (`in_transit()`, `needs_refresh()`, `needs_attention()`,
`search()`); writes that span models are services.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Func, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Replace, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..domain.contacts import Contact
from ..domain.numbers import LABEL_ID_MAX, TRACKING_NUMBER_MAX
from ..domain.refresh_policy import ACTIVE, GIVEN_UP
from ..domain.statuses import FINAL, Status
from .carriers import Carrier
from .search import search_shipments


def new_public_token() -> str:
    # 32 random bytes -> 43 URL-safe characters (256 bits), independent of the tracking number.
    # Migration 0001 imports this by its path (tracking.models.new_public_token).
    return secrets.token_urlsafe(32)


#: The reasons a shipment may need a person, as the staff filter and the admin offer them.
ATTENTION_REASONS = ("exception", "attempt", "quiet", "failed")
DEFAULT_QUIET_DAYS = 5


class ShipmentQuerySet(models.QuerySet["Shipment"]):
    def in_transit(self) -> ShipmentQuerySet:
        return self.exclude(status_code__in=FINAL)

    def needs_refresh(self, now: datetime | None = None) -> ShipmentQuerySet:
        """Due for a poll: not final, not given up, carrier active, next check reached (or never
        set: a package added without one is due at once). A given-up shipment is never due."""
        now = now or timezone.now()
        return (
            self.in_transit()
            .filter(carrier__is_active=True, refresh_state=ACTIVE)
            .filter(Q(next_check_at__lte=now) | Q(next_check_at__isnull=True))
        )

    def refresh_failing(self) -> ShipmentQuerySet:
        """Shipments whose last refresh failed, through the partial index
        shipment_refresh_failing. The condition is the index's own, written out rather than
        bound as a parameter: only then does SQLite know every index entry matches without
        reading its row (a count at 1M shipments, 10,000 failing: 0.3 ms against 17 ms)."""
        return self.filter(
            RawSQL('"tracking_shipment"."consecutive_failures" > 0', (), models.BooleanField())
        )

    def needs_attention(
        self,
        reasons: Iterable[str] = ATTENTION_REASONS,
        *,
        quiet_days: int = DEFAULT_QUIET_DAYS,
        now: datetime | None = None,
    ) -> ShipmentQuerySet:
        """Shipments a person should look at, for any of `reasons`: an exception, a failed
        delivery attempt, no new event for `quiet_days` (counted from when it was added if it
        never had one), or refreshes failing."""
        return self.filter(attention_q(reasons, quiet_days=quiet_days, now=now))

    def of_order(self, order: str, contact: Contact) -> ShipmentQuerySet:
        """The parcels of order `order` whose stored email or postcode is `contact`
        (domain/contacts.py: email case-insensitive, postcode normalised). A wrong contact and an
        unknown order run the same one query and both find nothing.

        The order is matched as typed, upper- and lower-cased: three values the `reference` index
        finds, where a case-insensitive comparison would read every shipment."""
        rows = self.filter(reference__in=sorted({order, order.upper(), order.lower()}))
        if contact.kind == "email":
            return rows.filter(customer_email__iexact=contact.value)
        normalised: Func = Upper("customer_postcode")
        for noise in (" ", "-", "."):
            normalised = Replace(normalised, Value(noise), Value(""))
        return rows.alias(postcode_key=normalised).filter(postcode_key=contact.value)

    def search(self, q: str) -> ShipmentQuerySet:
        """Every match of the staff search, unordered (the admin, the CSV export): tracking
        number (full or partial), label id, reference, customer, signer, carrier, any place of
        its events; see search.py."""
        return search_shipments(self, q)


def attention_q(
    reasons: Iterable[str], *, quiet_days: int = DEFAULT_QUIET_DAYS, now: datetime | None = None
) -> Q:
    """The condition behind needs_attention() (also counted per reason by the staff list)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=quiet_days)
    conditions = {
        "exception": Q(status_code=Status.EXCEPTION),
        "attempt": Q(status_code=Status.DELIVERY_ATTEMPT),
        "quiet": ~Q(status_code__in=FINAL)
        & (Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True, created_at__lt=cutoff)),
        "failed": Q(consecutive_failures__gt=0),
    }
    combined = Q(pk__in=[])
    for reason in reasons:
        combined |= conditions[reason]
    return combined


def attention_reasons(
    shipment: Shipment, *, quiet_days: int = DEFAULT_QUIET_DAYS, now: datetime | None = None
) -> list[str]:
    """The reasons of attention_q() that one loaded shipment meets (the queue labels its rows)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=quiet_days)
    since = shipment.last_event_at or shipment.created_at
    met = {
        "exception": shipment.status_code == Status.EXCEPTION,
        "attempt": shipment.status_code == Status.DELIVERY_ATTEMPT,
        "quiet": shipment.status_code not in FINAL and since is not None and since < cutoff,
        "failed": shipment.consecutive_failures > 0,
    }
    return [reason for reason in ATTENTION_REASONS if met[reason]]


class Shipment(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(_("tracking number"), max_length=TRACKING_NUMBER_MAX)
    label_id = models.CharField(_("label ID"), max_length=LABEL_ID_MAX, blank=True)

    # Staff-only fields: never shown on the public page.
    reference = models.CharField(_("order reference"), max_length=100, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    customer_email = models.EmailField(_("customer email"), blank=True)
    customer_postcode = models.CharField(_("customer postcode"), max_length=16, blank=True)
    #: The customer's language for e-mails (a code of settings.LANGUAGES; empty: the default).
    language = models.CharField(_("language"), max_length=8, blank=True)
    # Unused since 0014: moved into the first ShipmentNote (kept: dropping a column rebuilds the
    # table on SQLite and loses its search triggers).
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
    refresh_queued_at = models.DateTimeField(null=True, blank=True)  # unused since 0010
    refresh_state = models.CharField(
        _("refresh state"),
        max_length=16,
        default=ACTIVE,
        choices=[(ACTIVE, _("Refreshed on its schedule")), (GIVEN_UP, _("Given up"))],
    )
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
            # The list's order (newest first, ties by id) whole, within a status and within a
            # carrier: a page is the first rows of one of these, so LIMIT stops early. The
            # never-updated (NULL) rows are read apart (queries/shipment_list.py), which keeps
            # these plain indexes right on both databases.
            models.Index(
                fields=["status_code", "-last_event_at", "-id"], name="shipment_status_order"
            ),
            models.Index(
                fields=["carrier", "-last_event_at", "-id"], name="shipment_carrier_order"
            ),
            # The REST API's status filter, newest first (by id): without it SQLite reads every
            # shipment of the status and sorts them (0.2 s for an exception filter at 1M rows).
            models.Index(fields=["status_code", "-id"], name="shipment_status_newest"),
            models.Index(fields=["-last_event_at", "-id"], name="shipment_last_event"),
            models.Index(fields=["estimated_delivery_date"], name="shipment_eta"),
            models.Index(fields=["next_check_at"], name="shipment_next_check"),
            models.Index(fields=["customer_email"], name="shipment_customer_email"),
            # The few whose refreshes are failing: the staff list counts them on every page.
            models.Index(
                fields=["id"],
                name="shipment_refresh_failing",
                condition=models.Q(consecutive_failures__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier.name} {self.tracking_number}"

    @property
    def is_final(self) -> bool:
        return self.status_code in FINAL

    @property
    def carrier_link(self) -> str:
        return self.tracking_url or self.carrier.tracking_url_for(self.tracking_number)
