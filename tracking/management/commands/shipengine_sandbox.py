import time
from datetime import UTC, datetime, timedelta

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
        parser.add_argument(
            "--slow-drip",
            type=float,
            default=0.0,
            help="random faults include slow drips: one byte every this many seconds (0: none)",
        )
        parser.add_argument(
            "--storm-every",
            type=float,
            default=0.0,
            help="a 429 storm (every request answered 429) every this many seconds (0: none)",
        )
        parser.add_argument("--storm-seconds", type=float, default=5.0, help="length of a storm")
        parser.add_argument(
            "--stall-seconds", type=float, default=60.0, help="how long a timeout fault stalls"
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="the sandbox's clock runs this many times faster than real time (journeys move on)",
        )

    def handle(self, *args: object, **opts: object) -> None:
        epoch = datetime.fromisoformat(str(opts["epoch"])) if opts.get("epoch") else None
        speed = float(opts["speed"])  # type: ignore[arg-type]
        started, started_wall = time.monotonic(), datetime.now(UTC)

        def clock() -> datetime:
            return started_wall + timedelta(seconds=(time.monotonic() - started) * speed)

        drip = float(opts["slow_drip"])  # type: ignore[arg-type]
        sandbox = Sandbox(
            epoch=epoch,
            clock=clock,
            slow_drip=drip > 0,
            drip_seconds=drip or 1.0,
            storm_every=float(opts["storm_every"]),  # type: ignore[arg-type]
            storm_seconds=float(opts["storm_seconds"]),  # type: ignore[arg-type]
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
            stall_seconds=float(opts["stall_seconds"]),  # type: ignore[arg-type]
        )
        self.stdout.write(
            f"ShipEngine sandbox on http://{opts['host']}:{server.server_port} "
            f"(latency {opts['latency']}s, fault rate {opts['fault_rate']}, clock x{speed:g}, "
            f"started {started_wall.isoformat()}). Ctrl-C stops it."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
