"""The Django admin: carriers, shipments, events, and the health of the ShipEngine API.

Every changelist costs a fixed number of queries however many rows there are: related rows come
with `list_select_related`, per-row counts are annotations, and filters never list values with a
scan of a large table. Writes go through services.py, like everywhere else.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import health, services
from .forms import NEVER_FETCHED, ShipmentFilterForm
from .models import FINAL_STATUSES, ApiCall, Carrier, Shipment, Status, TrackingEvent
from .shipengine import ShipEngineError

# The shipment page shows this many of the newest events inline and links to all of them: a
# formset of every event of a long journey (hundreds of rows, each a form) would make the page slow.
INLINE_EVENTS = 50
# "Refresh now" calls the API while the admin waits; larger selections are left to the scheduler.
REFRESH_NOW_LIMIT = 25


def _reverse_or_none(name: str, *args: Any) -> str | None:
    """The URL, or None while that page does not exist (the portal is built in parallel)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _changelist_url(model: type[Model], **filters: Any) -> str:
    url = reverse(f"admin:tracking_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


admin.site.site_header = _("shiptrack administration")
admin.site.site_title = _("shiptrack admin")
admin.site.index_title = _("Carriers, shipments and API health")


# --------------------------------------------------------------------------------------------
# Carriers
# --------------------------------------------------------------------------------------------
class ShipEngineAccountFilter(admin.SimpleListFilter):
    title = _("ShipEngine account")
    parameter_name = "connected"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Connected (has a carrier_id)")), ("no", _("Not connected"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.exclude(shipengine_carrier_id="")
        if self.value() == "no":
            return queryset.filter(shipengine_carrier_id="")
        return queryset


class _SetOrNotFilter(admin.SimpleListFilter):
    """Yes/no on whether a timestamp field is set."""

    field = ""
    labels: tuple[Any, Any] = (_("Yes"), _("No"))

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", self.labels[0]), ("no", self.labels[1])]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {"yes", "no"}:
            return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})
        return queryset


class SyncedFilter(_SetOrNotFilter):
    title = _("synced from ShipEngine")
    parameter_name = "synced"
    field = "last_synced_at"
    labels = (_("Yes"), _("Never"))


class CarrierForm(forms.ModelForm):
    class Meta:
        model = Carrier
        fields = ("code", "name", "alternate_names", "is_active", "tracking_url_template")

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip().lower()
        if not re.match(r"^[a-z0-9]+(_[a-z0-9]+)*$", code):
            raise forms.ValidationError(
                _("A carrier code is ShipEngine's carrier_code: lower-case letters, digits and _.")
            )
        return code

    def clean_tracking_url_template(self) -> str:
        template = (self.cleaned_data.get("tracking_url_template") or "").strip()
        if not template:
            return ""
        if not re.match(r"^https?://[^\s]+$", template, re.IGNORECASE):
            raise forms.ValidationError(_("Enter a web address starting with https:// or http://."))
        if "{tracking_number}" not in template:
            raise forms.ValidationError(
                _("Put {tracking_number} where the tracking number goes in the address.")
            )
        return template


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    form = CarrierForm
    list_display = (
        "name",
        "code",
        "is_active",
        "shipment_count",
        "shipengine_carrier_id",
        "connection_status",
        "last_synced_at",
    )
    list_filter = ("is_active", ShipEngineAccountFilter, "connection_status", SyncedFilter)
    # alternate_names: the seed lists "Australia Post eParcel" under australia_post as well.
    search_fields = (
        "code",
        "name",
        "alternate_names",
        "nickname",
        "friendly_name",
        "shipengine_carrier_id",
    )
    search_help_text = _("Code, name or other name, ShipEngine nickname or carrier_id.")
    actions = ("enable_carriers", "disable_carriers")
    readonly_fields = (
        "shipengine_carrier_id",
        "nickname",
        "friendly_name",
        "connection_status",
        "last_synced_at",
        "shipments_link",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("code", "name", "alternate_names", "is_active", "shipments_link")}),
        (
            _("Carrier tracking page"),
            {"fields": ("tracking_url_template",)},
        ),
        (
            _("ShipEngine account (from Sync from ShipEngine)"),
            {
                "fields": (
                    "shipengine_carrier_id",
                    "nickname",
                    "friendly_name",
                    "connection_status",
                    "last_synced_at",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Carrier]:
        return super().get_queryset(request).annotate(shipment_total=Count("shipments"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The code is the key the API knows the carrier by: fixed once the carrier exists.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "code") if obj is not None else fields

    @admin.display(description=_("shipments"), ordering="shipment_total")
    def shipment_count(self, obj: Carrier) -> int:
        return getattr(obj, "shipment_total", 0)

    @admin.display(description=_("shipments"))
    def shipments_link(self, obj: Carrier) -> str:
        if obj.pk is None:
            return "-"
        count = getattr(obj, "shipment_total", None)
        if count is None:
            count = obj.shipments.count()
        return format_html(
            '<a href="{}">{}</a>',
            _changelist_url(Shipment, carrier__id__exact=obj.pk),
            ngettext("%(count)d shipment", "%(count)d shipments", count) % {"count": count},
        )

    @admin.action(description=_("Enable selected carriers"), permissions=["change"])
    def enable_carriers(self, request: HttpRequest, queryset: QuerySet[Carrier]) -> None:
        changed = services.set_carriers_active(
            carrier_ids=list(queryset.values_list("pk", flat=True)), active=True
        )
        self.message_user(
            request,
            ngettext("%(count)d carrier enabled.", "%(count)d carriers enabled.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )

    @admin.action(description=_("Disable selected carriers"), permissions=["change"])
    def disable_carriers(self, request: HttpRequest, queryset: QuerySet[Carrier]) -> None:
        changed = services.set_carriers_active(
            carrier_ids=list(queryset.values_list("pk", flat=True)), active=False
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d carrier disabled: its packages are kept but no longer refreshed, "
                "and no new packages can be added for it.",
                "%(count)d carriers disabled: their packages are kept but no longer refreshed, "
                "and no new packages can be added for them.",
                changed,
            )
            % {"count": changed},
            messages.SUCCESS,
        )

    def get_urls(self) -> list[URLPattern]:
        sync = path(
            "sync/",
            self.admin_site.admin_view(self.sync_view),
            name="tracking_carrier_sync",
        )
        return [sync, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_sync": self.has_change_permission(request),
            "sandbox_mode": settings.SHIPENGINE_SANDBOX,
        }
        return super().changelist_view(request, extra_context)

    @method_decorator(require_POST)
    def sync_view(self, request: HttpRequest) -> HttpResponse:
        return _sync_carriers(self, request)


def _sync_carriers(model_admin: CarrierAdmin, request: HttpRequest) -> HttpResponse:
    """GET /v1/carriers and report what changed. A failed call changes nothing; a 207 answer's
    carriers are stored and its errors shown."""
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    back = reverse("admin:tracking_carrier_changelist")
    try:
        report = services.sync_carriers(client=services.get_client(interactive=True))
    except ShipEngineError as exc:
        model_admin.message_user(
            request,
            _("Sync from ShipEngine failed; no carrier was changed. ShipEngine said: %(error)s")
            % {"error": exc.one_line()},
            messages.ERROR,
        )
        return HttpResponseRedirect(back)
    text = _("Sync from ShipEngine: %(summary)s.") % {"summary": report.summary()}
    if report.updated:
        text += " " + _("Updated: %(codes)s.") % {"codes": ", ".join(report.updated)}
    if report.errors:
        model_admin.message_user(
            request,
            _(
                "ShipEngine answered only in part: the carriers it sent are stored, nothing else "
                "was changed or removed. %(text)s"
            )
            % {"text": text},
            messages.WARNING,
        )
    else:
        model_admin.message_user(request, text, messages.SUCCESS)
    return HttpResponseRedirect(back)


# --------------------------------------------------------------------------------------------
# Shipments and their events
# --------------------------------------------------------------------------------------------
class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"
    NEVER = NEVER_FETCHED  # the staff portal's value for "never fetched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            *((s.value, f"{s.label} ({s.value})") for s in Status),
            (self.NEVER, _("Never fetched")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == self.NEVER:
            return queryset.filter(status_code="")
        if value:
            return queryset.filter(status_code=value)
        return queryset


class NeedsAttentionFilter(admin.SimpleListFilter):
    """The staff portal's "needs attention" (tracking/filters.py): an exception, a delivery
    attempt, no news for a while, or refreshes failing."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("yes", _("Any reason")),
            ("exception", _("Exception")),
            ("attempt", _("Delivery attempt")),
            ("quiet", _("No news for %(days)d days") % {"days": self.quiet_days}),
            ("failed", _("Refresh failing")),
        ]

    @property
    def quiet_days(self) -> int:
        return ShipmentFilterForm.DEFAULT_QUIET_DAYS

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        cutoff = timezone.now() - timedelta(days=self.quiet_days)
        reasons = {
            "exception": Q(status_code=Status.EXCEPTION),
            "attempt": Q(status_code=Status.DELIVERY_ATTEMPT),
            "quiet": ~Q(status_code__in=FINAL_STATUSES)
            & (Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True, created_at__lt=cutoff)),
            "failed": Q(consecutive_failures__gt=0),
        }
        value = self.value()
        if value == "yes":
            any_reason = Q(pk__in=[])
            for reason in reasons.values():
                any_reason |= reason
            return queryset.filter(any_reason)
        if value in reasons:
            return queryset.filter(reasons[value])
        return queryset


class PushFilter(_SetOrNotFilter):
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


class TrackingEventInline(admin.TabularInline):
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
    )
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("newest events (at most %(count)d; all of them: the link above)") % {
        "count": INLINE_EVENTS
    }

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
        "refresh_queued_at",
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
        (_("Staff details"), {"fields": ("reference", "customer_name", "customer_email", "notes")}),
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
                    ("last_checked_at", "next_check_at", "refresh_queued_at"),
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
        if not obj.status_code:
            return str(_("never fetched"))
        return f"{obj.status_description or obj.status_code} ({obj.status_code})"

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
        if obj.status_code in (Status.EXCEPTION, Status.DELIVERY_ATTEMPT):
            return str(obj.status_description or obj.status_code)
        return ""

    @admin.display(description=_("pages"))
    def pages(self, obj: Shipment) -> str:
        return self.page_links(obj)

    @admin.display(description=_("portal pages"))
    def page_links(self, obj: Shipment) -> str:
        links = []
        staff = _reverse_or_none("staff:shipment_detail", obj.pk)
        if staff:
            links.append((staff, _("staff page")))
        public = _reverse_or_none("public:track_page", obj.public_token)
        if public:
            links.append((public, _("public page")))
        if not links:
            return "-"
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description=_("events"))
    def events_link(self, obj: Shipment) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            _changelist_url(TrackingEvent, shipment__id__exact=obj.pk),
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
            if not shipment.carrier.is_active:
                self.message_user(
                    request,
                    _("%(shipment)s: not refreshed, the carrier %(carrier)s is disabled.")
                    % {"shipment": shipment, "carrier": shipment.carrier.name},
                    messages.WARNING,
                )
                continue
            try:
                # interactive: someone waits on the page, so no long retry waits.
                result = services.refresh_shipment(shipment_id=shipment.pk, interactive=True)
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
            if shipment.status_code in FINAL_STATUSES:
                self.message_user(
                    request,
                    _("%(shipment)s: delivered, there are no updates to push.")
                    % {"shipment": shipment},
                    messages.INFO,
                )
                continue
            try:
                services.start_push_updates(shipment_id=shipment.pk, interactive=True)
            except services.TrackingInputError as exc:
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
                _("%(shipment)s: push updates started; ShipEngine will call our webhook.")
                % {"shipment": shipment},
                messages.SUCCESS,
            )


class EventStatusFilter(admin.SimpleListFilter):
    # A fixed list: listing the distinct values would scan the whole (large) events table.
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(s.value, f"{s.label} ({s.value})") for s in Status]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status_code=self.value()) if self.value() else queryset


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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


# --------------------------------------------------------------------------------------------
# API calls and API health
# --------------------------------------------------------------------------------------------
class FailedFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("ok", _("Succeeded")),
            ("failed", _("Failed")),
            ("429", _("Rate limited (429)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "ok":
            return queryset.filter(error_code="")
        if self.value() == "failed":
            return queryset.exclude(error_code="")
        if self.value() == "429":
            return queryset.filter(http_status=health.RATE_LIMITED)
        return queryset


class EndpointFilter(admin.SimpleListFilter):
    # The client's endpoints, listed here rather than read with a DISTINCT over every call.
    title = _("endpoint")
    parameter_name = "endpoint"
    ENDPOINTS = (
        "/v1/tracking",
        "/v1/labels/{label_id}/track",
        "/v1/carriers",
        "/v1/tracking/start",
        "/v1/tracking/stop",
        "/v1/environment/webhooks",
    )

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(e, e) for e in self.ENDPOINTS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(endpoint=self.value()) if self.value() else queryset


HEALTH_HOURS = (24, 72, 168)


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "method",
        "endpoint",
        "http_status",
        "duration_ms",
        "attempt",
        "error_code",
        "request_id",
    )
    # Error codes: the health page lists them, each linking to ?error_code=...
    list_filter = (FailedFilter, EndpointFilter, "at")
    search_fields = ("request_id", "error_code", "endpoint")
    search_help_text = _("Request id, error code or endpoint.")
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "health/",
                self.admin_site.admin_view(self.health_view),
                name="tracking_apicall_health",
            ),
            path(
                "prune/",
                self.admin_site.admin_view(self.prune_view),
                name="tracking_apicall_prune",
            ),
            *super().get_urls(),
        ]

    def health_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            hours = int(request.GET.get("hours", HEALTH_HOURS[0]))
        except ValueError:
            hours = HEALTH_HOURS[0]
        if hours not in HEALTH_HOURS:
            hours = HEALTH_HOURS[0]
        report = health.report(hours=hours)
        context = {
            **self.admin_site.each_context(request),
            "title": _("API health"),
            "opts": self.opts,
            "report": report,
            "chart": _chart(report["buckets"], report["peak"]),
            "hour_choices": HEALTH_HOURS,
            "can_prune": self.has_delete_permission(request),
            "changelist_url": reverse("admin:tracking_apicall_changelist"),
            "failed_url": _changelist_url(ApiCall, outcome="failed"),
            "rate_limited_url": _changelist_url(ApiCall, outcome="429"),
        }
        return TemplateResponse(request, "admin/tracking/apicall/health.html", context)

    @method_decorator(require_POST)
    def prune_view(self, request: HttpRequest) -> HttpResponse:
        return _prune(self, request)


def _prune(model_admin: ApiCallAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_delete_permission(request):
        raise PermissionDenied
    deleted = health.prune_api_calls()
    model_admin.message_user(
        request,
        ngettext(
            "%(count)d API call record older than %(days)d days deleted.",
            "%(count)d API call records older than %(days)d days deleted.",
            deleted,
        )
        % {"count": deleted, "days": settings.API_CALL_RETENTION_DAYS},
        messages.SUCCESS,
    )
    return HttpResponseRedirect(reverse("admin:tracking_apicall_health"))


# The chart is SVG drawn with attributes and classes only: the Content-Security-Policy allows no
# inline styles. A strip above the bars holds the 429 markers, a margin keeps the labels inside.
CHART_WIDTH = 720
CHART_HEIGHT = 120
CHART_TOP = 12
CHART_LEFT = 24


def _chart(buckets: list[health.HourBucket], peak: int) -> dict[str, Any]:
    count = max(len(buckets), 1)
    step = max(3, CHART_WIDTH // count)
    bar = max(2, step - max(1, step // 5))
    scale = CHART_HEIGHT / peak if peak else 0
    base = CHART_TOP + CHART_HEIGHT
    every = max(1, count // 8)  # about eight hour labels, so they never overlap
    bars = []
    for i, b in enumerate(buckets):
        fail_h = round(b.failures * scale)
        if b.failures and not fail_h:
            fail_h = 1  # a failure is never invisible
        ok_h = max(round(b.calls * scale) - fail_h, 0)
        local = timezone.localtime(b.hour)
        x = CHART_LEFT + i * step
        bars.append(
            {
                "bucket": b,
                "x": x,
                "mid_x": x + bar / 2,
                "ok_y": base - ok_h - fail_h,
                "ok_h": ok_h,
                "fail_y": base - fail_h,
                "fail_h": fail_h,
                "label": (local.strftime("%d %H:00") if count > 48 else local.strftime("%H:00"))
                if i % every == 0
                else "",
            }
        )
    return {
        "bars": bars,
        "bar": bar,
        "left": CHART_LEFT,
        "width": CHART_LEFT * 2 + step * count,
        "axis_end": CHART_LEFT + step * count,
        "base": base,
        "dot_y": CHART_TOP // 2,
        "label_y": base + 16,
        "total_height": base + 22,
    }
