from django.core.management.base import CommandError

from tracking import services
from tracking.management.commands._quiet import QuietCommand
from tracking.shipengine import ShipEngineError


class Command(QuietCommand):
    help = "Read GET /v1/carriers: update known carriers, add new ones, delete none."

    def handle(self, *args: object, **opts: object) -> None:
        try:
            report = services.sync_carriers()
        except ShipEngineError as exc:
            raise CommandError(f"ShipEngine: {exc.one_line()}") from None
        self.stdout.write(report.summary())
        if report.errors:
            # A 207: what arrived was stored, but the account reported problems.
            raise CommandError("Carrier sync was partial; see the errors above.")
