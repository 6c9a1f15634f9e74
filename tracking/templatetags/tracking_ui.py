"""Template filters and tags for the shared tracking components (timeline, milestones, map).

{% load tracking_ui %}
<span class="badge {{ shipment.status_code|status_css }}">{{ shipment|status_words }}</span>
{% include "tracking/components/timeline.html" with events=events %}
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django import template
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ..domain import statuses
from ..models import Shipment, TrackingEvent
from ..presentation import dates, timeline
from ..presentation import words as presentation_words

register = template.Library()


@register.filter
def status_css(code: str | None) -> str:
    return statuses.css(code)


@register.filter
def status_words(shipment: Shipment) -> str:
    return presentation_words.status_words(shipment)


@register.filter
def place_text(location: str | None) -> str:
    return presentation_words.summary_place(location or "")


@register.filter
def short_day(value: datetime | date | None) -> str:
    """A stored UTC date, "Tue 20 Sep" (the year when not this year's): lists and tables."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return dates.short_day(value) if value else ""


@register.filter
def by_local_day(events: Iterable[TrackingEvent] | None) -> list[timeline.TimelineDay]:
    return timeline.timeline_days(events or [])


@register.simple_tag
def timeline_items(entries: Iterable[timeline.TimelineEntry]) -> SafeString:
    """The <li> items of one timeline day. Built in Python with every value escaped (stdlib
    html.escape, as Django's escape does) rather than a template loop: a long timeline (200
    events) renders several times faster this way."""
    fallback = str(_("Update from the carrier"))
    marker_label = str(_("Map marker %(n)s"))
    items = []
    for entry in entries:
        if entry.iso:
            when = (
                f'<time datetime="{_esc(entry.iso)}" title="{_esc(entry.utc_text)}">'
                f"{_esc(entry.clock_text)}</time>"
            )
        else:
            when = f"<span>{_esc(entry.clock_text)}</span>"
        place = f'<span class="timeline-place"> · {_esc(entry.place)}</span>' if entry.place else ""
        marker = (
            f'<span class="timeline-marker" title="{_esc(marker_label % {"n": entry.marker})}">'
            f"{entry.marker}</span>"
            if entry.marker
            else ""
        )
        latest = " is-latest" if entry.is_latest else ""
        detail = f'<p class="timeline-detail">{_esc(entry.detail)}</p>' if entry.detail else ""
        items.append(
            f'<li class="timeline-item {_esc(entry.css)}{latest}">'
            '<span class="timeline-dot" aria-hidden="true"></span><div class="timeline-body">'
            f'<p class="timeline-text">{marker}{_esc(entry.text or fallback)}</p>'
            f"{detail}"
            f'<p class="timeline-meta">{when}{place}</p></div></li>'
        )
    return mark_safe("\n".join(items))  # noqa: S308 - every value above is escaped


def _esc(value: str) -> str:
    return html.escape(str(value), quote=True)


@register.simple_tag
def map_tiles() -> dict[str, Any]:
    """Tile server URL and attribution for the map component (settings.MAP_TILE_URL...)."""
    return {
        "url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
    }


@register.filter
def table_cell(value: Any) -> str:
    """A number of an analytics table as people read it: days as "Tue 20 Sep", counts with
    thousands separators, days of transit with one decimal, nothing as a dash."""
    if value is None:
        return "\N{EM DASH}"
    if isinstance(value, date):
        return dates.short_day(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)
