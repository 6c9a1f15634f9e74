"""Map points: events with coordinates, numbered in time order (the timeline shows the same
numbers next to the same scans)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..domain import statuses
from ..models import TrackingEvent
from . import dates
from .words import event_place, event_text, sort_key

#: A map with more markers than this is unreadable (and heavy): the route is thinned to it.
MAP_POINTS_MAX = 300


def located_in_order(
    events: Iterable[TrackingEvent], limit: int = MAP_POINTS_MAX
) -> list[TrackingEvent]:
    """Events with coordinates, oldest first; more than `limit` are thinned evenly, keeping the
    first and the latest (the map and the timeline's marker numbers use the same ones)."""
    located = sorted((e for e in events if e.has_location), key=sort_key)
    if len(located) > limit > 1:
        step = (len(located) - 1) / (limit - 1)
        located = [located[round(i * step)] for i in range(limit)]
    return located


def marker_numbers(events: Iterable[TrackingEvent]) -> dict[int, int]:
    """{event id: its number on the map}."""
    return {e.pk: n for n, e in enumerate(located_in_order(events), start=1) if e.pk is not None}


def map_points(events: Sequence[TrackingEvent]) -> list[dict[str, Any]]:
    """Events with coordinates, oldest first, numbered from 1, the last marked latest. Only plain
    values (JSON-safe, rendered with json_script): never a whole model or the raw answer."""
    located = located_in_order(events)
    points = []
    for n, event in enumerate(located, start=1):
        moment = dates.event_moment(event)
        points.append(
            {
                "n": n,
                "lat": round(float(event.latitude or 0), 5),
                "lng": round(float(event.longitude or 0), 5),
                "status": event.status_code
                if event.status_code in statuses.API_DESCRIPTIONS
                else "",
                "css": statuses.css(event.status_code),
                "time": dates.short_when(moment) if moment else "",
                "place": event_place(event),
                "description": event_text(event),
                "latest": n == len(located),
            }
        )
    return points
