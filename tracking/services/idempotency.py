"""`Idempotency-Key`: a client that retries a POST (a timeout, a dropped connection) with the
same key gets the first answer again instead of a second effect.

    outcome = idempotency.begin(api_key=key, key=header, request_hash=digest)
    Replay -> answer outcome.status / outcome.body;  InProgress -> 409;  Mismatch -> 422
    Started -> run the request, then finish(...) with the answer (or abandon(...) on failure)

A record is claimed with an INSERT under a unique constraint, so two concurrent requests with one
key cannot both run. Only successful answers are stored: a refused request may be retried with
the same key once fixed (IETF draft-ietf-httpapi-idempotency-key-header). Records are pruned after
API_IDEMPOTENCY_HOURS by housekeeping.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import ApiKey, IdempotencyRecord

#: A claim older than this whose request never finished (a crashed process) may be taken over.
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class Started:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


@dataclass(frozen=True)
class InProgress:
    pass


@dataclass(frozen=True)
class Mismatch:
    pass


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _expired_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def begin(
    *, api_key: ApiKey, key: str, request_hash: str, now: datetime | None = None
) -> Started | Replay | InProgress | Mismatch:
    now = now or timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    api_key=api_key, key=key, request_hash=request_hash, created_at=now
                )
            return Started(record_id=record.pk)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:
            continue  # pruned or abandoned between the two statements: claim it again
        expired = existing.created_at < _expired_before(now)
        stale = existing.status == 0 and existing.created_at < now - STALE_CLAIM
        if expired or stale:
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at=existing.created_at
            ).delete()
            continue
        if existing.request_hash != request_hash:
            return Mismatch()
        if existing.status == 0:
            return InProgress()
        return Replay(status=existing.status, body=existing.body)
    return InProgress()


def finish(*, record_id: int, status: int, body: str) -> None:
    IdempotencyRecord.objects.filter(pk=record_id).update(status=status, body=body)


def abandon(*, record_id: int) -> None:
    IdempotencyRecord.objects.filter(pk=record_id, status=0).delete()
