"""Map points: events with coordinates, numbered in time order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..domain import statuses
from ..models import TrackingEvent
from .dates import local_time_text
from .words import event_place, event_text, sort_key

#: A map with more markers than this is unreadable (and heavy): the route is thinned to it.
MAP_POINTS_MAX = 300


def map_points(
    events: Iterable[TrackingEvent], limit: int = MAP_POINTS_MAX
) -> list[dict[str, Any]]:
    """Events with coordinates, oldest first, numbered from 1, the last marked latest. Only plain
    values (JSON-safe, rendered with json_script): never a whole model or the raw answer. More
    than `limit` located events are thinned evenly, keeping the first and the latest."""
    located = sorted((e for e in events if e.has_location), key=sort_key)
    if len(located) > limit > 1:
        step = (len(located) - 1) / (limit - 1)
        located = [located[round(i * step)] for i in range(limit)]
    points = []
    for n, event in enumerate(located, start=1):
        points.append(
            {
                "n": n,
                "lat": round(float(event.latitude or 0), 5),
                "lng": round(float(event.longitude or 0), 5),
                "status": event.status_code
                if event.status_code in statuses.API_DESCRIPTIONS
                else "",
                "css": statuses.css(event.status_code),
                "time": local_time_text(event),
                "place": event_place(event),
                "description": event_text(event),
                "latest": n == len(located),
            }
        )
    return points
