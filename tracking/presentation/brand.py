"""The brand's colours in use: which text colour reads on the accent (pages and e-mails alike)."""

from __future__ import annotations


def _luminance(hex_color: str) -> float:
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def text_colour_on(accent: str) -> str:
    """White text where it contrasts with `accent` at 4.5:1 or better, else near-black."""
    return "#ffffff" if 1.05 / (_luminance(accent) + 0.05) >= 4.5 else "#111111"
