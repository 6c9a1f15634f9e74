"""The timeline: events grouped by the carrier's local day, each with the time by the one time
rule (presentation/dates.py) and the number of its marker on the map, if it has one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from ..domain import statuses
from ..models import TrackingEvent
from . import dates
from .map import marker_numbers
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
    marker: int | None = None  # its number on the map
    detail: str = ""  # the API's status_detail_description, when it adds to the text


@dataclass
class TimelineDay:
    label: str
    day: date | None
    entries: list[TimelineEntry] = field(default_factory=list)


def timeline_days(events: Iterable[TrackingEvent]) -> list[TimelineDay]:
    """Events (in the order given, newest first by convention) grouped by the carrier's local day."""
    events = list(events)
    numbers = marker_numbers(events)
    days: list[TimelineDay] = []
    for event in events:
        moment = dates.event_moment(event)
        day = moment.wall.date() if moment else None
        if not days or days[-1].day != day:
            label = dates.day(day) if day else _("Date not given")
            days.append(TimelineDay(label=label, day=day))
        days[-1].entries.append(
            TimelineEntry(
                event=event,
                clock_text=dates.clock(moment)
                if moment
                else (event.carrier_occurred_at or _("time not given")),
                utc_text=dates.utc_text(moment),
                place=event_place(event),
                text=event_text(event),
                css=statuses.css(event.status_code),
                iso=event.occurred_at.isoformat() if event.occurred_at else "",
                is_latest=len(days) == 1 and not days[0].entries,
                marker=numbers.get(event.pk) if event.pk is not None else None,
                detail=_detail(event),
            )
        )
    return days


def _detail(event: TrackingEvent) -> str:
    detail = event.status_detail_description
    return detail if detail and detail != event_text(event) else ""
