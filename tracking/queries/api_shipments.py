"""Reads behind the REST API's shipment list and detail.

The list is newest first (by id, the order shipments were added) and paged by cursor: a cursor
is the id of the last shipment of the page, so shipments added while a client pages through
never shift or repeat what it has still to read (offset paging would). Filters narrow the same
order, so each page is an index range scan of at most `limit + 1` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain import statuses
from ..models import Carrier, Shipment, ShipmentQuerySet, TrackingEvent
from ..models.shipments import ATTENTION_REASONS, attention_q


@dataclass(frozen=True)
class ShipmentFilters:
    #: Status codes ("IT", "DE", ...; "" for never fetched).
    statuses: Sequence[str] = ()
    #: Carrier ids (carrier_ids() turns codes into them).
    carrier_ids: Sequence[int] = ()
    reference: str = ""
    updated_since: datetime | None = None
    needs_attention: bool | None = None


@dataclass(frozen=True)
class ShipmentPage:
    shipments: list[Shipment]
    #: The id to pass as the next page's cursor; None on the last page.
    next_after: int | None


def filtered(filters: ShipmentFilters) -> ShipmentQuerySet:
    queryset = Shipment.objects.all()
    if filters.statuses:
        queryset = queryset.filter(status_code__in=list(filters.statuses))
    if filters.carrier_ids:
        # By id, not by a join to carriers: the join made PostgreSQL give up the newest-first
        # index walk on a large table.
        queryset = queryset.filter(carrier_id__in=list(filters.carrier_ids))
    if filters.reference:
        queryset = queryset.filter(reference=filters.reference)
    if filters.updated_since is not None:
        queryset = queryset.filter(updated_at__gte=filters.updated_since)
    if filters.needs_attention is True:
        queryset = queryset.needs_attention()
    elif filters.needs_attention is False:
        queryset = queryset.exclude(attention_q(ATTENTION_REASONS))
    return queryset


def carrier_ids(codes: Sequence[str]) -> dict[str, int]:
    """The ids of the carriers with these codes (codes no carrier has are left out)."""
    return dict(Carrier.objects.filter(code__in=list(codes)).values_list("code", "pk"))


def shipment_page(filters: ShipmentFilters, *, after: int | None, limit: int) -> ShipmentPage:
    queryset = filtered(filters).select_related("carrier", "delivery_estimate").order_by("-id")
    if after is not None:
        queryset = queryset.filter(id__lt=after)
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return ShipmentPage(shipments=rows, next_after=rows[-1].pk if more and rows else None)


def shipment_with_events(
    shipment_id: int, fields: Sequence[str]
) -> tuple[Shipment, list[dict[str, Any]]] | None:
    """One shipment and all its events as rows of `fields`, newest first (two queries), or
    None."""
    shipment = (
        Shipment.objects.select_related("carrier", "delivery_estimate")
        .filter(pk=shipment_id)
        .first()
    )
    if shipment is None:
        return None
    events = list(
        TrackingEvent.objects.filter(shipment_id=shipment_id).newest_first().values(*fields)
    )
    return shipment, events


def known_status(code: str) -> bool:
    return code in {s.value for s in statuses.Status} or code == statuses.NEVER_FETCHED
