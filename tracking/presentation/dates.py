"""One rule for every time shown anywhere: the carrier's local time where the scan happened, with
its UTC offset when known, and the UTC time beside it in small print or on hover.

The offset is known when the carrier sent one (`2026-11-30T22:42:13-05:00`), or can be worked out
when it sent a naive local time and the API its UTC conversion (the seed's `14:03:00` and
`19:03:00Z`: UTC-5). Without a local time the UTC time is shown, labelled "UTC". Dates and times
are written in the reader's language with one style per locale (tracking/formats/<lang>/), the
year shown when it is not the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.formats import get_format, get_format_modules
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..models import TrackingEvent

# A worked-out offset is trusted only if it is a real one: within +-14 h, on a quarter hour.
_MAX_OFFSET = timedelta(hours=14)
_QUARTER = 15 * 60


@dataclass(frozen=True)
class Moment:
    """A point in time as read at a place: the local wall clock, its UTC offset when known, and
    the UTC instant when known."""

    wall: datetime  # naive
    offset: timedelta | None = None
    utc: datetime | None = None
    #: No local time was given: `wall` is the UTC time, said as such.
    utc_only: bool = False


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _worked_out_offset(wall: datetime, utc: datetime) -> timedelta | None:
    seconds = round((wall - utc.astimezone(UTC).replace(tzinfo=None)).total_seconds())
    if abs(seconds) > _MAX_OFFSET.total_seconds() or seconds % _QUARTER:
        return None
    return timedelta(seconds=seconds)


def event_moment(event: TrackingEvent) -> Moment | None:
    """When the event happened, as the carrier's clock read it (None: no time at all)."""
    utc = event.occurred_at
    local = _parse(event.carrier_occurred_at) if event.carrier_occurred_at else None
    if local is not None:
        if local.tzinfo is not None:
            offset = local.utcoffset()
            return Moment(wall=local.replace(tzinfo=None), offset=offset, utc=utc)
        offset = _worked_out_offset(local, utc) if utc else None
        return Moment(wall=local, offset=offset, utc=utc)
    if utc is not None:
        return utc_moment(utc)
    return None


def utc_moment(value: datetime) -> Moment:
    """A stored UTC time with no local reading (a summary date the API gave without a scan)."""
    utc = value.astimezone(UTC)
    return Moment(wall=utc.replace(tzinfo=None), offset=timedelta(0), utc=utc, utc_only=True)


# -- words ---------------------------------------------------------------------------------------
def _style(name: str) -> str:
    """A format of this project's style for the current language (tracking/formats/<lang>/),
    falling back to English's."""
    for module in get_format_modules(get_language()):
        value = getattr(module, name, None)
        if value:
            return str(value)
    return str(get_format(name) if name.isupper() and name.endswith("_FORMAT") else name)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "\N{MINUS SIGN}"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def clock(moment: Moment) -> str:
    """ "2:03 p.m. (UTC-5)" / "14:03 (UTC-5)"; "19:03 UTC" when only the UTC time is known."""
    text = format_date(moment.wall, get_format("TIME_FORMAT"))
    if moment.utc_only:
        return _("%(time)s UTC") % {"time": text}
    if moment.offset is None:
        return text
    return f"{text} ({_offset_text(moment.offset)})"


def day(value: date | datetime, *, now: datetime | None = None) -> str:
    """ "Tuesday 20 September", with the year when it is not this year's."""
    this_year = (now or timezone.now()).year
    style = "DAY_FORMAT" if value.year == this_year else "DAY_YEAR_FORMAT"
    return format_date(value, _style(style))


def short_day(value: date | datetime, *, now: datetime | None = None) -> str:
    """ "Tue 20 Sep", with the year when it is not this year's."""
    this_year = (now or timezone.now()).year
    style = "SHORT_DAY_FORMAT" if value.year == this_year else "SHORT_DAY_YEAR_FORMAT"
    return format_date(value, _style(style))


def when(moment: Moment, *, now: datetime | None = None) -> str:
    """ "Tuesday 20 September at 2:03 p.m. (UTC-5)" (the sentence's word order per language)."""
    return _("%(day)s at %(time)s") % {"day": day(moment.wall, now=now), "time": clock(moment)}


def short_when(moment: Moment, *, now: datetime | None = None) -> str:
    """ "Tue 20 Sep, 2:03 p.m. (UTC-5)" (map popups, lists)."""
    return f"{short_day(moment.wall, now=now)}, {clock(moment)}"


def utc_text(moment: Moment | None) -> str:
    """The UTC time in small print / on hover: "2021-09-20 19:03 UTC"."""
    if moment is None or moment.utc is None:
        return ""
    return moment.utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
