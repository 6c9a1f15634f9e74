"""`manage.py create_api_key NAME [--scope read --scope write] [--rate-limit N]`: make an API key
and print it once, alone on its own line (so a script can read it with `tail -n 1`); the
description goes to stderr. Only the key's hash is stored: it cannot be shown again."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking.models import ApiScope
from tracking.services import api_keys


class Command(BaseCommand):
    help = (
        "Create an API key for the REST API (/api/v1/) and print it once. "
        "Default scopes: read and write."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who or what uses the key, e.g. 'webshop'")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ApiScope.values,
            dest="scopes",
            help="read and/or write (repeat the option for both; default: both)",
        )
        parser.add_argument("--read-only", action="store_true", help="the same as --scope read")
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=None,
            help="requests per minute for this key (default API_RATE_LIMIT_PER_MINUTE)",
        )

    def handle(self, *args: object, **options: object) -> None:
        scopes = list(options["scopes"] or [])  # type: ignore[call-overload]
        if options["read_only"]:
            scopes = [ApiScope.READ.value]
        scopes = scopes or list(ApiScope.values)
        rate_limit = options["rate_limit"]
        try:
            made = api_keys.create_key(
                name=str(options["name"]),
                scopes=scopes,
                rate_limit_per_minute=rate_limit if isinstance(rate_limit, int) else None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        key = made.api_key
        self.stderr.write(
            f"API key {key.prefix}… '{key.name}' (scopes: {', '.join(key.scopes)}). "
            "It is shown once, below; store it now."
        )
        self.stdout.write(made.raw)
