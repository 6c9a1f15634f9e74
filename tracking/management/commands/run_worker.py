"""`db_worker` plus the refresh scheduler in the same process.

Every `refresh_schedule` seconds a thread queues the due refreshes (tasks.enqueue_due, which
is safe to run in several workers at once: a shipment is never queued twice), then the worker runs
tasks as `db_worker` does. All of db_worker's options work here too.
"""

import logging
import os
import threading
from argparse import ArgumentParser

from django.conf import settings
from django.db import close_old_connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from tracking import tasks
from tracking.services import housekeeping, import_jobs, outbox

logger = logging.getLogger("shiptrack.scheduler")


def _schedule_forever(every: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            tasks.enqueue_due()
            housekeeping.housekeeping()
            import_jobs.finish_fetched_jobs()
            outbox.dispatch()  # whatever a crashed process left undispatched
            tasks.enqueue_webhook_sends()  # retries that came due since the last sweep
            tasks.sweep_analytics()  # history, quiet parcels, estimates time has changed
        except Exception:  # the next run tries again; a worker must not die of a bad minute
            logger.exception("refresh scheduler run failed")
        finally:
            close_old_connections()
        stop.wait(every)


class Command(DbWorkerCommand):
    help = "Run a background worker (db_worker) that also queues due refreshes periodically."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--refresh-schedule",
            type=float,
            default=None,
            help="seconds between scheduler runs (default REFRESH_SCHEDULE_SECONDS; 0 = none)",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        every = options.pop("refresh_schedule")
        every = settings.REFRESH_SCHEDULE_SECONDS if every is None else every
        stop = threading.Event()
        # With --reload the first process only watches files and restarts the real worker: the
        # scheduler runs in that child (DJANGO_AUTORELOAD_ENV set), not in both.
        watcher = options.get("reload") and not options.get("batch")
        if watcher and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            every = 0
        if every and every > 0:
            thread = threading.Thread(
                target=_schedule_forever, args=(float(every), stop), daemon=True, name="scheduler"
            )
            thread.start()
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
