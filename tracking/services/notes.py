"""Staff notes and the needs-attention queue's "handled" marks (writes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import AttentionHandled, Shipment, ShipmentNote
from ..models.notes import NOTE_MAX


class NoteError(ValueError):
    """A note that cannot be stored as typed (empty, too long)."""


def clean_note(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise NoteError("Write the note first.")
    if len(text) > NOTE_MAX:
        raise NoteError(f"A note has at most {NOTE_MAX:,} characters ({len(text):,} typed).")
    return text


def _author_name(user: Any) -> str:
    if user is None:
        return ""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return (full or user.get_username())[:150]


def add_note(*, shipment_id: int, body: str, author: Any = None) -> ShipmentNote:
    """One note on one shipment. Raises NoteError for an empty or too long text and
    Shipment.DoesNotExist for a shipment that is gone."""
    text = clean_note(body)
    with transaction.atomic():
        if not Shipment.objects.filter(pk=shipment_id).exists():
            raise Shipment.DoesNotExist(shipment_id)
        return ShipmentNote.objects.create(
            shipment_id=shipment_id, body=text, author=author, author_name=_author_name(author)
        )


def add_notes(*, shipment_ids: Sequence[int], body: str, author: Any = None) -> int:
    """The same note on many shipments (a bulk action), in one INSERT; shipments deleted in the
    meantime are skipped. Returns how many notes were written."""
    text = clean_note(body)
    with transaction.atomic():
        existing = list(
            Shipment.objects.filter(pk__in=list(shipment_ids)).values_list("pk", flat=True)
        )
        name = _author_name(author)
        ShipmentNote.objects.bulk_create(
            [
                ShipmentNote(shipment_id=pk, body=text, author=author, author_name=name)
                for pk in existing
            ],
            batch_size=500,
        )
    return len(existing)


def mark_handled(*, shipment_id: int, user: Any = None, body: str = "") -> AttentionHandled:
    """Take a shipment out of the needs-attention queue until something new happens to it (a new
    event, another status, another failed refresh). The note says what was done; without one a
    short note records who handled it."""
    text = (body or "").strip()
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        note = ShipmentNote.objects.create(
            shipment_id=shipment.pk,
            body=clean_note("Handled: " + text if text else "Marked as handled."),
            author=user,
            author_name=_author_name(user),
        )
        handled, _created = AttentionHandled.objects.update_or_create(
            shipment_id=shipment.pk,
            defaults={
                "handled_at": timezone.now(),
                "handled_by": user,
                "note": note,
                "event_count": shipment.event_count,
                "status_code": shipment.status_code,
                "consecutive_failures": shipment.consecutive_failures,
            },
        )
    return handled
