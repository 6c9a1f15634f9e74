"""CSV output: the staff search as a spreadsheet, and an import's error report. Every value a
spreadsheet could run as a formula is escaped."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Count, OuterRef, Subquery

from ..models import ImportJob, ShipmentNote
from ..presentation.api_resources import public_url
from ..presentation.words import summary_place
from .csv_import import COLUMNS


class _Echo:
    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """Text a spreadsheet will not run as a formula (OWASP's CSV-injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text line by line (for a streaming response), every value escaped. The identifier
    columns (carrier code, tracking number) are validated where they enter, so escaping leaves
    them as they are and the export re-imports unchanged; a value stored before that validation
    existed (a label answer's "=cmd|...") is escaped like any other."""
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([spreadsheet_safe(v) for v in row])


def error_report_lines(job: ImportJob) -> Iterator[str]:
    rows = (
        (e.line, e.tracking_number, e.message)
        for e in job.row_errors.order_by("line", "id").iterator(chunk_size=2000)
    )
    return csv_lines(["line", "tracking_number", "error"], rows)


EXPORT_COLUMNS = (
    *COLUMNS,
    "carrier_name",
    "status_code",
    "status_description",
    "last_event_at",
    "last_event_description",
    "last_event_location",
    "estimated_delivery_date",
    "actual_delivery_date",
    "last_checked_at",
    "notes_count",
    "public_url",
)


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def export_lines(queryset: Any) -> Iterator[str]:
    """The shipments of a search as CSV: the first six columns re-import as they are; places read
    as on the staff pages ("Louisville, KY, US"); the notes counted per row by a subquery on the
    notes' shipment index; the customer's public link."""
    notes = (
        ShipmentNote.objects.filter(shipment_id=OuterRef("pk"))
        .order_by()
        .values("shipment_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = (
        (
            s.carrier.code,
            s.tracking_number,
            s.reference,
            s.customer_name,
            s.customer_email,
            s.customer_postcode,
            s.carrier.name,
            s.status_code,
            s.status_description,
            _iso(s.last_event_at),
            s.last_event_description,
            summary_place(s.last_event_location) if s.last_event_location else "",
            _iso(s.estimated_delivery_date),
            _iso(s.actual_delivery_date),
            _iso(s.last_checked_at),
            s.notes_total or 0,
            public_url(s),
        )
        for s in queryset.select_related("carrier")
        .annotate(notes_total=Subquery(notes))
        .iterator(chunk_size=2000)
    )
    return csv_lines(EXPORT_COLUMNS, rows)
