"""The outbox: record a shipment's changes in the transaction that makes them, hand them to their
consumers (customer e-mails, outgoing webhooks) after it commits.

- `record_*()` write a ChangeRecord inside the caller's transaction. Only a real change makes one:
  new events or a new status (a replayed webhook or a poll that found nothing new records
  nothing, so nothing is sent twice because of it).
- `dispatch()` takes undispatched records in id order (FOR UPDATE SKIP LOCKED where the database
  has it, so two workers never take the same record), gives each batch to every consumer's
  `fan_out(records)` and marks the batch dispatched, all in one transaction: a consumer creates
  its delivery rows (each under a unique dedupe key) in that transaction, so a crash at any point
  loses nothing and duplicates nothing. It runs right after the recording transaction commits,
  and again on every scheduler tick for anything a crashed process left behind.
- Consumers only write rows; sending is a task's job. `on_dispatched` callbacks (registered by
  tasks.py) are told after each committed batch, so they can queue the sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db import connection, transaction
from django.utils import timezone

from ..domain import statuses
from ..domain.event_identity import event_key
from ..domain.statuses import FINAL, Milestone, Status
from ..models import ChangeKind, ChangeRecord
from ..shipengine import TrackEvent

logger = logging.getLogger("shiptrack.outbox")


class Consumer(Protocol):
    def __call__(self, records: Sequence[ChangeRecord]) -> None: ...


#: Who takes change records, in order; each writes its own delivery rows. Consumers are added by
#: the modules that own them (notifications, outbound webhooks).
CONSUMERS: list[Consumer] = []
#: Told after each committed batch (tasks.py queues the sends).
on_dispatched: list[Callable[[], None]] = []


@dataclass(frozen=True)
class Change:
    """What one ingest changed about one shipment."""

    shipment_id: int
    previous_status: str
    status: str
    new_events: Sequence[TrackEvent]

    def kinds(self) -> list[str]:
        kinds = [ChangeKind.UPDATED.value]
        if self.status != self.previous_status:
            kinds.append(ChangeKind.STATUS_CHANGED.value)
            if self.status in FINAL and self.previous_status not in FINAL:
                kinds.append(ChangeKind.DELIVERED.value)
            if self.status == Status.EXCEPTION:
                kinds.append(ChangeKind.EXCEPTION.value)
        return kinds

    def milestone(self) -> tuple[str, str]:
        """(milestone, dedupe key) the change reached, or ("", "")."""
        newest_first = list(self.new_events)
        for event in newest_first:
            found = statuses.milestone_of(
                status_code=event.status_code or "",
                out_for_delivery=statuses.is_out_for_delivery(
                    status_detail_code=event.status_detail_code,
                    texts=(event.description, event.carrier_status_description),
                ),
            )
            if found is not None:
                return found.value, _key(found, event_key(event))
        # The summary may say more than the scans (the seed's events carry no status codes).
        found = statuses.milestone_of(status_code=self.status, out_for_delivery=False)
        if found is not None and self.status != self.previous_status:
            anchor = event_key(newest_first[0]) if newest_first else f"status:{self.status}"
            return found.value, _key(found, anchor)
        return "", ""


def _key(milestone: Milestone, anchor: str) -> str:
    return milestone.value if milestone in statuses.ONCE else f"{milestone.value}:{anchor}"


def record_changes(changes: Iterable[Change], *, now: datetime) -> int:
    """Write a record for every change that is one (new events or a new status); returns how
    many. Call inside the transaction that made the changes."""
    rows = []
    for change in changes:
        if not change.new_events and change.status == change.previous_status:
            continue
        milestone, milestone_key = change.milestone()
        rows.append(
            ChangeRecord(
                shipment_id=change.shipment_id,
                created_at=now,
                kinds=change.kinds(),
                previous_status=change.previous_status,
                status=change.status,
                events_added=len(change.new_events),
                milestone=milestone,
                milestone_key=milestone_key,
            )
        )
    if rows:
        ChangeRecord.objects.bulk_create(rows)
        _dispatch_after_commit()
    return len(rows)


def record_created(shipment_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """New shipments (staff add, import, API): one shipment.created record each."""
    if not shipment_ids:
        return
    now = now or timezone.now()
    ChangeRecord.objects.bulk_create(
        [
            ChangeRecord(shipment_id=sid, created_at=now, kinds=[ChangeKind.CREATED.value])
            for sid in shipment_ids
        ],
        batch_size=1000,
    )
    _dispatch_after_commit()


def _dispatch_after_commit() -> None:
    transaction.on_commit(_dispatch_now)


def _dispatch_now() -> None:
    # One batch: a page must not pay for a backlog (an import's 100,000 new shipments); the
    # scheduler's sweep takes the rest.
    try:
        dispatch(max_batches=1)
    except Exception:  # the sweep retries; the request or task must not fail for it
        logger.exception("outbox dispatch after commit failed; the next sweep retries")


def dispatch(*, batch_size: int = 200, max_batches: int = 50) -> int:
    """Hand undispatched records to the consumers, oldest first; returns how many."""
    done = 0
    for _batch in range(max_batches):
        with transaction.atomic():
            queryset = ChangeRecord.objects.undispatched().order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                queryset = queryset.select_for_update(skip_locked=True)
            records = list(queryset[:batch_size])
            if not records:
                break
            for consumer in CONSUMERS:
                consumer(records)
            ChangeRecord.objects.filter(pk__in=[r.pk for r in records]).update(
                dispatched_at=timezone.now()
            )
        done += len(records)
        for callback in on_dispatched:
            callback()
        if len(records) < batch_size:
            break
    return done
