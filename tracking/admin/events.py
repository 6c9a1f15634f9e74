"""Tracking events in the admin: read-only, searchable, newest stored first."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import TrackingEvent
from .filters import EventStatusFilter
from .read_only import ViewOnly


@admin.register(TrackingEvent)
class TrackingEventAdmin(ViewOnly, admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "shipment_link",
        "carrier_code",
        "status_code",
        "description",
        "location",
        "event_code",
    )
    list_select_related = ("shipment__carrier",)
    list_filter = (EventStatusFilter, "occurred_at")
    search_fields = (
        "shipment__tracking_number",
        "description",
        "city_locality",
        "postal_code",
        "event_code",
        "signer",
    )
    search_help_text = _("Tracking number, description, city, postcode, event code or signer.")
    # Newest stored first, along the primary key: sorting the whole table by occurred_at has
    # no index to walk. Click the column to sort by event time.
    ordering = ("-id",)
    # Counting every event for "N total" is a full scan on a big table; the filtered count stays.
    show_full_result_count = False
    list_per_page = 100

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Events are never deleted (DESIGN.md); they go with their shipment.
        return False

    @admin.display(description=_("shipment"), ordering="shipment__tracking_number")
    def shipment_link(self, obj: TrackingEvent) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:tracking_shipment_change", args=[obj.shipment_id]),
            obj.shipment.tracking_number,
        )

    @admin.display(description=_("carrier"), ordering="shipment__carrier__code")
    def carrier_code(self, obj: TrackingEvent) -> str:
        return obj.shipment.carrier.code
