"""A shipment in plain words: its status, the public headline, the ETA, an event's place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from ..domain import statuses
from ..domain.statuses import FINAL, Status
from ..models import Shipment, TrackingEvent
from . import dates


def is_out_for_delivery(item: Shipment | TrackingEvent) -> bool:
    description = getattr(item, "description", "") or getattr(item, "last_event_description", "")
    return statuses.is_out_for_delivery(
        status_detail_code=item.status_detail_code,
        texts=(description, item.carrier_status_description),
    )


def status_words(shipment: Shipment) -> str:
    """The status in a few plain words (the one vocabulary of domain/statuses.py), with "Out for
    delivery" for a parcel in transit that is on the van today."""
    code = shipment.status_code
    if code == statuses.Status.IN_TRANSIT and is_out_for_delivery(shipment):
        return str(statuses.OUT_FOR_DELIVERY_WORDS)
    return statuses.words(code, api_description=shipment.status_description)


def event_place(event: TrackingEvent) -> str:
    parts = [event.city_locality.title(), event.state_province, event.postal_code]
    place = ", ".join(p for p in parts if p)
    if event.country_code:
        place = f"{place} ({event.country_code})" if place else event.country_code
    return place


def summary_place(location: str) -> str:
    """A shipment's stored last place, "LOUISVILLE, KY, US" -> "Louisville, KY, US": the city
    readable, the codes as codes."""
    city, sep, rest = location.partition(", ")
    return f"{city.title()}{sep}{rest}"


def event_text(event: TrackingEvent) -> str:
    return event.description or event.carrier_status_description or event.status_description


@dataclass(frozen=True)
class Headline:
    text: str
    detail: str = ""
    css: str = "status-none"

    def __str__(self) -> str:
        return self.text


def newest_event(events: Sequence[TrackingEvent]) -> TrackingEvent | None:
    dated = [e for e in events if e.occurred_at]
    if dated:
        return max(dated, key=lambda e: (e.occurred_at, e.pk or 0))
    return events[0] if events else None


def delivery_event(shipment: Shipment, events: Sequence[TrackingEvent]) -> TrackingEvent | None:
    """The scan that delivered the parcel: the newest with a delivered status, else the newest."""
    for event in sorted(events, key=sort_key, reverse=True):
        if event.status_code in FINAL:
            return event
    return newest_event(events) if shipment.status_code in FINAL else None


def delivered_moment(shipment: Shipment, events: Sequence[TrackingEvent]) -> dates.Moment | None:
    """When it was delivered, by the one time rule: the delivering scan's local time, else the
    API's actual_delivery_date (UTC). The staff page and the public page both show this."""
    if shipment.status_code not in FINAL:
        return None
    event = delivery_event(shipment, events)
    moment = dates.event_moment(event) if event else None
    if moment is None and shipment.actual_delivery_date:
        moment = dates.utc_moment(shipment.actual_delivery_date)
    return moment


def _delivered(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    event = delivery_event(shipment, events)
    moment = delivered_moment(shipment, events)
    signer = shipment.signer or (event.signer if event else "")
    when = dates.when(moment) if moment else ""
    if shipment.status_code == Status.DELIVERED_TO_COLLECTION:
        text = (
            _("Ready for collection since %(when)s") % {"when": when}
            if when
            else _("Ready for collection")
        )
    elif when and signer:
        text = _("Delivered on %(when)s, signed by %(signer)s") % {"when": when, "signer": signer}
    elif when:
        text = _("Delivered on %(when)s") % {"when": when}
    else:
        text = _("Delivered")
    detail = event_text(event) if event else ""
    if event and event_place(event) and detail:
        detail = f"{detail} · {event_place(event)}"
    return Headline(text=text, detail=detail)


def _exception(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    newest = newest_event(events)
    reason = (
        shipment.exception_description
        or shipment.status_detail_description
        or (event_text(newest) if newest else "")
        or shipment.carrier_status_description
    )
    if reason:
        return Headline(_("There is a problem with this delivery: %(reason)s") % {"reason": reason})
    return Headline(_("There is a problem with this delivery"))


def _attempted(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    newest = newest_event(events)
    moment = dates.event_moment(newest) if newest else None
    if moment is None and shipment.last_event_at:
        moment = dates.utc_moment(shipment.last_event_at)
    text = (
        _("The carrier tried to deliver on %(when)s") % {"when": dates.when(moment)}
        if moment
        else _("The carrier tried to deliver")
    )
    return Headline(text=text, detail=event_text(newest) if newest else "")


def _moving(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    eta = eta_text(shipment)
    if is_out_for_delivery(shipment):
        return Headline(_("Out for delivery"))
    if eta:
        return Headline(_("Arriving %(day)s") % {"day": eta})
    if shipment.status_code == Status.IN_TRANSIT:
        return Headline(_("On its way"))
    return Headline(_("The carrier has the parcel"))


def _not_yet_with_carrier(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    return Headline(
        _("Label created: the carrier does not have the parcel yet"),
        detail=_("This page checks for news every few minutes while it is open."),
    )


def _waiting(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    return Headline(
        _("Waiting for the first scan"),
        detail=_("We have not heard from the carrier about this parcel yet."),
    )


def _unknown(shipment: Shipment, events: Sequence[TrackingEvent]) -> Headline:
    newest = newest_event(events)
    place = event_place(newest) if newest else ""
    moment = dates.event_moment(newest) if newest else None
    if place and moment:
        text = _("Last seen in %(place)s on %(day)s") % {
            "place": place,
            "day": dates.day(moment.wall),
        }
        return Headline(text, detail=event_text(newest) if newest else "")
    if newest:
        return Headline(_("The carrier's latest news"), detail=event_text(newest))
    return Headline(_("The carrier has not said where the parcel is yet"))


_HEADLINES = {
    Status.DELIVERED: _delivered,
    Status.DELIVERED_TO_COLLECTION: _delivered,
    Status.EXCEPTION: _exception,
    Status.DELIVERY_ATTEMPT: _attempted,
    Status.IN_TRANSIT: _moving,
    Status.ACCEPTED: _moving,
    Status.NOT_YET_IN_SYSTEM: _not_yet_with_carrier,
    Status.UNKNOWN: _unknown,
    "": _waiting,
}


def headline(shipment: Shipment, events: Sequence[TrackingEvent] = ()) -> Headline:
    """The headline in plain words, e.g. "Delivered on Tuesday 20 September at 2:03 p.m.
    (UTC-5), signed by J SMITH" or "There is a problem with this delivery: ..."."""
    events = list(events)
    build = _HEADLINES.get(shipment.status_code)
    found = build(shipment, events) if build else Headline(status_words(shipment))
    return Headline(found.text, found.detail, statuses.css(shipment.status_code))


def eta_text(shipment: Shipment) -> str:
    """ "Thursday 8 January" for an undelivered shipment with an estimate, else "". The API gives
    the day as a UTC date."""
    if shipment.status_code in FINAL or not shipment.estimated_delivery_date:
        return ""
    return dates.day(shipment.estimated_delivery_date.astimezone(UTC).date())


def sort_key(event: TrackingEvent) -> tuple[datetime, int]:
    return (event.occurred_at or datetime.min.replace(tzinfo=UTC), event.pk or 0)
