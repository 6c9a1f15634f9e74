"""The analytics page in words and numbers: one Section per chart, each with its table (the same
rows the CSV download gives) and its chart geometry (presentation/charts.py).

Statuses are named by the one vocabulary (domain.statuses.words); days by the one date style
(presentation/dates.py); durations in days with one decimal (the CSV keeps the exact quarter-day
middle).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from ..domain import histograms, statuses
from ..domain import shipment_facts as facts
from ..domain.analytics_figures import Group, Report
from ..domain.lanes import ANY, lane_label
from . import charts, dates

#: Rows a chart draws (and the page's table shows) at most; the CSV has them all.
CHART_ROWS = 15
TABLE_ROWS = 50

#: Statuses in the order a parcel goes through them.
STATUS_ORDER = ("NY", "AC", "IT", "AT", "EX", "UN", "SP", "DE")


@dataclass(frozen=True)
class Legend:
    name: str
    css: str
    pattern: str = charts.SOLID


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    #: Shown under the table when it was cut ("15 of 620 lanes; the CSV has all").
    note: str = ""


@dataclass
class Section:
    slug: str
    title: str
    #: One sentence saying what the chart shows (its SVG <desc> and the lead under the title).
    description: str
    kind: str  # "columns" | "bars"
    chart: dict[str, Any]
    table: Table
    legend: list[Legend] = field(default_factory=list)
    empty: str = ""
    #: False: the page shows `empty` instead of the chart and table.
    has_data: bool = True


def days_text(bucket: int | None) -> str:
    return "" if bucket is None else f"{histograms.bucket_days(bucket):.1f}"


def days_value(bucket: int | None) -> float | None:
    return None if bucket is None else histograms.bucket_days(bucket)


class Labels:
    """Names of groups: a carrier's name, or a lane."""

    def __init__(self, carrier_names: Mapping[int, str]) -> None:
        self.carrier_names = carrier_names

    def carrier(self, carrier_id: int) -> str:
        return self.carrier_names.get(carrier_id, f"#{carrier_id}")

    def group(self, group: Group) -> str:
        carrier_id, origin, destination = group
        if origin == ANY and destination == ANY:
            return self.carrier(carrier_id)
        return lane_label(origin, destination, unknown=_("unknown"))


def _group_column(report: Report) -> str:
    return _("Lane") if report.filters.by_lane else _("Carrier")


def _cut(rows: list[list[Any]], limit: int | None, what: str) -> tuple[list[list[Any]], str]:
    if limit is None or len(rows) <= limit:
        return rows, ""
    return rows[:limit], _("The first %(shown)s of %(total)s %(what)s; the CSV has them all.") % {
        "shown": limit,
        "total": len(rows),
        "what": what,
    }


# --- sections -------------------------------------------------------------------------------
def per_day(report: Report) -> Section:
    every = charts.label_every(len(report.per_day))
    points = [
        charts.Column(
            day=day,
            value=n,
            label=dates.short_day(day) if i % every == 0 else "",
            title=_("%(day)s: %(n)s shipments") % {"day": dates.short_day(day), "n": f"{n:,}"},
        )
        for i, (day, n) in enumerate(report.per_day)
    ]
    return Section(
        slug="per-day",
        title=_("Shipments per day"),
        description=_(
            "Parcels by the day of their first scan (UTC): %(n)s in the period, at most %(peak)s "
            "on one day."
        )
        % {
            "n": f"{report.shipments:,}",
            "peak": f"{max((n for _d, n in report.per_day), default=0):,}",
        },
        kind="columns",
        chart=charts.columns(points),
        table=Table(columns=[_("Day"), _("Shipments")], rows=[[d, n] for d, n in report.per_day]),
        empty=_("No parcel had its first scan in this period."),
        has_data=report.shipments > 0,
    )


def status_now(report: Report) -> Section:
    total = sum(report.status_now.values())
    order = {code: i for i, code in enumerate(STATUS_ORDER)}
    codes = sorted(report.status_now, key=lambda c: (order.get(c, 99), c))
    rows: list[list[Any]] = []
    bars: list[charts.BarRow] = []
    for code in codes:
        n = report.status_now[code]
        share = n / total if total else 0
        name = statuses.words(code)
        rows.append([name, n, round(share * 100, 1)])
        bars.append(
            charts.BarRow(
                label=name,
                segments=[charts.Segment(n, f"fill-status {statuses.css(code)}")],
                text=f"{n:,} · {share:.0%}",
            )
        )
    return Section(
        slug="status",
        title=_("Where the period's parcels are now"),
        description=_("The status today of each parcel first scanned in the period."),
        kind="bars",
        chart=charts.bars(bars),
        table=Table(columns=[_("Status"), _("Parcels"), _("Share (%)")], rows=rows),
        empty=_("No parcel had its first scan in this period."),
        has_data=bool(rows),
    )


def transit(report: Report, labels: Labels, limit: int | None = TABLE_ROWS) -> Section:
    ordered = sorted(
        report.transit.items(), key=lambda item: (-item[1].parcels, labels.group(item[0]))
    )
    rows = [
        [labels.group(group), t.parcels, days_value(t.median), days_value(t.p90)]
        for group, t in ordered
    ]
    bars = []
    peak = max(
        (histograms.bucket_days(t.p90) for _g, t in ordered[:CHART_ROWS] if t.p90 is not None),
        default=0,
    )
    for group, t in ordered[:CHART_ROWS]:
        median = histograms.bucket_days(t.median) if t.median is not None else 0
        p90 = histograms.bucket_days(t.p90) if t.p90 is not None else 0
        bars.append(
            charts.BarRow(
                label=labels.group(group),
                segments=[
                    charts.Segment(median, "fill-median", charts.SOLID, _("median")),
                    charts.Segment(
                        max(p90 - median, 0), "fill-p90", charts.HATCHED, _("90th percentile")
                    ),
                ],
                text=_("%(median)s d · %(p90)s d")
                % {"median": days_text(t.median), "p90": days_text(t.p90)},
            )
        )
    shown, note = _cut(rows, limit, _("lanes") if report.filters.by_lane else _("carriers"))
    return Section(
        slug="transit",
        title=_("Transit time, first scan to delivery"),
        description=_(
            "Days from the first scan to delivery of the parcels delivered in the period: the "
            "solid bar is the median, the hatched part reaches the 90th percentile."
        ),
        kind="bars",
        chart=charts.bars(bars, scale_to=peak),
        legend=[
            Legend(_("median"), "fill-median"),
            Legend(_("up to the 90th percentile"), "fill-p90", charts.HATCHED),
        ],
        table=Table(
            columns=[
                _group_column(report),
                _("Delivered parcels"),
                _("Median (days)"),
                _("90th percentile (days)"),
            ],
            rows=shown,
            note=note,
        ),
        empty=_("No parcel was delivered in this period."),
        has_data=bool(rows),
    )


PUNCTUALITY_LEGEND = (
    (facts.ON_TIME, "fill-on-time", charts.SOLID),
    (facts.LATE, "fill-late", charts.HATCHED),
    (facts.NO_DATE, "fill-no-date", charts.DOTTED),
)


def punctuality_names() -> dict[str, str]:
    return {
        facts.ON_TIME: _("on time"),
        facts.LATE: _("late"),
        facts.NO_DATE: _("no carrier date"),
    }


def punctuality(report: Report, labels: Labels, limit: int | None = TABLE_ROWS) -> Section:
    names = punctuality_names()
    items = sorted(
        report.punctuality.items(), key=lambda item: (-sum(item[1].values()), labels.group(item[0]))
    )
    rows: list[list[Any]] = []
    bars: list[charts.BarRow] = []
    for group, counts in items:
        on_time, late, no_date = (
            counts.get(k, 0) for k in (facts.ON_TIME, facts.LATE, facts.NO_DATE)
        )
        dated = on_time + late
        share = round(100 * on_time / dated, 1) if dated else None
        rows.append([labels.group(group), on_time, late, no_date, share])
        if len(bars) < CHART_ROWS:
            bars.append(
                charts.BarRow(
                    label=labels.group(group),
                    segments=[
                        charts.Segment(counts.get(key, 0), css, pattern, names[key])
                        for key, css, pattern in PUNCTUALITY_LEGEND
                    ],
                    text=_("%(share)s on time") % {"share": f"{share:.0f} %"}
                    if share is not None
                    else _("no carrier dates"),
                )
            )
    shown, note = _cut(rows, limit, _("lanes") if report.filters.by_lane else _("carriers"))
    return Section(
        slug="on-time",
        title=_("Delivered on time, against the carrier's date"),
        description=_(
            "Parcels delivered in the period, on or before the carrier's estimated delivery day "
            "(on time), after it (late), or without a carrier date."
        ),
        kind="bars",
        chart=charts.bars(bars),
        legend=[Legend(names[key], css, pattern) for key, css, pattern in PUNCTUALITY_LEGEND],
        table=Table(
            columns=[
                _group_column(report),
                _("On time"),
                _("Late"),
                _("No carrier date"),
                _("On time (% of those with a date)"),
            ],
            rows=shown,
            note=note,
        ),
        empty=_("No parcel was delivered in this period."),
        has_data=bool(rows),
    )


def incident_names() -> dict[str, str]:
    return {facts.EXCEPTION: _("exception"), facts.ATTEMPT: _("failed attempt")}


def incidents(report: Report, labels: Labels, limit: int | None = TABLE_ROWS) -> Section:
    names = incident_names()
    items = sorted(
        report.incidents.items(),
        key=lambda item: (-item[1], labels.group(item[0][0]), item[0][1], item[0][2]),
    )
    rows = [
        [labels.group(group), names.get(kind, kind), reason or _("(no reason given)"), n]
        for (group, kind, reason), n in items
    ]
    styles = {
        facts.EXCEPTION: ("fill-exception", charts.HATCHED),
        facts.ATTEMPT: ("fill-attempt", charts.DOTTED),
    }
    bars = []
    for (group, kind, reason), n in items[:CHART_ROWS]:
        css, pattern = styles.get(kind, ("fill-exception", charts.HATCHED))
        bars.append(
            charts.BarRow(
                label=f"{labels.group(group)}: {reason or _('(no reason given)')}",
                segments=[charts.Segment(n, css, pattern, names.get(kind, kind))],
                text=f"{n:,} · {names.get(kind, kind)}",
            )
        )
    totals: dict[str, int] = defaultdict(int)
    for (_group, kind, _reason), n in items:
        totals[kind] += n
    shown, note = _cut(rows, limit, _("reasons"))
    return Section(
        slug="incidents",
        title=_("Exceptions and failed delivery attempts"),
        description=_(
            "Parcels with an exception (%(exceptions)s) or a failed delivery attempt "
            "(%(attempts)s) in the period, by carrier and reason; a parcel counts once per reason."
        )
        % {
            "exceptions": f"{totals[facts.EXCEPTION]:,}",
            "attempts": f"{totals[facts.ATTEMPT]:,}",
        },
        kind="bars",
        chart=charts.bars(bars),
        legend=[
            Legend(names[facts.EXCEPTION], "fill-exception", charts.HATCHED),
            Legend(names[facts.ATTEMPT], "fill-attempt", charts.DOTTED),
        ],
        table=Table(
            columns=[_group_column(report), _("Kind"), _("Reason"), _("Parcels")],
            rows=shown,
            note=note,
        ),
        empty=_("No exception or failed attempt in this period."),
        has_data=bool(rows),
    )


def quiet(report: Report, labels: Labels, limit: int | None = TABLE_ROWS) -> Section:
    items = sorted(
        report.quiet.items(), key=lambda item: (-item[1][1], -item[1][0], labels.group(item[0]))
    )
    rows: list[list[Any]] = []
    bars: list[charts.BarRow] = []
    for group, (open_n, quiet_n, gap) in items:
        rows.append([labels.group(group), open_n, quiet_n, days_value(gap)])
        if len(bars) < CHART_ROWS:
            bars.append(
                charts.BarRow(
                    label=labels.group(group),
                    segments=[
                        charts.Segment(quiet_n, "fill-quiet", charts.HATCHED, _("quiet")),
                        charts.Segment(
                            open_n - quiet_n, "fill-moving", charts.SOLID, _("heard from")
                        ),
                    ],
                    text=_("%(quiet)s of %(open)s quiet")
                    % {"quiet": f"{quiet_n:,}", "open": f"{open_n:,}"},
                )
            )
    shown, note = _cut(rows, limit, _("lanes") if report.filters.by_lane else _("carriers"))
    return Section(
        slug="quiet",
        title=_("Quiet for longer than usual, now"),
        description=_(
            "Parcels on their way now, and those without a scan for longer than the usual gap of "
            "their carrier from their origin (the longest gap between scans that 90 % of recently "
            "delivered parcels stayed within). Lanes here run to the last scan's region."
        ),
        kind="bars",
        chart=charts.bars(bars),
        legend=[
            Legend(_("quiet for longer than usual"), "fill-quiet", charts.HATCHED),
            Legend(_("heard from within the usual gap"), "fill-moving"),
        ],
        table=Table(
            columns=[
                _("Lane so far") if report.filters.by_lane else _("Carrier"),
                _("On their way"),
                _("Quiet for longer than usual"),
                _("Usual gap (days)"),
            ],
            rows=shown,
            note=note,
        ),
        empty=_("No parcel is on its way for these filters."),
        has_data=bool(rows),
    )


def sections(report: Report, carrier_names: Mapping[int, str]) -> list[Section]:
    labels = Labels(carrier_names)
    return [
        per_day(report),
        status_now(report),
        transit(report, labels),
        punctuality(report, labels),
        incidents(report, labels),
        quiet(report, labels),
    ]


SLUGS = ("per-day", "status", "transit", "on-time", "incidents", "quiet")


def full_table(report: Report, carrier_names: Mapping[int, str], slug: str) -> Table:
    """The section's table with every row (the CSV)."""
    labels = Labels(carrier_names)
    if slug == "per-day":
        return per_day(report).table
    if slug == "status":
        return status_now(report).table
    builders = {"transit": transit, "on-time": punctuality, "incidents": incidents, "quiet": quiet}
    return builders[slug](report, labels, None).table


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def csv_rows(table: Table) -> Sequence[list[str]]:
    return [table.columns, *([csv_cell(v) for v in row] for row in table.rows)]
