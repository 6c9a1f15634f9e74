"""Outgoing webhooks (Standard Webhooks): endpoints, fan-out from the outbox, signed sends.

- `fan_out(records)` is an outbox consumer (registered below): inside the outbox's dispatch
  transaction it writes one WebhookDelivery per (active endpoint, change record) the endpoint
  subscribed to, under a unique constraint, with the payload frozen as the bytes to send and a
  stable message id. A crash before commit leaves the records undispatched; after it, the rows
  are there: nothing lost, nothing doubled.
- `send_due()` (the send_webhooks task) claims due deliveries with a lease, at most one in flight
  per (endpoint, shipment) and never one while an earlier one for the same shipment is pending,
  so each shipment's changes arrive in order; signs each attempt (webhook-id, webhook-timestamp,
  webhook-signature = v1,base64(HMAC-SHA256(secret, "id.timestamp.body"))); sends it outside
  any transaction through webhook_targets (checked address, timeouts, no redirects); records
  the attempt. A 2xx delivers; anything else retries after WEBHOOK_RETRY_SCHEDULE_SECONDS
  (5 s ... 10 h, about a day), then gives up. An endpoint with nothing but failures for
  WEBHOOK_DISABLE_AFTER_HOURS is disabled, with the reason shown in the admin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..models import (
    RESPONSE_BODY_MAX,
    ChangeKind,
    ChangeRecord,
    DeliveryState,
    Shipment,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..presentation.api_resources import public_path, shipment_resource
from . import outbox, webhook_targets

logger = logging.getLogger("shiptrack.webhooks.outgoing")

SECRET_PREFIX = "whsec_"
#: The event a change is sent as, most specific first: a delivery is also a status change and
#: an update; an endpoint gets the first kind in this order that it subscribed to.
KIND_ORDER = (
    ChangeKind.DELIVERED,
    ChangeKind.EXCEPTION,
    ChangeKind.STATUS_CHANGED,
    ChangeKind.CREATED,
    ChangeKind.UPDATED,
)
#: How long a sender's claim on a delivery lasts (longer than one attempt can take).
LEASE = timedelta(minutes=2)
USER_AGENT = "shiptrack-webhooks/1"


class EndpointError(ValueError):
    def __init__(self, code: str, message: str, *, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    #: The signing secret: returned once, when the endpoint is made.
    secret: str


@dataclass(frozen=True)
class SendReport:
    delivered: int = 0
    failed_attempts: int = 0
    #: The earliest retry still waiting, if any.
    next_retry_at: datetime | None = None


# --------------------------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def clean_event_types(event_types: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(event_types))
    unknown = [t for t in wanted if t not in ChangeKind.values]
    if unknown:
        raise EndpointError(
            "event_type_unknown",
            f"Unknown event type(s) {', '.join(map(repr, unknown))[:200]}; "
            f"use {', '.join(ChangeKind.values)}.",
            field="event_types",
        )
    if not wanted:
        raise EndpointError(
            "event_types_required", "Subscribe to at least one event type.", field="event_types"
        )
    return [t for t in ChangeKind.values if t in wanted]


def check_endpoint_url(url: str) -> str:
    try:
        webhook_targets.check_url(url)
    except webhook_targets.TargetRefused as exc:
        raise EndpointError("url_refused", str(exc), field="url") from None
    return url.strip()


def create_endpoint(
    *,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    created_by_key_id: int | None = None,
) -> NewEndpoint:
    url = check_endpoint_url(url)
    kinds = clean_event_types(event_types)
    if WebhookEndpoint.objects.filter(url=url).exists():
        raise EndpointError(
            "endpoint_exists", "An endpoint with this URL is already registered.", field="url"
        )
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url,
            event_types=kinds,
            description=description.strip()[:200],
            secret=secret,
            created_by_key_id=created_by_key_id,
        )
    return NewEndpoint(endpoint=endpoint, secret=secret)


def delete_endpoint(*, endpoint_id: int) -> bool:
    deleted, _by_model = WebhookEndpoint.objects.filter(pk=endpoint_id).delete()
    return bool(deleted)


def enable_endpoints(*, endpoint_ids: Iterable[int]) -> int:
    """Switch endpoints back on; their waiting deliveries go out at once."""
    ids = list(endpoint_ids)
    now = timezone.now()
    with transaction.atomic():
        count = WebhookEndpoint.objects.filter(pk__in=ids).update(
            is_active=True, disabled_at=None, disabled_reason="", failing_since=None
        )
        WebhookDelivery.objects.pending().filter(endpoint_id__in=ids).update(
            next_attempt_at=now, locked_until=None
        )
    return count


def disable_endpoints(*, endpoint_ids: Iterable[int], reason: str) -> int:
    return WebhookEndpoint.objects.filter(pk__in=list(endpoint_ids), is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason
    )


def replay(*, delivery_ids: Iterable[int]) -> int:
    """Send deliveries again (same message id, so receivers that have it can drop it), with a
    fresh retry schedule."""
    return WebhookDelivery.objects.filter(pk__in=list(delivery_ids)).update(
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        locked_until=None,
        delivered_at=None,
    )


# --------------------------------------------------------------------------------------------
# Fan-out (an outbox consumer)
# --------------------------------------------------------------------------------------------
def public_url(shipment: Shipment) -> str:
    return settings.SITE_URL.rstrip("/") + public_path(shipment)


def _kind_for(endpoint: WebhookEndpoint, kinds: Sequence[str]) -> str | None:
    for kind in KIND_ORDER:
        if kind.value in kinds and endpoint.wants(kind.value):
            return kind.value
    return None


def payload(record: ChangeRecord, shipment: Shipment, event_type: str) -> dict[str, Any]:
    return {
        "type": event_type,
        "timestamp": record.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "change": {
                "id": record.pk,
                "kinds": list(record.kinds),
                "previous_status_code": record.previous_status or None,
                "status_code": record.status or None,
                "events_added": record.events_added,
            },
            "shipment": shipment_resource(shipment, public_url=public_url(shipment)),
        },
    }


def fan_out(records: Sequence[ChangeRecord]) -> None:
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    if not endpoints or not records:
        return
    # With our estimate, which the analytics consumer (first in line) has just brought up to date.
    shipments = Shipment.objects.select_related("carrier", "delivery_estimate").in_bulk(
        {r.shipment_id for r in records}
    )
    now = timezone.now()
    rows = []
    for record in records:
        shipment = shipments.get(record.shipment_id)
        if shipment is None:
            continue
        bodies: dict[str, str] = {}  # one payload per kind, however many endpoints get it
        for endpoint in endpoints:
            kind = _kind_for(endpoint, record.kinds)
            if kind is None:
                continue
            if kind not in bodies:
                bodies[kind] = json.dumps(payload(record, shipment, kind), separators=(",", ":"))
            body = bodies[kind]
            rows.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    change=record,
                    shipment_id=record.shipment_id,
                    msg_id=f"msg_{secrets.token_urlsafe(18)}",
                    event_type=kind,
                    body=body,
                    next_attempt_at=now,
                )
            )
    WebhookDelivery.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


outbox.CONSUMERS.append(fan_out)


# --------------------------------------------------------------------------------------------
# Signing and sending
# --------------------------------------------------------------------------------------------
def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: "v1," + base64(HMAC-SHA256 of "id.timestamp.body")."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(delivery: WebhookDelivery, secret: str, *, timestamp: int) -> dict[str, str]:
    body = delivery.body.encode()
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=secret, msg_id=delivery.msg_id, timestamp=timestamp, body=body
        ),
    }


def due_deliveries(now: datetime) -> Any:
    earlier_pending = WebhookDelivery.objects.pending().filter(
        endpoint_id=OuterRef("endpoint_id"),
        shipment_id=OuterRef("shipment_id"),
        id__lt=OuterRef("id"),
    )
    return (
        WebhookDelivery.objects.pending()
        .filter(next_attempt_at__lte=now, endpoint__is_active=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(~Exists(earlier_pending))
        .order_by("id")
    )


def _claim(limit: int, now: datetime) -> list[WebhookDelivery]:
    with transaction.atomic():
        queryset = due_deliveries(now)
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        ids = list(queryset.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids).update(locked_until=now + LEASE)
    return list(
        WebhookDelivery.objects.filter(pk__in=ids).select_related("endpoint").order_by("id")
    )


def _attempt(
    delivery: WebhookDelivery, sender: webhook_targets.Sender
) -> tuple[int | None, str, str, int]:
    """Send once: (status or None, first 1 KB of the answer, error, milliseconds)."""
    started = time.monotonic()
    try:
        target = webhook_targets.check_url(delivery.endpoint.url)
        address = webhook_targets.resolve(target)
        headers = signed_headers(delivery, delivery.endpoint.secret, timestamp=int(time.time()))
        answer = sender.post(target, address, body=delivery.body.encode(), headers=headers)
    except webhook_targets.TargetRefused as exc:
        return None, "", f"Refused: {exc}", _ms(started)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:500], _ms(started)
    error = "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"
    if 300 <= answer.status < 400:
        error += " (redirects are not followed)"
    return answer.status, answer.body[:RESPONSE_BODY_MAX], error, _ms(started)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record(delivery: WebhookDelivery, status: int | None, body: str, error: str, ms: int) -> bool:
    now = timezone.now()
    ok = not error
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "response_status": status,
        "response_body": body,
        "error": error,
        "locked_until": None,
    }
    if ok:
        values |= {"state": DeliveryState.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif attempts > len(schedule):
        values |= {"state": DeliveryState.FAILED, "next_attempt_at": None}
    else:
        values["next_attempt_at"] = now + timedelta(seconds=schedule[attempts - 1])
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            response_status=status,
            response_body=body,
            error=error,
            duration_ms=ms,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**values)
        endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        if ok:
            endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        else:
            endpoints.filter(failing_since__isnull=True).update(failing_since=now)
            _disable_if_failing_too_long(delivery.endpoint_id, now, error)
    return ok


def _disable_if_failing_too_long(endpoint_id: int, now: datetime, error: str) -> None:
    cutoff = now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    endpoint = WebhookEndpoint.objects.filter(
        pk=endpoint_id, is_active=True, failing_since__lte=cutoff
    ).first()
    if endpoint is None or endpoint.failing_since is None:
        return
    reason = (
        f"Disabled automatically: every delivery failed since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last error: {error})."
    )
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)


def send_due(*, batch_size: int = 50, max_seconds: float = 50.0) -> SendReport:
    """Send what is due until nothing is (or `max_seconds` have passed)."""
    delivered = failed = 0
    deadline = time.monotonic() + max_seconds
    sender = webhook_targets.Sender()
    try:
        while time.monotonic() < deadline:
            batch = _claim(batch_size, timezone.now())
            if not batch:
                break
            for delivery in batch:
                status, body, error, ms = _attempt(delivery, sender)
                try:
                    ok = _record(delivery, status, body, error, ms)
                except IntegrityError:  # the endpoint was deleted meanwhile
                    continue
                delivered += ok
                failed += not ok
    finally:
        sender.close()
    next_retry = (
        WebhookDelivery.objects.pending()
        .filter(endpoint__is_active=True)
        .order_by(F("next_attempt_at").asc(nulls_last=True))
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return SendReport(delivered=delivered, failed_attempts=failed, next_retry_at=next_retry)


def anything_due(now: datetime | None = None) -> bool:
    return due_deliveries(now or timezone.now()).exists()
