"""Shipments in the admin: the portal's search and filters, the newest events inline,
"Refresh now" and "Start push updates"."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..domain import statuses
from ..domain.numbers import TrackingInputError
from ..domain.statuses import ATTENTION, FINAL
from ..models import QueuedRefresh, Shipment, TrackingEvent
from ..services import api_client, push_updates, tracking
from ..shipengine import ShipEngineError
from .filters import NeedsAttentionFilter, SetOrNotFilter, StatusFilter
from .links import changelist_url
from .read_only import ViewOnly

# The shipment page shows this many of the newest events inline and links to all of them: a
# formset of every event of a long journey (hundreds of rows, each a form) would make the page slow.
INLINE_EVENTS = 50
# "Refresh now" calls the API while the admin waits; larger selections are left to the scheduler.
REFRESH_NOW_LIMIT = 25


class PushFilter(SetOrNotFilter):
    title = _("push updates")
    parameter_name = "push"
    field = "push_subscribed_at"
    labels = (_("Started"), _("Not started"))


class NewestEventsFormSet(BaseInlineFormSet):
    """Only the newest INLINE_EVENTS events of the shipment (one query with LIMIT)."""

    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_newest"):
            self._newest = super().get_queryset().order_by("-occurred_at", "-id")[:INLINE_EVENTS]
        return self._newest


class TrackingEventInline(ViewOnly, admin.TabularInline):
    model = TrackingEvent
    formset = NewestEventsFormSet
    template = "admin/tracking/shipment/events_inline.html"
    fields = readonly_fields = (
        "occurred_at",
        "carrier_occurred_at",
        "status_code",
        "description",
        "location",
        "event_code",
        "signer",
        "status_detail_description",
        "proof_of_delivery_url",
    )
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("newest events (at most %(count)d; all of them: the link above)") % {
        "count": INLINE_EVENTS
    }

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = (
        "tracking_number",
        "carrier",
        "status",
        "reference",
        "customer_name",
        "last_event",
        "estimated_delivery_date",
        "attention",
        "pages",
    )
    list_select_related = ("carrier",)
    list_filter = (
        StatusFilter,
        NeedsAttentionFilter,
        "carrier",
        PushFilter,
        "last_event_at",
        "ship_date",
        "estimated_delivery_date",
    )
    # The search is the staff portal's (Shipment.objects.search): get_search_results below.
    search_fields = ("tracking_number",)
    search_help_text = _(
        "Tracking number (or part of it), order reference, customer name or email, city or postcode of an event."
    )
    actions = ("refresh_now", "start_push_updates")
    inlines = (TrackingEventInline,)
    readonly_fields = (
        "carrier",
        "tracking_number",
        "label_id",
        "page_links",
        "events_link",
        "status_code",
        "status_description",
        "status_detail_code",
        "status_detail_description",
        "carrier_status_code",
        "carrier_status_description",
        "carrier_detail_code",
        "api_carrier_code",
        "api_carrier_id",
        "tracking_url",
        "ship_date",
        "estimated_delivery_date",
        "actual_delivery_date",
        "exception_description",
        "signer",
        "last_event_at",
        "last_event_description",
        "last_event_location",
        "event_count",
        "last_checked_at",
        "next_check_at",
        "refresh_state",
        "queued",
        "last_error",
        "last_error_code",
        "last_error_at",
        "consecutive_failures",
        "push_subscribed_at",
        "raw_answer",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("carrier", "tracking_number", "label_id", "page_links", "events_link")}),
        (
            _("Staff details"),
            {"fields": ("reference", "customer_name", "customer_email", "customer_postcode")},
        ),
        (
            _("Latest answer from ShipEngine"),
            {
                "fields": (
                    ("status_code", "status_description"),
                    ("status_detail_code", "status_detail_description"),
                    ("carrier_status_code", "carrier_status_description", "carrier_detail_code"),
                    ("api_carrier_code", "api_carrier_id"),
                    "tracking_url",
                    ("ship_date", "estimated_delivery_date", "actual_delivery_date"),
                    "exception_description",
                    "signer",
                    ("last_event_at", "last_event_location"),
                    "last_event_description",
                    "event_count",
                )
            },
        ),
        (
            _("Refresh"),
            {
                "fields": (
                    ("last_checked_at", "next_check_at"),
                    ("refresh_state", "queued"),
                    ("last_error_code", "last_error_at", "consecutive_failures"),
                    "last_error",
                    "push_subscribed_at",
                )
            },
        ),
        (_("Raw answer"), {"fields": ("raw_answer",), "classes": ("collapse",)}),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A package is added through the staff portal (or `manage.py track`), which asks the API
        # first and offers only active carriers; a bare row typed in here would skip both.
        return False

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # Events are read-only: a POST of the form has nothing to save in them, and leaving the
        # inline out spares validating INLINE_EVENTS read-only forms.
        return () if request.method == "POST" else super().get_inlines(request, obj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.search(search_term), False  # type: ignore[attr-defined]

    # -- columns -----------------------------------------------------------------------------
    @admin.display(description=_("status"), ordering="status_code")
    def status(self, obj: Shipment) -> str:
        words = statuses.words(obj.status_code, api_description=obj.status_description)
        return f"{words} ({obj.status_code})" if obj.status_code else words

    @admin.display(description=_("last event"), ordering="last_event_at")
    def last_event(self, obj: Shipment) -> str:
        if not obj.last_event_at:
            return "-"
        when = timezone.localtime(obj.last_event_at).strftime("%Y-%m-%d %H:%M")
        return f"{when} {obj.last_event_location}".strip()

    @admin.display(description=_("attention"))
    def attention(self, obj: Shipment) -> str:
        if obj.consecutive_failures:
            return ngettext(
                "refresh failed %(count)d time",
                "refresh failed %(count)d times",
                obj.consecutive_failures,
            ) % {"count": obj.consecutive_failures}
        if obj.status_code in ATTENTION:
            return str(obj.status_description or obj.status_code)
        return ""

    @admin.display(description=_("queued for refresh"))
    def queued(self, obj: Shipment) -> str:
        """The refresh queue's row (services/scheduling.py), when one is waiting for a worker."""
        row = QueuedRefresh.objects.filter(shipment=obj).first()
        if row is None:
            return self.get_empty_value_display()
        return _("since %(time)s (%(reason)s)") % {
            "time": timezone.localtime(row.queued_at).strftime("%Y-%m-%d %H:%M:%S"),
            "reason": row.reason,
        }

    @admin.display(description=_("pages"))
    def pages(self, obj: Shipment) -> str:
        return self.page_links(obj)

    @admin.display(description=_("portal pages"))
    def page_links(self, obj: Shipment) -> str:
        links = [
            (reverse("staff:shipment_detail", args=[obj.pk]), _("staff page")),
            (reverse("public:track_page", args=[obj.public_token]), _("public page")),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description=_("events"))
    def events_link(self, obj: Shipment) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            changelist_url(TrackingEvent, shipment__id__exact=obj.pk),
            ngettext("all %(count)d event", "all %(count)d events", obj.event_count)
            % {"count": obj.event_count},
        )

    @admin.display(description=_("raw answer"))
    def raw_answer(self, obj: Shipment) -> str:
        if obj.raw_response is None:
            return "-"
        return format_html("<pre>{}</pre>", json.dumps(obj.raw_response, indent=2, sort_keys=True))

    # -- actions -----------------------------------------------------------------------------
    def _limited(
        self, request: HttpRequest, queryset: QuerySet[Shipment], verb: str
    ) -> list[Shipment]:
        shipments = list(queryset.select_related("carrier")[: REFRESH_NOW_LIMIT + 1])
        if len(shipments) > REFRESH_NOW_LIMIT:
            shipments = shipments[:REFRESH_NOW_LIMIT]
            self.message_user(
                request,
                _(
                    "%(verb)s: only the first %(limit)d selected shipments were handled; select "
                    "fewer at a time (the scheduler refreshes the others on its own)."
                )
                % {"verb": verb, "limit": REFRESH_NOW_LIMIT},
                messages.WARNING,
            )
        return shipments

    @admin.action(description=_("Refresh now"), permissions=["change"])
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        for shipment in self._limited(request, queryset, str(_("Refresh now"))):
            try:
                # interactive: someone waits on the page, so no long retry waits.
                result = tracking.refresh_shipment(shipment_id=shipment.pk, interactive=True)
            except TrackingInputError as exc:
                self.message_user(
                    request,
                    _("%(shipment)s: not refreshed. %(reason)s")
                    % {"shipment": shipment, "reason": exc.message},
                    messages.WARNING,
                )
                continue
            except ShipEngineError as exc:
                self.message_user(
                    request,
                    _(
                        "%(shipment)s: refresh failed, nothing stored was changed. "
                        "ShipEngine said: %(error)s"
                    )
                    % {"shipment": shipment, "error": exc.one_line()},
                    messages.ERROR,
                )
                continue
            except Shipment.DoesNotExist:
                self.message_user(
                    request,
                    _("%(shipment)s: it was deleted meanwhile.") % {"shipment": shipment},
                    messages.WARNING,
                )
                continue
            fresh = result.shipment
            self.message_user(
                request,
                ngettext(
                    "%(shipment)s: refreshed, %(count)d new event; status %(status)s.",
                    "%(shipment)s: refreshed, %(count)d new events; status %(status)s.",
                    result.events_added,
                )
                % {
                    "shipment": shipment,
                    "count": result.events_added,
                    "status": fresh.status_description or fresh.status_code,
                },
                messages.SUCCESS,
            )

    @admin.action(description=_("Start push updates"), permissions=["change"])
    def start_push_updates(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        for shipment in self._limited(request, queryset, str(_("Start push updates"))):
            if shipment.status_code in FINAL:
                self.message_user(
                    request,
                    _("%(shipment)s: delivered, there are no updates to push.")
                    % {"shipment": shipment},
                    messages.INFO,
                )
                continue
            try:
                push_updates.start_push_updates(shipment_id=shipment.pk, interactive=True)
            except TrackingInputError as exc:
                self.message_user(
                    request,
                    _("%(shipment)s: push updates not started. %(reason)s")
                    % {"shipment": shipment, "reason": exc},
                    messages.WARNING,
                )
                continue
            except ShipEngineError as exc:
                self.message_user(
                    request,
                    _("%(shipment)s: push updates not started. ShipEngine said: %(error)s")
                    % {"shipment": shipment, "error": exc.one_line()},
                    messages.ERROR,
                )
                continue
            self.message_user(
                request,
                (
                    _(
                        "%(shipment)s: push updates started in the sandbox (it calls no webhook "
                        "by itself: manage.py sandbox_webhook sends one)."
                    )
                    if api_client.is_simulated()
                    else _("%(shipment)s: push updates started; ShipEngine will call our webhook.")
                )
                % {"shipment": shipment},
                messages.SUCCESS,
            )
