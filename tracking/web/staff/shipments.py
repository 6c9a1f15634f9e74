"""Staff portal views (/staff/): search and list, add a package, the shipment page, refresh.

Staff = authenticated users with is_staff (web/auth.py). htmx requests get the page's partial,
everything else the whole page, so each works without JavaScript.
"""

from __future__ import annotations

import json
import secrets
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from ...domain import statuses
from ...domain.numbers import TrackingInputError
from ...models import Carrier, Notification, Shipment
from ...presentation.estimates import our_estimate
from ...presentation.facts import shipment_facts
from ...presentation.map import map_points
from ...presentation.milestones import milestones
from ...presentation.notifications import notification_rows
from ...presentation.words import eta_text, status_words
from ...queries.carriers import carrier_names
from ...queries.search_guard import SearchStopped, search_guard
from ...queries.shipment_list import (
    ListPage,
    PageRequest,
    filter_shipments,
    page_params,
    page_request,
)
from ...services import notifications, tracking
from ...shipengine import ShipEngineError
from ..auth import staff_required
from ..htmx import HtmxHttpRequest, render_htmx, wants_partial
from .forms import AddShipmentForm, ShipmentDetailsForm, read_list_state, state_query


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def shipment_list(request: HtmxHttpRequest) -> HttpResponse:
    form, state = read_list_state(request.GET)
    result = filter_shipments(state)
    if result.unknown_carrier:
        form.add_error("carrier", _("Unknown carrier %(code)s.") % {"code": repr(state.carrier)})
    wanted = page_request(
        page=request.GET.get("page"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        last=request.GET.get("last"),
    )
    stopped = ""
    try:
        # Everything the page reads from the database, in one guarded transaction: bounded in
        # time, and given up when the same person starts another search (queries/search_guard).
        guard = (
            search_guard(f"user:{request.user.pk}", timeout_ms=settings.STAFF_SEARCH_TIMEOUT_MS)
            if state.q and not result.answered_exactly()
            else nullcontext()
        )
        with guard:
            page = result.page(wanted)
            status_counts = result.status_counts()
    except SearchStopped as exc:
        if exc.reason == "superseded":
            # A newer search of the same person is running; nobody waits for this answer.
            return HttpResponse(status=204)
        stopped = exc.reason
        page = ListPage([], 1, state.per_page, 0, False, False)
        status_counts = []
    rows: list[Shipment] = page.rows
    # The carriers were loaded for the filter menu already: no join, no second query.
    carriers: dict[int, Carrier] = {c.pk: c for c in result.carriers}
    for row in rows:
        row.carrier = carriers[row.carrier_id]
    query = state_query(state)

    def page_url(target: PageRequest | None) -> str:
        if target is None:
            return ""
        params = urlencode(page_params(target))
        return f"?{query}&{params}" if query else f"?{params}"

    context = {
        "filters": result,
        "state": state,
        "form": form,
        "status_counts": status_counts,
        "shipments": rows,
        "page": page,
        "first_row": page.first_row,
        "last_row": page.last_row,
        "total": page.total,
        # A broad search knows a lower bound only: "more than the cap", or "at least" when the
        # other filters leave fewer of the matches it counted.
        "more_than": page.more_than,
        "search_stopped": stopped,
        "query": query,
        "prev_url": page_url(page.previous),
        "next_url": page_url(page.next),
        "first_url": page_url(PageRequest(1)) if page.number > 2 else "",
        "last_url": page_url(page.last),
        "any_shipments": page.total > 0 or state.is_filtered,
    }
    return render_htmx(request, "tracking/staff/shipment_list.html", "results", context)


@require_http_methods(["GET", "POST"])
@staff_required
def shipment_add(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = AddShipmentForm(request.POST)
        if form.is_valid():
            carrier: Carrier = form.cleaned_data["carrier"]
            number = form.cleaned_data["tracking_number"]
            existing = Shipment.objects.filter(carrier=carrier, tracking_number=number).first()
            if existing is not None:
                messages.info(
                    request,
                    _("%(number)s is already tracked: here it is.") % {"number": number},
                )
                return redirect("staff:shipment_detail", pk=existing.pk)
            try:
                shipment = tracking.track_shipment(
                    carrier_code=carrier.code,
                    tracking_number=number,
                    reference=form.cleaned_data["reference"],
                    customer_name=form.cleaned_data["customer_name"],
                    customer_email=form.cleaned_data["customer_email"],
                    interactive=True,
                )
            except TrackingInputError as exc:
                form.add_error("tracking_number", exc.message)
            except ShipEngineError as exc:
                form.add_error(
                    None,
                    _("The carrier's tracking service did not give an answer: %(error)s")
                    % {"error": exc.one_line()},
                )
            else:
                messages.success(request, _("Added %(number)s.") % {"number": number})
                return redirect("staff:shipment_detail", pk=shipment.pk)
        status = 422 if form.errors else 200
        return render(request, "tracking/staff/shipment_add.html", {"form": form}, status=status)
    initial = {k: request.GET[k] for k in ("carrier", "tracking_number") if request.GET.get(k)}
    return render(
        request, "tracking/staff/shipment_add.html", {"form": AddShipmentForm(initial=initial)}
    )


#: Events per page of the staff timeline: a shipment with 100,000 events still loads fast.
TIMELINE_PAGE_SIZE = 200


def _events_page(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("events", "1")), 100_000))
    except ValueError:
        return 1


def _detail_context(
    shipment: Shipment,
    *,
    refresh_error: str = "",
    refreshed: bool = False,
    added: int = 0,
    events_page: int = 1,
) -> dict[str, Any]:
    start = (events_page - 1) * TIMELINE_PAGE_SIZE
    # One row more than the page says whether there are older ones, without a COUNT.
    events = list(shipment.events.newest_first()[start : start + TIMELINE_PAGE_SIZE + 1])
    has_older = len(events) > TIMELINE_PAGE_SIZE
    events = events[:TIMELINE_PAGE_SIZE]
    raw = shipment.raw_response
    facts = shipment_facts(shipment, events, carrier_names=carrier_names())
    return {
        "shipment": shipment,
        "facts": facts,
        "our_estimate": our_estimate(shipment, carrier_name=facts.carrier_name),
        "eta": eta_text(shipment),
        "raw_json": json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) if raw else "",
        "events": events,
        "status_css": statuses.css(shipment.status_code),
        "status_text": status_words(shipment),
        "milestones": milestones(shipment, events),
        "points": map_points(events),
        "refresh_error": refresh_error,
        "refreshed": refreshed,
        "events_added": added,
        "events_page": events_page,
        "older_events_page": events_page + 1 if has_older else None,
        "newer_events_page": events_page - 1 if events_page > 1 else None,
    }


def _get_shipment(pk: int) -> Shipment:
    return get_object_or_404(Shipment.objects.select_related("carrier", "delivery_estimate"), pk=pk)


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def shipment_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    shipment = _get_shipment(pk)
    context = _detail_context(shipment, events_page=_events_page(request))
    context["details_form"] = ShipmentDetailsForm(instance=shipment)
    context |= _emails_context(shipment)
    return render_htmx(request, "tracking/staff/shipment_detail.html", "tracking", context)


def _emails_context(shipment: Shipment) -> dict[str, Any]:
    """The e-mails sent for this parcel and the "send the tracking link" button (its key makes
    a double submit one e-mail)."""
    return {
        "notification_rows": notification_rows(Notification.objects.for_shipment_page(shipment.pk)),
        "send_link_key": secrets.token_urlsafe(16),
        "email_demo_mode": settings.EMAIL_DEMO_MODE,
    }


@require_POST
@staff_required
def shipment_send_link(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _get_shipment(pk)
    key = request.POST.get("request_key", "")[:64] or secrets.token_urlsafe(16)
    sent = notifications.send_tracking_link(shipment_id=shipment.pk, request_key=key)
    if sent is None:
        messages.error(
            request,
            _("This shipment has no valid customer e-mail. Add one under Order and customer."),
        )
    else:
        messages.success(
            request,
            _("The tracking link is on its way to %(email)s.") % {"email": sent.recipient},
        )
    return redirect(reverse("staff:shipment_detail", args=[pk]) + "#emails-title")


@require_POST
@staff_required
@vary_on_headers("HX-Request")
def shipment_refresh(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    shipment = _get_shipment(pk)
    try:
        result = tracking.refresh_shipment(shipment_id=shipment.pk, interactive=True)
    except TrackingInputError as exc:
        error = exc.message
        added = 0
    except ShipEngineError as exc:
        error = exc.one_line()
        added = 0
    else:
        error = ""
        added = result.events_added
    shipment = _get_shipment(pk)
    if not wants_partial(request):
        if error:
            messages.error(request, _("Refresh failed: %(error)s") % {"error": error})
        else:
            messages.success(request, _("Refreshed: %(n)s new events.") % {"n": added})
        return redirect("staff:shipment_detail", pk=pk)
    context = _detail_context(shipment, refresh_error=error, refreshed=not error, added=added)
    return render(request, "tracking/staff/shipment_detail.html#tracking", context)


@require_POST
@staff_required
def shipment_update(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = _get_shipment(pk)
    form = ShipmentDetailsForm(request.POST, instance=shipment)
    if form.is_valid():
        form.save()
        messages.success(request, _("Details saved."))
        return redirect("staff:shipment_detail", pk=pk)
    # The page shows what is stored; the form keeps what was typed, with its errors.
    context = _detail_context(_get_shipment(pk))
    context["details_form"] = form
    context["details_open"] = True
    context |= _emails_context(shipment)
    return render(request, "tracking/staff/shipment_detail.html", context, status=422)
