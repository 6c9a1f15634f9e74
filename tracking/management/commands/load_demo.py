from django.core.management.base import BaseCommand, CommandParser

from tracking.domain.numbers import TrackingInputError
from tracking.sandbox import LABEL_CARRIERS, SCENARIOS, SEED_NUMBER
from tracking.services import tracking
from tracking.shipengine import ShipEngineError

DEMO_DETAILS = [
    ("ORD-10421", "Ada Lovelace", "ada@example.com"),
    ("ORD-10422", "Grace Hopper", "grace@example.com"),
    ("ORD-10423", "Alan Turing", "alan@example.com"),
    ("ORD-10424", "Katherine Johnson", "katherine@example.com"),
    ("ORD-10425", "Edsger Dijkstra", "edsger@example.com"),
    ("ORD-10426", "Barbara Liskov", "barbara@example.com"),
    ("ORD-10427", "Donald Knuth", "don@example.com"),
    ("ORD-10428", "Margaret Hamilton", "margaret@example.com"),
    ("ORD-10429", "Tim Berners-Lee", "tim@example.com"),
    ("ORD-10430", "Radia Perlman", "radia@example.com"),
]


class Command(BaseCommand):
    help = "Load the sandbox's demo shipments (one per status code, and a few more)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--generated", type=int, default=40, help="extra made-up shipments")

    def handle(self, *args: object, **opts: object) -> None:
        numbers = [SEED_NUMBER, *SCENARIOS]
        pairs = [(LABEL_CARRIERS[n], n) for n in numbers]
        pairs += [("ups", f"1ZDEMO{i:012d}") for i in range(int(opts["generated"]))]  # type: ignore[call-overload]
        loaded = 0
        for i, (carrier_code, number) in enumerate(pairs):
            reference, name, email = DEMO_DETAILS[i % len(DEMO_DETAILS)]
            try:
                tracking.track_shipment(
                    carrier_code=carrier_code,
                    tracking_number=number,
                    reference=f"{reference}-{i}" if i >= len(DEMO_DETAILS) else reference,
                    customer_name=name,
                    customer_email=email,
                )
                loaded += 1
            except (TrackingInputError, ShipEngineError) as exc:
                self.stderr.write(f"{carrier_code} {number}: {exc}")
        self.stdout.write(f"Loaded {loaded} demo shipments.")
