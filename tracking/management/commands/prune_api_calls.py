from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking.models import ApiCall
from tracking.services import housekeeping


class Command(BaseCommand):
    help = (
        "Delete recorded ShipEngine calls (API health) older than API_CALL_RETENTION_DAYS, "
        "or --days N."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"keep this many days (default: API_CALL_RETENTION_DAYS, now {settings.API_CALL_RETENTION_DAYS})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be deleted"
        )

    def handle(self, *args: object, **opts: object) -> None:
        days = opts["days"]
        if days is None:
            days = settings.API_CALL_RETENTION_DAYS
        if not isinstance(days, int) or days < 0:
            raise CommandError("--days must be 0 or more.")
        if opts["dry_run"]:
            count = ApiCall.objects.older_than(days).count()
            self.stdout.write(f"{count} API call records older than {days} days would be deleted.")
            return
        deleted = housekeeping.prune_api_calls(days=days)
        self.stdout.write(f"{deleted} API call records older than {days} days deleted.")
