import logging


def quiet_unless_verbose(options: dict) -> None:
    """Command-line output is the command's own lines; per-call logs show only with -v 2."""
    if int(options.get("verbosity", 1)) < 2:
        logging.getLogger("shiptrack").setLevel(logging.WARNING)
