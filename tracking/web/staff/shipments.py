"""Staff portal views (/staff/): search and list, add a package, the shipment page, refresh.

Staff = authenticated users with is_staff (web/auth.py). htmx requests get the page's partial,
everything else the whole page, so each works without JavaScript.
"""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from ... import tasks
from ...domain import carrier_formats, statuses
from ...domain.numbers import TrackingInputError
from ...models import BulkAction, Carrier, Notification, SavedSearch, Shipment, ShipmentNote
from ...presentation.api_resources import public_url
from ...presentation.estimates import our_estimate
from ...presentation.notifications import notification_rows
from ...presentation.words import eta_text, status_words
from ...queries.attention import list_reason_counts
from ...queries.keyset_pages import ListPage, PageRequest, page_params, page_request
from ...queries.search_guard import SearchStopped, search_guard
from ...queries.shipment_list import ListState, filter_shipments
from ...services import notifications, registration, tracking
from ...shipengine import ApiError, ShipEngineError
from ..auth import staff_required
from ..htmx import HtmxHttpRequest, render_htmx, wants_partial
from .forms import (
    AddShipmentForm,
    NoteForm,
    ShipmentDetailsForm,
    read_list_state,
    state_query,
)
from .notes import NOTES_SHOWN
from .tracking_part import tracking_part


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
    note_counts = ShipmentNote.objects.counts_for([row.pk for row in rows])
    for row in rows:
        row.carrier = carriers[row.carrier_id]
        row.notes_count = note_counts.get(row.pk, 0)  # type: ignore[attr-defined]
    query = state_query(state)
    # What ticking each "needs attention" reason alone would find, over every shipment, each
    # from an index (queries/attention.py), whatever the search.
    reasons = list_reason_counts(quiet_days=state.quiet_days)

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
        "reason_counts": reasons.counts,
        "reason_capped": reasons.capped,
        "sort_links": _sort_links(state),
        "saved_searches": list(SavedSearch.objects.filter(user_id=request.user.pk or 0)),
        "bulk_kinds": BulkAction.Kind.choices,
    }
    return render_htmx(request, "tracking/staff/shipment_list.html", "results", context)


def _sort_links(state: ListState) -> dict[str, dict[str, str]]:
    """The sortable column headers: each a link to its sort, the other way round when it is the
    current one (the list's own keyset orders, so pages stay right). aria-sort says which."""
    columns = {"updated": ("-updated", "updated"), "eta": ("eta", "-eta")}
    links = {}
    for name, (first, second) in columns.items():
        current = state.sort in (first, second)
        target = second if state.sort == first else first
        ascending = state.sort in ("updated", "eta")
        links[name] = {
            "url": "?" + state_query(state, sort=target),
            "aria": ("ascending" if ascending else "descending") if current else "none",
        }
    return links


def _api_refused_the_number(exc: ShipEngineError) -> bool:
    """An answer about this number (not found, invalid): saving it would store a wrong package.
    Anything else (timeouts, 5xx, 429, a bad key, a garbled answer) is the API failing: the
    package is saved and fetched later."""
    failing = (401, 403, 429)  # the key or the rate limit: not about this number
    return (
        isinstance(exc, ApiError)
        and 400 <= exc.http_status < 500
        and exc.http_status not in failing
    )


def _add_page(request: HttpRequest, form: AddShipmentForm, **extra: Any) -> HttpResponse:
    status = 422 if form.errors else 200
    context = {"form": form, **extra}
    return render(request, "tracking/staff/shipment_add.html", context, status=status)


def _chosen_carrier(post: Any) -> Any:
    """The POST with one carrier: a candidate button's value wins over the (empty) menu."""
    data = post.copy()
    chosen = [v for v in data.getlist("carrier") if v]
    data.setlist("carrier", chosen[-1:] or [""])
    return data


@require_http_methods(["GET", "POST"])
@staff_required
def shipment_add(request: HttpRequest) -> HttpResponse:
    """Add a package. The carrier is recognised from the number as on the public page (asked
    only when the format fits several, with those as buttons). The tracking is fetched at once;
    when the API is failing the package is saved anyway and a worker fetches it later."""
    if request.method != "POST":
        initial = {k: request.GET[k] for k in ("carrier", "tracking_number") if request.GET.get(k)}
        return _add_page(request, AddShipmentForm(initial=initial))
    form = AddShipmentForm(_chosen_carrier(request.POST))
    if not form.is_valid():
        return _add_page(request, form)
    carrier: Carrier | None = form.cleaned_data["carrier"]
    number: str = form.cleaned_data["tracking_number"]
    if carrier is None:
        detection = carrier_formats.detect(number)
        active = {c.code: c for c in Carrier.objects.active()}
        if not detection.is_certain or detection.carrier not in active:
            candidates = [active[c] for c in detection.candidates if c in active]
            if candidates:
                message = _("This number could be from more than one carrier: choose one.")
            else:
                message = _("The carrier cannot be told from this number: choose it below.")
            form.add_error("carrier", message)
            return _add_page(request, form, candidates=candidates)
        carrier = active[detection.carrier]
        number = detection.number or number
    codes = carrier_formats.codes_for(carrier.code)
    existing = Shipment.objects.filter(carrier__code__in=codes, tracking_number=number).first()
    if existing is not None:
        messages.info(request, _("%(number)s is already tracked: here it is.") % {"number": number})
        return redirect("staff:shipment_detail", pk=existing.pk)
    details = {
        "reference": form.cleaned_data["reference"],
        "customer_name": form.cleaned_data["customer_name"],
        "customer_email": form.cleaned_data["customer_email"],
        "customer_postcode": form.cleaned_data["customer_postcode"],
    }
    try:
        shipment = tracking.track_shipment(
            carrier_code=carrier.code, tracking_number=number, interactive=True, **details
        )
    except TrackingInputError as exc:
        form.add_error("tracking_number", exc.message)
        return _add_page(request, form)
    except ShipEngineError as exc:
        if _api_refused_the_number(exc):
            form.add_error(
                None,
                _("The carrier's tracking service did not give an answer: %(error)s")
                % {"error": exc.one_line()},
            )
            return _add_page(request, form)
        return _save_for_later(request, form, carrier, number, details, exc)
    messages.success(request, _("Added %(number)s.") % {"number": number})
    return redirect("staff:shipment_detail", pk=shipment.pk)


def _save_for_later(
    request: HttpRequest,
    form: AddShipmentForm,
    carrier: Carrier,
    number: str,
    details: dict[str, str],
    error: ShipEngineError,
) -> HttpResponse:
    with transaction.atomic():
        report = registration.register_shipments(
            items=[
                registration.ShipmentInput(
                    tracking_number=number,
                    carrier_code=carrier.code,
                    **details,
                )
            ]
        )
        tasks.enqueue_fetches(report.to_fetch)
    [outcome] = report.outcomes
    if outcome.error is not None or outcome.shipment_id is None:
        form.add_error(None, outcome.error.message if outcome.error else _("Not saved."))
        return _add_page(request, form)
    messages.warning(
        request,
        _(
            "Saved %(number)s, but the carrier's tracking service is not answering "
            "(%(error)s). The tracking will be fetched in the background as soon as it answers."
        )
        % {"number": number, "error": error.one_line()},
    )
    return redirect("staff:shipment_detail", pk=outcome.shipment_id)


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
    part = tracking_part(shipment, events_page=events_page)
    notes = list(shipment.staff_notes.newest_first()[: NOTES_SHOWN + 1])
    return {
        "shipment": shipment,
        "notes": notes[:NOTES_SHOWN],
        "more_notes": len(notes) > NOTES_SHOWN,
        "note_form": NoteForm(),
        "public_url": public_url(shipment),
        "our_estimate": our_estimate(shipment, carrier_name=part.facts.carrier_name),
        "eta": eta_text(shipment),
        "status_css": statuses.css(shipment.status_code),
        "status_text": status_words(shipment),
        **part.context(),
        "refresh_error": refresh_error,
        "refreshed": refreshed,
        "events_added": added,
        "events_page": events_page,
        "older_events_page": events_page + 1 if part.has_older else None,
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
