"""The milestone bar: label created/accepted, in transit, out for delivery, delivered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.utils.translation import gettext as _

from ..domain.statuses import FINAL
from ..models import Shipment, TrackingEvent
from .dates import carrier_local_datetime, short_date
from .words import is_out_for_delivery

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
            local = carrier_local_datetime(ev)
            if local and (stage not in first_at or local < first_at[stage]):
                first_at[stage] = local
    if code not in FINAL:
        reached = max(reached, min(by_events, 2))
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
        if reached < 0 and index == 0:
            state = "current"
        at = first_at.get(index)
        at_text = short_date(at, year=False) if at and state != "todo" else ""
        result.append(Milestone(key=key, label=label, state=state, at_text=at_text))
    return result
