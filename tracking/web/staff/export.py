"""The staff list's current search as CSV."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ...queries.shipment_list import filter_shipments
from ...services import csv_export
from ..auth import staff_required
from .forms import read_list_state


@require_GET
@staff_required
def export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    """The same query string as the list, streamed. A filter that is not valid (a date out of
    range, say) is a 400 that says which, never a silently wider export."""
    form, state = read_list_state(request.GET)
    if form.errors:
        lines = [
            f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        ]
        return HttpResponse(
            "The export was not made: " + "; ".join(lines) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    result = filter_shipments(state)
    response = StreamingHttpResponse(
        csv_export.export_lines(result.queryset), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="shipments-{stamp}.csv"'
    return response
