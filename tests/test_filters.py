"""The staff list's state from a query string (web/staff/forms.py) and its queryset and counts
(queries/shipment_list.py), shared with the CSV export."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from tracking.models import Carrier, Shipment
from tracking.queries import shipment_list
from tracking.web.staff.forms import read_list_state, state_query

pytestmark = pytest.mark.django_db


def ship(number: str, status: str = "IT", carrier: str = "ups", **fields) -> Shipment:
    fields.setdefault("last_event_at", timezone.now() - timedelta(hours=1))
    return Shipment.objects.create(
        carrier=Carrier.objects.get(code=carrier),
        tracking_number=number,
        status_code=status,
        **fields,
    )


def qd(query: str) -> QueryDict:
    return QueryDict(query)


def filter_shipments(params: QueryDict, queryset=None, *, now=None):
    """What the list view does: read the state, then filter (the form rides along)."""
    form, state = read_list_state(params)
    result = shipment_list.filter_shipments(state, queryset, now=now)
    result.form = form  # type: ignore[attr-defined]
    return result


@pytest.fixture
def mix(db):
    return [
        ship("A1000", "IT", reference="ORD-A"),
        ship("B2000", "DE", carrier="fedex"),
        ship("C3000", "EX", reference="ORD-C"),
        ship("D4000", "", last_event_at=None),
        ship("E5000", "XY"),
    ]


def numbers(result) -> set[str]:
    return set(result.queryset.values_list("tracking_number", flat=True))


def test_no_params_is_everything_newest_first(mix):
    result = filter_shipments(qd(""))
    assert numbers(result) == {"A1000", "B2000", "C3000", "D4000", "E5000"}
    assert result.queryset[len(mix) - 1].tracking_number == "D4000"  # never updated: last
    assert result.total == 5
    assert not result.state.is_filtered
    assert result.form.is_valid()


def test_cleaned_values_and_status_counts(mix):
    result = filter_shipments(qd("q=ORD&status=IT&status=ex&sort=eta&per_page=50"))
    assert result.state.statuses == ("IT", "EX")
    assert result.state.q == "ORD" and result.state.sort == "eta" and result.state.per_page == 50
    assert numbers(result) == {"A1000", "C3000"}
    counts = {c.code: (c.count, c.selected) for c in result.status_counts()}
    assert counts["IT"] == (1, True) and counts["EX"] == (1, True) and counts["DE"] == (0, False)
    assert result.total == 2
    assert result.state.is_filtered


def test_unknown_and_never_fetched_statuses(mix):
    result = filter_shipments(qd(""))
    counts = {c.code: c.count for c in result.status_counts()}
    assert counts["XY"] == 1 and counts["none"] == 1
    assert numbers(filter_shipments(qd("status=none"))) == {"D4000"}
    assert numbers(filter_shipments(qd("status=XY"))) == {"E5000"}
    assert filter_shipments(qd("status=none&status=XY")).total == 2


def test_bad_values_are_reported_and_left_out(mix):
    result = filter_shipments(
        qd(
            "status=%3Cscript%3E&carrier=nope&shipped_from=x&sort=sideways&per_page=7&quiet_days=-3&attention=bogus"
        )
    )
    errors = result.form.errors
    assert result.unknown_carrier  # the view reports it on the form's carrier field
    for name in (
        "status",
        "shipped_from",
        "sort",
        "per_page",
        "quiet_days",
        "attention",
    ):
        assert name in errors, name
    assert numbers(result) == {"A1000", "B2000", "C3000", "D4000", "E5000"}


def test_given_queryset_is_narrowed_not_replaced(mix):
    only_ups = Shipment.objects.filter(carrier__code="ups")
    result = filter_shipments(qd("status=DE"), only_ups)
    assert numbers(result) == set()
    result = filter_shipments(qd("q=ORD"), only_ups)
    assert numbers(result) == {"A1000", "C3000"}


def test_dates_are_whole_days_inclusive(mix):
    a = mix[0]
    day = date(2026, 3, 10)
    late = timezone.make_aware(timezone.datetime(2026, 3, 10, 23, 59))
    Shipment.objects.filter(pk=a.pk).update(ship_date=late)
    assert numbers(filter_shipments(qd("shipped_from=2026-03-10&shipped_to=2026-03-10"))) == {
        "A1000"
    }
    assert numbers(filter_shipments(qd("shipped_to=2026-03-09"))) == set()
    assert numbers(filter_shipments(qd(f"shipped_from={day + timedelta(days=1)}"))) == set()


def test_quiet_uses_created_at_when_there_was_never_an_event(mix):
    now = timezone.now()
    d = mix[3]
    Shipment.objects.filter(pk=d.pk).update(created_at=now - timedelta(days=8))
    result = filter_shipments(qd("attention=quiet"), now=now)
    assert numbers(result) == {"D4000"}


def test_state_query_round_trips(mix):
    result = filter_shipments(
        qd(
            "q=ORD&status=IT&status=EX&carrier=ups&updated_from=2026-01-01&attention=quiet&quiet_days=7&sort=eta"
        )
    )
    text = state_query(result.state)
    again = filter_shipments(qd(text))
    assert again.state == result.state
    assert "page" not in text
    # Defaults are left out of the URL; changes apply on top.
    assert state_query(filter_shipments(qd("sort=-updated&per_page=25")).state) == ""
    assert state_query(result.state, status=None, q="x").startswith("q=x&carrier=ups")


def test_status_counts_are_cached_briefly_when_configured(mix, settings):
    """Counts that need a GROUP BY (date or attention filters) are reused briefly; without such
    filters they come from the tallies, always fresh."""
    settings.STAFF_STATUS_COUNTS_CACHE_SECONDS = 60
    from django.core.cache import cache

    cache.clear()
    dated = "updated_from=2000-01-01"
    first = filter_shipments(qd(dated)).total
    ship("F6000", "IT")
    assert filter_shipments(qd(dated)).total == first  # cached
    assert filter_shipments(qd(dated + "&status=IT")).total == 1  # same key: status is not in it
    assert filter_shipments(qd("")).total == 6  # the tallies: fresh
    assert filter_shipments(qd("carrier=ups")).total == 5  # the tallies per carrier: fresh
    assert filter_shipments(qd("q=F6000")).total == 1  # searches are never cached
    cache.clear()
    assert filter_shipments(qd(dated)).total == first + 1
