"""SVG geometry of the API-health chart."""

from __future__ import annotations

import math
from typing import Any

from django.utils import timezone

from ..queries.api_health import HourBucket

# The chart is SVG drawn with attributes and classes only: the Content-Security-Policy allows no
# inline styles. A strip above the bars holds the 429 markers, a margin keeps the labels inside.
CHART_WIDTH = 720
CHART_HEIGHT = 120
CHART_TOP = 12
CHART_LEFT = 24


def _labelled(count: int) -> set[int]:
    """About eight hour labels, so they never overlap; the last (current) hour always has one,
    and the regular label just before it gives way when the two would touch."""
    every = max(1, math.ceil(count / 8))
    shown = set(range(0, count, every))
    last = count - 1
    if last not in shown:
        if last - max(shown) < every / 2 + 1:
            shown.discard(max(shown))
        shown.add(last)
    return shown


def hourly_chart(buckets: list[HourBucket], peak: int) -> dict[str, Any]:
    count = max(len(buckets), 1)
    # The bars share the whole width (the SVG scales to its box), whatever the number of hours.
    step = CHART_WIDTH / count
    bar = round(max(1.0, step * 0.8), 2)
    scale = CHART_HEIGHT / peak if peak else 0
    base = CHART_TOP + CHART_HEIGHT
    labelled = _labelled(count)
    bars = []
    for i, b in enumerate(buckets):
        fail_h = round(b.failures * scale)
        if b.failures and not fail_h:
            fail_h = 1  # a failure is never invisible
        ok_h = max(round(b.calls * scale) - fail_h, 0)
        local = timezone.localtime(b.hour)
        x = round(CHART_LEFT + i * step, 2)
        bars.append(
            {
                "bucket": b,
                "x": x,
                "mid_x": round(x + bar / 2, 2),
                "ok_y": base - ok_h - fail_h,
                "ok_h": ok_h,
                "fail_y": base - fail_h,
                "fail_h": fail_h,
                "label": (local.strftime("%d %H:00") if count > 48 else local.strftime("%H:00"))
                if i in labelled
                else "",
            }
        )
    return {
        "bars": bars,
        "bar": bar,
        "left": CHART_LEFT,
        "width": CHART_LEFT * 2 + CHART_WIDTH,
        "axis_end": CHART_LEFT + CHART_WIDTH,
        "base": base,
        "dot_y": CHART_TOP // 2,
        "label_y": base + 16,
        "total_height": base + 22,
    }
