"""The milestone bar: label created/accepted, in transit, out for delivery, delivered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.utils.translation import gettext as _

from ..domain.statuses import FINAL
from ..models import Shipment, TrackingEvent
from . import dates
from .words import delivered_moment, is_out_for_delivery, sort_key

MilestoneState = Literal["done", "current", "todo", "problem"]


@dataclass(frozen=True)
class Milestone:
    key: str
    label: str
    state: MilestoneState
    at_text: str = ""

    @property
    def css(self) -> str:
        return f"milestone-{self.state}"

    @property
    def state_text(self) -> str:
        return {
            "done": _("done"),
            "current": _("current step"),
            "todo": _("not yet"),
            "problem": _("problem"),
        }[self.state]


def _stage_of(code: str, out_for_delivery: bool) -> int:
    """0 label created/accepted, 1 in transit, 2 out for delivery, 3 delivered; -1 unknown."""
    if code in FINAL:
        return 3
    if code == "AT":
        return 2
    if code == "IT":
        return 2 if out_for_delivery else 1
    if code in {"AC", "NY"}:
        return 0
    return -1


def milestones(
    shipment: Shipment, events: Sequence[TrackingEvent] | None = None
) -> list[Milestone]:
    """Label created/accepted, in transit, out for delivery, delivered; each done, current, to do
    or a problem. Events (any order) sharpen the picture for exceptions and unmapped codes."""
    events = list(events or [])
    code = shipment.status_code
    reached = _stage_of(code, code == "IT" and is_out_for_delivery(shipment))
    # How far the events show the parcel got (an exception or an unknown status says nothing).
    by_events = -1
    first_at: dict[int, datetime] = {}
    for ev in events:
        stage = _stage_of(ev.status_code, is_out_for_delivery(ev))
        if stage < 0 and ev.status_code in {"", "UN", "EX"} and is_out_for_delivery(ev):
            stage = 2
        if stage >= 0:
            by_events = max(by_events, stage)
            moment = dates.event_moment(ev)
            if moment and (stage not in first_at or moment.wall < first_at[stage]):
                first_at[stage] = moment.wall
    _fill_dates_from_uncoded_scans(shipment, events, first_at)
    if code not in FINAL:
        reached = max(reached, min(by_events, 2))
    if code not in {"", "NY"} and events:
        # Whatever the codes say, a carrier that has scanned the parcel has it.
        reached = max(reached, 0)
    problem = code in {"EX", "AT"}
    if code == "EX":
        # The problem sits on the furthest step the events show the parcel reached.
        reached = max(reached, by_events, 0)

    first_label = _("Label created") if code in {"", "NY"} or reached < 0 else _("Accepted")
    labels = [
        ("accepted", first_label),
        ("in_transit", _("In transit")),
        ("out_for_delivery", _("Out for delivery")),
        ("delivered", _("Ready for collection") if code == "SP" else _("Delivered")),
    ]
    result = []
    for index, (key, label) in enumerate(labels):
        state: MilestoneState
        if reached < 0 or index > reached:
            state = "todo"
        elif index < reached or code in FINAL:
            state = "done"
        elif problem:
            state = "problem"
        else:
            state = "current"
        if code == "NY" and index == 0:
            state = "current"  # the label exists; a never-fetched parcel has no step at all
        at = first_at.get(index)
        at_text = dates.short_day(at) if at and state != "todo" else ""
        result.append(Milestone(key=key, label=label, state=state, at_text=at_text))
    return result


def _fill_dates_from_uncoded_scans(
    shipment: Shipment, events: Sequence[TrackingEvent], first_at: dict[int, datetime]
) -> None:
    """Scans without status codes (the seed's answer has none) still date the steps: the oldest
    scan is the acceptance, the next one the start of the journey, the delivering scan the
    delivery."""
    dated = [e for e in sorted(events, key=sort_key) if e.occurred_at]
    if not dated:
        return
    first = dates.event_moment(dated[0])
    if first and 0 not in first_at:
        first_at[0] = first.wall
    if len(dated) > 2 and 1 not in first_at:
        second = dates.event_moment(dated[1])
        if second:
            first_at[1] = second.wall
    delivered = delivered_moment(shipment, events)
    if delivered and 3 not in first_at:
        first_at[3] = delivered.wall
