"""SVG geometry for the analytics page's charts (templates/tracking/staff/analytics.html draws
them): numbers in, coordinates out.

Every chart reads without colour: each bar has its label and its number written beside it, and
the parts of a stacked bar differ by pattern (solid, hatched, dotted) as well as by colour, with
a legend that shows the same patterns. Sizes are in SVG units; the SVG scales to its box. No
inline styles (the Content-Security-Policy allows none): classes and attributes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

# About the width a chart card has on a wide screen, so text is drawn near its own size.
WIDTH = 480
LABEL_WIDTH = 150
VALUE_WIDTH = 118
ROW = 24
BAR = 14
PAD = 6

#: A part of a bar: its fill class (colour) and pattern name (templates define the patterns).
SOLID = ""
HATCHED = "hatch"
DOTTED = "dots"


@dataclass(frozen=True)
class Segment:
    value: float
    css: str
    pattern: str = SOLID
    name: str = ""


@dataclass(frozen=True)
class BarRow:
    label: str
    segments: Sequence[Segment]
    text: str  # the numbers, written beside the bar
    href: str = ""


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def bars(rows: Sequence[BarRow], *, scale_to: float | None = None) -> dict[str, object]:
    """Horizontal bars, one row each: the label left, the (stacked) bar, its numbers right."""
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 2 * PAD
    peak = (
        scale_to
        if scale_to is not None
        else max((sum(s.value for s in r.segments) for r in rows), default=0)
    )
    out = []
    for i, row in enumerate(rows):
        y = PAD + i * ROW
        x: float = LABEL_WIDTH + PAD
        parts = []
        for seg in row.segments:
            w: float = round(area * seg.value / peak, 1) if peak else 0
            if seg.value and w < 1:
                w = 1  # a part that exists is never invisible
            if w:
                parts.append(
                    {
                        "x": x,
                        "w": w,
                        "css": seg.css,
                        "pattern": seg.pattern,
                        "name": seg.name,
                        "value": seg.value,
                    }
                )
            x += w
        out.append(
            {
                "label": _short(row.label),
                "full_label": row.label,
                "text": row.text,
                "href": row.href,
                "y": y,
                "bar_y": y + (ROW - BAR) / 2,
                "text_y": y + ROW / 2 + 4,
                "parts": parts,
                "value_x": x + PAD,
            }
        )
    return {
        "rows": out,
        "width": WIDTH,
        "height": PAD * 2 + ROW * max(len(rows), 1),
        "label_x": LABEL_WIDTH,
        "bar_h": BAR,
    }


@dataclass(frozen=True)
class Column:
    day: date
    value: int
    label: str  # the x-axis label (only some days carry one)
    title: str  # the bar's tooltip: day and number


def columns(points: Sequence[Column]) -> dict[str, object]:
    """Vertical bars over the days of a period, a baseline, the peak written at the top left."""
    left, top, height = 40, 14, 140
    count = max(len(points), 1)
    step = (WIDTH - left - PAD) / count
    bar = max(1.0, step * 0.8)
    peak = max((p.value for p in points), default=0)
    base = top + height
    out = []
    for i, point in enumerate(points):
        h = round(height * point.value / peak, 1) if peak else 0
        if point.value and h < 1:
            h = 1
        x = round(left + i * step, 1)
        out.append(
            {
                "x": x,
                "y": base - h,
                "h": h,
                "w": round(bar, 1),
                "mid": round(x + bar / 2, 1),
                "label": point.label,
                "title": point.title,
            }
        )
    return {
        "bars": out,
        "width": WIDTH,
        "height": base + 24,
        "left": left,
        "top": top,
        "base": base,
        "label_y": base + 16,
        "peak": peak,
        "end": WIDTH - PAD,
    }


def label_every(count: int, wanted: int = 6) -> int:
    """Label every n-th column so about `wanted` labels fit."""
    return max(1, -(-count // wanted))
