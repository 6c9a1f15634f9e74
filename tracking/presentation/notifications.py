"""The e-mails sent for a parcel, as staff read them on its page (times by the one time rule:
these are our own clock's, so UTC, said as such)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..models import Notification
from . import dates


@dataclass(frozen=True)
class NotificationRow:
    notification: Notification
    when: str
    when_iso: str
    state: str
    kind: str


def notification_rows(notifications: Iterable[Notification]) -> list[NotificationRow]:
    rows = []
    for n in notifications:
        at = n.sent_at or n.last_attempt_at or n.created_at
        moment = dates.utc_moment(at)
        rows.append(
            NotificationRow(
                notification=n,
                when=dates.short_when(moment),
                when_iso=at.isoformat(),
                state=n.get_state_display(),
                kind=n.get_kind_display(),
            )
        )
    return rows
