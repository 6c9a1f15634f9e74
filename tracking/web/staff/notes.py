"""Staff notes on a shipment and the needs-attention queue (/staff/attention/)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from ...models import Carrier, Shipment
from ...models.shipments import ATTENTION_REASONS, attention_reasons
from ...queries.attention import attention_queue
from ...services import notes as notes_service
from ..auth import staff_required
from ..htmx import HtmxHttpRequest, wants_partial
from .forms import HandledForm, NoteForm, ShipmentFilterForm

QUEUE_PAGE_SIZE = 25
#: Notes on the shipment page, newest first (a shipment with more says so).
NOTES_SHOWN = 100


def _notes_region(
    request: HttpRequest, shipment: Shipment, form: NoteForm, *, added: bool = False
) -> HttpResponse:
    notes = list(shipment.staff_notes.newest_first()[: NOTES_SHOWN + 1])
    context = {
        "shipment": shipment,
        "notes": notes[:NOTES_SHOWN],
        "more_notes": len(notes) > NOTES_SHOWN,
        "note_form": form,
        "note_added": added,
    }
    # 200 with the error in the region: htmx swaps only successful answers.
    return render(request, "tracking/staff/shipment_detail.html#notes", context)


@require_POST
@staff_required
@vary_on_headers("HX-Request")
def note_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add a note; htmx gets the notes region back (the new note on top, or the form with its
    error and the text kept), a plain form post goes back to the page with a message."""
    shipment = get_object_or_404(Shipment, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            notes_service.add_note(
                shipment_id=shipment.pk, body=form.cleaned_data["body"], author=request.user
            )
        except notes_service.NoteError as exc:
            form.add_error("body", str(exc))
    if wants_partial(request):
        if form.errors:
            return _notes_region(request, shipment, form)
        return _notes_region(request, shipment, NoteForm(), added=True)
    if form.errors:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, _("The note was not saved: %(error)s") % {"error": error})
    else:
        messages.success(request, _("Note added."))
    return redirect("staff:shipment_detail", pk=pk)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@require_POST
@staff_required
def mark_handled(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = get_object_or_404(Shipment, pk=pk)
    form = HandledForm(request.POST)
    body = form.cleaned_data["body"] if form.is_valid() else ""
    if not form.is_valid():
        messages.error(request, _("The note is too long: it was not saved."))
        return redirect(_back(request) or "staff:attention")
    notes_service.mark_handled(shipment_id=shipment.pk, user=request.user, body=body)
    messages.success(
        request,
        _("%(number)s is marked as handled: it leaves the queue until something new happens.")
        % {"number": shipment.tracking_number},
    )
    return redirect(_back(request) or "staff:attention")


@require_GET
@staff_required
def attention(request: HttpRequest) -> HttpResponse:
    reason = request.GET.get("reason", "")
    queue = attention_queue(reason=reason if reason in ATTENTION_REASONS else "")
    paginator = Paginator(queue.queryset, QUEUE_PAGE_SIZE)
    paginator.count = queue.total  # known from the counts: no second COUNT query
    page = paginator.get_page(request.GET.get("page"))
    rows = list(page.object_list)
    carriers = {c.pk: c for c in Carrier.objects.only("id", "code", "name", "is_active")}
    labels = dict(ShipmentFilterForm.ATTENTION)
    for row in rows:
        row.carrier = carriers[row.carrier_id]
        row.reason_labels = [labels[r] for r in attention_reasons(row)]  # type: ignore[attr-defined]
    tabs = [("", _("All"), queue.counts["all"])] + [
        (r, labels[r], queue.counts[r]) for r in ATTENTION_REASONS
    ]
    context = {
        "queue": queue,
        "tabs": tabs,
        "rows": rows,
        "page": page,
        "handled_form": HandledForm(),
        "here": request.get_full_path(),
    }
    return render(request, "tracking/staff/attention.html", context)
