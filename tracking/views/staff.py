"""Staff portal views (/staff/): search and list, add a package, the shipment page, refresh.

Staff = authenticated users with is_staff. Every view checks it; htmx requests get the page's
partial (`page.html#name`), everything else the whole page, so each works without JavaScript.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from .. import presentation, services
from ..filters import filter_shipments, state_query
from ..forms import AddShipmentForm, ShipmentDetailsForm
from ..models import Carrier, Shipment
from ..shipengine import ShipEngineError

# Columns the list needs; the raw answer and notes can be large and are not shown there.
LIST_FIELDS = (
    "id",
    "carrier_id",
    "tracking_number",
    "reference",
    "customer_name",
    "customer_email",
    "status_code",
    "status_description",
    "status_detail_code",
    "carrier_status_description",
    "last_event_at",
    "last_event_description",
    "last_event_location",
    "estimated_delivery_date",
    "actual_delivery_date",
    "consecutive_failures",
    "exception_description",
)


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


def staff_required[V: Callable[..., HttpResponseBase]](view: V) -> V:
    """Anonymous: to the staff login. Logged in without is_staff: 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("staff:login"))
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return cast(V, wrapper)


# --------------------------------------------------------------------------------------------
# Log in / out
# --------------------------------------------------------------------------------------------
class StaffAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": gettext_lazy(
            "This account has no access to the staff portal. Ask an administrator for it."
        ),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


login = auth_views.LoginView.as_view(
    template_name="tracking/staff/login.html",
    authentication_form=StaffAuthenticationForm,
    redirect_authenticated_user=True,
)
logout = auth_views.LogoutView.as_view(next_page="staff:login")


# --------------------------------------------------------------------------------------------
# Search and list
# --------------------------------------------------------------------------------------------
def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _place_text(location: str) -> str:
    # "LOUISVILLE, KY, US" -> "Louisville, KY, US": the city readable, the codes as codes.
    city, sep, rest = (location or "").partition(", ")
    return f"{city.title()}{sep}{rest}"


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def shipment_list(request: HtmxHttpRequest) -> HttpResponse:
    result = filter_shipments(request.GET)
    total = result.total
    per_page = result.per_page
    pages = max(1, math.ceil(total / per_page))
    page = min(_page_number(request.GET.get("page")), pages)
    offset = (page - 1) * per_page
    rows = list(result.queryset.only(*LIST_FIELDS)[offset : offset + per_page]) if total else []
    # The carriers were loaded for the filter menu already: no join, no second query.
    carriers = {c.pk: c for c in result.carriers}
    for row in rows:
        row.carrier = carriers[row.carrier_id]
        row.status_css = presentation.status_css(row.status_code)  # type: ignore[attr-defined]
        row.status_text = presentation.status_words(row)  # type: ignore[attr-defined]
        row.place_text = _place_text(row.last_event_location)  # type: ignore[attr-defined]
    state = state_query(result.cleaned)
    context = {
        "filters": result,
        "form": result.form,
        "status_counts": result.status_counts(),
        "shipments": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "first_row": offset + 1 if rows else 0,
        "last_row": offset + len(rows),
        "state": state,
        "prev_url": f"?{state}&page={page - 1}" if page > 1 else "",
        "next_url": f"?{state}&page={page + 1}" if page < pages else "",
        "first_url": f"?{state}&page=1" if page > 2 else "",
        "last_url": f"?{state}&page={pages}" if page < pages - 1 else "",
        "any_shipments": total > 0 or result.is_filtered,
    }
    template = "tracking/staff/shipment_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(request, template, context)


# --------------------------------------------------------------------------------------------
# Add a package
# --------------------------------------------------------------------------------------------
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
                shipment = services.track_shipment(
                    carrier_code=carrier.code,
                    tracking_number=number,
                    reference=form.cleaned_data["reference"],
                    customer_name=form.cleaned_data["customer_name"],
                    customer_email=form.cleaned_data["customer_email"],
                    interactive=True,
                )
            except services.TrackingInputError as exc:
                form.add_error("tracking_number", str(exc))
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


# --------------------------------------------------------------------------------------------
# Shipment page
# --------------------------------------------------------------------------------------------
def _detail_context(
    shipment: Shipment, *, refresh_error: str = "", refreshed: bool = False, added: int = 0
) -> dict[str, Any]:
    events = list(shipment.events.newest_first())
    raw = shipment.raw_response
    return {
        "shipment": shipment,
        "raw_json": json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) if raw else "",
        "events": events,
        "status_css": presentation.status_css(shipment.status_code),
        "status_text": presentation.status_words(shipment),
        "milestones": presentation.milestones(shipment, events),
        "points": presentation.map_points(events),
        # A new id on every render: htmx copies the attributes of a same-id element onto its
        # replacement (Leaflet's inline style among them, which the CSP refuses).
        "map_id": f"staff-map-{secrets.token_hex(4)}",
        "refresh_error": refresh_error,
        "refreshed": refreshed,
        "events_added": added,
    }


def _get_shipment(pk: int) -> Shipment:
    return get_object_or_404(Shipment.objects.select_related("carrier"), pk=pk)


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def shipment_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    shipment = _get_shipment(pk)
    context = _detail_context(shipment)
    context["details_form"] = ShipmentDetailsForm(instance=shipment)
    template = "tracking/staff/shipment_detail.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#tracking"
    return render(request, template, context)


@require_POST
@staff_required
@vary_on_headers("HX-Request")
def shipment_refresh(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    shipment = _get_shipment(pk)
    try:
        result = services.refresh_shipment(shipment_id=shipment.pk, interactive=True)
    except ShipEngineError as exc:
        error = exc.one_line()
        added = 0
    else:
        error = ""
        added = result.events_added
    shipment = _get_shipment(pk)
    if not request.htmx:
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
    return render(request, "tracking/staff/shipment_detail.html", context, status=422)
