"""Import jobs: the staff upload (or `import_shipments`) becomes a job that a task runs; its
progress is what the staff page polls."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from ..models import ImportJob
from .csv_import import ImportReport, count_rows, import_csv


def save_upload(upload: Any, *, user: Any = None, fetch: bool = True) -> ImportJob:
    """Copy an uploaded file (streamed in chunks) to IMPORT_DIR and create its job."""
    directory = Path(settings.IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{uuid.uuid4().hex}.csv"
    with target.open("wb") as out:
        for piece in upload.chunks():
            out.write(piece)
    name = Path(str(getattr(upload, "name", "") or "upload.csv")).name[:255]
    return ImportJob.objects.create(
        created_by=user if getattr(user, "is_authenticated", False) else None,
        file_name=name,
        file_path=str(target),
        fetch=fetch,
    )


def job_for_file(path: Path, *, fetch: bool = True) -> ImportJob:
    """A job for a file on disk (the import_shipments command): the file is copied first."""
    directory = Path(settings.IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{uuid.uuid4().hex}.csv"
    shutil.copyfile(path, target)
    return ImportJob.objects.create(file_name=path.name[:255], file_path=str(target), fetch=fetch)


def run_job(*, job_id: int, enqueue: Callable[[list[Any]], None] | None = None) -> ImportJob:
    """Run an import job (called by the run_import task). Never raises for bad input: the
    job records what happened. `enqueue` queues the fetches of new packages (when the job asks
    for them). A job that was interrupted (its worker died: tasks.reap_lost_tasks hands the task
    on) resumes after the last line it committed, with its counts kept."""
    job = ImportJob.objects.get(pk=job_id)
    if job.state not in {ImportJob.State.QUEUED, ImportJob.State.IMPORTING}:
        return job  # already run (a task delivered twice)
    path = Path(job.file_path)
    if not path.exists():
        _finish(job, ImportJob.State.FAILED, "The uploaded file is gone from the import folder.")
        return job
    total = job.total_rows or count_rows(path)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.IMPORTING,
        total_rows=total,
        attempts=job.attempts + 1,
        heartbeat_at=timezone.now(),
        message="",
    )
    job.state = ImportJob.State.IMPORTING
    resumed = ImportReport(
        total_rows=job.rows_processed,
        imported=job.imported,
        duplicates=job.duplicates,
        errors=job.error_count,
        fetches_enqueued=job.fetches_enqueued,
    )
    try:
        report = import_csv(
            path=path,
            job=job,
            enqueue=enqueue if job.fetch else None,
            report=resumed,
            after_line=job.resume_line,
        )
    except Exception as exc:  # recorded for the staff page, then re-raised for the task log
        _finish(job, ImportJob.State.FAILED, f"The import stopped: {exc}")
        raise
    ImportJob.objects.filter(pk=job.pk).update(total_rows=max(total, report.total_rows))
    if report.fatal:
        _finish(job, ImportJob.State.FAILED, report.fatal)
    elif job.fetch and report.fetches_enqueued:
        _finish(job, ImportJob.State.FETCHING, report.summary(), finished=False)
    else:
        _finish(job, ImportJob.State.DONE, report.summary())
    path.unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def mark_interrupted(*, job_id: int) -> None:
    """The job's task was lost too often (tasks.reap_lost_tasks): failed, with what it did, and
    the staff page offers "Retry", which resumes after the last committed line."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.state not in {ImportJob.State.QUEUED, ImportJob.State.IMPORTING}:
        return
    _finish(
        job,
        ImportJob.State.FAILED,
        f"The import was interrupted {job.attempts} times (the worker running it stopped). "
        f"{job.imported} rows were imported, up to line {job.resume_line}; "
        "Retry goes on from there.",
    )


def orphaned(*, task_alive: Callable[[str], bool], now: Any = None) -> int:
    """Jobs IMPORTING with no progress for IMPORT_STALE_MINUTES whose task is neither waiting
    nor running (pruned, or a backend that lost it): failed with Retry. Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.IMPORT_STALE_MINUTES)
    stale = ImportJob.objects.filter(state=ImportJob.State.IMPORTING, heartbeat_at__lt=cutoff)
    count = 0
    for job in stale:
        if job.task_result_id and task_alive(job.task_result_id):
            continue
        mark_interrupted(job_id=job.pk)
        count += 1
    return count


def can_retry(job: ImportJob) -> bool:
    return job.state == ImportJob.State.FAILED and Path(job.file_path).exists()


def retry(*, job_id: int) -> ImportJob:
    """Queue a failed job again (the view then enqueues its task): it resumes after the last
    committed line; nothing imported is imported twice."""
    job = ImportJob.objects.get(pk=job_id)
    if can_retry(job):
        ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.FAILED).update(
            state=ImportJob.State.QUEUED, attempts=0, finished_at=None, message=""
        )
        job.refresh_from_db()
    return job


def _finish(job: ImportJob, state: str, message: str, *, finished: bool = True) -> None:
    changes: dict[str, Any] = {"state": state, "message": message}
    if finished:
        changes["finished_at"] = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(**changes)
    for k, v in changes.items():
        setattr(job, k, v)


@dataclass(frozen=True)
class Progress:
    state: str
    state_label: str
    total_rows: int
    rows_processed: int
    fetched: int
    to_fetch: int
    finished: bool
    failed_fetches: int = 0

    @property
    def rows_percent(self) -> int:
        return int(100 * self.rows_processed / self.total_rows) if self.total_rows else 100

    @property
    def fetch_percent(self) -> int:
        return int(100 * self.fetched / self.to_fetch) if self.to_fetch else 100


def _fetched(job: ImportJob) -> int:
    return job.items.filter(shipment__last_checked_at__gte=job.created_at).count()


def _failed_fetches(job: ImportJob) -> int:
    return job.items.filter(
        shipment__last_checked_at__gte=job.created_at, shipment__consecutive_failures__gt=0
    ).count()


def job_progress(job: ImportJob) -> Progress:
    """Where a job is (read-only: a fetching job whose packages have all been fetched reads as
    done; finish_fetched_jobs() records it)."""
    fetched = failed = 0
    if job.state in {ImportJob.State.FETCHING, ImportJob.State.DONE} and job.fetches_enqueued:
        fetched = _fetched(job)
        failed = _failed_fetches(job) if fetched else 0
    state = job.state
    if state == ImportJob.State.FETCHING and fetched >= job.fetches_enqueued:
        state = ImportJob.State.DONE
    return Progress(
        state=state,
        state_label=str(ImportJob.State(state).label),
        total_rows=job.total_rows,
        rows_processed=job.rows_processed,
        fetched=fetched,
        to_fetch=job.fetches_enqueued,
        finished=state in {ImportJob.State.DONE, ImportJob.State.FAILED},
        failed_fetches=failed,
    )


def finish_fetched_jobs() -> int:
    """Mark done the fetching jobs whose packages have all been fetched (the scheduler's tick)."""
    done = 0
    for job in ImportJob.objects.filter(state=ImportJob.State.FETCHING):
        if _fetched(job) >= job.fetches_enqueued:
            done += ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.FETCHING).update(
                state=ImportJob.State.DONE, finished_at=timezone.now()
            )
    return done
