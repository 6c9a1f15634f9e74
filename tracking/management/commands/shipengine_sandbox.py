from datetime import datetime

from django.core.management.base import BaseCommand, CommandParser

from tracking.sandbox import Sandbox, make_server
from tracking.services.api_client import sandbox_signing_key


class Command(BaseCommand):
    help = "Run the ShipEngine sandbox as a real HTTP server on the API's URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--latency", type=float, default=0.0, help="seconds added to every answer"
        )
        parser.add_argument(
            "--fault-rate", type=float, default=0.0, help="share of faulty answers, 0..1"
        )
        parser.add_argument("--api-key", default=None, help="accept only this API key (else any)")
        parser.add_argument(
            "--epoch", default=None, help="ISO time the demo journeys are anchored to"
        )
        parser.add_argument(
            "--rate-limit",
            type=float,
            default=None,
            help="enforce this many requests a minute, answering 429 beyond it",
        )
        parser.add_argument(
            "--retry-after", type=float, default=1.0, help="Retry-After of simulated 429 faults"
        )

    def handle(self, *args: object, **opts: object) -> None:
        epoch = datetime.fromisoformat(str(opts["epoch"])) if opts.get("epoch") else None
        sandbox = Sandbox(
            epoch=epoch,
            api_key=opts.get("api_key"),  # type: ignore[arg-type]
            fault_rate=float(opts["fault_rate"]),  # type: ignore[arg-type]
            # Webhooks it delivers are signed with the key this installation trusts in sandbox
            # mode; its JWKS is served at /jwks.
            signing_key=sandbox_signing_key(),
            rate_limit_per_minute=opts.get("rate_limit"),  # type: ignore[arg-type]
            retry_after=float(opts["retry_after"]),  # type: ignore[arg-type]
        )
        server = make_server(
            sandbox,
            str(opts["host"]),
            int(opts["port"]),  # type: ignore[call-overload]
            latency=float(opts["latency"]),  # type: ignore[arg-type]
        )
        self.stdout.write(
            f"ShipEngine sandbox on http://{opts['host']}:{server.server_port} "
            f"(latency {opts['latency']}s, fault rate {opts['fault_rate']}). Ctrl-C stops it."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
