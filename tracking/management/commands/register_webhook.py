from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from tracking.services import push_updates
from tracking.shipengine import ShipEngineError

from ._quiet import QuietCommand


class Command(QuietCommand):
    help = (
        "Register URL with ShipEngine as the 'track' webhook (POST /v1/environment/webhooks). "
        "When SHIPENGINE_WEBHOOK_SECRET is set, ShipEngine is told to send it in "
        "SHIPENGINE_WEBHOOK_SECRET_HEADER with every delivery."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="the public address of /webhooks/shipengine/track/")
        parser.add_argument("--name", default="shiptrack tracking updates")

    def handle(self, *args: object, **options: object) -> None:
        url = str(options["url"]).strip()
        if not url.startswith(("https://", "http://")):
            raise CommandError(f"{url!r} is not an http(s) address.")
        try:
            hook = push_updates.register_webhook(url=url, name=str(options["name"]))
        except ShipEngineError as exc:
            raise CommandError(f"ShipEngine refused the webhook: {exc.one_line()}") from None
        secret = " with the shared-secret header" if settings.SHIPENGINE_WEBHOOK_SECRET else ""
        self.stdout.write(
            f"Registered webhook {hook.get('webhook_id', '?')} for 'track' -> {url}{secret}."
        )
