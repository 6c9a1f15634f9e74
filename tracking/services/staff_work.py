"""The staff's own things (writes): saved searches, and bulk actions on selected shipments run by
a task with their progress on the BulkAction row."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..domain.numbers import TrackingInputError
from ..models import BulkAction, SavedSearch, Shipment
from ..models.staff_work import SAVED_SEARCH_NAME_MAX
from ..shipengine import ShipEngineError
from . import csv_export, notes
from . import tracking as tracking_service

logger = logging.getLogger("shiptrack.services")

#: A selection is one list page at most (100 rows); more is refused, not cut.
BULK_MAX = 500


class StaffWorkError(ValueError):
    """Input that cannot be used as it is (said to the person)."""


def save_search(*, user: Any, name: str, query: str) -> SavedSearch:
    """Save (or overwrite, by name) one person's filter set."""
    name = " ".join((name or "").split())
    if not name:
        raise StaffWorkError("Give the search a name.")
    if len(name) > SAVED_SEARCH_NAME_MAX:
        raise StaffWorkError(f"A name has at most {SAVED_SEARCH_NAME_MAX} characters.")
    query = (query or "").lstrip("?")[:2000]
    try:
        with transaction.atomic():
            saved, _created = SavedSearch.objects.update_or_create(
                user=user, name=name, defaults={"query": query}
            )
    except IntegrityError:  # the same name saved at the same moment from another tab
        saved = SavedSearch.objects.get(user=user, name=name)
    return saved


def delete_search(*, user: Any, saved_id: int) -> bool:
    deleted, _ = SavedSearch.objects.filter(user=user, pk=saved_id).delete()
    return bool(deleted)


def start_bulk(*, user: Any, kind: str, shipment_ids: Sequence[int], note: str = "") -> BulkAction:
    """Record a bulk action (the caller queues its task once this commits)."""
    if kind not in BulkAction.Kind.values:
        raise StaffWorkError("Choose what to do with the selected shipments.")
    ids = list(dict.fromkeys(int(i) for i in shipment_ids))
    if not ids:
        raise StaffWorkError("Select at least one shipment first.")
    if len(ids) > BULK_MAX:
        raise StaffWorkError(f"Select at most {BULK_MAX} shipments at once.")
    if kind == BulkAction.Kind.NOTE:
        note = notes.clean_note(note)
    return BulkAction.objects.create(
        created_by=user, kind=kind, shipment_ids=ids, total=len(ids), note=note
    )


def _progress(action: BulkAction, *, done: int = 0, failed: int = 0, error: str = "") -> None:
    changes: dict[str, Any] = {"done": F("done") + done, "failed": F("failed") + failed}
    BulkAction.objects.filter(pk=action.pk).update(**changes)
    if error:
        action.errors.append(error[:300])
        BulkAction.objects.filter(pk=action.pk).update(errors=action.errors)


def run_bulk(*, action_id: int) -> BulkAction:
    """Do a bulk action, recording progress after each shipment (the page polls it). Refresh:
    each shipment through the shared rate limit, a failure recorded on it and listed here, never
    stopping the rest. Export: the selected shipments as the list's CSV. Note: one INSERT."""
    action = BulkAction.objects.get(pk=action_id)
    if action.finished:
        return action
    BulkAction.objects.filter(pk=action.pk).update(state=BulkAction.State.RUNNING)
    try:
        if action.kind == BulkAction.Kind.REFRESH:
            _refresh_all(action)
        elif action.kind == BulkAction.Kind.EXPORT:
            queryset = Shipment.objects.filter(pk__in=action.shipment_ids)
            output = "".join(csv_export.export_lines(queryset))
            BulkAction.objects.filter(pk=action.pk).update(output=output, done=action.total)
        else:
            written = notes.add_notes(
                shipment_ids=action.shipment_ids, body=action.note, author=action.created_by
            )
            _progress(action, done=written, failed=action.total - written)
    except Exception:
        logger.exception("bulk action %s failed", action.pk)
        BulkAction.objects.filter(pk=action.pk).update(
            state=BulkAction.State.FAILED, finished_at=timezone.now()
        )
        raise
    BulkAction.objects.filter(pk=action.pk).update(
        state=BulkAction.State.DONE, finished_at=timezone.now()
    )
    action.refresh_from_db()
    return action


def _refresh_all(action: BulkAction) -> None:
    numbers = dict(
        Shipment.objects.filter(pk__in=action.shipment_ids).values_list("pk", "tracking_number")
    )
    for pk in action.shipment_ids:
        if pk not in numbers:
            _progress(action, failed=1, error=f"#{pk}: deleted")
            continue
        try:
            tracking_service.refresh_shipment(shipment_id=pk)
        except (TrackingInputError, ShipEngineError) as exc:
            message = exc.message if isinstance(exc, TrackingInputError) else exc.one_line()
            _progress(action, failed=1, error=f"{numbers[pk]}: {message}")
        except Shipment.DoesNotExist:
            _progress(action, failed=1, error=f"{numbers[pk]}: deleted")
        else:
            _progress(action, done=1)
