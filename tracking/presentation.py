"""How a shipment is shown to people: plain words, milestones, headline, timeline days, map points.

Shared by the public tracking page and the staff shipment page. Pure functions over model
instances (no queries of their own: callers pass the events they already loaded), so they are
cheap and easy to test. Every word a person reads is marked for translation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Literal

from django.utils import timezone
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from .models import Shipment, TrackingEvent

KNOWN_STATUSES = frozenset({"AC", "IT", "DE", "EX", "UN", "AT", "NY", "SP"})
DELIVERED = frozenset({"DE", "SP"})

MilestoneState = Literal["done", "current", "todo", "problem"]

# status_detail_code values and carrier words that mean "on the van today". Detail codes change
# between API versions, so the description is checked too.
_OUT_FOR_DELIVERY_CODES = frozenset({"OUT_FOR_DELIVERY"})
_OUT_FOR_DELIVERY_WORDS = re.compile(
    r"out\s+for\s+delivery|on\s+\w+\s+vehicle\s+for\s+delivery|with\s+delivery\s+courier",
    re.IGNORECASE,
)


def status_css(code: str | None) -> str:
    """The CSS class for a status code: `status-XX` for the API's codes, `status-none` for
    anything else (a code we have never seen, or none), so a class name never comes from input."""
    code = (code or "").upper()
    return f"status-{code}" if code in KNOWN_STATUSES else "status-none"


def _is_out_for_delivery(item: Shipment | TrackingEvent) -> bool:
    if item.status_detail_code in _OUT_FOR_DELIVERY_CODES:
        return True
    text = " ".join(
        [
            getattr(item, "description", "") or getattr(item, "last_event_description", ""),
            item.carrier_status_description,
        ]
    )
    return bool(_OUT_FOR_DELIVERY_WORDS.search(text))


def status_words(shipment: Shipment) -> str:
    """The status in a few plain words, e.g. "Out for delivery", "Delivered"."""
    code = shipment.status_code
    if not code:
        return _("Not checked yet")
    if code == "IT" and _is_out_for_delivery(shipment):
        return _("Out for delivery")
    words = {
        "AC": _("Accepted by the carrier"),
        "IT": _("In transit"),
        "DE": _("Delivered"),
        "EX": _("Problem with the delivery"),
        "UN": _("Status unknown"),
        "AT": _("Delivery attempted"),
        "NY": _("Label created, not yet with the carrier"),
        "SP": _("Ready for collection"),
    }
    # A code the program has never seen: the API's own description, else the code itself.
    return words.get(code) or shipment.status_description or code


# --------------------------------------------------------------------------------------------
# Local times (as the carrier sent them)
# --------------------------------------------------------------------------------------------
def carrier_local_datetime(event: TrackingEvent) -> datetime | None:
    """The carrier's wall-clock time for the event (naive), or None when it sent none we can read.
    An offset, if the carrier sent one, is kept as given; the clock reading is what is shown."""
    text = (event.carrier_occurred_at or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


@lru_cache(maxsize=16)
def _names(language: str | None) -> dict[str, tuple[str, ...]]:
    """Translated day and month names and am/pm, once per language: Django's dateformat would
    look every one of them up again for each date on the page."""
    return {
        "day": tuple(str(WEEKDAYS[i]) for i in range(7)),
        "day_abbr": tuple(str(WEEKDAYS_ABBR[i]) for i in range(7)),
        "month": tuple(str(MONTHS[i]) for i in range(1, 13)),
        "month_abbr": tuple(str(MONTHS_3[i]).title() for i in range(1, 13)),
        "ampm": (_("AM").lower(), _("PM").lower()),
    }


def _time_words(moment: datetime) -> str:
    # "2:03 pm": the format the public page's headline promises.
    names = _names(get_language())
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {names['ampm'][moment.hour >= 12]}"


def _day_words(moment: date | datetime) -> str:
    """ "Tuesday 20 September" (translatable order through the format string)."""
    names = _names(get_language())
    return pgettext("long day, e.g. Tuesday 20 September", "%(weekday)s %(day)s %(month)s") % {
        "weekday": names["day"][moment.weekday()],
        "day": moment.day,
        "month": names["month"][moment.month - 1],
    }


def _short_date(moment: date | datetime, *, year: bool = True) -> str:
    """ "Tue 20 Sep 2021" (or without the year)."""
    names = _names(get_language())
    text = f"{names['day_abbr'][moment.weekday()]} {moment.day} {names['month_abbr'][moment.month - 1]}"
    return f"{text} {moment.year}" if year else text


def local_time_text(event: TrackingEvent) -> str:
    """The event's time as the carrier sent it ("Tue 20 Sep 2021, 2:03 pm"). Without a readable
    local time: the UTC time, labelled as such; a local time we cannot parse is shown as sent."""
    local = carrier_local_datetime(event)
    if local is not None:
        return f"{_short_date(local)}, {_time_words(local)}"
    if event.carrier_occurred_at:
        return event.carrier_occurred_at
    if event.occurred_at:
        utc = timezone.localtime(event.occurred_at, UTC)
        return _("%(time)s UTC") % {"time": f"{_short_date(utc)}, {_time_words(utc)}"}
    return _("time not given")


def utc_text(event: TrackingEvent) -> str:
    if not event.occurred_at:
        return ""
    utc = timezone.localtime(event.occurred_at, UTC)
    return utc.strftime("%Y-%m-%d %H:%M UTC")


def event_place(event: TrackingEvent) -> str:
    parts = [event.city_locality.title(), event.state_province, event.postal_code]
    place = ", ".join(p for p in parts if p)
    if event.country_code:
        place = f"{place} ({event.country_code})" if place else event.country_code
    return place


def event_text(event: TrackingEvent) -> str:
    return event.description or event.carrier_status_description or event.status_description


# --------------------------------------------------------------------------------------------
# Timeline
# --------------------------------------------------------------------------------------------
@dataclass
class TimelineEntry:
    event: TrackingEvent
    time_text: str
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
            label = _day_words(day) if day else _("Date not given")
            if day and local and day.year != timezone.now().year:
                label = f"{label} {day.year}"
            days.append(TimelineDay(label=label, day=day))
        days[-1].entries.append(
            TimelineEntry(
                event=event,
                time_text=local_time_text(event),
                clock_text=_time_words(local) if local else local_time_text(event),
                utc_text=utc_text(event),
                place=event_place(event),
                text=event_text(event),
                css=status_css(event.status_code),
                iso=event.occurred_at.isoformat() if event.occurred_at else "",
                is_latest=len(days) == 1 and not days[0].entries,
            )
        )
    return days


# --------------------------------------------------------------------------------------------
# Milestones
# --------------------------------------------------------------------------------------------
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
    if code in DELIVERED:
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
    reached = _stage_of(code, code == "IT" and _is_out_for_delivery(shipment))
    # How far the events show the parcel got (an exception or an unknown status says nothing).
    by_events = -1
    first_at: dict[int, datetime] = {}
    for ev in events:
        stage = _stage_of(ev.status_code, _is_out_for_delivery(ev))
        if stage < 0 and ev.status_code in {"", "UN", "EX"} and _is_out_for_delivery(ev):
            stage = 2
        if stage >= 0:
            by_events = max(by_events, stage)
            local = carrier_local_datetime(ev)
            if local and (stage not in first_at or local < first_at[stage]):
                first_at[stage] = local
    if code not in DELIVERED:
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
        elif index < reached or code in DELIVERED:
            state = "done"
        elif problem:
            state = "problem"
        else:
            state = "current"
        if reached < 0 and index == 0:
            state = "current"
        at = first_at.get(index)
        at_text = _short_date(at, year=False) if at and state != "todo" else ""
        result.append(Milestone(key=key, label=label, state=state, at_text=at_text))
    return result


# --------------------------------------------------------------------------------------------
# Headline
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    text: str
    detail: str = ""
    css: str = "status-none"

    def __str__(self) -> str:
        return self.text


def _newest(events: Sequence[TrackingEvent]) -> TrackingEvent | None:
    dated = [e for e in events if e.occurred_at]
    if dated:
        return max(dated, key=lambda e: (e.occurred_at, e.pk or 0))
    return events[0] if events else None


def _when_words(event: TrackingEvent | None, fallback: datetime | None) -> tuple[str, str]:
    """(day, time) in the carrier's local time when the event has it, else the stored UTC time."""
    local = carrier_local_datetime(event) if event else None
    if local is None and fallback is not None:
        local = timezone.localtime(fallback, UTC).replace(tzinfo=None)
    if local is None:
        return "", ""
    return _day_words(local), _time_words(local)


def headline(shipment: Shipment, events: Sequence[TrackingEvent] = ()) -> Headline:
    """The public headline in plain words, e.g. "Delivered on Tuesday 20 September at 2:03 pm,
    signed by J SMITH" or "There is a problem with this delivery: ..."."""
    events = list(events)
    code = shipment.status_code
    css = status_css(code)
    newest = _newest(events)
    if code in DELIVERED:
        delivered_event = next(
            (e for e in sorted(events, key=_sort_key, reverse=True) if e.status_code in DELIVERED),
            newest,
        )
        day, time = _when_words(delivered_event, shipment.actual_delivery_date)
        signer = shipment.signer or (delivered_event.signer if delivered_event else "")
        if code == "SP":
            text = (
                _("Ready for collection since %(day)s at %(time)s") % {"day": day, "time": time}
                if day
                else _("Ready for collection")
            )
        elif day and signer:
            text = _("Delivered on %(day)s at %(time)s, signed by %(signer)s") % {
                "day": day,
                "time": time,
                "signer": signer,
            }
        elif day:
            text = _("Delivered on %(day)s at %(time)s") % {"day": day, "time": time}
        else:
            text = _("Delivered")
        detail = event_text(delivered_event) if delivered_event else ""
        if delivered_event and event_place(delivered_event):
            detail = f"{detail} · {event_place(delivered_event)}" if detail else ""
        return Headline(text=text, detail=detail, css=css)
    if code == "EX":
        reason = (
            shipment.exception_description
            or shipment.status_detail_description
            or (event_text(newest) if newest else "")
            or shipment.carrier_status_description
        )
        text = (
            _("There is a problem with this delivery: %(reason)s") % {"reason": reason}
            if reason
            else _("There is a problem with this delivery")
        )
        return Headline(text=text, css=css)
    if code == "AT":
        day, time = _when_words(newest, shipment.last_event_at)
        text = (
            _("The carrier tried to deliver on %(day)s at %(time)s") % {"day": day, "time": time}
            if day
            else _("The carrier tried to deliver")
        )
        return Headline(text=text, detail=event_text(newest) if newest else "", css=css)
    eta = _eta_words(shipment)
    if code == "IT" and _is_out_for_delivery(shipment):
        return Headline(text=_("Out for delivery"), detail=eta, css=css)
    if code in {"IT", "AC"}:
        if shipment.estimated_delivery_date:
            day = _day_words(timezone.localtime(shipment.estimated_delivery_date))
            text = _("Arriving %(day)s") % {"day": day}
            detail = _("In transit") if code == "IT" else _("The carrier has the parcel")
            return Headline(text=text, detail=detail, css=css)
        text = _("On its way") if code == "IT" else _("The carrier has the parcel")
        return Headline(text=text, css=css)
    if code == "NY":
        return Headline(
            text=_("Label created: the carrier does not have the parcel yet"),
            detail=_("This page updates as soon as the carrier scans it."),
            css=css,
        )
    if not code:
        return Headline(text=_("We have not heard from the carrier yet"), css=css)
    if code == "UN":
        return Headline(
            text=_("The carrier has not said where the parcel is yet"),
            detail=event_text(newest) if newest else "",
            css=css,
        )
    return Headline(text=status_words(shipment), css=css)


def _eta_words(shipment: Shipment) -> str:
    if not shipment.estimated_delivery_date:
        return ""
    return _("Expected %(day)s") % {
        "day": _day_words(timezone.localtime(shipment.estimated_delivery_date))
    }


def eta_text(shipment: Shipment) -> str:
    """ "Thursday 8 January" for an undelivered shipment with an estimate, else ""."""
    if shipment.status_code in DELIVERED or not shipment.estimated_delivery_date:
        return ""
    return _day_words(timezone.localtime(shipment.estimated_delivery_date))


def _sort_key(event: TrackingEvent) -> tuple[datetime, int]:
    return (event.occurred_at or datetime.min.replace(tzinfo=UTC), event.pk or 0)


# --------------------------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------------------------
def map_points(events: Iterable[TrackingEvent]) -> list[dict[str, Any]]:
    """Events with coordinates, oldest first, numbered from 1, the last marked latest. Only plain
    values (JSON-safe, rendered with json_script): never a whole model or the raw answer."""
    located = sorted((e for e in events if e.has_location), key=_sort_key)
    points = []
    for n, event in enumerate(located, start=1):
        points.append(
            {
                "n": n,
                "lat": round(float(event.latitude or 0), 5),
                "lng": round(float(event.longitude or 0), 5),
                "status": event.status_code if event.status_code in KNOWN_STATUSES else "",
                "css": status_css(event.status_code),
                "time": local_time_text(event),
                "place": event_place(event),
                "description": event_text(event),
                "latest": n == len(located),
            }
        )
    return points
