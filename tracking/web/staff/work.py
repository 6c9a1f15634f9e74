"""The staff's own things: saved searches, and bulk actions on rows selected in the list (a task
does them; the page follows its progress)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from ... import tasks
from ...models import BulkAction
from ...services import notes as notes_service
from ...services import staff_work
from ..auth import staff_required
from ..htmx import HtmxHttpRequest, render_htmx


def _list_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("staff:shipment_list")


@require_POST
@staff_required
def saved_search_save(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        saved = staff_work.save_search(
            user=request.user, name=request.POST.get("name", ""), query=query
        )
    except staff_work.StaffWorkError as exc:
        messages.error(request, _("The search was not saved: %(error)s") % {"error": exc})
        return redirect(reverse("staff:shipment_list") + (f"?{query}" if query else ""))
    messages.success(request, _("Saved the search “%(name)s”.") % {"name": saved.name})
    return redirect(reverse("staff:shipment_list") + (f"?{saved.query}" if saved.query else ""))


@require_POST
@staff_required
def saved_search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if staff_work.delete_search(user=request.user, saved_id=pk):
        messages.success(request, _("The saved search was deleted."))
    return redirect("staff:shipment_list")


@require_POST
@staff_required
def bulk_start(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
    try:
        with transaction.atomic():
            action = staff_work.start_bulk(
                user=request.user,
                kind=request.POST.get("kind", ""),
                shipment_ids=ids,
                note=request.POST.get("note", ""),
            )
            tasks.enqueue_bulk(action.pk)
    except (staff_work.StaffWorkError, notes_service.NoteError) as exc:
        messages.error(request, str(exc))
        return redirect(_list_url(request))
    return redirect(reverse("staff:bulk_status", args=[action.pk]) + "?back=" + _list_url(request))


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def bulk_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(BulkAction, pk=pk, created_by=request.user)
    back = request.GET.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    context = {"action": action, "back": back or reverse("staff:shipment_list")}
    return render_htmx(request, "tracking/staff/bulk_status.html", "progress", context)


@require_GET
@staff_required
def bulk_download(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(
        BulkAction, pk=pk, created_by=request.user, kind=BulkAction.Kind.EXPORT
    )
    if action.state != BulkAction.State.DONE:
        return HttpResponse(
            "The export is not ready yet.\n", status=409, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(action.output, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="shipments-selected-{action.pk}.csv"'
    return response
