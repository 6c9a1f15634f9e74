"""SVG geometry of the API-health chart."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from ..queries.api_health import HourBucket

# The chart is SVG drawn with attributes and classes only: the Content-Security-Policy allows no
# inline styles. A strip above the bars holds the 429 markers, a margin keeps the labels inside.
CHART_WIDTH = 720
CHART_HEIGHT = 120
CHART_TOP = 12
CHART_LEFT = 24


def hourly_chart(buckets: list[HourBucket], peak: int) -> dict[str, Any]:
    count = max(len(buckets), 1)
    step = max(3, CHART_WIDTH // count)
    bar = max(2, step - max(1, step // 5))
    scale = CHART_HEIGHT / peak if peak else 0
    base = CHART_TOP + CHART_HEIGHT
    every = max(1, count // 8)  # about eight hour labels, so they never overlap
    bars = []
    for i, b in enumerate(buckets):
        fail_h = round(b.failures * scale)
        if b.failures and not fail_h:
            fail_h = 1  # a failure is never invisible
        ok_h = max(round(b.calls * scale) - fail_h, 0)
        local = timezone.localtime(b.hour)
        x = CHART_LEFT + i * step
        bars.append(
            {
                "bucket": b,
                "x": x,
                "mid_x": x + bar / 2,
                "ok_y": base - ok_h - fail_h,
                "ok_h": ok_h,
                "fail_y": base - fail_h,
                "fail_h": fail_h,
                "label": (local.strftime("%d %H:00") if count > 48 else local.strftime("%H:00"))
                if i % every == 0
                else "",
            }
        )
    return {
        "bars": bars,
        "bar": bar,
        "left": CHART_LEFT,
        "width": CHART_LEFT * 2 + step * count,
        "axis_end": CHART_LEFT + step * count,
        "base": base,
        "dot_y": CHART_TOP // 2,
        "label_y": base + 16,
        "total_height": base + 22,
    }
