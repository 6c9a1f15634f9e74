"""Customer e-mails in the admin: the notification log (every e-mail made, its state, attempts and
the mail server's words when it failed; failures first to find) and the subscriptions.

Both are read-only: e-mails are made by the outbox consumer and the public page, never by hand.
"Send again" queues a failed e-mail once more (same Message-ID)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import tasks
from ..models import Notification, NotificationState, Subscription
from ..services import notifications
from .read_only import ViewOnly


@admin.register(Notification)
class NotificationAdmin(ViewOnly, admin.ModelAdmin):
    list_display = (
        "created_at",
        "recipient",
        "kind",
        "milestone",
        "state",
        "attempts",
        "last_attempt_at",
        "short_error",
        "shipment_link",
    )
    list_filter = ("state", "kind", "milestone")
    list_select_related = ("shipment",)
    search_fields = ("recipient", "shipment__tracking_number", "message_id")
    search_help_text = _("E-mail address, tracking number or Message-ID.")
    show_full_result_count = False
    actions = ("send_again",)
    fields = readonly_fields = (
        "recipient",
        "kind",
        "milestone",
        "shipment_link",
        "state",
        "attempts",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "error",
        "language",
        "message_id",
        "dedupe_key",
        "subject",
        "body_text",
    )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        failed = Notification.objects.filter(state=NotificationState.FAILED).count()
        if failed and "state__exact" not in request.GET:
            messages.warning(
                request,
                format_html(
                    '{} <a href="?state__exact=failed">{}</a>',
                    ngettext(
                        "%(count)d e-mail could not be delivered.",
                        "%(count)d e-mails could not be delivered.",
                        failed,
                    )
                    % {"count": failed},
                    _("Show them"),
                ),
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("error"))
    def short_error(self, obj: Notification) -> str:
        return obj.error[:120]

    @admin.display(description=_("shipment"))
    def shipment_link(self, obj: Notification) -> str:
        url = reverse("admin:tracking_shipment_change", args=[obj.shipment_id])
        return format_html('<a href="{}">{}</a>', url, obj.shipment.tracking_number)

    @admin.action(description=_("Send the selected e-mails again"), permissions=["view"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications.retry(notification_ids=queryset.values_list("pk", flat=True))
        tasks.enqueue_notification_sends()
        self.message_user(
            request,
            ngettext("%(count)d e-mail queued again.", "%(count)d e-mails queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Subscription)
class SubscriptionAdmin(ViewOnly, admin.ModelAdmin):
    list_display = (
        "email",
        "shipment",
        "frequency",
        "source",
        "language",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
    )
    list_filter = ("frequency", "source")
    list_select_related = ("shipment__carrier",)
    search_fields = ("email", "shipment__tracking_number")
    show_full_result_count = False
    fields = readonly_fields = list_display
