from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking.services.api_client import local_sandbox


class Command(BaseCommand):
    help = (
        "Sandbox: deliver a signed 'track' webhook (API_TRACK) for a package to URL, signed with "
        "the sandbox key that this installation's webhook endpoint trusts in sandbox mode."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="e.g. http://127.0.0.1:8000/webhooks/shipengine/track/")
        parser.add_argument("carrier_code")
        parser.add_argument("tracking_number")
        parser.add_argument(
            "--header",
            action="append",
            default=[],
            help="extra header NAME=VALUE (e.g. the shared-secret header); repeatable",
        )

    def handle(self, *args: object, **options: object) -> None:
        sandbox = local_sandbox()
        extra = []
        for item in options["header"]:  # type: ignore[attr-defined]
            name, _, value = str(item).partition("=")
            extra.append({"key": name.strip(), "value": value})
        sandbox.webhooks = [{"url": str(options["url"]), "event": "track", "headers": extra}]
        try:
            statuses = sandbox.deliver_track_webhook(
                str(options["carrier_code"]), str(options["tracking_number"])
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        status = statuses[0] if statuses else 0
        if not 200 <= status < 300:
            raise CommandError(f"The endpoint answered HTTP {status or 'nothing'}.")
        self.stdout.write(f"Delivered: HTTP {status}.")
