import logging
from typing import Any

from django.core.management.base import BaseCommand


class QuietCommand(BaseCommand):
    """Command-line output is the command's own lines: the per-call INFO logs show only with
    -v 2. The logger's level is put back afterwards, so a command run inside a longer-lived
    process (a test, a shell) leaves its logging as it was."""

    def execute(self, *args: Any, **options: Any) -> Any:
        logger = logging.getLogger("shiptrack")
        before = logger.level
        if int(options.get("verbosity", 1)) < 2:
            logger.setLevel(logging.WARNING)
        try:
            return super().execute(*args, **options)
        finally:
            logger.setLevel(before)
