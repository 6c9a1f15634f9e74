from django.core.management.base import CommandError

from tracking.services import carriers
from tracking.shipengine import ShipEngineError

from ._quiet import QuietCommand


class Command(QuietCommand):
    help = "Read GET /v1/carriers: update known carriers, add new ones, delete none."

    def handle(self, *args: object, **opts: object) -> None:
        try:
            report = carriers.sync_carriers()
        except ShipEngineError as exc:
            raise CommandError(f"ShipEngine: {exc.one_line()}") from None
        self.stdout.write(report.summary())
        if report.errors:
            # A 207: what arrived was stored, but the account reported problems.
            raise CommandError("Carrier sync was partial; see the errors above.")
