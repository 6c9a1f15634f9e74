from django.core.management.base import BaseCommand

from tracking.services import search_index


class Command(BaseCommand):
    help = (
        "Refill what the staff search and list read besides the shipments: the places of the "
        "stored events, the status tallies and (SQLite) the search table. Idempotent: after a "
        "bulk load that bypassed the app, or after deploying migration 0012 while old "
        "processes were still storing events."
    )

    def handle(self, *args: object, **opts: object) -> None:
        counts = search_index.rebuild()
        self.stdout.write(
            f"{counts['places']} places, {counts['links']} shipment-place links, "
            f"{counts['tallies']} tally rows."
        )
