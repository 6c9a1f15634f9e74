"""`db_worker` plus the refresh scheduler, a heartbeat and a clean stop, in one process.

Every `refresh_schedule` seconds a thread queues the due refreshes (tasks.enqueue_due: safe in
several workers at once, a shipment is never queued twice), hands on the tasks of workers that
died (tasks.reap_lost_tasks), prunes, finishes fetched imports and dispatches the outbox; then
the worker runs tasks as `db_worker` does. All of db_worker's options work here too.

Heartbeat: every WORKER_HEARTBEAT_SECONDS the process writes its row (services/workers.py), so
that when it is killed (SIGKILL, a crash) its running task is handed to another worker instead of
staying RUNNING forever.

SIGTERM/SIGINT: every wait ends at once (services/stopping.py), the task in hand finishes or gives
its remaining shipments back to the queue, and if it has not returned after
WORKER_STOP_GRACE_SECONDS (an answer still on its way) the task is made READY again for another
worker and the process exits; an interrupted ingest's transaction is rolled back, so nothing is
half stored.
"""

import logging
import os
import threading
from argparse import ArgumentParser
from types import FrameType

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from tracking import tasks
from tracking.services import housekeeping, import_jobs, outbox, stopping, workers

logger = logging.getLogger("shiptrack.scheduler")


def _schedule_forever(every: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            tasks.reap_lost_tasks()
            tasks.enqueue_due()
            housekeeping.housekeeping()
            workers.prune()
            import_jobs.finish_fetched_jobs()
            outbox.dispatch()  # whatever a crashed process left undispatched
            tasks.enqueue_webhook_sends()  # retries that came due since the last sweep
            tasks.enqueue_notification_sends()  # e-mail retries likewise
            tasks.sweep_analytics()  # history, quiet parcels, estimates time has changed
        except Exception:  # the next run tries again; a worker must not die of a bad minute
            logger.exception("refresh scheduler run failed")
        finally:
            close_old_connections()
        stop.wait(every)


def _beat_forever(worker_id: str, every: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            workers.beat(worker_id)
        except Exception:
            logger.exception("worker heartbeat failed")
        finally:
            connection.close()
        stop.wait(every)


class ShiptrackWorker(Worker):
    """db_worker's loop, knowing its task in hand so that a stop can release it."""

    current: str | None = None

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self.current = str(db_task_result.pk)
        try:
            super().run_task(db_task_result)
        finally:
            self.current = None

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        stopping.request_stop()
        if self.running and self.running_task:
            threading.Thread(target=self._watchdog, daemon=True, name="stop-watchdog").start()
        super().shutdown(signum, frame)

    def _watchdog(self) -> None:
        stopping_at = settings.WORKER_STOP_GRACE_SECONDS
        done = threading.Event()
        done.wait(stopping_at)
        task_id = self.current
        if not self.running_task or task_id is None:
            return
        try:
            released = tasks.release_running(task_id)
            workers.forget(self.worker_id)
        finally:
            connection.close()
        logger.warning(
            "stopping: task %s did not finish in %gs; %s",
            task_id,
            stopping_at,
            "handed back to the queue" if released else "already finished",
        )
        os._exit(0)


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
        reload = options.get("reload") and not options.get("batch")
        if reload and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            every = 0
        if every and every > 0:
            threading.Thread(
                target=_schedule_forever, args=(float(every), stop), daemon=True, name="scheduler"
            ).start()
        try:
            if reload:
                return super().handle(*args, **options)
            return self._run(**options)
        finally:
            stop.set()

    def _run(self, **options):  # type: ignore[no-untyped-def]
        """db_worker's handle() with ShiptrackWorker, a heartbeat and a clean stop."""
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        exclude = options["exclude_queues"]
        worker = ShiptrackWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=exclude.split(",") if exclude else [],
        )
        beating = threading.Event()
        threading.Thread(
            target=_beat_forever,
            args=(worker.worker_id, float(settings.WORKER_HEARTBEAT_SECONDS), beating),
            daemon=True,
            name="heartbeat",
        ).start()
        worker.configure_signals()
        try:
            worker.run()
        finally:
            beating.set()
            try:
                workers.forget(worker.worker_id)
            except Exception:
                logger.exception("could not remove the worker's heartbeat")
