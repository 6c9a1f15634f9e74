"""Recompute the analytics from the raw tables: the backfill after upgrading, and the check.

manage.py rebuild_analytics                 # every shipment's facts and rollups, applied as
                                            # differences (safe while workers run), then the
                                            # history, our estimates and the quiet count
manage.py rebuild_analytics --from-scratch  # empty the rollups first
manage.py rebuild_analytics --check         # compare the carrier-wide rollups with the raw
                                            # tables; exit 1 on a difference; writes nothing
"""

from __future__ import annotations

import time

from django.core.management.base import CommandError, CommandParser

from tracking.services import analytics, analytics_refresh

from ._quiet import QuietCommand


class Command(QuietCommand):
    help = (
        "Recompute the analytics rollups, the lane history, our delivery estimates and the quiet "
        "count from the shipments and events (--check: compare only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-scratch", action="store_true", help="empty the rollups and facts first"
        )
        parser.add_argument(
            "--check", action="store_true", help="compare with the raw tables, write nothing"
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["check"]:
            found = analytics.check()
            for (metric, day, carrier_id, key), (stored, raw) in found.differences.items():
                self.stdout.write(
                    f"{metric} {day} carrier {carrier_id} {key!r}: stored {stored}, raw {raw}"
                )
            if found.different:
                raise CommandError(
                    f"{found.different} of {found.rows} carrier-wide rollup rows differ from the "
                    f"raw tables ({found.shipments} shipments); run rebuild_analytics to fix them."
                )
            self.stdout.write(
                f"The rollups match the raw tables: {found.rows} carrier-wide rows, "
                f"{found.shipments} shipments."
            )
            return
        started = time.monotonic()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] > 10:
                last[0] = time.monotonic()
                self.stdout.write(f"  {done:,} of {total:,} shipment ids")

        report = analytics_refresh.rebuild_all(
            from_scratch=bool(options["from_scratch"]), progress=progress
        )
        tidied = analytics_refresh.tidy_after_rebuild()
        self.stdout.write(
            f"Analytics rebuilt: {report['shipments']:,} shipments, {report['estimates']:,} "
            f"estimates, in {time.monotonic() - started:.0f} s"
            + (f" (then {tidied})." if tidied else ".")
        )
