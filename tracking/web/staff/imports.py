"""Staff bulk import: the CSV upload and the job's progress page (with its error report)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from ... import tasks
from ...models import ImportJob
from ...services import csv_export, csv_import, import_jobs
from ..auth import staff_required
from ..htmx import HtmxHttpRequest, render_htmx
from .forms import ImportUploadForm


@require_http_methods(["GET", "POST"])
@staff_required
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            job = import_jobs.save_upload(
                form.cleaned_data["file"], user=request.user, fetch=form.cleaned_data["fetch"]
            )
            tasks.enqueue_import(job.pk)
        return redirect("staff:import_status", pk=job.pk)
    jobs = ImportJob.objects.order_by("-created_at")[:10]
    status = 400 if form.is_bound else 200
    return render(
        request, "tracking/staff/import.html", {"form": form, "jobs": jobs}, status=status
    )


@require_GET
@staff_required
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty file with the header row and one example row, to fill in a spreadsheet."""
    text = "".join(csv_export.csv_lines(csv_import.COLUMNS, [csv_import.TEMPLATE_ROW]))
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="shiptrack-import-template.csv"'
    return response


@require_GET
@staff_required
@vary_on_headers("HX-Request")
def import_status(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    job = get_object_or_404(ImportJob, pk=pk)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            csv_export.error_report_lines(job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
    context = {
        "job": job,
        "progress": import_jobs.job_progress(job),
        "errors": job.row_errors.order_by("line", "id")[:100],
        "can_retry": import_jobs.can_retry(job),
    }
    return render_htmx(request, "tracking/staff/import_status.html", "progress", context)


@require_POST
@staff_required
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """A failed (interrupted) job goes on after the last line it committed."""
    job = get_object_or_404(ImportJob, pk=pk)
    with transaction.atomic():
        job = import_jobs.retry(job_id=job.pk)
        if job.state == ImportJob.State.QUEUED:
            tasks.enqueue_import(job.pk)
    return redirect("staff:import_status", pk=job.pk)
