from django.core.management.base import CommandParser

from tracking import tasks
from tracking.services import housekeeping, outbox

from ._quiet import QuietCommand


class Command(QuietCommand):
    help = (
        "Queue a refresh for every shipment that is due and the webhook sends that came due (for "
        "cron; safe to run while workers and other schedulers run). Workers run what is queued."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=None, help="queue at most this many (REFRESH_BATCH_SIZE)"
        )

    def handle(self, *args: object, **options: object) -> None:
        limit = options.get("limit")
        queued = tasks.enqueue_due(limit=int(limit) if limit is not None else None)  # type: ignore[call-overload]
        cleaned = housekeeping.housekeeping()
        # The same sweep as run_worker's scheduler: what a crashed process left in the outbox,
        # and webhook retries that came due (a cron-only setup has no other clock for them).
        outbox.dispatch()
        tasks.enqueue_webhook_sends()
        tasks.enqueue_notification_sends()
        tasks.sweep_analytics()
        self.stdout.write(
            f"{queued} refreshes queued; removed {cleaned['webhook_receipts']} old webhook "
            f"receipts and {cleaned['api_calls']} old API-call records."
        )
