"""API health: what the recorded ShipEngine calls (ApiCall rows) say about the last hours.

Every figure is one aggregate query over the `at` index, so the page costs the same few queries
however many calls are stored. Pruning (services/housekeeping.py) keeps the table small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Max, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from ..models import ApiCall, ApiCallQuerySet, Shipment

RATE_LIMITED = 429


@dataclass(frozen=True)
class HourBucket:
    hour: datetime  # start of the hour, UTC
    calls: int
    failures: int
    rate_limited: int

    @property
    def ok(self) -> int:
        return self.calls - self.failures


@dataclass(frozen=True)
class ErrorCount:
    error_code: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class Summary:
    since: datetime
    calls: int
    failures: int
    rate_limited: int
    avg_duration_ms: float | None
    max_duration_ms: int | None

    @property
    def failure_percent(self) -> float:
        return round(100 * self.failures / self.calls, 1) if self.calls else 0.0


def _since(hours: int, now: datetime | None) -> datetime:
    """Start of the window: the start of the hour `hours - 1` hours before this one, so that
    the figures and the hourly buckets cover exactly the same calls."""
    current = (now or timezone.now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return current - timedelta(hours=hours - 1)


def _failed() -> Q:
    return ~Q(error_code="")


def summary(*, hours: int = 24, now: datetime | None = None) -> Summary:
    since = _since(hours, now)
    row = ApiCall.objects.filter(at__gte=since).aggregate(
        calls=Count("id"),
        failures=Count("id", filter=_failed()),
        rate_limited=Count("id", filter=Q(http_status=RATE_LIMITED)),
        avg_duration_ms=Avg("duration_ms"),
        max_duration_ms=Max("duration_ms"),
    )
    return Summary(since=since, **row)


def calls_per_hour(*, hours: int = 24, now: datetime | None = None) -> list[HourBucket]:
    """One bucket per hour for the last `hours` hours, oldest first; quiet hours count zero."""
    first = _since(hours, now)
    rows = (
        ApiCall.objects.filter(at__gte=first)
        .annotate(hour=TruncHour("at", tzinfo=UTC))
        .values("hour")
        .annotate(
            calls=Count("id"),
            failures=Count("id", filter=_failed()),
            rate_limited=Count("id", filter=Q(http_status=RATE_LIMITED)),
        )
        .order_by("hour")
    )
    found: dict[datetime, dict[str, Any]] = {row["hour"]: dict(row) for row in rows}
    buckets = []
    for i in range(hours):
        hour = first + timedelta(hours=i)
        row: dict[str, Any] = found.get(hour, {})
        buckets.append(
            HourBucket(
                hour=hour,
                calls=row.get("calls", 0),
                failures=row.get("failures", 0),
                rate_limited=row.get("rate_limited", 0),
            )
        )
    return buckets


def failures_by_error_code(*, hours: int = 24, now: datetime | None = None) -> list[ErrorCount]:
    rows = (
        ApiCall.objects.failures()
        .filter(at__gte=_since(hours, now))
        .values("error_code")
        .annotate(count=Count("id"), last_at=Max("at"))
        .order_by("-count", "error_code")
    )
    return [ErrorCount(**row) for row in rows]


def last_errors(*, limit: int = 20) -> ApiCallQuerySet:
    return ApiCall.objects.failures().order_by("-at", "-id")[:limit]  # type: ignore[return-value]


@dataclass(frozen=True)
class ErrorLine:
    call: ApiCall
    shipment: Shipment | None  # the stored parcel the call was about, if there is one


def last_errors_with_shipments(*, limit: int = 20) -> list[ErrorLine]:
    """The last failed calls, each with the shipment it was about (two queries in all: the calls,
    then their parcels by number or label id). A call about a parcel that was never stored (an
    add that failed) has none."""
    calls = list(last_errors(limit=limit))
    numbers = {c.tracking_number for c in calls if c.tracking_number}
    labels = {c.label_id for c in calls if c.label_id}
    by_number: dict[tuple[str, str], Shipment] = {}
    by_label: dict[str, Shipment] = {}
    if numbers or labels:
        found = Shipment.objects.select_related("carrier").only(
            "id", "tracking_number", "label_id", "carrier__code", "carrier__name"
        )
        for s in found.filter(Q(tracking_number__in=numbers) | Q(label_id__in=labels)):
            by_number[(s.carrier.code, s.tracking_number)] = s
            if s.label_id:
                by_label[s.label_id] = s
    return [
        ErrorLine(
            call=c,
            shipment=by_label.get(c.label_id)
            if c.label_id
            else by_number.get((c.carrier_code, c.tracking_number)),
        )
        for c in calls
    ]


def report(*, hours: int = 24, now: datetime | None = None, error_limit: int = 20) -> dict:
    """Everything the admin's API-health page shows, in five queries."""
    now = now or timezone.now()
    buckets = calls_per_hour(hours=hours, now=now)
    return {
        "hours": hours,
        "summary": summary(hours=hours, now=now),
        "buckets": buckets,
        "peak": max((b.calls for b in buckets), default=0),
        "failures_by_code": failures_by_error_code(hours=hours, now=now),
        "last_errors": last_errors_with_shipments(limit=error_limit),
        "retention_days": settings.API_CALL_RETENTION_DAYS,
    }
