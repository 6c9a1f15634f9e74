"""Carriers in the admin: shipments per carrier, enable/disable, "Sync from ShipEngine"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..domain.links import safe_http_url
from ..domain.numbers import is_valid_carrier_code, normalize_carrier_code
from ..models import Carrier, Shipment
from ..services import api_client
from ..services import carriers as carrier_service
from ..shipengine import ShipEngineError
from .filters import SetOrNotFilter
from .links import changelist_url


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


class SyncedFilter(SetOrNotFilter):
    title = _("synced from ShipEngine")
    parameter_name = "synced"
    field = "last_synced_at"
    labels = (_("Yes"), _("Never"))


class ConnectionStatusFilter(admin.SimpleListFilter):
    """The account's connection states that occur (a few dozen carriers: DISTINCT is cheap), each
    with a readable name; carriers never synced have none and are not listed as an empty link."""

    title = _("connection status")
    parameter_name = "connection_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        values = (
            Carrier.objects.exclude(connection_status="")
            .order_by("connection_status")
            .values_list("connection_status", flat=True)
            .distinct()
        )
        return [(value, value.replace("_", " ").capitalize()) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(connection_status=self.value()) if self.value() else queryset


class CarrierForm(forms.ModelForm):
    class Meta:
        model = Carrier
        fields = ("code", "name", "alternate_names", "is_active", "tracking_url_template")

    def clean_code(self) -> str:
        code = normalize_carrier_code(self.cleaned_data.get("code"))
        if not is_valid_carrier_code(code):
            raise forms.ValidationError(
                _("A carrier code is ShipEngine's carrier_code: lower-case letters, digits and _.")
            )
        return code

    def clean_tracking_url_template(self) -> str:
        template = (self.cleaned_data.get("tracking_url_template") or "").strip()
        if not template:
            return ""
        if not safe_http_url(template):
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
        "inactive_reason",
        "shipment_count",
        "shipengine_carrier_id",
        "connection_status",
        "last_synced_at",
    )
    list_filter = ("is_active", ShipEngineAccountFilter, ConnectionStatusFilter, SyncedFilter)
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
        "inactive_reason",
        "last_synced_at",
        "shipments_link",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "code",
                    "name",
                    "alternate_names",
                    "is_active",
                    "inactive_reason",
                    "shipments_link",
                )
            },
        ),
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
            changelist_url(Shipment, carrier__id__exact=obj.pk),
            ngettext("%(count)d shipment", "%(count)d shipments", count) % {"count": count},
        )

    @admin.action(description=_("Enable selected carriers"), permissions=["change"])
    def enable_carriers(self, request: HttpRequest, queryset: QuerySet[Carrier]) -> None:
        changed = carrier_service.set_carriers_active(
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
        changed = carrier_service.set_carriers_active(
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
            "sandbox_mode": api_client.is_simulated(),
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
        report = carrier_service.sync_carriers(client=api_client.get_client(interactive=True))
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
