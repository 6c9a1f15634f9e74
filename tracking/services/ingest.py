"""Store tracking answers: every event once, the shipment's summary following the newest answer.

Idempotent: every event has a key built from what the carrier says about it (domain/
event_identity.py), and the database's unique constraint on (shipment, dedupe_key) with
`INSERT ... ON CONFLICT DO NOTHING` settles concurrent workers. Stored events are never deleted.
The HTTP call never runs inside the ingest's transaction (services/tracking.py calls first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, cast

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from ..domain.event_identity import event_key
from ..domain.links import safe_http_url
from ..domain.statuses import API_DESCRIPTIONS, Status
from ..models import Shipment, TrackingEvent
from ..shipengine import TrackEvent, TrackingInfo, capped_raw
from .outbox import Change, record_changes
from .refresh import schedule
from .search_index import link_places

logger = logging.getLogger("shiptrack.services")


def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    return {
        f.name: f.max_length
        for f in model._meta.get_fields()
        if isinstance(f, models.CharField) and f.max_length
    }


_EVENT_LIMITS = _max_lengths(TrackingEvent)
_SHIPMENT_LIMITS = _max_lengths(Shipment)


def truncated(values: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """Text values cut to their column's length (the database would refuse longer ones)."""
    return {
        k: (v[: limits[k]] if isinstance(v, str) and k in limits else v) for k, v in values.items()
    }


def event_values(ev: TrackEvent) -> dict[str, Any]:
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
        "proof_of_delivery_url": safe_http_url(ev.proof_of_delivery_url),
    }
    return truncated(values, _EVENT_LIMITS)


_EVENT_COLUMNS = [
    "shipment_id",
    "dedupe_key",
    "created_at",
    *event_values(TrackEvent(None)).keys(),
]


#: Rows per INSERT statement (24 columns each: well under either database's parameter limit).
_INSERT_CHUNK = 500


def _insert_events(rows: list[tuple[int, str, TrackEvent]], now: datetime) -> None:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING per 500 events.

    Measured against Django's bulk_create(ignore_conflicts=True), which writes the same SQL
    (benchmarks/ingest.py, docs/performance.md): the ORM spends most of an ingest preparing each
    value through its field, 2-5x this. The columns here are fixed, the values already typed.
    One statement, not an executemany, because on PostgreSQL each statement of an executemany
    is a round trip of its own. The shipment's row lock already serialises ingests of one
    shipment; ON CONFLICT on the (shipment, dedupe_key) unique constraint is the database's
    guarantee on top of it (SQLite and PostgreSQL both support it)."""
    ops = connection.ops
    table = ops.quote_name(TrackingEvent._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in _EVENT_COLUMNS)
    if connection.vendor == "postgresql":
        _insert_events_unnest(rows, now, table=table, columns=columns)
        return
    row = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    created = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            params: list[Any] = []
            for shipment_id, key, ev in chunk:
                values = event_values(ev)
                values["occurred_at"] = ops.adapt_datetimefield_value(values["occurred_at"])
                params += (shipment_id, key, created, *values.values())
            # Only fixed model names are interpolated; every value goes through a placeholder.
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608
                "ON CONFLICT (shipment_id, dedupe_key) DO NOTHING"
            )
            cursor.execute(sql, params)


def _insert_events_unnest(
    rows: list[tuple[int, str, TrackEvent]], now: datetime, *, table: str, columns: str
) -> None:
    """PostgreSQL: the same INSERT with one array per column (`SELECT * FROM unnest(...)`), 24
    parameters however many rows, instead of 24 per row: 750 events (a worker's chunk) in 23 ms
    against 57 ms for the VALUES list, which the server must parse and plan value by value."""
    values: list[list[Any]] = [[] for _ in _EVENT_COLUMNS]
    for shipment_id, key, ev in rows:
        row = (shipment_id, key, now, *event_values(ev).values())
        for column, value in zip(values, row, strict=True):
            column.append(value)
    arrays = _unnest_params(TrackingEvent, _EVENT_COLUMNS)
    # Only fixed model names and column types are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        "ON CONFLICT (shipment_id, dedupe_key) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _unnest_params(model: type[models.Model], names: list[str]) -> str:
    """`%s::varchar(500)[], %s::bigint[], ...`: one array parameter per column of `model`, typed
    as the database names the column, for PostgreSQL's `unnest(...)`."""
    types = (model._meta.get_field(name).db_type(connection) for name in names)  # type: ignore[union-attr]
    return ", ".join(f"%s::{db_type}[]" for db_type in types)


@dataclass
class IngestResult:
    shipment_id: int
    events_added: int

    @cached_property
    def shipment(self) -> Shipment:
        """The stored shipment as it is now (loaded on first use: a bulk ingest never needs it)."""
        return Shipment.objects.select_related("carrier").get(pk=self.shipment_id)


def _location(ev: TrackEvent) -> str:
    return ", ".join(p for p in (ev.city_locality, ev.state_province, ev.country_code) if p)


def ingest_tracking(
    *, shipment_id: int, info: TrackingInfo, now: datetime | None = None
) -> IngestResult:
    """Store one tracking answer. Idempotent: every event is stored once; stored events are never
    deleted; the summary follows the answer unless the answer is older than what is stored."""
    return ingest_many(answers=[(shipment_id, info)], now=now)[0]


_SUMMARY_FIELDS = ("id", "status_code", "last_event_at", "created_at", "consecutive_failures")


def ingest_many(
    *, answers: list[tuple[int, TrackingInfo]], now: datetime | None = None
) -> list[IngestResult]:
    """Store several answers in one transaction (one row lock per shipment, in id order, so two
    batches never deadlock): one read of the stored keys, one INSERT for all new events, one
    UPDATE per shipment. Answers for the same shipment are applied in the order given."""
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
        changes: dict[int, dict[str, Any]] = {}
        new_events: list[tuple[int, str, TrackEvent]] = []
        outbox: list[Change] = []
        for shipment_id, info in answers:
            shipment = shipments[shipment_id]
            previous_status = shipment.status_code
            known = stored.setdefault(shipment_id, set())
            added: list[TrackEvent] = []
            over_cap = 0
            for ev in info.events:
                key = event_key(ev)
                if key not in known:
                    # EVENTS_PER_SHIPMENT_MAX: the newest events (answers come newest first)
                    # are kept; an answer with 100,000 events cannot flood a shipment.
                    if len(known) >= settings.EVENTS_PER_SHIPMENT_MAX:
                        over_cap += 1
                        continue
                    known.add(key)
                    added.append(ev)
                    new_events.append((shipment_id, key, ev))
            if over_cap:
                logger.warning(
                    "ingest shipment=%s: %d events not stored (EVENTS_PER_SHIPMENT_MAX=%d)",
                    shipment_id,
                    over_cap,
                    settings.EVENTS_PER_SHIPMENT_MAX,
                )
            summary = _summary_changes(shipment, info, event_count=len(known), now=now)
            changes.setdefault(shipment_id, {}).update(summary)
            results.append(IngestResult(shipment_id, len(added)))
            outbox.append(Change(shipment_id, previous_status, shipment.status_code, added))
        if new_events:
            # Oldest first, so that ids follow time: the admin lists events newest stored first
            # along the primary key, which then reads newest first within a shipment too.
            new_events.reverse()
            _insert_events(new_events, now)
            link_places(
                visits=((sid, ev) for sid, _key, ev in new_events),
                answers=((sid, info.events) for sid, info in answers),
            )
        _save_summaries(changes)
        record_changes(outbox, now=now)
    return results


def _stored_keys(shipment_ids: list[int]) -> dict[int, set[str]]:
    """The event keys stored per shipment; served by the (shipment, dedupe_key) unique index."""
    keys: dict[int, set[str]] = {}
    rows = TrackingEvent.objects.filter(shipment_id__in=shipment_ids).values_list(
        "shipment_id", "dedupe_key"
    )
    for shipment_id, key in rows.order_by():
        keys.setdefault(shipment_id, set()).add(key)
    return keys


def _summary_changes(
    shipment: Shipment, info: TrackingInfo, *, event_count: int, now: datetime
) -> dict[str, Any]:
    """The shipment's new summary from one answer (also set on `shipment`, so a second answer for
    it in the same batch builds on the first). An answer older than what is stored gives only its
    events and the bookkeeping."""
    newest = next((e for e in info.events if e.occurred_at), None)
    newest_at = newest.occurred_at if newest else None
    # An answer whose newest event is older than what is stored (a late webhook, a lagging
    # replica) adds its events but must not roll the summary back.
    stale = bool(newest_at and shipment.last_event_at and newest_at < shipment.last_event_at)
    changes: dict[str, Any] = {}
    if not stale:
        status = info.status_code or shipment.status_code or Status.UNKNOWN
        changes.update(
            status_code=status,
            status_description=info.status_description or API_DESCRIPTIONS.get(status, status),
            status_detail_code=info.status_detail_code,
            status_detail_description=info.status_detail_description,
            carrier_status_code=info.carrier_status_code,
            carrier_status_description=info.carrier_status_description,
            carrier_detail_code=info.carrier_detail_code,
            api_carrier_code=info.carrier_code,
            api_carrier_id=info.carrier_id,
            tracking_url=safe_http_url(info.tracking_url),
            ship_date=info.ship_date,
            estimated_delivery_date=info.estimated_delivery_date,
            actual_delivery_date=info.actual_delivery_date,
            exception_description=info.exception_description,
            raw_response=capped_raw(info.raw, settings.RAW_RESPONSE_MAX_BYTES),
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
        # The row lock (select_for_update; SQLite's IMMEDIATE write lock) serialises ingests of
        # one shipment, so the keys read plus those added are the exact count.
        event_count=event_count,
        last_checked_at=now,
        last_error="",
        last_error_code="",
        consecutive_failures=0,
    )
    changes = truncated(changes, _SHIPMENT_LIMITS)
    for name, value in changes.items():
        setattr(shipment, name, value)
    # A given-up shipment is never due (refresh_state); news brings it back to its schedule.
    changes["next_check_at"], changes["refresh_state"] = schedule(shipment, now=now)
    shipment.next_check_at, shipment.refresh_state = (
        changes["next_check_at"],
        changes["refresh_state"],
    )
    changes["updated_at"] = shipment.updated_at = now
    return changes


def _save_summaries(changes: dict[int, dict[str, Any]]) -> None:
    """Each shipment's changed columns. On SQLite one ORM UPDATE each (in-process, no round
    trip: a hand-built one measured 1.3-1.7x faster, under the 2x that would pay for raw SQL).
    On PostgreSQL the shipments that change the same columns (nearly always all of a chunk) in
    one `UPDATE ... FROM unnest(...)`: one statement for a worker's 25 answers instead of 25."""
    if connection.vendor != "postgresql":
        for shipment_id, values in changes.items():
            Shipment.objects.filter(pk=shipment_id).update(**values)
        return
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for shipment_id, values in changes.items():
        groups.setdefault(tuple(sorted(values)), []).append((shipment_id, values))
    table = connection.ops.quote_name(Shipment._meta.db_table)
    for names, rows in groups.items():
        fields = [cast(models.Field, Shipment._meta.get_field(name)) for name in names]
        columns = [connection.ops.quote_name(f.column or f.name) for f in fields]
        arrays: list[list[Any]] = [[shipment_id for shipment_id, _values in rows]]
        for name, field in zip(names, fields, strict=True):
            arrays.append(
                [field.get_db_prep_save(values[name], connection) for _sid, values in rows]
            )
        unnest = _unnest_params(Shipment, ["id", *names])
        names_v = ", ".join(["id", *(f"c{i}" for i in range(len(fields)))])
        sets = ", ".join(f"{column} = v.c{i}" for i, column in enumerate(columns))
        # Only fixed model names and column types are interpolated; every value is a parameter.
        sql = (
            f"UPDATE {table} SET {sets} FROM unnest({unnest}) AS v({names_v}) "  # noqa: S608
            f"WHERE {table}.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, arrays)
