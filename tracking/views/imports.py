"""Staff bulk import (CSV upload, progress) and CSV export of the current search."""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from .. import imports, tasks
from ..filters import filter_shipments
from ..models import ImportJob
from .staff import HtmxHttpRequest, staff_required


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Columns: carrier_code, tracking_number, reference, customer_name, customer_email "
            "(header row first; the last three may be empty)."
        ),
    )
    fetch = forms.BooleanField(
        label=gettext_lazy("Fetch tracking for the new packages now"), required=False, initial=True
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not str(upload.name or "").lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Choose a .csv file."))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d MB.")
                % {"limit": settings.IMPORT_MAX_BYTES // 1_000_000}
            )
        # Check the header now, so that a wrong file is said at once, not after a queue wait.
        upload.seek(0)
        head = upload.read(64 * 1024)
        upload.seek(0)
        try:
            # Only the header line matters here (the 64 KB cut may split a later character).
            first_line = head.split(b"\n", 1)[0].decode("utf-8-sig")
            imports.read_header(io.StringIO(first_line))
        except imports.ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        except (UnicodeDecodeError, csv.Error):
            raise forms.ValidationError(_("The file is not UTF-8 CSV text.")) from None
        return upload


@require_http_methods(["GET", "POST"])
@staff_required
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            job = imports.save_upload(
                form.cleaned_data["file"], user=request.user, fetch=form.cleaned_data["fetch"]
            )
            tasks.enqueue_import(job.pk)
        return redirect("staff:import_status", pk=job.pk)
    jobs = ImportJob.objects.order_by("-created_at")[:10]
    status = 400 if form.is_bound else 200
    return render(
        request, "tracking/imports/import.html", {"form": form, "jobs": jobs}, status=status
    )


def _task_state(job: ImportJob) -> str:
    """The task framework's view of the job (READY, RUNNING, ...), when the backend keeps it."""
    if not job.task_result_id:
        return ""
    try:
        return str(tasks.run_import.get_result(job.task_result_id).status)
    except Exception:  # backends without stored results (immediate, dummy) or a pruned one
        return ""


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def import_status(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    job = get_object_or_404(ImportJob, pk=pk)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            imports.error_report_lines(job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
    context = {
        "job": job,
        "progress": imports.job_progress(job),
        "task_state": _task_state(job),
        "errors": job.row_errors.order_by("line", "id")[:100],
    }
    template = "tracking/imports/status.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#progress"
    return render(request, template, context)


@require_GET
@staff_required
def export(request: HttpRequest) -> StreamingHttpResponse:
    """The staff list's current search (same query string) as CSV, streamed."""
    result = filter_shipments(request.GET)
    response = StreamingHttpResponse(
        imports.export_lines(result.queryset), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="shipments-{stamp}.csv"'
    return response
