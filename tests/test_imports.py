"""Bulk CSV import (service, command, staff pages with progress) and CSV export."""

import csv
import io
import tracemalloc
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from tracking import tasks
from tracking.models import Carrier, ImportJob, ImportRowError, Shipment
from tracking.services import csv_import, import_jobs
from tracking.services.csv_export import spreadsheet_safe

HEADER = "carrier_code,tracking_number,reference,customer_name,customer_email\n"


def import_csv(*, path: Path, fetch: bool = True, **options) -> csv_import.ImportReport:
    """An import as the task runs it: row errors stored on a job, fetches queued by tasks.py."""
    job = ImportJob.objects.create(file_name=path.name, file_path=str(path), fetch=fetch)
    enqueue = tasks.enqueue_import_fetches if fetch else None
    report = csv_import.import_csv(path=path, job=job, enqueue=enqueue, **options)
    report.job = job  # type: ignore[attr-defined]
    return report


def row_errors(report: csv_import.ImportReport) -> list[tuple[int, str]]:
    job = report.job  # type: ignore[attr-defined]
    return [(e.line, e.message) for e in ImportRowError.objects.filter(job=job).order_by("line")]


def queued(callbacks) -> list:
    """The on-commit callbacks that queue tasks (the outbox's dispatch runs on commit too)."""
    return [c for c in callbacks if "enqueue" in c.__qualname__]


def write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# -- service ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_rows_are_checked_imported_and_duplicates_skipped(
    tmp_path, django_capture_on_commit_callbacks
):
    Shipment.objects.create(
        carrier=Carrier.objects.get(code="ups"), tracking_number="1Z12345E0205271688"
    )
    text = HEADER + (
        "ups,1Z999AA10123456784,ORDER-1,Ada Lovelace,ada@example.com\n"  # 2 good
        "FedEx, 7946 9843 2183 ,ORDER-2,,\n"  # 3 good (code and number normalised)
        "ups,1z999aa10123456784,ORDER-1b,,\n"  # 4 duplicate within the file
        "ups,1Z12345E0205271688,,,\n"  # 5 duplicate of a stored package
        "nosuch,123456789,,,\n"  # 6 unknown carrier
        ",123456789,,,\n"  # 7 no carrier
        "ups,,,,\n"  # 8 no number
        "ups,NOT VALID!,,,\n"  # 9 bad characters
        "ups,ABCDEF123,,,not-an-email\n"  # 10 bad e-mail
        f"ups,ABCDEF124,{'R' * 101},,\n"  # 11 reference too long
        "\n"  # blank line: ignored
        "ups,ABCDEF125,,,,extra\n"  # 13 too many cells
        "ups,ABCDEF126\n"  # 14 short row: optional cells empty -> good
    )
    with django_capture_on_commit_callbacks() as callbacks:
        report = import_csv(path=write(tmp_path, text))
    assert (report.total_rows, report.imported, report.duplicates, report.errors) == (12, 3, 2, 7)
    assert [line for line, _ in row_errors(report)] == [6, 7, 8, 9, 10, 11, 13]
    messages = dict(row_errors(report))
    assert "unknown carrier code 'nosuch'" in messages[6]
    assert "e-mail" in messages[10]
    assert "longer than 100" in messages[11]
    assert "6 cells" in messages[13]
    ada = Shipment.objects.get(tracking_number="1Z999AA10123456784")
    assert (ada.reference, ada.customer_name, ada.customer_email) == (
        "ORDER-1",
        "Ada Lovelace",
        "ada@example.com",
    )
    assert Shipment.objects.filter(tracking_number="794698432183", carrier__code="fedex").exists()
    assert report.fetches_enqueued == 3
    assert len(queued(callbacks)) == 1  # one enqueue for the chunk's fetches
    assert Shipment.objects.filter(queued_refresh__isnull=False).count() == 3


@pytest.mark.django_db
def test_fetches_run_for_new_packages(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = import_csv(
            path=write(tmp_path, HEADER + "fedex,794698432183,,,\nups,FAULT-500,,,\n")
        )
    assert report.imported == 2
    fetched = Shipment.objects.get(tracking_number="794698432183")
    assert fetched.status_code == "IT" and fetched.events.exists()
    failed = Shipment.objects.get(tracking_number="FAULT-500")
    assert failed.consecutive_failures == 1 and not hasattr(failed, "queued_refresh")


@pytest.mark.django_db
def test_no_fetch_queues_nothing(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        report = import_csv(path=write(tmp_path, HEADER + "fedex,794698432183,,,\n"), fetch=False)
    assert report.imported == 1 and report.fetches_enqueued == 0 and queued(callbacks) == []


@pytest.mark.django_db
def test_disabled_carrier_rows_are_errors(tmp_path):
    Carrier.objects.filter(code="ups").update(is_active=False)
    report = import_csv(path=write(tmp_path, HEADER + "ups,1Z999AA10123456784,,,\n"), fetch=False)
    assert report.errors == 1 and "disabled" in row_errors(report)[0][1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"tracking_number,reference\n123456789,x\n", "missing: carrier_code"),
        (b"\xff\xfe\x00c\x00a\x00r", "not UTF-8"),
    ],
)
def test_unusable_files_stop_with_a_clear_message(tmp_path, content, message):
    report = import_csv(path=write(tmp_path, content), fetch=False)
    assert message in report.fatal
    assert not Shipment.objects.exists()


@pytest.mark.django_db
def test_a_line_that_is_not_utf8_is_a_row_error_and_every_good_row_is_kept(tmp_path):
    # UTF-8 names beside the bad line: the file is UTF-8 (not Windows-1252), the line refused.
    good = "".join(f"ups,GOODROW{i:04d},,Zoë,\n" for i in range(5))
    path = write(tmp_path, HEADER.encode() + good.encode() + b"ups,BAD\xff\xfe,,,\n")
    report = import_csv(path=path, fetch=False, chunk_rows=2)
    assert report.fatal == ""
    assert Shipment.objects.filter(tracking_number__startswith="GOODROW").count() == 5
    assert [(line, "not UTF-8" in message) for line, message in row_errors(report)] == [(7, True)]


@pytest.mark.django_db
def test_header_is_case_and_order_insensitive_and_bom_tolerant(tmp_path):
    text = "\ufeffTracking Number,Carrier_Code,Other\n1Z999AA10123456784,ups,ignored\n"
    report = import_csv(path=write(tmp_path, text), fetch=False)
    assert report.imported == 1 and report.errors == 0


@pytest.mark.slow
@pytest.mark.django_db
def test_100000_rows_import_within_memory(tmp_path):
    """A 100,000-row file is streamed: the import's peak Python memory stays far below the size of
    the rows as objects (the file itself is ~5 MB)."""
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write(HEADER)
        for i in range(100_000):
            fh.write(f"fedex,BULK{i:08d},REF-{i},Customer {i},c{i}@example.com\n")
        fh.write("fedex,BULK00000007,,,\n")  # a duplicate at the very end
    tracemalloc.start()
    try:
        report = import_csv(path=path, fetch=False, chunk_rows=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (report.imported, report.duplicates, report.errors) == (100_000, 1, 0)
    assert Shipment.objects.count() == 100_000
    assert peak < 40_000_000, f"peak {peak / 1e6:.1f} MB"


# -- jobs and the command -----------------------------------------------------------------------
@pytest.mark.django_db
def test_job_records_progress_errors_and_finishes(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    job = import_jobs.job_for_file(write(tmp_path, HEADER + "fedex,794698432183,,,\nups,???,,,\n"))
    with django_capture_on_commit_callbacks(execute=True):
        job = import_jobs.run_job(job_id=job.pk, enqueue=tasks.enqueue_import_fetches)
    assert job.state == ImportJob.State.FETCHING
    assert (job.total_rows, job.rows_processed, job.imported, job.error_count) == (2, 2, 1, 1)
    assert ImportRowError.objects.get(job=job).line == 3
    assert not Path(job.file_path).exists()  # the copy is removed once read
    progress = import_jobs.job_progress(job)
    assert (progress.fetched, progress.to_fetch, progress.finished) == (1, 1, True)
    job.refresh_from_db()
    assert job.state == ImportJob.State.FETCHING  # reading the progress writes nothing
    assert import_jobs.finish_fetched_jobs() == 1
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.finished_at
    assert import_jobs.run_job(job_id=job.pk).imported == 1  # a second delivery of the task: no-op


@pytest.mark.django_db
def test_job_whose_file_is_gone_fails(tmp_path):
    job = ImportJob.objects.create(file_name="x.csv", file_path=str(tmp_path / "gone.csv"))
    job = import_jobs.run_job(job_id=job.pk)
    assert job.state == ImportJob.State.FAILED and "gone" in job.message


@pytest.mark.django_db
def test_import_command(tmp_path, capsys, django_capture_on_commit_callbacks):
    errors_csv = tmp_path / "errors.csv"
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_shipments",
            str(write(tmp_path, HEADER + "fedex,794698432183,,,\nups,???,,,\n")),
            "--errors-csv",
            str(errors_csv),
        )
    out, err = capsys.readouterr()
    assert "2 rows: 1 imported, 0 duplicates skipped, 1 with errors; 1 fetches queued" in out
    assert "line 3:" in err
    assert list(csv.reader(errors_csv.open()))[1][0] == "3"
    with pytest.raises(CommandError, match="missing: carrier_code"):
        call_command("import_shipments", str(write(tmp_path, "a,b\n1,2\n", "bad.csv")))
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_shipments", str(tmp_path / "nope.csv"))


# -- staff pages --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_pages_are_staff_only(client):
    for url in (reverse("staff:import"), reverse("staff:export")):
        response = client.get(url)
        assert response.status_code == 302 and reverse("staff:login") in response["Location"]
    user = get_user_model().objects.create_user("cust", password="pw-1234567")
    client.force_login(user)
    assert client.get(reverse("staff:import")).status_code == 403
    assert client.get(reverse("staff:export")).status_code == 403


@pytest.mark.django_db
def test_upload_runs_the_import_and_shows_progress(
    staff_client, django_capture_on_commit_callbacks
):
    page = staff_client.get(reverse("staff:import"))
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    upload = SimpleUploadedFile(
        "orders.csv",
        (HEADER + "fedex,794698432183,A-1,,\nups,bad number!,,,\n").encode(),
        "text/csv",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("staff:import"), {"file": upload, "fetch": "on"})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:import_status", args=[job.pk])
    assert job.task_result_id
    status = staff_client.get(response["Location"])
    assert status.status_code == 200
    html = status.content.decode()
    assert "<progress" in html and 'id="rows-progress"' in html
    assert "bad number!" in html  # the row error is listed
    assert "hx-trigger" not in html  # finished: polling stops
    fragment = staff_client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content and b'id="import-progress"' in fragment.content
    report = staff_client.get(response["Location"] + "?format=csv")
    assert report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["line", "tracking_number", "error"] and rows[1][0] == "3"


@pytest.mark.django_db
def test_running_import_page_polls(staff_client):
    job = ImportJob.objects.create(
        file_name="x.csv",
        file_path="/nonexistent",
        state="importing",
        total_rows=10,
        rows_processed=4,
    )
    fragment = staff_client.get(
        reverse("staff:import_status", args=[job.pk]), HTTP_HX_REQUEST="true"
    )
    html = fragment.content.decode()
    assert 'hx-trigger="every 2s"' in html and 'value="40"' in html
    assert staff_client.get(reverse("staff:import_status", args=[999])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("orders.xlsx", b"carrier_code,tracking_number\n", "Choose a .csv file"),
        ("orders.csv", b"", "empty"),
        ("orders.csv", b"number,ref\n1,2\n", "missing: carrier_code"),
        ("orders.csv", b"\xff\xfe\xff\n", "UTF-8"),
    ],
)
def test_bad_uploads_are_refused_on_the_form(staff_client, name, content, message):
    response = staff_client.post(
        reverse("staff:import"), {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_oversized_upload_is_refused(staff_client, settings):
    settings.IMPORT_MAX_BYTES = 10
    response = staff_client.post(
        reverse("staff:import"), {"file": SimpleUploadedFile("a.csv", HEADER.encode())}
    )
    assert response.status_code == 400 and not ImportJob.objects.exists()


@pytest.mark.django_db
def test_export_of_the_current_search_round_trips(staff_client, tmp_path):
    ups = Carrier.objects.get(code="ups")
    Shipment.objects.create(
        carrier=ups,
        tracking_number="1Z999AA10123456784",
        reference="=HYPERLINK(1)",
        customer_name="Ada",
    )
    Shipment.objects.create(carrier=ups, tracking_number="1Z12345E0205271688", reference="OTHER")
    response = staff_client.get(reverse("staff:export"), {"q": "1Z999AA"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="shipments-')
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][: len(csv_import.COLUMNS)] == list(csv_import.COLUMNS)
    assert [r[1] for r in rows[1:]] == ["1Z999AA10123456784"]
    assert rows[1][2] == "'=HYPERLINK(1)"  # a spreadsheet will not run it
    # What was exported imports again (as duplicates here).
    report = import_csv(path=write(tmp_path, text), fetch=False)
    assert (report.errors, report.duplicates) == (0, 1)


def test_spreadsheet_safe():
    assert spreadsheet_safe("=1+1") == "'=1+1"
    assert spreadsheet_safe("@SUM") == "'@SUM"
    assert spreadsheet_safe("plain") == "plain"
    assert spreadsheet_safe(None) == ""
