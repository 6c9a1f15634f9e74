"""What the customer can do next, per status: the public page's "What to do next" box (and,
through the same function, the customer emails).

Every sentence is a promise the page can keep: a link only when there is one (the carrier's own
page, the proof of delivery), a place only when the carrier named one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ..domain.statuses import Status
from ..models import Shipment, TrackingEvent
from .facts import Facts
from .words import delivery_event, event_place, event_text, newest_event

# A hold at customs says so in the detail code or the words (codes vary by API version).
_CUSTOMS = re.compile(r"customs|duties|douane|zoll|aduana", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class Guidance:
    title: str
    paragraphs: list[str]
    links: list[Link] = field(default_factory=list)
    #: Ask the support contact (shown right below) for this status.
    ask_support: str = ""


def _is_customs_hold(shipment: Shipment, events: Sequence[TrackingEvent]) -> bool:
    newest = newest_event(events)
    texts = [
        shipment.status_detail_code,
        shipment.exception_description,
        shipment.status_detail_description,
        event_text(newest) if newest else "",
        newest.status_detail_code if newest else "",
    ]
    return any(_CUSTOMS.search(t or "") for t in texts)


def _carrier_link(carrier_link: str, carrier_name: str) -> list[Link]:
    if not carrier_link:
        return []
    return [
        Link(
            carrier_link,
            _("Open the %(carrier)s tracking page") % {"carrier": carrier_name},
        )
    ]


def next_steps(
    shipment: Shipment,
    events: Sequence[TrackingEvent],
    *,
    facts: Facts,
    carrier_link: str,
) -> Guidance | None:
    """The guidance for the shipment's status, or None when there is nothing to do but wait."""
    code = shipment.status_code
    carrier = facts.carrier_name
    if code == Status.EXCEPTION and _is_customs_hold(shipment, events):
        return Guidance(
            title=_("Held at customs"),
            paragraphs=[
                _(
                    "Customs are checking the parcel. They may need a document or a payment of "
                    "import duties and taxes before they release it; the carrier usually contacts "
                    "the recipient about it by email, text or letter."
                ),
                _(
                    "Follow the carrier's instructions when they arrive. If you have paid and "
                    "nothing moves for a few days, contact the carrier with your tracking number."
                ),
            ],
            links=_carrier_link(carrier_link, carrier),
            ask_support=_("Not sure what is being asked for? Contact us:"),
        )
    if code == Status.EXCEPTION:
        return Guidance(
            title=_("There is a problem with the delivery"),
            paragraphs=[
                _(
                    "The carrier could not deliver the parcel as planned: for example the address "
                    "was incomplete, the parcel was damaged, or it was delayed in their network. "
                    "Often they solve it themselves within a day or two."
                ),
                _(
                    "The carrier's page may say what they need from you. If nothing changes "
                    "within two working days, contact us and we will sort it out with them."
                ),
            ],
            links=_carrier_link(carrier_link, carrier),
            ask_support=_("Need help with this delivery? Contact us:"),
        )
    if code == Status.DELIVERY_ATTEMPT:
        paragraphs = [
            _(
                "The carrier tried to deliver but could not hand the parcel over. They usually "
                "try again on the next working day or leave a card saying where the parcel is."
            ),
        ]
        if carrier_link:
            paragraphs.append(
                _(
                    "To choose another day, a neighbour or a pickup point, rearrange the "
                    "delivery on the carrier's website."
                )
            )
        else:
            paragraphs.append(
                _("To rearrange the delivery, contact %(carrier)s with your tracking number.")
                % {"carrier": carrier}
            )
        return Guidance(
            title=_("Rearrange the delivery"),
            paragraphs=paragraphs,
            links=_carrier_link(carrier_link, carrier),
        )
    if code == Status.DELIVERED_TO_COLLECTION:
        event = delivery_event(shipment, events)
        place = event_place(event) if event else ""
        where = (
            _("Collect it from the pickup point in %(place)s.") % {"place": place}
            if place
            else _("The carrier's card or message says which pickup point has it.")
        )
        return Guidance(
            title=_("Collect your parcel"),
            paragraphs=[
                where,
                _(
                    "Take your tracking number and an ID with you. Pickup points keep parcels for "
                    "a limited time (often 7 to 14 days) before sending them back."
                ),
            ],
            links=_carrier_link(carrier_link, carrier),
        )
    if code == Status.DELIVERED:
        paragraphs = []
        if facts.signer:
            paragraphs.append(_("Signed for by %(signer)s.") % {"signer": facts.signer})
        paragraphs.append(
            _(
                "Not received? Look around your door, in your mailbox and with your neighbours, "
                "and check the proof of delivery if there is one. Still nothing after a day? "
                "Contact us and we will help."
            )
        )
        links = []
        if facts.proof_of_delivery_url:
            links.append(Link(facts.proof_of_delivery_url, _("See the proof of delivery")))
        return Guidance(
            title=_("If the parcel is not there"),
            paragraphs=paragraphs,
            links=links,
            ask_support=_("Still missing? Contact us:"),
        )
    return None
