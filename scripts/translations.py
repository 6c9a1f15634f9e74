"""The public pages' translation catalogs (tracking/locale/<lang>/LC_MESSAGES/django.po and .mo).

    .venv/bin/python scripts/translations.py update   # after changing a marked string:
                                                      # extract, merge, compile (then translate
                                                      # the new entries and run it again)
    .venv/bin/python scripts/translations.py check    # scripts/test runs this (and so CI)

`check` fails (exit 1, one line per problem) when a string marked for translation in the public
pages' sources has no translation, or only a fuzzy one, in one of the languages; when a
translation's placeholders do not match its original (msgfmt --check-format); or when a
committed .mo is not what its .po compiles to. It works on a copy and changes nothing.

Only public sources are extracted: staff pages, the admin and the API stay in English (see
tracking/web/language.py), so their strings are not the translators' work. Needs GNU gettext
(xgettext, msgmerge, msgattrib, msgfmt: Debian's `gettext` package), as Django's makemessages does.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "tracking" / "locale"
LANGUAGES = ("de", "fr", "es")

# Sources that never reach a public page (or an email) are not extracted.
NOT_PUBLIC = [
    "templates/admin",
    "templates/tracking/staff",
    "tracking/admin",
    "tracking/api",
    "tracking/management",
    "tracking/migrations",
    "tracking/models",
    "tracking/ops",
    "tracking/presentation/analytics.py",
    "tracking/queries",
    "tracking/sandbox",
    "tracking/services",
    "tracking/shipengine",
    "tracking/webhooks",
    "tracking/web/staff",
    "tracking/web/auth.py",
    "tests",
    "benchmarks",
    "docs",
    "scripts",
    "shiptrack",
    "static",
    "staticfiles",
    "var",
]


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiptrack.test_settings")
    import django

    django.setup()


def _makemessages(locale_dir: Path) -> None:
    """Extract the public strings and merge them into the catalogs under `locale_dir`."""
    from django.conf import settings
    from django.core.management import call_command

    settings.LOCALE_PATHS = [str(locale_dir)]
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        call_command(
            "makemessages",
            locale=list(LANGUAGES),
            domain="django",
            extensions=["html", "txt", "py"],
            # Not walked into: makemessages would send every file below tracking/ to a locale
            # directory it finds on its walk, the committed one, whatever LOCALE_PATHS says.
            ignore_patterns=[*NOT_PUBLIC, "tracking/locale"],
            add_location="file",  # file names only: moving a line does not change a catalog
            no_obsolete=True,
            verbosity=0,
        )
    finally:
        os.chdir(cwd)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # Our own fixed gettext commands on our own files.
    return subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603


def _entries(output: str) -> list[str]:
    """The msgids of a msgattrib output (the header entry, whose msgid is empty, left out)."""
    ids = []
    for block in output.split("\n\n"):
        msgid: list[str] | None = None
        for line in block.splitlines():
            if line.startswith("msgid "):
                msgid = [line[6:].strip('"')]
            elif msgid is not None and line.startswith('"'):
                msgid.append(line.strip('"'))
            elif msgid is not None:
                break
        if msgid and "".join(msgid):
            ids.append("".join(msgid))
    return ids


def _catalog(mo: Path) -> dict[object, str]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def check() -> int:
    for tool in ("xgettext", "msgmerge", "msgattrib", "msgfmt"):
        if shutil.which(tool) is None:
            print(f"translations: {tool} not found: install GNU gettext (apt-get install gettext)")
            return 1
    _django()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="shiptrack-locale-") as tmp:
        copy = Path(tmp) / "locale"
        shutil.copytree(LOCALE, copy)
        _makemessages(copy)
        for lang in LANGUAGES:
            po = copy / lang / "LC_MESSAGES" / "django.po"
            committed_po = LOCALE / lang / "LC_MESSAGES" / "django.po"
            for flag, what in (("--untranslated", "no translation"), ("--only-fuzzy", "fuzzy")):
                found = _run("msgattrib", flag, "--no-obsolete", "--no-wrap", str(po)).stdout
                for msgid in _entries(found):
                    problems.append(f"{lang}: {what}: {msgid}")
            fmt = _run("msgfmt", "--check-format", "-o", os.devnull, str(committed_po))
            if fmt.returncode:
                problems.append(f"{lang}: msgfmt --check-format: {fmt.stderr.strip()}")
                continue
            compiled = Path(tmp) / f"{lang}.mo"
            _run("msgfmt", "-o", str(compiled), str(committed_po))
            committed_mo = committed_po.with_suffix(".mo")
            if not committed_mo.exists() or _catalog(compiled) != _catalog(committed_mo):
                problems.append(
                    f"{lang}: {committed_mo.relative_to(ROOT)} is not what its .po compiles to"
                )
    for problem in problems:
        print(f"translations: {problem}")
    if problems:
        print(
            "translations: run `.venv/bin/python scripts/translations.py update`, translate "
            "the entries named above in tracking/locale/<lang>/LC_MESSAGES/django.po, and run "
            "it again (it compiles the .mo files)."
        )
        return 1
    print(f"translations: {', '.join(LANGUAGES)} complete and compiled")
    return 0


def update() -> int:
    _django()
    from django.core.management import call_command

    LOCALE.mkdir(parents=True, exist_ok=True)
    _makemessages(LOCALE)
    cwd = Path.cwd()
    os.chdir(ROOT / "tracking")
    try:
        call_command("compilemessages", locale=list(LANGUAGES), verbosity=0)
    finally:
        os.chdir(cwd)
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in {"check", "update"}:
        print(__doc__)
        sys.exit(2)
    sys.exit(check() if command == "check" else update())
