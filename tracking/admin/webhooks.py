"""Outgoing webhooks in the admin: endpoints (the signing secret shown once, enable/disable, a
notice for each endpoint switched off after a day of failures) and the delivery log (state,
time, response code, the first 1 KB of the answer, every attempt; replay)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import tasks
from ..models import ChangeKind, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..services import outbound_webhooks
from .links import changelist_url
from .read_only import ViewOnly


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=ChangeKind.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(ChangeKind.values),
        label=_("events"),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "event_types", "description")

    def clean_url(self) -> str:
        try:
            return outbound_webhooks.check_endpoint_url(self.cleaned_data.get("url") or "")
        except outbound_webhooks.EndpointError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_event_types(self) -> list[str]:
        try:
            return outbound_webhooks.clean_event_types(self.cleaned_data.get("event_types") or [])
        except outbound_webhooks.EndpointError as exc:
            raise forms.ValidationError(exc.message) from None


def _notice_disabled(request: HttpRequest) -> None:
    for endpoint in WebhookEndpoint.objects.filter(is_active=False).exclude(disabled_reason=""):
        messages.warning(
            request,
            format_html(
                "{} <strong>{}</strong> is disabled. {} {}",
                _("Webhook endpoint"),
                endpoint.url,
                endpoint.disabled_reason,
                _("Fix the receiver, then use “Enable” to send what is waiting."),
            ),
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = (
        "url",
        "event_list",
        "is_active",
        "failing_since",
        "pending_count",
        "deliveries_link",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = (
        "is_active",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "created_by_key",
        "created_at",
    )
    actions = ("enable_endpoints", "disable_endpoints")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        # A subquery on the pending-deliveries index, not a join with the whole delivery log.
        pending = (
            WebhookDelivery.objects.pending()
            .filter(endpoint=OuterRef("pk"))
            .order_by()
            .values("endpoint")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return super().get_queryset(request).annotate(pending_total=Subquery(pending))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        _notice_disabled(request)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types or [])

    @admin.display(description=_("waiting"), ordering="pending_total")
    def pending_count(self, obj: WebhookEndpoint) -> int:
        return getattr(obj, "pending_total", None) or 0

    @admin.display(description=_("delivery log"))
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = changelist_url(WebhookDelivery, endpoint__id__exact=obj.pk)
        return format_html('<a href="{}">{}</a>', url, _("deliveries"))

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if not change:
            obj.secret = outbound_webhooks.new_secret()
            request._new_webhook_secret = obj.secret  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: Any = None
    ) -> HttpResponse:
        secret = getattr(request, "_new_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return TemplateResponse(
            request,
            "admin/tracking/shown_once.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "object": obj,
                "title": _("Webhook endpoint created"),
                "secret": secret,
                "secret_label": _("Signing secret"),
                "usage": "",
            },
        )

    @admin.action(description=_("Enable (send what is waiting)"))
    def enable_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = outbound_webhooks.enable_endpoints(
            endpoint_ids=queryset.values_list("pk", flat=True)
        )
        tasks.enqueue_webhook_sends()
        self.message_user(
            request,
            ngettext("%(count)d endpoint enabled.", "%(count)d endpoints enabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Disable (deliveries wait until enabled)"))
    def disable_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = outbound_webhooks.disable_endpoints(
            endpoint_ids=queryset.values_list("pk", flat=True),
            reason=f"Disabled by {request.user} in the admin.",
        )
        self.message_user(
            request,
            ngettext("%(count)d endpoint disabled.", "%(count)d endpoints disabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class AttemptInline(ViewOnly, admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ("at", "response_status", "duration_ms", "error", "response_body")
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnly, admin.ModelAdmin):
    list_display = (
        "msg_id",
        "endpoint",
        "event_type",
        "state",
        "attempts",
        "last_attempt_at",
        "response_status",
        "next_attempt_at",
        "shipment_link",
    )
    list_filter = ("state", "event_type", "endpoint")
    list_select_related = ("endpoint", "shipment__carrier")
    search_fields = ("msg_id", "shipment__tracking_number")
    search_help_text = _("Message id (webhook-id) or tracking number.")
    show_full_result_count = False
    inlines = (AttemptInline,)
    actions = ("replay_deliveries",)
    fields = readonly_fields = (
        "msg_id",
        "endpoint",
        "event_type",
        "shipment_link",
        "state",
        "attempts",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "response_status",
        "response_body",
        "error",
        "body",
    )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        _notice_disabled(request)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("shipment"))
    def shipment_link(self, obj: WebhookDelivery) -> str:
        url = reverse("admin:tracking_shipment_change", args=[obj.shipment_id])
        return format_html('<a href="{}">{}</a>', url, obj.shipment)

    @admin.action(description=_("Replay the selected deliveries"), permissions=["view"])
    def replay_deliveries(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = outbound_webhooks.replay(delivery_ids=queryset.values_list("pk", flat=True))
        tasks.enqueue_webhook_sends()
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued again (same webhook-id).",
                "%(count)d deliveries queued again (same webhook-id).",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
