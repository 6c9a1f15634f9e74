"""Times as people read them: the carrier's local clock, day names, short dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from django.utils import timezone
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import get_language, override, pgettext
from django.utils.translation import gettext as _

from ..models import TrackingEvent


def carrier_local_datetime(event: TrackingEvent) -> datetime | None:
    """The carrier's wall-clock time for the event (naive), or None when it sent none we can read.
    An offset, if the carrier sent one, is kept as given; the clock reading is what is shown."""
    text = (event.carrier_occurred_at or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


@lru_cache(maxsize=16)
def _names(language: str | None) -> dict[str, tuple[str, ...]]:
    """Translated day and month names and am/pm, once per language: Django's dateformat would
    look every one of them up again for each date on the page."""
    with override(language):
        return {
            "day": tuple(str(WEEKDAYS[i]) for i in range(7)),
            "day_abbr": tuple(str(WEEKDAYS_ABBR[i]) for i in range(7)),
            "month": tuple(str(MONTHS[i]) for i in range(1, 13)),
            "month_abbr": tuple(str(MONTHS_3[i]).title() for i in range(1, 13)),
            "ampm": (_("AM").lower(), _("PM").lower()),
        }


def time_words(moment: datetime) -> str:
    # "2:03 pm": the format the public page's headline promises.
    names = _names(get_language())
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {names['ampm'][moment.hour >= 12]}"


def day_words(moment: date | datetime) -> str:
    """ "Tuesday 20 September" (translatable order through the format string)."""
    names = _names(get_language())
    return pgettext("long day, e.g. Tuesday 20 September", "%(weekday)s %(day)s %(month)s") % {
        "weekday": names["day"][moment.weekday()],
        "day": moment.day,
        "month": names["month"][moment.month - 1],
    }


def short_date(moment: date | datetime, *, year: bool = True) -> str:
    """ "Tue 20 Sep 2021" (or without the year)."""
    names = _names(get_language())
    text = f"{names['day_abbr'][moment.weekday()]} {moment.day} {names['month_abbr'][moment.month - 1]}"
    return f"{text} {moment.year}" if year else text


def local_time_text(event: TrackingEvent) -> str:
    """The event's time as the carrier sent it ("Tue 20 Sep 2021, 2:03 pm"). Without a readable
    local time: the UTC time, labelled as such; a local time we cannot parse is shown as sent."""
    local = carrier_local_datetime(event)
    if local is not None:
        return f"{short_date(local)}, {time_words(local)}"
    if event.carrier_occurred_at:
        return event.carrier_occurred_at
    if event.occurred_at:
        utc = timezone.localtime(event.occurred_at, UTC)
        return _("%(time)s UTC") % {"time": f"{short_date(utc)}, {time_words(utc)}"}
    return _("time not given")


def utc_text(event: TrackingEvent) -> str:
    if not event.occurred_at:
        return ""
    utc = timezone.localtime(event.occurred_at, UTC)
    return utc.strftime("%Y-%m-%d %H:%M UTC")
