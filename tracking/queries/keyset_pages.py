"""Keyset pages of the staff list: a page is the rows after (or before) a cursor, the last row
of the page before, in the list's order (newest first, ties by id), so LIMIT stops after one page
however deep the page is, and new shipments never shift one. Rows without a sort value (never
updated) come after all the others and are read apart, which keeps plain indexes right on both
databases (PostgreSQL puts NULLs first in a DESC index). Used by queries/shipment_list.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from ..models import Shipment, ShipmentQuerySet

#: sort -> (column, newest/largest first)
SORT_KEYS: dict[str, tuple[str, bool]] = {
    "-updated": ("last_event_at", True),
    "updated": ("last_event_at", False),
    "eta": ("estimated_delivery_date", False),
    "-eta": ("estimated_delivery_date", True),
}
DEFAULT_SORT = "-updated"


@dataclass(frozen=True)
class Cursor:
    """A row's place in the list order: its sort value (None: it has none) and id."""

    value: datetime | None
    id: int

    def token(self) -> str:
        return f"{self.value.isoformat() if self.value else ''}~{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """None for anything malformed (the page then starts at the top)."""
        when, sep, ident = (token or "").partition("~")
        if not sep or not ident.isdigit() or len(token or "") > 80:
            return None
        value = None
        if when:
            try:
                value = parse_datetime(when)
            except ValueError:
                return None
            if value is None or value.tzinfo is None:
                return None
        return cls(value, int(ident))


@dataclass(frozen=True)
class PageRequest:
    """Which page: `number` as shown (and the offset when no cursor says more), after or before a
    row, or the last page."""

    number: int = 1
    after: Cursor | None = None
    before: Cursor | None = None
    last: bool = False


@dataclass
class ListPage:
    rows: list[Shipment]
    number: int
    per_page: int
    total: int  # every match, or (capped) at least this many
    capped: bool
    has_next: bool
    exact_ids: frozenset[int] = frozenset()
    similar: bool = False  # the rows are spellings one typo away (nothing matched as typed)
    #: Capped: more than this many match for sure (0: only `total` is known, "at least").
    more_than: int = 0
    # Where the links go (None: no such link).
    next: PageRequest | None = None
    previous: PageRequest | None = None
    last: PageRequest | None = None

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0

    @property
    def num_pages(self) -> int | None:
        """None when the total is not known."""
        if self.capped:
            return None
        return max(1, -(-self.total // self.per_page))


def sort_value(row: Shipment, column: str) -> datetime | None:
    value: datetime | None = getattr(row, column)
    return value


def order_key(sort: str):  # type: ignore[no-untyped-def]
    """A sort key for (value, id) in list order, as walk reads rows."""
    _column, descending = SORT_KEYS.get(sort, SORT_KEYS[DEFAULT_SORT])
    sign = -1 if descending else 1

    def key(value: datetime | None, pk: int) -> tuple[bool, float, int]:
        return (value is None, sign * value.timestamp() if value else 0.0, sign * pk)

    return key


def _after(column: str, descending: bool, cursor: Cursor) -> Q:
    """Rows after `cursor` within the rows that have a value (index range + tie-break)."""
    if descending:
        return Q(**{f"{column}__lte": cursor.value}) & (
            Q(**{f"{column}__lt": cursor.value}) | Q(pk__lt=cursor.id)
        )
    return Q(**{f"{column}__gte": cursor.value}) & (
        Q(**{f"{column}__gt": cursor.value}) | Q(pk__gt=cursor.id)
    )


def walk(
    queryset: ShipmentQuerySet,
    sort: str,
    count: int,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    from_end: bool = False,
) -> tuple[list[Shipment], bool]:
    """`count` rows in list order after `after` (or from the top), or the `count` before
    `before` (or at the very end); and whether there are more that way. Rows with a value come
    first, by an index range read in order; rows without one after them, by id."""
    column, descending = SORT_KEYS.get(sort, SORT_KEYS[DEFAULT_SORT])
    with_value = queryset.filter(**{f"{column}__isnull": False})
    without = queryset.filter(**{f"{column}__isnull": True})
    forward = (f"-{column}", "-pk") if descending else (column, "pk")
    backward = (column, "pk") if descending else (f"-{column}", "-pk")
    id_forward, id_backward = ("-pk", "pk") if descending else ("pk", "-pk")
    rows: list[Shipment] = []
    if before is None and not from_end:
        if after is None or after.value is not None:
            part = with_value.filter(_after(column, descending, after)) if after else with_value
            rows = list(part.order_by(*forward)[: count + 1])
        if len(rows) <= count:
            part = without
            if after is not None and after.value is None:
                part = part.filter(pk__lt=after.id) if descending else part.filter(pk__gt=after.id)
            rows += list(part.order_by(id_forward)[: count + 1 - len(rows)])
        return rows[:count], len(rows) > count
    if before is None or before.value is None:
        part = without
        if before is not None:
            part = part.filter(pk__gt=before.id) if descending else part.filter(pk__lt=before.id)
        rows = list(part.order_by(id_backward)[: count + 1])
    if len(rows) <= count:
        part = with_value
        if before is not None and before.value is not None:
            part = part.filter(_after(column, not descending, before))
        rows += list(part.order_by(*backward)[: count + 1 - len(rows)])
    return list(reversed(rows[:count])), len(rows) > count


def page_request(
    *, page: str | None, after: str | None, before: str | None, last: str | None
) -> PageRequest:
    """The page asked for in a query string; anything malformed is the first page."""
    number = int(page) if page and page.isdigit() and len(page) < 9 else 1
    return PageRequest(
        number=number,
        after=Cursor.parse(after),
        before=Cursor.parse(before),
        last=last == "1",
    )


def page_params(request: PageRequest) -> Sequence[tuple[str, str]]:
    """The query-string parameters of a page link (page number first)."""
    out = [("page", str(request.number))]
    if request.after is not None:
        out.append(("after", request.after.token()))
    if request.before is not None:
        out.append(("before", request.before.token()))
    if request.last:
        out.append(("last", "1"))
    return out
