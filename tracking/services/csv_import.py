"""Bulk CSV import of shipments: read, check and store rows (jobs: import_jobs.py).

An import reads the file as a stream (one chunk of rows in memory at a time, so 100,000-row files
are fine), checks every row, stores the good ones in one transaction per chunk, skips packages that
are already stored (or appear twice in the file), keeps a row-level error report
(`ImportRowError`), and queues a fetch for each new package (low priority, through the shared rate
limit). `ImportJob` holds the progress the staff page polls.

Columns (header row required, any order, case-insensitive): carrier_code, tracking_number
(both required), reference, customer_name, customer_email, customer_postcode (optional). Other
columns are ignored. Common spellings of the headers are taken too ("Tracking Number", "Carrier",
"Order", "Email", "Postcode", see HEADER_ALIASES), and the carrier column may hold the carrier's
name ("DHL Express") as well as its code. The encoding is detected: UTF-8 with or without a BOM,
else Windows-1252 (what Excel writes as "CSV" on Windows).
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ..domain.contacts import tidy_postcode
from ..domain.numbers import TrackingInputError, validate_tracking_number
from ..models import Carrier, ImportItem, ImportJob, ImportRowError, Shipment, new_public_token
from . import scheduling, shipment_rows
from .outbox import record_created

logger = logging.getLogger("shiptrack.imports")

COLUMNS = (
    "carrier_code",
    "tracking_number",
    "reference",
    "customer_name",
    "customer_email",
    "customer_postcode",
)
REQUIRED = ("carrier_code", "tracking_number")
#: The example row of the downloadable template.
TEMPLATE_ROW = (
    "ups",
    "1Z999AA10123456784",
    "ORDER-1001",
    "Ada Lovelace",
    "ada@example.com",
    "SW1A 1AA",
)
CHUNK_ROWS = 1000
_LIMITS = {"reference": 100, "customer_name": 200, "customer_email": 254, "customer_postcode": 16}

#: Header spellings people and shop exports use, normalised (lower case, runs of anything but
#: letters and digits as one "_"), each to its column.
HEADER_ALIASES = {
    **{
        name: "tracking_number"
        for name in (
            "tracking",
            "tracking_no",
            "tracking_nr",
            "tracking_id",
            "tracking_code",
            "tracking_numbers",
            "trackingnumber",
            "number",
            "parcel_number",
            "shipment_number",
            "waybill",
            "awb",
        )
    },
    **{
        name: "carrier_code"
        for name in (
            "carrier",
            "carrier_name",
            "courier",
            "shipping_carrier",
            "carrier_id_code",
            "service",
        )
    },
    **{
        name: "reference"
        for name in (
            "order",
            "order_number",
            "order_no",
            "order_nr",
            "order_id",
            "order_reference",
            "ref",
            "reference_number",
        )
    },
    **{name: "customer_name" for name in ("name", "customer", "recipient", "recipient_name")},
    **{
        name: "customer_email"
        for name in (
            "email",
            "e_mail",
            "email_address",
            "recipient_email",
            "customer_e_mail",
        )
    },
    **{
        name: "customer_postcode"
        for name in (
            "postcode",
            "post_code",
            "postal_code",
            "zip",
            "zip_code",
            "zipcode",
            "plz",
            "customer_zip",
            "customer_postal_code",
        )
    },
}
_NOT_NAME = re.compile(r"[^0-9a-z]+")
WINDOWS_1252 = "cp1252"
# A well-formed UTF-8 multi-byte character (Windows-1252 text practically never has one).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF16 = 'The file is UTF-16 text, not UTF-8 or Windows-1252: save it as "CSV UTF-8".'


def column_name(header: str) -> str:
    """A header cell as its column: "Tracking Number" and "tracking-no." are tracking_number."""
    name = _NOT_NAME.sub("_", header.strip().lower()).strip("_")
    return HEADER_ALIASES.get(name, name)


def detect_encoding(path: Path) -> str:
    """ "utf-8" when the file is UTF-8 (a BOM or not), or when it has UTF-8 characters beside a
    few bad bytes (those lines are refused, the rest kept); Windows-1252 when none of its
    non-ASCII bytes is UTF-8. One streaming pass."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    invalid = multibyte = False
    with path.open("rb") as handle:
        first = True
        while block := handle.read(_BLOCK):
            if first and block.startswith(_UTF16_BOMS):
                raise ImportFileError(_UTF16)
            first = False
            if not invalid:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    invalid = True
            multibyte = multibyte or bool(_UTF8_SEQUENCE.search(block))
            if invalid and multibyte:
                return "utf-8"
    return WINDOWS_1252 if invalid else "utf-8"


def decode_header_line(head: bytes) -> str:
    """The first line of an upload, for the check before it is queued."""
    if head.startswith(_UTF16_BOMS):
        raise ImportFileError(_UTF16)
    line = head.split(b"\n", 1)[0]
    try:
        return line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return line.decode(WINDOWS_1252, "replace")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no header, wrong encoding, not CSV)."""


@dataclass
class ImportReport:
    total_rows: int = 0
    imported: int = 0
    duplicates: int = 0
    errors: int = 0
    fetches_enqueued: int = 0
    fatal: str = ""

    def summary(self) -> str:
        text = (
            f"{self.total_rows} rows: {self.imported} imported, {self.duplicates} duplicates "
            f"skipped, {self.errors} with errors; {self.fetches_enqueued} fetches queued"
        )
        return f"{text}. Stopped: {self.fatal}" if self.fatal else text


@dataclass(frozen=True)
class _Row:
    line: int
    carrier_id: int
    number: str
    reference: str
    customer_name: str
    customer_email: str
    customer_postcode: str = ""


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_BLOCK = 1 << 16


def _physical_lines(handle: IO[bytes]) -> Iterator[bytes]:
    """The file's lines, whatever the newline convention (CRLF, LF, or CR alone as old Mac
    files and some exports have it), each given back ending in a plain \\n for the csv module."""
    pending = b""
    while True:
        block = handle.read(_BLOCK)
        if not block:
            break
        pending += block
        if pending.endswith(b"\r"):
            continue  # a CR at the end of a block may be the first half of a CRLF
        parts = _NEWLINE.split(pending)
        pending = parts.pop()
        for part in parts:
            yield part + b"\n"
    for part in _NEWLINE.split(pending) if pending else []:
        if part:
            yield part + b"\n"


def _decoded_lines(handle: IO[bytes], encoding: str = "utf-8") -> Iterator[str]:
    """Lines decoded one at a time. A byte that is not UTF-8 is kept as a marker (surrogate
    escape) so that only its own row is refused (iter_rows) and the rows around it are kept;
    in the header it makes the whole file unreadable. Splitting bytes at newlines is safe in
    UTF-8: a newline byte never occurs inside a multi-byte character."""
    for number, raw in enumerate(_physical_lines(handle), start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        line = raw.decode(encoding, "surrogateescape")
        if number == 1 and _NOT_UTF8.search(line):
            raise ImportFileError("The file is not UTF-8 text.")
        yield line


def read_header(lines: Iterable[str]) -> tuple[list[str], Any]:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text.") from None
    except csv.Error as exc:
        raise ImportFileError(f"The file is not readable CSV: {exc}") from None
    names = [column_name(h) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ImportFileError(
            "The header row must name the columns "
            + ", ".join(COLUMNS)
            + f" (missing: {', '.join(missing)})."
        )
    return names, reader


def iter_rows(path: Path, *, after_line: int = 0) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line number, row as a dict) for every non-blank row after `after_line`, or (line, error
    text) for a row that cannot be used as it is: not UTF-8, a NUL byte, more cells than the
    header names, a field larger than the csv module takes. Raises ImportFileError only for an
    unusable file (no header, not UTF-8 at all)."""
    encoding = detect_encoding(path)
    with path.open("rb") as handle:
        names, reader = read_header(_decoded_lines(handle, encoding))
        last_error_line = -1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if reader.line_num == last_error_line:
                    raise ImportFileError(f"Line {reader.line_num}: {exc}") from None
                last_error_line = reader.line_num
                if reader.line_num > after_line:
                    yield reader.line_num, f"not readable CSV: {exc}"
                continue
            line = reader.line_num
            if line <= after_line or not any(c.strip() for c in cells):
                continue
            if any(_NOT_UTF8.search(c) for c in cells):
                yield line, "this line is not UTF-8 text (save the file as UTF-8)"
                continue
            if any("\x00" in c for c in cells):
                yield line, "this line contains a NUL byte"
                continue
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
                yield line, f"{len(cells)} cells, but the header names {len(names)} columns"
                continue
            yield line, {n: (cells[i] if i < len(cells) else "") for i, n in enumerate(names)}


def count_rows(path: Path) -> int:
    """Data rows in the file (a quick streaming pass, for the progress bar)."""
    count = 0
    try:
        encoding = detect_encoding(path)
        with path.open("rb") as handle:
            reader = csv.reader(_decoded_lines(handle, encoding))
            next(reader, None)
            for cells in reader:
                if any(c.strip() for c in cells):
                    count += 1
    except (ImportFileError, csv.Error):
        pass  # the import itself reports the problem; count what could be read
    return count


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------
def carrier_lookup() -> dict[str, tuple[int, bool]]:
    """Carrier code -> (id, active), with the carriers' names too ("dhl express", "DHL Express"
    as dhl_express) where a name is not someone else's code."""
    rows = list(Carrier.objects.only("pk", "code", "name", "is_active"))
    found = {c.code: (c.pk, c.is_active) for c in rows}
    for c in rows:
        for key in (c.name.strip().lower(), column_name(c.name)):
            if key and key not in found:
                found[key] = (c.pk, c.is_active)
    return found


def check_row(line: int, values: dict[str, str], carriers: dict[str, tuple[int, bool]]) -> _Row:
    """A valid row, or ValueError with the reason."""
    code = (values.get("carrier_code") or "").strip().lower()
    if code and code not in carriers:
        code = column_name(code)
    if not code:
        raise ValueError("carrier_code is empty")
    if code not in carriers:
        raise ValueError(f"unknown carrier code {code!r}")
    carrier_id, active = carriers[code]
    if not active:
        raise ValueError(f"the carrier {code} is disabled")
    try:
        number = validate_tracking_number(values.get("tracking_number", ""))
    except TrackingInputError as exc:
        raise ValueError(str(exc)) from None
    cleaned = {k: (values.get(k) or "").strip() for k in ("reference", "customer_name")}
    cleaned["customer_postcode"] = (values.get("customer_postcode") or "").strip().upper()
    email = (values.get("customer_email") or "").strip()
    cleaned["customer_email"] = email
    cleaned["customer_postcode"] = tidy_postcode(values.get("customer_postcode") or "")
    for name, limit in _LIMITS.items():
        value = cleaned[name]
        if len(value) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(f"customer_email {email[:60]!r} is not an e-mail address") from None
    return _Row(
        line,
        carrier_id,
        number,
        cleaned["reference"],
        cleaned["customer_name"],
        email,
        cleaned["customer_postcode"],
    )


# --------------------------------------------------------------------------------------------
# Importing
# --------------------------------------------------------------------------------------------
def import_csv(
    *,
    path: Path,
    job: ImportJob | None = None,
    enqueue: Callable[[list[scheduling.Claim]], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Callable[[ImportReport], None] | None = None,
    report: ImportReport | None = None,
    after_line: int = 0,
) -> ImportReport:
    """Import a CSV file. Good rows are stored even when other rows are bad (each bad one is
    reported with its line and why); an unusable file stops with `report.fatal` set, keeping what
    was stored before that point. Each chunk is stored with the job's progress and the last line
    it covered in one transaction, so a run that dies is resumed after that line (`after_line`,
    counting on from `report`). With `enqueue`, the new packages are queued for their first
    fetch (services/scheduling.py, as far as the refresh queue has room; the scheduler takes the
    rest first) and the claims handed to it (tasks.py queues them); without it they are not
    fetched now but on the normal schedule for new packages (REFRESH_MINUTES_NEVER_FETCHED)."""
    report = report or ImportReport()
    carriers = carrier_lookup()
    first_check = None
    if enqueue is None:
        first_check = timezone.now() + timedelta(minutes=settings.REFRESH_INTERVALS[""])
    seen: set[tuple[int, str]] = set()
    try:
        for chunk in _chunks(iter_rows(path, after_line=after_line), chunk_rows):
            errors: list[ImportRowError] = []
            good: list[_Row] = []
            for line, values in chunk:
                report.total_rows += 1
                if isinstance(values, str):
                    errors.append(_error(job, line, "", values))
                    continue
                try:
                    row = check_row(line, values, carriers)
                except ValueError as exc:
                    errors.append(_error(job, line, values.get("tracking_number", ""), str(exc)))
                    continue
                key = (row.carrier_id, row.number)
                if key in seen:
                    report.duplicates += 1
                    continue
                seen.add(key)
                good.append(row)
            new_ids = _store(
                good, job, errors, report, last_line=chunk[-1][0], first_check=first_check
            )
            if enqueue is not None and new_ids:
                enqueue(scheduling.claim(new_ids, reason=scheduling.IMPORT))
            if on_progress is not None:
                on_progress(report)
    except ImportFileError as exc:
        report.fatal = str(exc)
    return report


def _error(job: ImportJob | None, line: int, number: str, message: str) -> ImportRowError:
    return ImportRowError(job=job, line=line, tracking_number=number[:100], message=message[:500])


def _store(
    rows: list[_Row],
    job: ImportJob | None,
    errors: list[ImportRowError],
    report: ImportReport,
    *,
    last_line: int,
    first_check: Any = None,
) -> list[int]:
    report.errors += len(errors)
    with transaction.atomic():
        if job is not None and errors:
            ImportRowError.objects.bulk_create(errors, batch_size=500)
        created = _store_rows(rows, job, report, first_check) if rows else []
        if job is not None:
            _save_progress(job, report, last_line)
    return created


def _store_rows(
    rows: list[_Row], job: ImportJob | None, report: ImportReport, first_check: Any
) -> list[int]:
    numbers = {r.number for r in rows}
    existing = set(
        Shipment.objects.filter(tracking_number__in=numbers).values_list(
            "carrier_id", "tracking_number"
        )
    )
    fresh = [r for r in rows if (r.carrier_id, r.number) not in existing]
    report.duplicates += len(rows) - len(fresh)
    _insert_shipments(fresh, first_check)
    wanted = {(r.carrier_id, r.number) for r in fresh}
    created = [
        pk
        for pk, carrier_id, number in Shipment.objects.filter(
            tracking_number__in={r.number for r in fresh}
        ).values_list("pk", "carrier_id", "tracking_number")
        if (carrier_id, number) in wanted
    ]
    report.duplicates += len(fresh) - len(created)
    report.imported += len(created)
    if first_check is None:
        report.fetches_enqueued += len(created)  # each is fetched first thing (scheduling)
    record_created(created)
    if job is not None and created:
        ImportItem.objects.bulk_create(
            [ImportItem(job=job, shipment_id=pk) for pk in created], batch_size=500
        )
    return created


def _insert_shipments(rows: list[_Row], first_check: Any = None) -> None:
    shipment_rows.insert_new(
        [
            {
                "carrier": r.carrier_id,
                "tracking_number": r.number,
                "reference": r.reference,
                "customer_name": r.customer_name,
                "customer_email": r.customer_email,
                "customer_postcode": r.customer_postcode,
                "public_token": new_public_token(),
            }
            for r in rows
        ],
        first_check=first_check,  # "fetch" off: polled on the normal schedule, not now
    )


def _save_progress(job: ImportJob, report: ImportReport, last_line: int) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        rows_processed=report.total_rows,
        imported=report.imported,
        duplicates=report.duplicates,
        error_count=report.errors,
        fetches_enqueued=report.fetches_enqueued,
        resume_line=last_line,
        heartbeat_at=timezone.now(),
    )
