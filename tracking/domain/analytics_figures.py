"""The figures of the analytics page as plain data: what queries/analytics.py reads from the
rollups and presentation/analytics.py puts in words, charts and tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

#: A row's group: (carrier id, origin, destination); ANY for "all".
Group = tuple[int, str, str]


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    carrier_id: int | None = None
    origin: str = ""
    destination: str = ""

    @property
    def has_lane(self) -> bool:
        return bool(self.origin or self.destination)

    @property
    def by_lane(self) -> bool:
        """One carrier and no lane: its figures are broken down by lane."""
        return self.carrier_id is not None and not self.has_lane

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass
class Transit:
    parcels: int
    median: int | None  # quarter-day buckets
    p90: int | None


@dataclass
class Report:
    filters: Filters
    per_day: list[tuple[date, int]]
    status_now: dict[str, int]
    transit: dict[Group, Transit] = field(default_factory=dict)
    punctuality: dict[Group, dict[str, int]] = field(default_factory=dict)
    #: {(group, kind, reason): parcels}
    incidents: dict[tuple[Group, str, str], int] = field(default_factory=dict)
    #: {group: (open parcels, quiet, usual gap bucket)}
    quiet: dict[Group, tuple[int, int, int | None]] = field(default_factory=dict)

    @property
    def shipments(self) -> int:
        return sum(n for _day, n in self.per_day)
