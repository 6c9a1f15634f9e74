"""The timeline: events grouped by the carrier's local day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date

from django.utils import timezone
from django.utils.translation import gettext as _

from ..domain import statuses
from ..models import TrackingEvent
from .dates import carrier_local_datetime, day_words, local_time_text, time_words, utc_text
from .words import event_place, event_text


@dataclass
class TimelineEntry:
    event: TrackingEvent
    clock_text: str
    utc_text: str
    place: str
    text: str
    css: str
    iso: str = ""  # occurred_at in ISO 8601 (UTC), for <time datetime>
    is_latest: bool = False


@dataclass
class TimelineDay:
    label: str
    day: date | None
    entries: list[TimelineEntry] = field(default_factory=list)


def timeline_days(events: Iterable[TrackingEvent]) -> list[TimelineDay]:
    """Events (in the order given, newest first by convention) grouped by the carrier's local day."""
    days: list[TimelineDay] = []
    for event in events:
        local = carrier_local_datetime(event)
        if local is None and event.occurred_at:
            local = timezone.localtime(event.occurred_at, UTC).replace(tzinfo=None)
        day = local.date() if local else None
        if not days or days[-1].day != day:
            label = day_words(day) if day else _("Date not given")
            if day and local and day.year != timezone.now().year:
                label = f"{label} {day.year}"
            days.append(TimelineDay(label=label, day=day))
        days[-1].entries.append(
            TimelineEntry(
                event=event,
                clock_text=time_words(local) if local else local_time_text(event),
                utc_text=utc_text(event),
                place=event_place(event),
                text=event_text(event),
                css=statuses.css(event.status_code),
                iso=event.occurred_at.isoformat() if event.occurred_at else "",
                is_latest=len(days) == 1 and not days[0].entries,
            )
        )
    return days
