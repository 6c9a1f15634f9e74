"""Durations counted in quarter days, and percentiles of such counts.

Transit times and gaps between scans are stored as whole quarter days (bucket `b` holds durations
from 6·b hours up to 6·b + 6 hours), so daily rollups can add them up and a percentile over any
period and lane is read from the sums, exactly: the nearest-rank percentile of the buckets is the
same whether it is taken from the rollups or from every parcel (a plain SQL check over the raw
tables computes the same number; tests/test_analytics_generated.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta

BUCKET_HOURS = 6
#: Durations longer than this many days count as this long (a lost parcel found after a year
#: must not make one bucket per quarter day of the year).
LONGEST_DAYS = 90
LAST_BUCKET = LONGEST_DAYS * 24 // BUCKET_HOURS


def bucket_of(duration: timedelta) -> int | None:
    """The quarter day `duration` falls in; None for a negative one (clocks that disagree)."""
    seconds = duration.total_seconds()
    if seconds < 0:
        return None
    return min(int(seconds // (BUCKET_HOURS * 3600)), LAST_BUCKET)


def bucket_start(bucket: int) -> timedelta:
    return timedelta(hours=bucket * BUCKET_HOURS)


def bucket_end(bucket: int) -> timedelta:
    return timedelta(hours=(bucket + 1) * BUCKET_HOURS)


def bucket_middle(bucket: int) -> timedelta:
    return timedelta(hours=bucket * BUCKET_HOURS + BUCKET_HOURS / 2)


def bucket_days(bucket: int) -> float:
    """The middle of the bucket in days (2.375 for bucket 9: 54 to 60 hours)."""
    return (bucket * BUCKET_HOURS + BUCKET_HOURS / 2) / 24


def rank(total: int, fraction: float) -> int:
    """The 1-based nearest rank of a percentile: ceil(fraction * total), at least 1."""
    return max(1, math.ceil(round(fraction * total, 9)))


def percentile(counts: Mapping[int, int], fraction: float) -> int | None:
    """The nearest-rank percentile of bucketed counts ({bucket: parcels}); None when empty."""
    total = sum(n for n in counts.values() if n > 0)
    if total == 0:
        return None
    wanted = rank(total, fraction)
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if n <= 0:
            continue
        seen += n
        if seen >= wanted:
            return bucket
    return max(counts)  # pragma: no cover (the loop always reaches the total)


def longer_than(counts: Mapping[int, int], elapsed: timedelta) -> dict[int, int]:
    """The parcels that were still on their way after `elapsed`: the buckets ending later."""
    return {b: n for b, n in counts.items() if n > 0 and bucket_end(b) > elapsed}


def add(into: dict[int, int], rows: Iterable[tuple[int, int]]) -> dict[int, int]:
    for bucket, n in rows:
        into[bucket] = into.get(bucket, 0) + n
    return into
