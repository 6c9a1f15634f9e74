import json

from django.core.management.base import CommandError, CommandParser

from tracking.domain.numbers import TrackingInputError
from tracking.presentation.api_answer import shipment_as_api_dict
from tracking.services import tracking
from tracking.shipengine import ShipEngineError

from ._quiet import QuietCommand


class Command(QuietCommand):
    help = (
        "Fetch a package from ShipEngine (or the sandbox), store it, and print it. "
        "Usage: track CARRIER_CODE TRACKING_NUMBER [--json] | track --label-id SE_ID [--json]"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("carrier_code", nargs="?")
        parser.add_argument("tracking_number", nargs="?")
        parser.add_argument("--label-id", help="track by ShipEngine label id instead")
        parser.add_argument("--json", action="store_true", help="print the stored shipment as JSON")

    def handle(self, *args: object, **opts: object) -> None:
        label_id = opts.get("label_id")
        carrier_code = opts.get("carrier_code")
        number = opts.get("tracking_number")
        if label_id and (carrier_code or number):
            raise CommandError("Give either CARRIER_CODE TRACKING_NUMBER or --label-id, not both.")
        if not label_id and not (carrier_code and number):
            raise CommandError("Give CARRIER_CODE and TRACKING_NUMBER, or --label-id SE_ID.")
        try:
            if label_id:
                shipment = tracking.track_label(label_id=str(label_id))
            else:
                shipment = tracking.track_shipment(
                    carrier_code=str(carrier_code), tracking_number=str(number)
                )
        except TrackingInputError as exc:
            raise CommandError(str(exc)) from None
        except ShipEngineError as exc:
            raise CommandError(f"ShipEngine: {exc.one_line()}") from None

        events = list(shipment.events.newest_first())
        if opts.get("json"):
            self.stdout.write(json.dumps(shipment_as_api_dict(shipment, events), indent=2))
            return
        self.stdout.write(
            f"{shipment.carrier.code} {shipment.tracking_number}: {shipment.status_code} "
            f"{shipment.status_description} ({shipment.event_count} events)"
        )
        for event in events:
            when = event.occurred_at.strftime("%Y-%m-%d %H:%M UTC") if event.occurred_at else "?"
            place = f" - {event.location}" if event.location else ""
            self.stdout.write(f"  {when}  {event.description}{place}")
