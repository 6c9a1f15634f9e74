"""The part of the staff shipment page drawn from the events: the facts in its header, the
milestones, the map's points, the rendered timeline and the raw answer.

With 200 events this is most of the page's cost (reading 200 rows into models, then about 600
date formats, the timeline grouped by local day and the raw answer pretty-printed), and it only
changes when the shipment does: every ingest, staff edit and admin save moves `updated_at`. So it
is kept in the `staff_pages` cache (settings.STAFF_PAGE_CACHE_SECONDS) under the shipment's
state, and a page opened again reads no events. A change of the shipment is a new key: the cache
can be old, never stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from ...models import Shipment
from ...presentation.facts import Facts, shipment_facts
from ...presentation.map import map_points
from ...presentation.milestones import Milestone, milestones
from ...queries.carriers import carrier_names

#: Events per page of the staff timeline: a shipment with 100,000 events still loads fast.
TIMELINE_PAGE_SIZE = 200

_CACHE_PREFIX = "shiptrack:staff-tracking:v1:"


@dataclass(frozen=True)
class TrackingPart:
    facts: Facts
    milestones: list[Milestone]
    points: list[dict[str, Any]]
    timeline_html: str  # the rendered components/timeline.html
    raw_json: str
    has_older: bool  # events older than this page exist

    def context(self) -> dict[str, Any]:
        return {
            "facts": self.facts,
            "milestones": self.milestones,
            "points": self.points,
            # Rendered by the template engine, every value escaped there.
            "timeline_html": SafeString(self.timeline_html),
            "raw_json": self.raw_json,
        }


def tracking_part(shipment: Shipment, *, events_page: int) -> TrackingPart:
    """`shipment` with its carrier loaded (select_related)."""
    ttl = settings.STAFF_PAGE_CACHE_SECONDS
    key = _key(shipment, events_page)
    if ttl > 0:
        part = page_cache().get(key)
        if isinstance(part, TrackingPart):
            return part
    part = _build(shipment, events_page)
    if ttl > 0:
        page_cache().set(key, part, ttl)
    return part


def page_cache() -> BaseCache:
    """settings.CACHES["staff_pages"]."""
    return caches["staff_pages"]


def _key(shipment: Shipment, events_page: int) -> str:
    carrier = shipment.carrier
    # updated_at alone would do (see the docstring); the rest makes a write that forgot it, or a
    # carrier renamed in the admin, a new key too. The year: dates omit the current one.
    state = (
        shipment.updated_at.isoformat() if shipment.updated_at else "",
        shipment.event_count,
        shipment.status_code,
        shipment.last_event_at.isoformat() if shipment.last_event_at else "",
        shipment.api_carrier_code,
        shipment.signer,
        carrier.code,
        carrier.name,
        get_language() or "",
        timezone.now().year,
    )
    stamp = hashlib.sha256(repr(state).encode()).hexdigest()[:32]
    return f"{_CACHE_PREFIX}{shipment.pk}:{events_page}:{stamp}"


def _build(shipment: Shipment, events_page: int) -> TrackingPart:
    start = (events_page - 1) * TIMELINE_PAGE_SIZE
    # One row more than the page says whether there are older ones, without a COUNT.
    events = list(shipment.events.newest_first()[start : start + TIMELINE_PAGE_SIZE + 1])
    has_older = len(events) > TIMELINE_PAGE_SIZE
    events = events[:TIMELINE_PAGE_SIZE]
    raw = shipment.raw_response
    timeline_html = render_to_string("tracking/components/timeline.html", {"events": events})
    return TrackingPart(
        facts=shipment_facts(shipment, events, carrier_names=carrier_names()),
        milestones=milestones(shipment, events),
        points=map_points(events),
        timeline_html=str(timeline_html),
        raw_json=json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) if raw else "",
        has_older=has_older,
    )
