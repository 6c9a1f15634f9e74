"""The analytics' own tables: what each shipment contributes, the daily rollups the staff page
reads, the recent history per lane, and the quiet-parcel snapshot.

Nothing here is written by the ingest: the outbox consumer in services/analytics.py keeps these
in step with every change (and `manage.py rebuild_analytics` recomputes them from the raw
tables). A page reads rollups only, never all shipments or events.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import models
from django.db.models import Q

from ..domain.lanes import REGION_MAX
from ..domain.shipment_facts import Facts
from .carriers import Carrier


class ShipmentFacts(models.Model):
    """What one shipment counts as in the rollups now (domain/shipment_facts.py): kept so that a
    change subtracts exactly what the shipment added before."""

    shipment = models.OneToOneField(
        "tracking.Shipment",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="analytics_facts",
    )
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="+", db_index=False)
    status_code = models.CharField(max_length=8, blank=True)
    origin = models.CharField(max_length=REGION_MAX, blank=True)
    destination = models.CharField(max_length=REGION_MAX, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    is_open = models.BooleanField(default=True)
    at_destination = models.BooleanField(default=False)
    transit_bucket = models.SmallIntegerField(null=True, blank=True)
    gap_bucket = models.SmallIntegerField(null=True, blank=True)
    punctuality = models.CharField(max_length=8, blank=True)
    #: [[day (ISO), kind, reason], ...]
    incidents = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "shipment facts"
        indexes = [
            # The quiet-parcel snapshot reads the parcels on their way by lane and last scan.
            models.Index(
                fields=["carrier", "origin", "destination", "last_scan_at"],
                name="facts_open_lane",
                condition=Q(is_open=True),
            ),
        ]

    def __str__(self) -> str:
        return f"facts of shipment {self.shipment_id}"

    def as_facts(self) -> Facts:
        return Facts(
            carrier_id=self.carrier_id,
            status_code=self.status_code,
            origin=self.origin,
            destination=self.destination,
            shipped_at=self.shipped_at,
            last_scan_at=self.last_scan_at,
            delivered_at=self.delivered_at,
            is_open=self.is_open,
            at_destination=self.at_destination,
            transit_bucket=self.transit_bucket,
            gap_bucket=self.gap_bucket,
            punctuality=self.punctuality,
            incidents=tuple(
                (date.fromisoformat(day), kind, reason) for day, kind, reason in self.incidents
            ),
        )

    @classmethod
    def of(cls, shipment_id: int, facts: Facts, *, computed_at: datetime) -> ShipmentFacts:
        return cls(
            shipment_id=shipment_id,
            carrier_id=facts.carrier_id,
            status_code=facts.status_code,
            origin=facts.origin,
            destination=facts.destination,
            shipped_at=facts.shipped_at,
            last_scan_at=facts.last_scan_at,
            delivered_at=facts.delivered_at,
            is_open=facts.is_open,
            at_destination=facts.at_destination,
            transit_bucket=facts.transit_bucket,
            gap_bucket=facts.gap_bucket,
            punctuality=facts.punctuality,
            incidents=[[day.isoformat(), kind, reason] for day, kind, reason in facts.incidents],
            computed_at=computed_at,
        )


class DailyRollup(models.Model):
    """How many parcels count under (metric, day, carrier, lane, key). Every parcel counts twice:
    under its lane and carrier-wide under origin = destination = "*" (domain.lanes.ANY), so that
    a page without a lane filter reads a few rows per day and carrier."""

    metric = models.CharField(max_length=8)
    day = models.DateField()
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="+", db_index=False)
    origin = models.CharField(max_length=REGION_MAX)
    destination = models.CharField(max_length=REGION_MAX)
    key = models.CharField(max_length=120)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "carrier", "origin", "destination", "day", "key"],
                name="rollup_unique",
            )
        ]
        indexes = [
            # Every carrier over a period (origin = destination = "*"), or one lane: an index
            # range that holds every column the page adds up.
            models.Index(
                fields=["metric", "origin", "destination", "day", "carrier", "key", "n"],
                name="rollup_lane_day",
            ),
            # One destination from every origin: the range of that destination's days (without
            # it such a page read every lane row of the metric: 358 ms at 1M on PostgreSQL).
            models.Index(
                fields=["metric", "destination", "day", "origin", "carrier", "key", "n"],
                name="rollup_destination_day",
            ),
            # One carrier's lanes over a period: the range of that carrier's days (SQLite read
            # every row of the metric for it: 423 ms at 1M). The carrier first: with the metric
            # first, SQLite took this index for one-origin pages too (and read every origin).
            models.Index(
                fields=["carrier", "metric", "day", "origin", "destination", "key", "n"],
                name="rollup_carrier_day",
            ),
            # Rows a change brought to zero, deleted right after (a partial index, nearly empty).
            models.Index(fields=["metric"], name="rollup_empty", condition=Q(n=0)),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.day} {self.carrier_id} {self.origin}>{self.destination} {self.key}"


class LaneHistory(models.Model):
    """Recent history per lane (the last ANALYTICS_HISTORY_DAYS of deliveries), summed from the
    daily rollups by the periodic refresh: transit times for our estimate, longest gaps for
    "quiet longer than usual". Rows with origin or destination "*" are the wider groups (the
    carrier from that origin to anywhere; the carrier from anywhere)."""

    metric = models.CharField(max_length=8)
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="+", db_index=False)
    origin = models.CharField(max_length=REGION_MAX)
    destination = models.CharField(max_length=REGION_MAX)
    bucket = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        verbose_name_plural = "lane histories"
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "carrier", "origin", "destination", "bucket"],
                name="lane_history_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.carrier_id} {self.origin}>{self.destination} {self.bucket}"


class QuietLane(models.Model):
    """Parcels on their way per carrier and lane so far (origin to where the last scan was), and
    how many have had no scan for longer than their lane's usual gap (the 90th percentile of the
    longest gap of recently delivered parcels from the same origin with the same carrier).
    Replaced as a whole by each periodic refresh (AnalyticsState.quiet_as_of)."""

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="+", db_index=False)
    origin = models.CharField(max_length=REGION_MAX)
    destination = models.CharField(max_length=REGION_MAX)
    #: The usual gap it was judged by (quarter-day bucket); null: too little history.
    usual_gap_bucket = models.SmallIntegerField(null=True, blank=True)
    open_parcels = models.IntegerField(default=0)
    quiet_parcels = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.carrier_id} {self.origin}>{self.destination}: {self.quiet_parcels} quiet"


class AnalyticsState(models.Model):
    """One row: when each part of the analytics was last brought up to date."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    #: The last change the outbox consumer applied to the rollups.
    rollups_changed_at = models.DateTimeField(null=True, blank=True)
    #: The last full recompute (manage.py rebuild_analytics).
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    #: LaneHistory was summed from the rollups at this time.
    history_as_of = models.DateTimeField(null=True, blank=True)
    #: QuietLane was counted at this time.
    quiet_as_of = models.DateTimeField(null=True, blank=True)
    #: Carrier dates up to this moment have been looked at by the estimate sweep.
    etas_swept_until = models.DateTimeField(null=True, blank=True)
    #: The regions and carriers the facts name (the page's lane and carrier menus), as of
    #: history_as_of.
    regions = models.JSONField(default=list, blank=True)
    carrier_ids = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return "analytics state"


class AnalyticsBacklog(models.Model):
    """Shipments whose rollup update failed in the outbox's dispatch (it went on for the other
    consumers): the next sweep updates them (services/analytics_refresh.py)."""

    shipment = models.OneToOneField(
        "tracking.Shipment", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"analytics backlog: shipment {self.shipment_id}"
