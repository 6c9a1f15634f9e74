from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from tracking import tasks
from tracking.services import csv_export, import_jobs

from ._quiet import QuietCommand


class Command(QuietCommand):
    help = (
        "Import shipments from a CSV file (carrier_code, tracking_number, reference, "
        "customer_name, customer_email). Good rows are stored, duplicates skipped, bad rows "
        "reported with their line numbers; a fetch is queued for every new package."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--no-fetch",
            action="store_true",
            help="queue no fetches now (the scheduler picks the new packages up when due)",
        )
        parser.add_argument("--errors-csv", help="write every row error to this CSV file")

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["file"]))
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        job = import_jobs.job_for_file(path, fetch=not options.get("no_fetch"))
        job = import_jobs.run_job(job_id=job.pk, enqueue=tasks.enqueue_import_fetches)
        errors = list(job.row_errors.order_by("line")[:20])
        for e in errors:
            self.stderr.write(f"line {e.line}: {e.message}")
        if job.error_count > len(errors):
            self.stderr.write(f"... and {job.error_count - len(errors)} more row errors")
        if options.get("errors_csv"):
            with Path(str(options["errors_csv"])).open("w", newline="") as fh:
                for line in csv_export.error_report_lines(job):
                    fh.write(line)
        if job.state == job.State.FAILED:
            raise CommandError(job.message)
        # Bad rows are reported above; they do not make the run fail (the good rows are in).
        self.stdout.write(job.message)
