"""API calls in the admin: the call log, the API-health page and pruning."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..models import ApiCall
from ..queries import api_health
from ..services import housekeeping
from .charts import hourly_chart
from .links import changelist_url
from .read_only import ViewOnly


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
            return queryset.filter(http_status=api_health.RATE_LIMITED)
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
class ApiCallAdmin(ViewOnly, admin.ModelAdmin):
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
        report = api_health.report(hours=hours)
        context = {
            **self.admin_site.each_context(request),
            "title": _("API health"),
            "opts": self.opts,
            "report": report,
            "chart": hourly_chart(report["buckets"], report["peak"]),
            "hour_choices": HEALTH_HOURS,
            "can_prune": self.has_delete_permission(request),
            "changelist_url": reverse("admin:tracking_apicall_changelist"),
            "failed_url": changelist_url(ApiCall, outcome="failed"),
            "rate_limited_url": changelist_url(ApiCall, outcome="429"),
        }
        return TemplateResponse(request, "admin/tracking/apicall/health.html", context)

    @method_decorator(require_POST)
    def prune_view(self, request: HttpRequest) -> HttpResponse:
        return _prune(self, request)


def _prune(model_admin: ApiCallAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_delete_permission(request):
        raise PermissionDenied
    deleted = housekeeping.prune_api_calls()
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
