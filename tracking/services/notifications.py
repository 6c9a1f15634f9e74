"""Customer e-mail updates: subscriptions (double opt-in), the outbox consumer that decides who gets
an e-mail for a change, and the sender.

- `fan_out(records)` is an outbox consumer (registered below): inside the outbox's dispatch
  transaction it writes one Notification per (change, recipient) that wants it, under a unique
  dedupe key "<parcel>:<recipient hash>:m:<milestone key>" ("...:c:<change id>" for an update
  that is no milestone, to "every update" subscribers). A milestone key is the milestone's name
  ("delivered") or milestone + the scan's identity ("exception:<event key>"), so a second worker,
  a retried task, a poll and a webhook carrying the same scan, and a replayed webhook all meet
  the same key and the database keeps one row. A crash before the commit leaves the records
  undispatched (the sweep takes them again); after it, the rows are there: nothing lost.
- Recipients: confirmed public subscriptions ("every update" or "only important ones"), and with
  NOTIFY_CUSTOMERS the shipment's stored customer e-mail (important ones, no opt-in asked; a
  subscription row of source "customer" remembers an unsubscribe).
- `send_due()` (the send_notifications task) claims due rows with a lease, renders each in its
  recipient's language (services/mail.py), sends it outside any transaction, and records the
  outcome right after each message: sent; a temporary failure retried after
  NOTIFY_RETRY_SCHEDULE_SECONDS; a permanent refusal (5xx) or a used-up schedule failed, with the
  server's words, in the admin's notification log.
- Tokens (confirm, unsubscribe) are signed by SECRET_KEY and expire (NOTIFY_CONFIRM_TOKEN_HOURS,
  NOTIFY_UNSUBSCRIBE_TOKEN_DAYS); a tampered or expired one changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..domain import statuses
from ..models import (
    EMAIL_MAX,
    ChangeRecord,
    Frequency,
    Notification,
    NotificationKind,
    NotificationState,
    Shipment,
    Subscription,
    SubscriptionSource,
    TrackingEvent,
)
from . import mail, outbox

logger = logging.getLogger("shiptrack.notifications")

#: How long a sender's claim on a notification lasts (longer than one SMTP attempt can take).
LEASE = timedelta(minutes=2)
#: Milestones an "only important ones" subscriber (and a stored customer e-mail) hears about.
IMPORTANT: frozenset[str] = frozenset(m.value for m in statuses.Milestone)

_CONFIRM_SALT = "shiptrack.notifications.confirm"
_UNSUBSCRIBE_SALT = "shiptrack.notifications.unsubscribe"


# --------------------------------------------------------------------------------------------
# Addresses and tokens
# --------------------------------------------------------------------------------------------
class EmailRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalise_email(raw: str) -> str:
    """The address as stored and compared: trimmed, the domain lower-cased. Anything that is not
    one plain address (a second line, a second address, over 254 characters) is refused."""
    value = (raw or "").strip()
    if not value:
        raise EmailRefused("email_required", str(_("Enter your e-mail address.")))
    if len(value) > EMAIL_MAX:
        raise EmailRefused(
            "email_too_long",
            str(
                _("That e-mail address is too long (at most %(max)d characters).")
                % {"max": EMAIL_MAX}
            ),
        )
    # A line break or a comma would let one "address" carry headers or more recipients.
    if any(c in value for c in "\r\n\t\0,;<>") or any(ord(c) < 32 for c in value):
        raise EmailRefused(
            "email_invalid", str(_("Enter one e-mail address, like name@example.com."))
        )
    try:
        validate_email(value)
    except ValidationError:
        raise EmailRefused(
            "email_invalid", str(_("Enter one e-mail address, like name@example.com."))
        ) from None
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def recipient_hash(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()[:20]


class TokenError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: "expired" or "invalid" (tampered, truncated, from another site).
        self.reason = reason


def _sign(salt: str, subscription: Subscription) -> str:
    value = f"{subscription.pk}.{recipient_hash(subscription.email)}"
    return signing.TimestampSigner(salt=salt).sign(value)


def _read(salt: str, token: str, max_age: timedelta) -> Subscription:
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token[:200], max_age=max_age)
    except signing.SignatureExpired:
        raise TokenError("expired") from None
    except signing.BadSignature:
        raise TokenError("invalid") from None
    pk, _dot, digest = value.partition(".")
    subscription = (
        Subscription.objects.select_related("shipment").filter(pk=int(pk)).first()
        if pk.isdigit()
        else None
    )
    if subscription is None or recipient_hash(subscription.email) != digest:
        raise TokenError("invalid")
    return subscription


def confirm_token(subscription: Subscription) -> str:
    return _sign(_CONFIRM_SALT, subscription)


def unsubscribe_token(subscription: Subscription) -> str:
    return _sign(_UNSUBSCRIBE_SALT, subscription)


def read_confirm_token(token: str) -> Subscription:
    return _read(_CONFIRM_SALT, token, timedelta(hours=settings.NOTIFY_CONFIRM_TOKEN_HOURS))


def read_unsubscribe_token(token: str) -> Subscription:
    return _read(_UNSUBSCRIBE_SALT, token, timedelta(days=settings.NOTIFY_UNSUBSCRIBE_TOKEN_DAYS))


# --------------------------------------------------------------------------------------------
# Subscribing, confirming, unsubscribing
# --------------------------------------------------------------------------------------------
def subscribe(
    *, shipment_id: int, email: str, frequency: str, language: str, now: datetime | None = None
) -> Subscription:
    """Ask for updates: a subscription waiting for its confirmation, and the confirmation e-mail
    (at most one per address and parcel per NOTIFY_CONFIRM_RESEND_MINUTES). Asking again for a
    confirmed address changes its frequency only; the answer to the visitor is the same either
    way, so the form never tells who is subscribed."""
    address = normalise_email(email)
    if frequency not in Frequency.values:
        frequency = Frequency.IMPORTANT
    now = now or timezone.now()
    with transaction.atomic():
        subscription, created = Subscription.objects.get_or_create(
            shipment_id=shipment_id,
            email=address,
            defaults={"frequency": frequency, "language": language},
        )
        if not created:
            subscription.frequency = frequency
            subscription.language = language or subscription.language
            if subscription.unsubscribed_at is not None:
                # Asking again after unsubscribing: opt in again, by the link again.
                subscription.unsubscribed_at = None
                subscription.confirmed_at = None
            subscription.save(
                update_fields=["frequency", "language", "unsubscribed_at", "confirmed_at"]
            )
        if not subscription.is_active:
            window = max(1, settings.NOTIFY_CONFIRM_RESEND_MINUTES) * 60
            bucket = int(now.timestamp()) // window
            Notification.objects.bulk_create(
                [
                    Notification(
                        shipment_id=shipment_id,
                        subscription=subscription,
                        recipient=address,
                        kind=NotificationKind.CONFIRMATION,
                        dedupe_key=f"{shipment_id}:{recipient_hash(address)}:confirm:{subscription.pk}:{bucket}",
                        language=subscription.language,
                        next_attempt_at=now,
                    )
                ],
                ignore_conflicts=True,
            )
        _notify_senders()
    return subscription


def confirm(*, subscription_id: int) -> Subscription:
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription_id, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now(), unsubscribed_at=None
        )
    return Subscription.objects.select_related("shipment").get(pk=subscription_id)


def unsubscribe(*, subscription_id: int) -> Subscription:
    """No more e-mails to this address about this parcel; what is still waiting is cancelled."""
    now = timezone.now()
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription_id, unsubscribed_at__isnull=True).update(
            unsubscribed_at=now
        )
        Notification.objects.pending().filter(subscription_id=subscription_id).exclude(
            kind=NotificationKind.TRACKING_LINK
        ).update(state=NotificationState.CANCELLED, next_attempt_at=None, locked_until=None)
    return Subscription.objects.select_related("shipment").get(pk=subscription_id)


def send_tracking_link(*, shipment_id: int, request_key: str) -> Notification | None:
    """Staff's "send the tracking link to the customer": one e-mail per press of the button
    (`request_key` comes from the page, so a double submit sends one). None: no stored e-mail."""
    shipment = Shipment.objects.only("id", "customer_email", "language").get(pk=shipment_id)
    try:
        address = normalise_email(shipment.customer_email)
    except EmailRefused:
        return None
    key = f"{shipment_id}:{recipient_hash(address)}:link:{request_key[:64]}"
    with transaction.atomic():
        subscription = _customer_subscription(shipment_id, address, shipment.language)
        Notification.objects.bulk_create(
            [
                Notification(
                    shipment_id=shipment_id,
                    subscription=subscription,
                    recipient=address,
                    kind=NotificationKind.TRACKING_LINK,
                    dedupe_key=key,
                    language=shipment.language,
                    next_attempt_at=timezone.now(),
                )
            ],
            ignore_conflicts=True,
        )
        _notify_senders()
    return Notification.objects.get(dedupe_key=key)


def retry(*, notification_ids: Iterable[int]) -> int:
    """Queue failed (or waiting) e-mails again with a fresh retry schedule (the admin's "Send
    again"); sent and cancelled ones are left alone."""
    return (
        Notification.objects.filter(pk__in=list(notification_ids))
        .filter(state__in=[NotificationState.FAILED, NotificationState.PENDING])
        .update(
            state=NotificationState.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            locked_until=None,
        )
    )


def _customer_subscription(shipment_id: int, address: str, language: str) -> Subscription:
    subscription, _created = Subscription.objects.get_or_create(
        shipment_id=shipment_id,
        email=address,
        defaults={
            "source": SubscriptionSource.CUSTOMER,
            "frequency": Frequency.IMPORTANT,
            "confirmed_at": timezone.now(),
            "language": language,
        },
    )
    return subscription


#: Told (after commit) when notifications were queued outside the outbox (a confirmation, a staff
#: send); tasks.py queues the send task. The outbox's own batches use outbox.on_dispatched.
on_queued: list[Callable[[], None]] = []


def _notify_senders() -> None:
    for callback in on_queued:
        transaction.on_commit(callback)


# --------------------------------------------------------------------------------------------
# Fan-out (an outbox consumer)
# --------------------------------------------------------------------------------------------
def _customer_address(shipment: Shipment) -> str:
    try:
        return normalise_email(shipment.customer_email)
    except EmailRefused:
        return ""


def _news(record: ChangeRecord) -> bool:
    return bool(record.events_added) or record.status != record.previous_status


def fan_out(records: Sequence[ChangeRecord]) -> None:
    news = [r for r in records if _news(r)]
    if not news:
        return
    shipment_ids = {r.shipment_id for r in news}
    shipments = Shipment.objects.only("id", "customer_email", "language", "last_event_at").in_bulk(
        shipment_ids
    )
    now = timezone.now()
    customers: dict[int, str] = {}
    if settings.NOTIFY_CUSTOMERS:
        customers = {
            sid: address
            for sid, s in shipments.items()
            if s.customer_email and (address := _customer_address(s))
        }
        # A row per customer address, so an unsubscribe is remembered (an existing row, a
        # public subscription of the same address, is left as it is).
        Subscription.objects.bulk_create(
            [
                Subscription(
                    shipment_id=sid,
                    email=address,
                    source=SubscriptionSource.CUSTOMER,
                    frequency=Frequency.IMPORTANT,
                    confirmed_at=now,
                    language=shipments[sid].language,
                )
                for sid, address in customers.items()
            ],
            ignore_conflicts=True,
        )
    by_shipment: dict[int, list[Subscription]] = defaultdict(list)
    for subscription in Subscription.objects.filter(
        shipment_id__in=shipment_ids, unsubscribed_at__isnull=True
    ):
        is_customer = customers.get(subscription.shipment_id) == subscription.email
        if subscription.source == SubscriptionSource.CUSTOMER and not is_customer:
            # A stored customer e-mail (or a staff send to it) asked for nothing itself: it hears
            # of milestones only while NOTIFY_CUSTOMERS is on and it is still the stored one.
            continue
        if subscription.confirmed_at is None and not is_customer:
            continue  # not confirmed yet: nothing is sent before the link is followed
        by_shipment[subscription.shipment_id].append(subscription)
    too_old = now - timedelta(hours=settings.NOTIFY_MAX_AGE_HOURS)
    rows = []
    for record in news:
        shipment = shipments.get(record.shipment_id)
        if shipment is None:
            continue
        if shipment.last_event_at and shipment.last_event_at < too_old:
            # Old news (an import of parcels delivered last month): nobody wants it now.
            continue
        milestone = record.milestone in IMPORTANT
        for subscription in by_shipment.get(record.shipment_id, ()):
            if milestone:
                # Everyone eligible hears of a milestone, under the milestone's own key.
                key_part, kind = (
                    f"m:{record.milestone_key or record.milestone}",
                    NotificationKind.MILESTONE,
                )
            elif subscription.frequency == Frequency.EVERY and subscription.confirmed_at:
                key_part, kind = f"c:{record.pk}", NotificationKind.UPDATE
            else:
                continue
            rows.append(
                Notification(
                    shipment_id=record.shipment_id,
                    subscription=subscription,
                    change=record,
                    recipient=subscription.email,
                    kind=kind,
                    milestone=record.milestone,
                    dedupe_key=(
                        f"{record.shipment_id}:{recipient_hash(subscription.email)}:{key_part}"
                    )[:255],
                    language=subscription.language or shipment.language,
                    next_attempt_at=now,
                )
            )
    Notification.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


outbox.CONSUMERS.append(fan_out)


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    failed_attempts: int = 0
    #: The earliest retry still waiting, if any.
    next_retry_at: datetime | None = None


def due(now: datetime) -> Any:
    return (
        Notification.objects.pending()
        .filter(next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("id")
    )


def _claim(limit: int, now: datetime) -> list[Notification]:
    with transaction.atomic():
        queryset = due(now)
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        ids = list(queryset.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        # Only rows still unclaimed are taken (two senders on SQLite, which has no SKIP LOCKED,
        # serialise on the write lock; the second finds them claimed).
        Notification.objects.filter(pk__in=ids).filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        ).update(locked_until=now + LEASE)
    return list(
        Notification.objects.filter(pk__in=ids, locked_until=now + LEASE)
        .select_related("shipment__carrier", "subscription")
        .order_by("id")
    )


def _events_by_shipment(shipment_ids: Iterable[int]) -> dict[int, list[TrackingEvent]]:
    """The newest scans of each parcel of a batch, in one query (a window function keeps the
    newest EVENTS_FOR_MESSAGE of each, however many a parcel has)."""
    found: dict[int, list[TrackingEvent]] = defaultdict(list)
    newest = (
        TrackingEvent.objects.filter(shipment_id__in=set(shipment_ids))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("shipment_id")],
                order_by=[F("occurred_at").desc(nulls_last=True), F("id").desc()],
            )
        )
        .filter(rank__lte=mail.EVENTS_FOR_MESSAGE)
        .order_by("shipment_id", "rank")
    )
    for event in newest:
        found[event.shipment_id].append(event)
    return found


def _links(notification: Notification) -> mail.Links:
    track = mail.track_url(notification.shipment)
    subscription = notification.subscription
    if subscription is None:
        return mail.Links(track=track)
    unsubscribe = mail.unsubscribe_url(unsubscribe_token(subscription))
    if notification.kind == NotificationKind.CONFIRMATION:
        return mail.Links(track=track, confirm=mail.confirm_url(confirm_token(subscription)))
    return mail.Links(track=track, unsubscribe=unsubscribe)


def _still_wanted(notification: Notification) -> bool:
    subscription = notification.subscription
    if notification.kind == NotificationKind.TRACKING_LINK:
        return True  # staff sent it on purpose
    return subscription is None or subscription.unsubscribed_at is None


def _record_sent(notification: Notification, *, subject: str, text: str, msg_id: str) -> None:
    now = timezone.now()
    Notification.objects.filter(pk=notification.pk).update(
        state=NotificationState.SENT,
        sent_at=now,
        last_attempt_at=now,
        attempts=F("attempts") + 1,
        locked_until=None,
        next_attempt_at=None,
        error="",
        subject=subject[:300],
        body_text=text,
        message_id=msg_id[:255],
    )


def _record_failure(notification: Notification, failure: mail.SendFailure) -> bool:
    """Returns True when it will be retried."""
    now = timezone.now()
    schedule = settings.NOTIFY_RETRY_SCHEDULE_SECONDS
    attempts = notification.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "locked_until": None,
        "error": failure.message,
    }
    retry = not failure.permanent and attempts <= len(schedule)
    if retry:
        values["next_attempt_at"] = now + timedelta(seconds=schedule[attempts - 1])
    else:
        values |= {"state": NotificationState.FAILED, "next_attempt_at": None}
        logger.warning(
            "notification %s failed for good after %d attempts: %s",
            notification.pk,
            attempts,
            failure.message,
        )
    Notification.objects.filter(pk=notification.pk).update(**values)
    return retry


class _Lane:
    """One connection to the mail server and the one thread that uses it. An address always takes
    the same lane, so its e-mails leave in the order they were made."""

    def __init__(self) -> None:
        self.backend = mailers.default
        self.connected = False
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp")

    def _send(self, message: EmailMessage) -> BaseException | None:
        try:
            if not self.connected:
                # Opened here, the connection stays open for the whole run (a backend that opens
                # it itself in send_messages closes it again after each call).
                self.backend.open()
                self.connected = True
            self.backend.send_messages([message])
        except Exception as exc:  # every backend's failure is a recorded attempt
            self.backend.close()  # the next message starts a fresh connection
            self.connected = False
            return exc
        return None

    def submit(self, message: EmailMessage) -> Future[BaseException | None]:
        return self.thread.submit(self._send, message)

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self.backend.close()


def send_due(*, batch_size: int = 100, max_seconds: float = 50.0) -> SendReport:
    """Send what is due until nothing is (or `max_seconds` have passed).

    Messages are rendered here and sent over NOTIFY_SMTP_CONNECTIONS kept-open connections, each
    in its own thread (an SMTP exchange is mostly waiting for the server: the next messages are
    rendered meanwhile). Each outcome is recorded as soon as it is known, per message, so a crash
    can repeat at most the messages in flight (with the same Message-ID)."""
    sent = failed = 0
    deadline = time.monotonic() + max_seconds
    lanes = [_Lane() for _lane in range(max(1, settings.NOTIFY_SMTP_CONNECTIONS))]
    try:
        while time.monotonic() < deadline:
            batch = _claim(batch_size, timezone.now())
            if not batch:
                break
            events = _events_by_shipment(n.shipment_id for n in batch)
            in_flight: list[tuple[Notification, EmailMessage, Future[BaseException | None]]] = []
            for notification in batch:
                if not _still_wanted(notification):
                    Notification.objects.filter(pk=notification.pk).update(
                        state=NotificationState.CANCELLED, locked_until=None, next_attempt_at=None
                    )
                    continue
                message = mail.build(
                    notification,
                    notification.shipment,
                    events.get(notification.shipment_id, []),
                    _links(notification),
                )
                lane = lanes[int(recipient_hash(notification.recipient)[:8], 16) % len(lanes)]
                in_flight.append((notification, message, lane.submit(message)))
            for notification, sent_message, outcome in in_flight:
                error = outcome.result()
                if error is not None:
                    failed += 1
                    _record_failure(notification, mail.classify(error))
                    continue
                sent += 1
                _record_sent(
                    notification,
                    subject=str(sent_message.subject),
                    text=str(sent_message.body),
                    msg_id=sent_message.extra_headers["Message-ID"],
                )
    finally:
        for lane in lanes:
            lane.close()
    return SendReport(sent=sent, failed_attempts=failed, next_retry_at=next_retry_at())


def next_retry_at() -> datetime | None:
    return (
        Notification.objects.pending()
        .order_by(F("next_attempt_at").asc(nulls_last=True))
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def anything_due(now: datetime | None = None) -> bool:
    return due(now or timezone.now()).exists()
