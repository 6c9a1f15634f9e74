"""Plain words, milestones, headline, timeline and map points (shared by public and staff pages)."""

from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string

from tracking import services
from tracking.domain import statuses
from tracking.models import Carrier, Shipment, TrackingEvent
from tracking.presentation import dates, milestones, timeline, words
from tracking.presentation.map import map_points

pytestmark = pytest.mark.django_db


def track(carrier, number):
    shipment = services.track_shipment(carrier_code=carrier, tracking_number=number)
    return shipment, list(shipment.events.newest_first())


def states(milestones):
    return [m.state for m in milestones]


@pytest.mark.parametrize(
    ("code", "css"),
    [
        ("DE", "status-DE"),
        ("it", "status-IT"),
        ("", "status-none"),
        ("ZZ", "status-none"),
        ("x y<", "status-none"),
        (None, "status-none"),
    ],
)
def test_status_css_never_passes_input_through(code, css):
    assert statuses.css(code) == css


def test_seed_example_headline_uses_the_carriers_local_time():
    shipment, events = track("stamps_com", "9405511899223197428490")
    headline = words.headline(shipment, events)
    # The carrier's local clock with the offset worked out from its UTC time; a past year is said.
    assert (
        str(headline) == "Delivered on Monday 20 September 2021 at 2:03 p.m. (UTC\N{MINUS SIGN}5)"
    )
    assert headline.css == "status-DE"
    assert states(milestones.milestones(shipment, events)) == ["done"] * 4


def test_delivered_with_signer():
    shipment, events = track("ups", "1Z5R89390357567127")
    text = words.headline(shipment, events).text
    assert text.startswith("Delivered on ") and text.endswith(", signed by J SMITH")
    assert " at " in text and (" a.m. (UTC" in text or " p.m. (UTC" in text)


def test_exception_headline_and_problem_milestone():
    shipment, events = track("dhl_express", "4582917364")
    headline = words.headline(shipment, events)
    assert headline.text == (
        "There is a problem with this delivery: Held by customs: import duties and taxes are "
        "unpaid. The receiver has been contacted."
    )
    assert states(milestones.milestones(shipment, events)) == ["done", "problem", "todo", "todo"]
    assert words.status_words(shipment) == "Delivery problem"


def test_attempted_delivery():
    shipment, events = track("ups", "1Z12345E0205271688")
    assert words.headline(shipment, events).text.startswith("The carrier tried to deliver")
    assert states(milestones.milestones(shipment, events)) == ["done", "done", "problem", "todo"]


def test_in_transit_with_eta_and_out_for_delivery():
    shipment, events = track("fedex", "794698432183")
    assert words.headline(shipment, events).text.startswith("Arriving ")
    assert states(milestones.milestones(shipment, events)) == ["done", "current", "todo", "todo"]
    assert words.eta_text(shipment)
    Shipment.objects.filter(pk=shipment.pk).update(status_detail_code="OUT_FOR_DELIVERY")
    shipment.refresh_from_db()
    assert words.headline(shipment, events).text == "Out for delivery"
    assert words.status_words(shipment) == "Out for delivery"
    assert states(milestones.milestones(shipment, events)) == ["done", "done", "current", "todo"]


def test_not_yet_in_system_and_never_fetched():
    shipment, events = track("usps", "9400111899562537683144")
    assert words.headline(shipment, events).text.startswith("Label created")
    steps = milestones.milestones(shipment, events)
    assert steps[0].label == "Label created" and steps[0].state == "current"
    blank = Shipment(carrier=Carrier.objects.get(code="ups"), tracking_number="X")
    assert words.headline(blank).text == "Waiting for the first scan"
    assert words.status_words(blank) == "Waiting for the first scan"
    # A parcel nobody has heard of claims no step (not "Label created (current step)").
    assert states(milestones.milestones(blank)) == ["todo"] * 4


def test_unseen_status_code_uses_the_apis_description():
    shipment = Shipment(
        carrier=Carrier.objects.get(code="ups"),
        tracking_number="X",
        status_code="ZZ",
        status_description="Teleported",
    )
    assert words.status_words(shipment) == "Teleported"
    assert words.headline(shipment).text == "Teleported"
    assert words.headline(shipment).css == "status-none"
    assert states(milestones.milestones(shipment)) == ["todo"] * 4  # nothing known: no step


def test_collection_point():
    shipment, events = track("usps", "9205590164917312751089")
    assert words.headline(shipment, events).text.startswith("Ready for collection since ")
    assert milestones.milestones(shipment, events)[-1].label == "Ready for collection"


def short(event: TrackingEvent) -> str | None:
    moment = dates.event_moment(event)
    return dates.short_when(moment) if moment else None


def test_one_time_rule_and_its_fallbacks():
    utc = datetime(2021, 9, 20, 19, 3, tzinfo=UTC)
    # Naive local time alone: the clock as sent, no offset claimed.
    assert short(TrackingEvent(carrier_occurred_at="2021-09-20T14:03:00")) == (
        "Mon 20 Sep 2021, 2:03 p.m."
    )
    # Naive local time and its UTC conversion: the offset is worked out.
    assert short(TrackingEvent(carrier_occurred_at="2021-09-20T14:03:00", occurred_at=utc)) == (
        "Mon 20 Sep 2021, 2:03 p.m. (UTC\N{MINUS SIGN}5)"
    )
    # An offset sent by the carrier is kept as given.
    assert short(TrackingEvent(carrier_occurred_at="2021-09-20T14:03:00-05:00")) == (
        "Mon 20 Sep 2021, 2:03 p.m. (UTC\N{MINUS SIGN}5)"
    )
    assert short(TrackingEvent(carrier_occurred_at="2021-09-20T20:33:00+01:30")) == (
        "Mon 20 Sep 2021, 8:33 p.m. (UTC+1:30)"
    )
    # A conversion that is no real offset (not on a quarter hour) is not claimed.
    odd = TrackingEvent(carrier_occurred_at="2021-09-20T14:10:00", occurred_at=utc)
    assert short(odd) == "Mon 20 Sep 2021, 2:10 p.m."
    # Only the UTC time: said as UTC.
    assert short(TrackingEvent(occurred_at=utc)) == "Mon 20 Sep 2021, 7:03 p.m. UTC"
    # Unreadable local text: the timeline shows it as sent; nothing at all: no time.
    assert dates.event_moment(TrackingEvent(carrier_occurred_at="20/09 14h03")) is None
    days = timeline.timeline_days([TrackingEvent(carrier_occurred_at="20/09 14h03")])
    assert days[0].entries[0].clock_text == "20/09 14h03"
    assert dates.event_moment(TrackingEvent()) is None


def test_this_years_dates_have_no_year_and_other_years_do():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert dates.day(datetime(2026, 11, 29), now=now) == "Sunday 29 November"
    assert dates.day(datetime(2025, 11, 29), now=now) == "Saturday 29 November 2025"


def test_map_points_in_time_order_with_latest_marked():
    _shipment, events = track("fedex", "794698432183")
    points = map_points(events)
    assert [p["n"] for p in points] == list(range(1, len(points) + 1))
    assert points[0]["description"] == "Picked up"
    assert [p["latest"] for p in points] == [False] * (len(points) - 1) + [True]
    assert points[0]["css"] == "status-AC" and points[-1]["css"] == "status-IT"
    assert set(points[0]) == {
        "n",
        "lat",
        "lng",
        "status",
        "css",
        "time",
        "place",
        "description",
        "latest",
    }
    assert map_points([TrackingEvent(description="no coordinates")]) == []


def test_timeline_groups_by_local_day():
    _shipment, events = track("stamps_com", "9405511899223197428490")
    days = timeline.timeline_days(events)
    assert days[0].label == "Monday 20 September 2021"
    assert days[0].entries[0].text == "Delivered, In/At Mailbox"
    assert sum(len(d.entries) for d in days) == len(events)


def test_components_render():
    shipment, events = track("fedex", "794698432183")
    html = render_to_string(
        "tracking/components/map.html",
        {"points": map_points(events), "map_id": "m1"},
    )
    assert 'id="m1-points"' in html and 'data-map="m1-points"' in html
    assert 'data-tile-url="https://' in html
    empty = render_to_string("tracking/components/map.html", {"points": [], "map_id": "m1"})
    assert "data-map" not in empty and "No map" in empty
    timeline = render_to_string("tracking/components/timeline.html", {"events": events})
    assert timeline.count('class="timeline-item') == len(events)
    assert "<time datetime=" in timeline
    assert "No updates" in render_to_string("tracking/components/timeline.html", {"events": []})
    bar = render_to_string(
        "tracking/components/milestones.html",
        {"milestones": milestones.milestones(shipment, events)},
    )
    assert bar.count('class="milestone ') == 4 and 'aria-current="step"' in bar


def test_markup_from_the_api_is_escaped_in_components():
    event = TrackingEvent(
        description="<img src=x onerror=alert(1)>",
        carrier_occurred_at="2021-01-01T10:00:00",
        latitude=1.0,
        longitude=2.0,
    )
    html = render_to_string("tracking/components/timeline.html", {"events": [event]})
    html += render_to_string(
        "tracking/components/map.html",
        {"points": map_points([event]), "map_id": "m"},
    )
    assert "<img src=x" not in html
