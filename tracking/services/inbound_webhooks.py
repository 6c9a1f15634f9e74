"""ShipEngine 'track' webhooks: check who sent a delivery, then ingest it like a poll.

Authentication (either is enough):

- ShipEngine's RSA-SHA256 signature: headers `x-shipengine-rsa-sha256-key-id`,
  `x-shipengine-rsa-sha256-signature` (base64) and `x-shipengine-timestamp`; the signed text is
  `<timestamp>.<raw body>` (RSASSA-PKCS1-v1_5, SHA-256); the public key comes from the JWKS address
  (settings.SHIPENGINE_WEBHOOK_JWKS_URL, default `<SHIPENGINE_BASE_URL>/jwks`; in sandbox mode
  the sandbox's own key, from api_client), cached for
  SHIPENGINE_WEBHOOK_JWKS_TTL seconds and fetched again for a key id it does not hold (at most every
  30 seconds, so forged key ids cannot make us hammer the JWKS address).
- a shared secret in a custom header configured on the webhook (settings.SHIPENGINE_WEBHOOK_SECRET,
  header SHIPENGINE_WEBHOOK_SECRET_HEADER), when one is set.

Either way a timestamp further than SHIPENGINE_WEBHOOK_TOLERANCE_SECONDS from our clock is refused.
Bodies over SHIPENGINE_WEBHOOK_MAX_BYTES are refused before they are read whole.

Ingest: only `resource_type` API_TRACK; the shipment is found by the carrier code and tracking
number in `data` (or, failing that, in `resource_url`); the answer goes through
`ingest.ingest_tracking`, the same idempotent path as polling (one `ingest_many` per delivery). Every accepted body is remembered
by its SHA-256 (`WebhookReceipt`), in the same transaction as the ingest: a replayed or re-sent
delivery changes nothing. A delivery for a package we do not track is acknowledged (200, so that
ShipEngine does not retry it for days) and stores nothing but its receipt: packages are added by
staff or imports, never by whoever can get ShipEngine to send us an update.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q

from ..domain.numbers import normalize_tracking_number
from ..models import Shipment, WebhookReceipt
from ..shipengine import ShipEngineError, TrackingInfo, parse_utc, webhook_signatures
from . import api_client
from .ingest import ingest_many

logger = logging.getLogger("shiptrack.webhooks")

REFETCH_MIN_SECONDS = 30.0


class WebhookRejected(Exception):
    """A delivery we refuse; nothing was stored. `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Outcome:
    status: int
    outcome: str  # ingested, duplicate, unknown_shipment, ignored
    events_added: int = 0
    shipments: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "events_added": self.events_added,
            "shipments": self.shipments,
        }


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------
class JwksCache:
    """Public keys by key id, shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched_at = 0.0
        self.fetches = 0

    def clear(self) -> None:
        with self._lock:
            self._keys = {}
            self._fetched_at = 0.0
            self.fetches = 0

    def get(self, key_id: str) -> rsa.RSAPublicKey | None:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            expired = not self._fetched_at or age > settings.SHIPENGINE_WEBHOOK_JWKS_TTL
            unknown = key_id not in self._keys
            if expired or (unknown and age > REFETCH_MIN_SECONDS):
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
                self.fetches += 1
            return self._keys.get(key_id)

    def _fetch(self) -> dict[str, rsa.RSAPublicKey]:
        local = api_client.webhook_public_keys()
        if local is not None:
            return local
        url = api_client.jwks_url()
        try:
            response = requests.get(url, timeout=(5, 10), headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.error("webhook JWKS: could not fetch %s: %s", url, exc)
            # Keep what we had: a JWKS outage must not turn into refusing every delivery.
            if self._keys:
                return self._keys
            raise WebhookRejected(503, "signing keys unavailable") from exc
        return webhook_signatures.keys_from_jwks(document)


jwks_cache = JwksCache()


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------
def parse_signature_timestamp(value: str) -> datetime | None:
    """ISO 8601 (what ShipEngine sends), or Unix seconds/milliseconds; None when unreadable or
    outside the calendar (a forged header must give 400, never a server error)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        try:
            return parse_utc(text)
        except (OverflowError, ValueError):
            return None
    if number != number or abs(number) > 1e14:
        return None
    if number > 1e11:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return str(value or "").strip()


def _check_fresh(timestamp: str, now: datetime) -> None:
    when = parse_signature_timestamp(timestamp)
    if when is None:
        raise WebhookRejected(400, "unreadable timestamp")
    if abs((now - when).total_seconds()) > settings.SHIPENGINE_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRejected(400, "timestamp too far from our clock")


def verify(headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> str:
    """Returns how the delivery proved its origin ("signature" or "secret"); raises
    WebhookRejected otherwise."""
    now = now or datetime.now(UTC)
    timestamp = _header(headers, webhook_signatures.TIMESTAMP_HEADER)
    secret = settings.SHIPENGINE_WEBHOOK_SECRET
    if secret:
        given = _header(headers, settings.SHIPENGINE_WEBHOOK_SECRET_HEADER)
        if given and hmac.compare_digest(given.encode(), secret.encode()):
            if timestamp:
                _check_fresh(timestamp, now)
            return "secret"
    key_id = _header(headers, webhook_signatures.KEY_ID_HEADER)
    signature_text = _header(headers, webhook_signatures.SIGNATURE_HEADER)
    if not (key_id and signature_text and timestamp):
        # ShipEngine's advice: answer an unsigned request as if nothing were here.
        raise WebhookRejected(404, "unsigned")
    _check_fresh(timestamp, now)
    signature = webhook_signatures.decode_signature(signature_text)
    if signature is None:
        raise WebhookRejected(401, "signature is not base64")
    if len(key_id) > 200:
        raise WebhookRejected(401, "unknown key id")
    key = jwks_cache.get(key_id)
    if key is None:
        raise WebhookRejected(401, "unknown key id")
    if not webhook_signatures.is_valid(key, signature, timestamp, body):
        raise WebhookRejected(401, "bad signature")
    return "signature"


# --------------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackDelivery:
    resource_type: str
    carrier_code: str
    tracking_number: str
    info: TrackingInfo | None


def parse_delivery(body: bytes) -> TrackDelivery:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(400, "body is not JSON") from None
    except RecursionError:
        raise WebhookRejected(400, "body is nested too deeply") from None
    if not isinstance(document, Mapping):
        raise WebhookRejected(400, "body is not a JSON object")
    resource_type = str(document.get("resource_type") or "").replace("\x00", "").strip().upper()
    if resource_type != "API_TRACK":
        return TrackDelivery(resource_type, "", "", None)
    data = document.get("data")
    if not isinstance(data, Mapping):
        raise WebhookRejected(400, "API_TRACK delivery without a data object")
    try:
        info = TrackingInfo.from_json(data)
    except ShipEngineError as exc:
        raise WebhookRejected(400, f"unreadable tracking data: {exc}") from None
    query = parse_qs(urlsplit(str(document.get("resource_url") or "")[:2000]).query)
    carrier_code = info.carrier_code or (query.get("carrier_code") or [""])[0].strip().lower()
    number = normalize_tracking_number(
        info.tracking_number or (query.get("tracking_number") or [""])[0]
    ).replace("\x00", "")
    if not carrier_code or not number:
        raise WebhookRejected(400, "API_TRACK delivery without carrier_code and tracking_number")
    carrier_code = carrier_code.replace("\x00", "")
    return TrackDelivery(resource_type[:40], carrier_code[:64], number[:64], info)


def find_shipments(carrier_code: str, number: str) -> list[int]:
    """Our shipments for a pushed update. The API may answer under another code than the one we
    asked with (stamps_com answers as usps): the code it last answered with counts too."""
    return list(
        Shipment.objects.filter(tracking_number=number)
        .filter(Q(carrier__code=carrier_code) | Q(api_carrier_code=carrier_code))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def ingest(body: bytes) -> Outcome:
    """Store an authenticated delivery. Raises WebhookRejected for a malformed one."""
    delivery = parse_delivery(body)
    digest = hashlib.sha256(body).hexdigest()
    if delivery.info is None:
        logger.info("webhook ignored: resource_type %r", delivery.resource_type)
        return Outcome(200, "ignored")
    shipment_ids = find_shipments(delivery.carrier_code, delivery.tracking_number)
    outcome = "ingested" if shipment_ids else "unknown_shipment"
    events_added = 0
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint around the receipt alone
                receipt = WebhookReceipt.objects.create(
                    digest=digest,
                    resource_type=delivery.resource_type[:40],
                    carrier_code=delivery.carrier_code,
                    tracking_number=delivery.tracking_number,
                    outcome=outcome,
                )
        except IntegrityError:
            # The same body was accepted before (a replay, or ShipEngine re-sending it).
            return Outcome(200, "duplicate")
        if shipment_ids:
            # One ingest for the delivery, however many of our shipments it is for (the same
            # number under two carrier codes): one row lock each, in id order, one transaction.
            try:
                results = ingest_many(answers=[(sid, delivery.info) for sid in shipment_ids])
            except (DataError, ValueError, OverflowError) as exc:
                # Values the reader let through but the database refuses: a 400 (nothing was
                # stored, not even the receipt), never a 500 that ShipEngine re-sends for days.
                logger.warning("webhook with unstorable tracking data: %s", exc)
                raise WebhookRejected(400, "tracking data that cannot be stored") from None
            events_added = sum(r.events_added for r in results)
        if events_added:
            WebhookReceipt.objects.filter(pk=receipt.pk).update(events_added=events_added)
    if not shipment_ids:
        logger.info(
            "webhook for an unknown package %s %s: acknowledged, not stored",
            delivery.carrier_code,
            delivery.tracking_number,
        )
    return Outcome(200, outcome, events_added, len(shipment_ids))


def receive(headers: Mapping[str, str], body: bytes) -> Outcome:
    """Verify, then ingest. Raises WebhookRejected; stores nothing unless it returns."""
    if len(body) > settings.SHIPENGINE_WEBHOOK_MAX_BYTES:
        raise WebhookRejected(413, "body too large")
    verify(headers, body)
    return ingest(body)
