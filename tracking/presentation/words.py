"""A shipment in plain words: its status, the public headline, the ETA, an event's place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ..domain import statuses
from ..domain.statuses import FINAL
from ..models import Shipment, TrackingEvent
from .dates import carrier_local_datetime, day_words, time_words


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
    return day_words(local), time_words(local)


def headline(shipment: Shipment, events: Sequence[TrackingEvent] = ()) -> Headline:
    """The public headline in plain words, e.g. "Delivered on Tuesday 20 September at 2:03 pm,
    signed by J SMITH" or "There is a problem with this delivery: ..."."""
    events = list(events)
    code = shipment.status_code
    css = statuses.css(code)
    newest = _newest(events)
    if code in FINAL:
        delivered_event = next(
            (e for e in sorted(events, key=sort_key, reverse=True) if e.status_code in FINAL),
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
    if code == "IT" and is_out_for_delivery(shipment):
        return Headline(text=_("Out for delivery"), detail=eta, css=css)
    if code in {"IT", "AC"}:
        if shipment.estimated_delivery_date:
            day = day_words(timezone.localtime(shipment.estimated_delivery_date))
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
        "day": day_words(timezone.localtime(shipment.estimated_delivery_date))
    }


def eta_text(shipment: Shipment) -> str:
    """ "Thursday 8 January" for an undelivered shipment with an estimate, else ""."""
    if shipment.status_code in FINAL or not shipment.estimated_delivery_date:
        return ""
    return day_words(timezone.localtime(shipment.estimated_delivery_date))


def sort_key(event: TrackingEvent) -> tuple[datetime, int]:
    return (event.occurred_at or datetime.min.replace(tzinfo=UTC), event.pk or 0)
