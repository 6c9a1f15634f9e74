"""Writes: fetch from ShipEngine and store. Every function is keyword-only and typed.

Data flows one way: caller -> service -> ShipEngine client -> answer -> ingest -> models.
The HTTP call never runs inside a database transaction (a slow API must not hold SQLite's write
lock or a PostgreSQL row lock); each answer is then ingested in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from . import shipengine
from .models import FINAL_STATUSES, ApiCall, Carrier, Shipment, Status, TrackingEvent
from .shipengine import ShipEngineClient, ShipEngineError, TrackEvent, TrackingInfo

logger = logging.getLogger("shiptrack.services")

_WHITESPACE = re.compile(r"\s+", re.UNICODE)
TRACKING_NUMBER_MAX = Shipment._meta.get_field("tracking_number").max_length or 64
_TRACKING_NUMBER_OK = re.compile(r"^[A-Z0-9\-_.]+$")


class TrackingInputError(ValueError):
    """Bad input from a person or a file: unknown carrier, empty or malformed number."""


def normalize_tracking_number(value: str) -> str:
    """Whitespace removed (all of it, Unicode included), upper-cased."""
    return _WHITESPACE.sub("", value or "").upper()


def validate_tracking_number(value: str) -> str:
    number = normalize_tracking_number(value)
    if not number:
        raise TrackingInputError("Enter a tracking number.")
    if len(number) > TRACKING_NUMBER_MAX:
        raise TrackingInputError(
            f"A tracking number has at most {TRACKING_NUMBER_MAX} characters; this one has {len(number)}."
        )
    if not _TRACKING_NUMBER_OK.match(number):
        raise TrackingInputError(
            "A tracking number has only letters, digits, dashes, dots and underscores."
        )
    return number


def get_carrier(code: str, *, active_only: bool = False) -> Carrier:
    qs = Carrier.objects.active() if active_only else Carrier.objects.all()
    try:
        return qs.get(code=(code or "").strip().lower())
    except Carrier.DoesNotExist:
        raise TrackingInputError(f"Unknown carrier code {code!r}.") from None


# --------------------------------------------------------------------------------------------
# The client, as configured by settings
# --------------------------------------------------------------------------------------------
def _record_call(record: shipengine.CallRecord) -> None:
    ApiCall.objects.create(
        method=record.method,
        endpoint=record.endpoint[:100],
        http_status=record.http_status,
        duration_ms=record.duration_ms,
        attempt=record.attempt,
        error_code=record.error_code[:64],
        request_id=record.request_id[:64],
    )


def get_rate_limiter() -> shipengine.RateLimiter:
    """The limiter shared by every process (ratelimit.py)."""
    from .ratelimit import shared_rate_limiter  # ratelimit imports models: late, like them

    return shared_rate_limiter()


@lru_cache(maxsize=4)
def _client_for(
    api_key: str, base_url: str, sandbox: bool, timeouts: tuple[float, ...]
) -> ShipEngineClient:
    connect, read, attempts, budget = timeouts
    config = shipengine.ClientConfig(
        api_key=api_key or "sandbox",
        base_url=base_url,
        connect_timeout=connect,
        read_timeout=read,
        max_attempts=int(attempts),
        retry_budget=budget,
    )
    session = None
    if sandbox:
        from .sandbox import default_sandbox, sandbox_session

        session = sandbox_session(base_url, default_sandbox(epoch=sandbox_epoch()))
    return ShipEngineClient(
        config, session=session, observer=_record_call, limiter=get_rate_limiter()
    )


def sandbox_epoch() -> datetime:
    """The sandbox's time origin, shared by every process on this machine: from the setting
    SHIPENGINE_SANDBOX_EPOCH, else from var/sandbox-epoch.txt, written the first time it is needed."""
    if settings.SHIPENGINE_SANDBOX_EPOCH:
        return datetime.fromisoformat(settings.SHIPENGINE_SANDBOX_EPOCH)
    path = Path(settings.BASE_DIR) / "var" / "sandbox-epoch.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as fh:  # exclusive create: the first process wins, the rest read it
            fh.write(timezone.now().replace(microsecond=0).isoformat())
    except FileExistsError:
        pass
    try:
        return datetime.fromisoformat(path.read_text().strip())
    except ValueError:  # a half-written or damaged file: start a new epoch
        path.write_text(timezone.now().replace(microsecond=0).isoformat())
        return datetime.fromisoformat(path.read_text().strip())


def get_client(*, interactive: bool = False) -> ShipEngineClient:
    """One pooled client per configuration. No API key -> the in-process sandbox.

    `interactive`: someone is waiting on a page, so the call gets fewer attempts and a short retry
    budget (a 429 asking for 60 s fails at once with a clear message instead of hanging the page);
    workers and commands keep the full budget."""
    if settings.SHIPENGINE_SANDBOX:
        logger.debug("ShipEngine sandbox mode: answers are simulated, no API key is set")
    attempts, budget = settings.SHIPENGINE_MAX_ATTEMPTS, settings.SHIPENGINE_RETRY_BUDGET
    if interactive:
        attempts = min(attempts, 2)
        budget = min(budget, settings.SHIPENGINE_INTERACTIVE_RETRY_BUDGET)
    return _client_for(
        settings.SHIPENGINE_API_KEY,
        settings.SHIPENGINE_BASE_URL,
        settings.SHIPENGINE_SANDBOX,
        (
            settings.SHIPENGINE_CONNECT_TIMEOUT,
            settings.SHIPENGINE_READ_TIMEOUT,
            float(attempts),
            budget,
        ),
    )


# --------------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------------
def _squash(value: str) -> str:
    return _WHITESPACE.sub(" ", value or "").strip().casefold()


def event_key(event: TrackEvent) -> str:
    """The identity of an event, stable across polls, webhooks and retries.

    Built from what the carrier reports about the event itself (when, what, where), not from
    fields the API fills in later (status codes, coordinates), so an enriched re-send of the same
    scan is recognised as the same event.
    """
    when = event.occurred_at.isoformat() if event.occurred_at else event.carrier_occurred_at
    parts = [
        when,
        _squash(event.event_code),
        _squash(event.carrier_status_code),
        _squash(event.description),
        _squash(event.city_locality),
        _squash(event.state_province),
        _squash(event.postal_code),
        _squash(event.country_code),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    return {
        f.name: f.max_length
        for f in model._meta.get_fields()
        if isinstance(f, models.CharField) and f.max_length
    }


_EVENT_LIMITS = _max_lengths(TrackingEvent)
_SHIPMENT_LIMITS = _max_lengths(Shipment)


def _safe_url(value: str) -> str:
    """Only http(s) links reach a page: an API answer must not be able to inject javascript:."""
    return value if re.match(r"^https?://[^\s]+$", value or "", re.IGNORECASE) else ""


def _fit(values: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    return {
        k: (v[: limits[k]] if isinstance(v, str) and k in limits else v) for k, v in values.items()
    }


def _event_values(ev: TrackEvent) -> dict[str, Any]:
    values = {
        "occurred_at": ev.occurred_at,
        "carrier_occurred_at": ev.carrier_occurred_at,
        "description": ev.description,
        "city_locality": ev.city_locality,
        "state_province": ev.state_province,
        "postal_code": ev.postal_code,
        "country_code": ev.country_code,
        "company_name": ev.company_name,
        "signer": ev.signer,
        "event_code": ev.event_code,
        "carrier_detail_code": ev.carrier_detail_code,
        "status_code": ev.status_code,
        "status_detail_code": ev.status_detail_code,
        "status_description": ev.status_description,
        "status_detail_description": ev.status_detail_description,
        "carrier_status_code": ev.carrier_status_code,
        "carrier_status_description": ev.carrier_status_description,
        "latitude": ev.latitude,
        "longitude": ev.longitude,
        "proof_of_delivery_url": _safe_url(ev.proof_of_delivery_url),
    }
    return _fit(values, _EVENT_LIMITS)


_EVENT_COLUMNS = [
    "shipment_id",
    "dedupe_key",
    "created_at",
    *_event_values(TrackEvent(None)).keys(),
]


def _insert_events(rows: list[tuple[int, str, TrackEvent]], now: datetime) -> int:
    """INSERT ... ON CONFLICT DO NOTHING in one executemany.

    Django's bulk_create spends most of an ingest compiling SQL for each value; the columns here
    are fixed, so the statement is written once. ON CONFLICT on the (shipment, dedupe_key) unique
    constraint is what makes two concurrent workers store an event once (SQLite and PostgreSQL
    both support it)."""
    ops = connection.ops
    table = connection.ops.quote_name(TrackingEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_EVENT_COLUMNS))
    # Only fixed model names are interpolated; every value goes through a placeholder.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        "ON CONFLICT (shipment_id, dedupe_key) DO NOTHING"
    )
    created = ops.adapt_datetimefield_value(now)
    params = []
    for shipment_id, key, ev in rows:
        values = _event_values(ev)
        values["occurred_at"] = ops.adapt_datetimefield_value(values["occurred_at"])
        params.append((shipment_id, key, created, *values.values()))
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        # Rows really inserted (a conflicting row counts 0); -1 where a driver does not say.
        return cursor.rowcount if cursor.rowcount >= 0 else len(params)


@dataclass
class IngestResult:
    shipment_id: int
    events_added: int
    summary_updated: bool

    @cached_property
    def shipment(self) -> Shipment:
        """The stored shipment as it is now (loaded on first use: a bulk ingest never needs it)."""
        return Shipment.objects.select_related("carrier").get(pk=self.shipment_id)


def _location(ev: TrackEvent) -> str:
    return ", ".join(p for p in (ev.city_locality, ev.state_province, ev.country_code) if p)


def ingest_tracking(
    *, shipment_id: int, info: TrackingInfo, now: datetime | None = None
) -> IngestResult:
    """Store one tracking answer. Idempotent: every event is stored once (the database's unique
    constraint on (shipment, dedupe_key) settles races between workers); stored events are never
    deleted; the summary follows the answer unless the answer is older than what is stored."""
    return ingest_many(answers=[(shipment_id, info)], now=now)[0]


_SUMMARY_FIELDS = ("id", "status_code", "last_event_at", "created_at", "consecutive_failures")


def ingest_many(
    *, answers: list[tuple[int, TrackingInfo]], now: datetime | None = None
) -> list[IngestResult]:
    """Store several answers in one transaction (one row lock per shipment, in id order, so two
    batches never deadlock): one read of the stored keys, one INSERT for all new events, one
    UPDATE per shipment. A webhook burst or a batch of refreshes pays one commit instead of one
    per answer. Answers for the same shipment are applied in the order given."""
    now = now or timezone.now()
    results: list[IngestResult] = []
    with transaction.atomic():
        ids = sorted({sid for sid, _info in answers})
        # Only what the ingest reads: the previous raw answer (often tens of KB) stays unread.
        shipments = {
            s.pk: s
            for s in Shipment.objects.select_for_update()
            .only(*_SUMMARY_FIELDS)
            .filter(pk__in=ids)
            .order_by("pk")
        }
        missing = set(ids) - set(shipments)
        if missing:
            raise Shipment.DoesNotExist(f"No shipment with id {sorted(missing)}")
        stored = _stored_keys(ids)
        new_events: list[tuple[int, str, TrackEvent]] = []
        for shipment_id, info in answers:
            shipment = shipments[shipment_id]
            known = stored.setdefault(shipment_id, set())
            added = 0
            for ev in info.events:
                key = event_key(ev)
                if key not in known:
                    known.add(key)
                    added += 1
                    new_events.append((shipment_id, key, ev))
            summary_updated = _apply_summary(shipment, info, event_count=len(known), now=now)
            results.append(IngestResult(shipment_id, added, summary_updated))
        inserted = _insert_events(new_events, now) if new_events else 0
        if inserted != len(new_events):
            # Another worker stored some of these events first (the unique constraint skipped
            # them): recount what is really stored, and what this call really added.
            _reconcile(results, shipments, inserted)
        for shipment in shipments.values():
            _save_summary(shipment)
    return results


def _stored_keys(shipment_ids: list[int]) -> dict[int, set[str]]:
    """The event keys stored per shipment; served by the (shipment, dedupe_key) unique index."""
    keys: dict[int, set[str]] = {}
    table = connection.ops.quote_name(TrackingEvent._meta.db_table)
    for start in range(0, len(shipment_ids), 500):  # stay under every driver's parameter limit
        chunk = shipment_ids[start : start + 500]
        marks = ", ".join(["%s"] * len(chunk))
        sql = f"SELECT shipment_id, dedupe_key FROM {table} WHERE shipment_id IN ({marks})"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, chunk)
            for shipment_id, key in cursor.fetchall():
                keys.setdefault(shipment_id, set()).add(key)
    return keys


def _reconcile(results: list[IngestResult], shipments: dict[int, Shipment], inserted: int) -> None:
    stored = _stored_keys(sorted(shipments))
    for shipment_id, shipment in shipments.items():
        shipment.event_count = len(stored.get(shipment_id, ()))
        shipment._summary_changes["event_count"] = shipment.event_count  # type: ignore[attr-defined]
    if len(results) == 1:
        results[0].events_added = inserted


def _apply_summary(
    shipment: Shipment, info: TrackingInfo, *, event_count: int, now: datetime
) -> bool:
    """Work out the shipment's new summary from one answer (kept on the instance until saved).
    Returns False when the answer is older than what is stored and the summary stays."""
    newest = next((e for e in info.events if e.occurred_at), None)
    newest_at = newest.occurred_at if newest else None
    # An answer whose newest event is older than what is stored (a late webhook, a lagging
    # replica) adds its events but must not roll the summary back.
    stale = bool(newest_at and shipment.last_event_at and newest_at < shipment.last_event_at)
    changes: dict[str, Any] = getattr(shipment, "_summary_changes", {})
    if not stale:
        status = info.status_code or shipment.status_code or Status.UNKNOWN
        changes.update(
            status_code=status,
            status_description=info.status_description or str(_STATUS_LABELS.get(status, status)),
            status_detail_code=info.status_detail_code,
            status_detail_description=info.status_detail_description,
            carrier_status_code=info.carrier_status_code,
            carrier_status_description=info.carrier_status_description,
            carrier_detail_code=info.carrier_detail_code,
            api_carrier_code=info.carrier_code,
            api_carrier_id=info.carrier_id,
            tracking_url=_safe_url(info.tracking_url),
            ship_date=info.ship_date,
            estimated_delivery_date=info.estimated_delivery_date,
            actual_delivery_date=info.actual_delivery_date,
            exception_description=info.exception_description,
            raw_response=dict(info.raw),
        )
        signer = next((e.signer for e in info.events if e.signer), "")
        if signer:
            changes["signer"] = signer
        if (
            newest
            and newest_at
            and (shipment.last_event_at is None or newest_at >= shipment.last_event_at)
        ):
            changes.update(
                last_event_at=newest_at,
                last_event_description=newest.description or newest.carrier_status_description,
                last_event_location=_location(newest),
            )
    changes.update(
        # The row lock (select_for_update; SQLite's write lock) serialises ingests of one
        # shipment, so the keys read plus those added are the exact count.
        event_count=event_count,
        last_checked_at=now,
        last_error="",
        last_error_code="",
        consecutive_failures=0,
    )
    changes = _fit(changes, _SHIPMENT_LIMITS)
    for name, value in changes.items():
        setattr(shipment, name, value)
    changes["next_check_at"] = shipment.next_check_at = next_check_at(shipment, now=now)
    changes["updated_at"] = shipment.updated_at = now
    shipment._summary_changes = changes  # type: ignore[attr-defined]
    return not stale


_STATUS_LABELS = {s.value: s.label for s in Status}


def _save_summary(shipment: Shipment) -> None:
    """One UPDATE of the changed columns, values prepared by the model's own fields (JSON,
    datetimes) for whichever database this is, without the ORM's per-call query compilation."""
    changes: dict[str, Any] = shipment.__dict__.pop("_summary_changes", {})
    if not changes:
        return
    meta = Shipment._meta
    columns, params = [], []
    for name, value in changes.items():
        model_field = meta.get_field(name)
        assert isinstance(model_field, models.Field) and model_field.column
        columns.append(f"{connection.ops.quote_name(model_field.column)} = %s")
        params.append(model_field.get_db_prep_save(value, connection))
    params.append(shipment.pk)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(columns)} WHERE id = %s", params)  # noqa: S608


# --------------------------------------------------------------------------------------------
# Refresh policy
# --------------------------------------------------------------------------------------------
def next_check_at(shipment: Shipment, *, now: datetime) -> datetime | None:
    """When to poll next: by status (settings.REFRESH_INTERVALS, in minutes), never once final,
    never after REFRESH_GIVE_UP_DAYS without a new event, later after each failure."""
    if shipment.status_code in FINAL_STATUSES:
        return None
    # No news for too long: the last event, or for a package that never had one, when it was added.
    last_news = shipment.last_event_at or shipment.created_at
    if last_news and now - last_news > timedelta(days=settings.REFRESH_GIVE_UP_DAYS):
        return None
    intervals: dict[str, int] = settings.REFRESH_INTERVALS
    minutes = intervals.get(shipment.status_code, intervals.get("*", 240))
    if shipment.consecutive_failures:
        backoff = settings.REFRESH_FAILURE_BACKOFF_MINUTES * 2 ** (
            shipment.consecutive_failures - 1
        )
        minutes = min(backoff, settings.REFRESH_FAILURE_BACKOFF_MAX_MINUTES)
    return now + timedelta(minutes=minutes)


def record_failure(
    *, shipment_id: int, error: ShipEngineError, now: datetime | None = None
) -> Shipment:
    """A failed fetch: note the error and when to try again; touch nothing else."""
    now = now or timezone.now()
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        shipment.consecutive_failures += 1
        shipment.last_error = error.one_line()[:2000]
        shipment.last_error_code = error.code[:64]
        shipment.last_error_at = now
        shipment.last_checked_at = now
        shipment.next_check_at = next_check_at(shipment, now=now)
        shipment.save(
            update_fields=[
                "consecutive_failures",
                "last_error",
                "last_error_code",
                "last_error_at",
                "last_checked_at",
                "next_check_at",
                "updated_at",
            ]
        )
    return shipment


# --------------------------------------------------------------------------------------------
# Track, refresh
# --------------------------------------------------------------------------------------------
def track_shipment(
    *,
    carrier_code: str,
    tracking_number: str,
    reference: str = "",
    customer_name: str = "",
    customer_email: str = "",
    client: ShipEngineClient | None = None,
    interactive: bool = False,
) -> Shipment:
    """Fetch a package from the API and store it. A new package is stored only once the API has
    answered; for a known one a failure is recorded on it and nothing else changes.
    `interactive=True` from views: a short retry budget (see get_client).

    Raises TrackingInputError for bad input and ShipEngineError when the API fails."""
    number = validate_tracking_number(tracking_number)
    carrier = get_carrier(carrier_code)
    existing = Shipment.objects.filter(carrier=carrier, tracking_number=number).first()
    if existing is None and not carrier.is_active:
        # A disabled carrier takes no new packages; the ones already stored stay readable.
        raise TrackingInputError(
            f"The carrier {carrier.name} ({carrier.code}) is disabled: new packages cannot be added for it."
        )
    client = client or get_client(interactive=interactive)
    try:
        info = client.get_tracking(carrier.code, number)
    except ShipEngineError as exc:
        if existing is not None:
            record_failure(shipment_id=existing.pk, error=exc)
        raise
    with transaction.atomic():
        shipment, _created = Shipment.objects.get_or_create(
            carrier=carrier,
            tracking_number=number,
            defaults={
                "reference": reference[:100],
                "customer_name": customer_name[:200],
                "customer_email": customer_email,
            },
        )
        _fill_blank(
            shipment,
            reference=reference,
            customer_name=customer_name,
            customer_email=customer_email,
        )
        result = ingest_tracking(shipment_id=shipment.pk, info=info)
    return result.shipment


def _fill_blank(shipment: Shipment, **values: str) -> None:
    """Staff details given again for a known package fill empty fields; they never overwrite."""
    changed = [k for k, v in values.items() if v and not getattr(shipment, k)]
    for name in changed:
        setattr(shipment, name, values[name])
    if changed:
        shipment.save(update_fields=[*changed, "updated_at"])


def track_label(*, label_id: str, client: ShipEngineClient | None = None) -> Shipment:
    """Track by ShipEngine label id (GET /v1/labels/{label_id}/track)."""
    label_id = (label_id or "").strip().lower()
    if not re.match(r"^se(-[a-z0-9]+)+$", label_id) or len(label_id) > 25:
        raise TrackingInputError(f"{label_id!r} is not a ShipEngine label id (like se-324658).")
    client = client or get_client()
    existing = Shipment.objects.filter(label_id=label_id).first()
    try:
        info = client.get_label_tracking(label_id)
    except ShipEngineError as exc:
        if existing is not None:
            record_failure(shipment_id=existing.pk, error=exc)
        raise
    number = normalize_tracking_number(info.tracking_number)
    with transaction.atomic():
        if existing is not None:
            shipment = existing
        else:
            if not number:
                raise shipengine.BadResponseError(
                    "The label's tracking answer has no tracking_number"
                )
            if not info.carrier_code:
                raise shipengine.BadResponseError("The label's tracking answer has no carrier_code")
            carrier, _ = Carrier.objects.get_or_create(
                code=info.carrier_code,
                defaults={"name": info.carrier_code.replace("_", " ").title()},
            )
            shipment, _ = Shipment.objects.get_or_create(carrier=carrier, tracking_number=number)
            if shipment.label_id != label_id:
                shipment.label_id = label_id
                shipment.save(update_fields=["label_id", "updated_at"])
        result = ingest_tracking(shipment_id=shipment.pk, info=info)
    return result.shipment


def refresh_shipment(
    *, shipment_id: int, client: ShipEngineClient | None = None, interactive: bool = False
) -> IngestResult:
    """Poll one stored shipment. On failure the error is recorded and re-raised."""
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    client = client or get_client(interactive=interactive)
    try:
        if shipment.label_id:
            info = client.get_label_tracking(shipment.label_id)
        else:
            info = client.get_tracking(shipment.carrier.code, shipment.tracking_number)
    except ShipEngineError as exc:
        record_failure(shipment_id=shipment.pk, error=exc)
        raise
    return ingest_tracking(shipment_id=shipment.pk, info=info)


# --------------------------------------------------------------------------------------------
# Carriers
# --------------------------------------------------------------------------------------------
@dataclass
class CarrierSyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        )
        if self.added:
            text += f" (added: {', '.join(self.added)})"
        if self.errors:
            text += f"; the API also reported: {'; '.join(self.errors)}"
        return text


def sync_carriers(*, client: ShipEngineClient | None = None) -> CarrierSyncReport:
    """GET /v1/carriers: update known carriers, add new ones, delete none. A 207 answer's carriers
    are applied and its errors reported; a failed call changes nothing."""
    client = client or get_client()
    answer = client.list_carriers()  # raises before anything is written
    report = CarrierSyncReport(errors=[f"{e.message} ({e.error_code})" for e in answer.errors])
    now = timezone.now()
    with transaction.atomic():
        known = {c.code: c for c in Carrier.objects.select_for_update()}
        seen: set[str] = set()
        for account in answer.carriers:
            code = account.carrier_code
            if not re.match(r"^[a-z0-9]+(_[a-z0-9]+)*$", code) or code in seen:
                continue
            seen.add(code)
            values = {
                "shipengine_carrier_id": account.carrier_id[:25],
                "nickname": account.nickname[:120],
                "friendly_name": account.friendly_name[:120],
                "connection_status": account.connection_status[:32],
            }
            carrier = known.get(code)
            if carrier is None:
                Carrier.objects.create(
                    code=code,
                    name=(account.friendly_name or code.replace("_", " ").title())[:120],
                    last_synced_at=now,
                    **values,
                )
                report.added.append(code)
                continue
            changed = [k for k, v in values.items() if v and getattr(carrier, k) != v]
            for name in changed:
                setattr(carrier, name, values[name])
            carrier.last_synced_at = now
            carrier.save(update_fields=[*changed, "last_synced_at", "updated_at"])
            (report.updated if changed else report.unchanged).append(code)
    return report


# --------------------------------------------------------------------------------------------
# Admin: push updates, carrier switches
# --------------------------------------------------------------------------------------------
def start_push_updates(
    *, shipment_id: int, client: ShipEngineClient | None = None, interactive: bool = False
) -> Shipment:
    """POST /v1/tracking/start: ShipEngine sends this package's updates to our webhook from now on.

    Raises TrackingInputError for a disabled carrier, ShipEngineError when
    the API refuses; on failure nothing stored changes (a refused subscription is not a failed
    poll, so the refresh back-off is left alone)."""
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    if not shipment.carrier.is_active:
        raise TrackingInputError(
            f"The carrier {shipment.carrier.name} ({shipment.carrier.code}) is disabled."
        )
    client = client or get_client(interactive=interactive)
    client.start_tracking(shipment.carrier.code, shipment.tracking_number)
    now = timezone.now()
    Shipment.objects.filter(pk=shipment.pk).update(push_subscribed_at=now, updated_at=now)
    shipment.push_subscribed_at = now
    shipment.updated_at = now
    return shipment


def set_carriers_active(*, carrier_ids: list[int], active: bool) -> int:
    """Enable or disable carriers; returns how many changed. Their shipments are kept: a disabled
    carrier's packages stay readable but are neither refreshed nor accepted anew."""
    with transaction.atomic():
        return (
            Carrier.objects.filter(pk__in=carrier_ids)
            .exclude(is_active=active)
            .update(is_active=active, updated_at=timezone.now())
        )
