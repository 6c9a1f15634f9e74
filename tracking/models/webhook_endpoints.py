"""Outgoing webhooks: the endpoints shops register, one delivery per (endpoint, change record),
and every attempt to send it (the delivery log). See services/outbound_webhooks.py."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .api_keys import ApiKey
from .outbox import ChangeKind, ChangeRecord
from .shipments import Shipment

#: What a stored response body keeps (the delivery log shows the first kilobyte).
RESPONSE_BODY_MAX = 1024


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    #: The ChangeKind values this endpoint wants.
    event_types = models.JSONField(_("events"), default=list)
    #: The Standard Webhooks signing secret ("whsec_" + base64). Kept because every delivery is
    #: signed with it; shown once when the endpoint is made, never again.
    secret = models.CharField(max_length=100, editable=False)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_by_key = models.ForeignKey(
        ApiKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_endpoints",
        verbose_name=_("created with API key"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)
    #: Why and when it was switched off (by the sender after a day of failures, or by hand).
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.TextField(_("why disabled"), blank=True)
    #: Start of the current run of failed attempts; null after any success.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def wants(self, kind: str) -> bool:
        return kind in (self.event_types or [])


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed (retries used up)")


class WebhookDeliveryQuerySet(models.QuerySet["WebhookDelivery"]):
    def pending(self) -> WebhookDeliveryQuerySet:
        return self.filter(state=DeliveryState.PENDING)


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    change = models.ForeignKey(ChangeRecord, on_delete=models.CASCADE, related_name="+")
    #: The change's shipment (copied), so deliveries go out in order per shipment.
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="+")
    #: The Standard Webhooks message id ("msg_..."): the same for every attempt and replay, so a
    #: receiver can drop what it has already seen.
    msg_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=40, choices=ChangeKind.choices)
    #: The exact bytes sent (as text): every attempt sends the same body.
    body = models.TextField()
    state = models.CharField(
        _("state"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    #: A sender's claim: others leave the delivery alone until then (a crashed sender's claim
    #: runs out and the delivery is taken again: at least once).
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response (first 1 KB)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "change"], name="webhook_delivery_once_per_change"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["endpoint", "shipment", "id"],
                name="webhook_delivery_order",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["created_at"], name="webhook_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.msg_id} {self.event_type} -> {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One try at sending a delivery: what the receiver answered, or why nothing was sent."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(_("time"))
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response (first 1 KB)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.response_status or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300
