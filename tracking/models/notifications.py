"""Customer e-mail updates: who asked for them (subscriptions) and every e-mail made for them (the
notification log). See services/notifications.py.

A Notification is written by the outbox consumer inside the outbox's dispatch transaction, under a
unique `dedupe_key` (parcel + recipient + milestone), and sent later by a task: a second worker, a
retried task, a poll and a webhook carrying the same scan, or a replayed webhook all meet the same
key, so one milestone of one parcel reaches one address once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .outbox import ChangeRecord
from .shipments import Shipment

#: RFC 5321's limit for a whole address (a longer one is refused before it is stored).
EMAIL_MAX = 254


class Frequency(models.TextChoices):
    EVERY = "every", _("Every update")
    IMPORTANT = "important", _("Only important ones")


class SubscriptionSource(models.TextChoices):
    #: Someone asked on the public page (double opt-in: confirmed by the link we sent).
    PUBLIC = "public", _("Public page")
    #: The shipment's stored customer e-mail, with NOTIFY_CUSTOMERS on (no opt-in asked; the
    #: row exists so that an unsubscribe is remembered).
    CUSTOMER = "customer", _("Stored customer e-mail")


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def active(self) -> SubscriptionQuerySet:
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)


class Subscription(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="subscriptions")
    #: Normalised (domain lower-cased, trimmed); one row per parcel and address.
    email = models.EmailField(_("e-mail"), max_length=EMAIL_MAX)
    frequency = models.CharField(
        _("updates"), max_length=16, choices=Frequency.choices, default=Frequency.IMPORTANT
    )
    source = models.CharField(
        _("source"),
        max_length=16,
        choices=SubscriptionSource.choices,
        default=SubscriptionSource.PUBLIC,
    )
    #: The language its e-mails are written in (the page's when it subscribed).
    language = models.CharField(_("language"), max_length=8, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("e-mail subscription")
        verbose_name_plural = _("e-mail subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "email"], name="subscription_once_per_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} -> {self.shipment_id}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class NotificationKind(models.TextChoices):
    MILESTONE = "milestone", _("Milestone")
    UPDATE = "update", _("Update")
    CONFIRMATION = "confirmation", _("Confirm subscription")
    TRACKING_LINK = "tracking_link", _("Tracking link (sent by staff)")


class NotificationState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    #: Made, but not to be sent any more (unsubscribed before it went out).
    CANCELLED = "cancelled", _("Cancelled")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def pending(self) -> NotificationQuerySet:
        return self.filter(state=NotificationState.PENDING)

    def for_shipment_page(self, shipment_id: int, limit: int = 50) -> NotificationQuerySet:
        """The newest e-mails of one parcel, without the message bodies of the rest."""
        return self.filter(shipment_id=shipment_id).order_by("-id")[:limit]


class Notification(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="notifications")
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    change = models.ForeignKey(
        ChangeRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField(_("to"), max_length=EMAIL_MAX)
    kind = models.CharField(_("kind"), max_length=16, choices=NotificationKind.choices)
    milestone = models.CharField(_("milestone"), max_length=32, blank=True)
    #: What makes it happen once: "<parcel>:<recipient hash>:<milestone key>" (see
    #: services/notifications.py). Unique: whoever writes it second writes nothing.
    dedupe_key = models.CharField(max_length=255, unique=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=NotificationState.choices,
        default=NotificationState.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    #: A sender's claim; a crashed sender's runs out and another one takes it (at least once).
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    #: What was sent (staff see it on the shipment page; the demo shows it in place of a mailbox).
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("plain-text part"), blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notification log")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["shipment", "-id"], name="notification_shipment"),
            models.Index(fields=["state", "-id"], name="notification_state"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.milestone} -> {self.recipient}"
