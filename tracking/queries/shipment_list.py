"""The staff list: a list state (search, status, carrier, dates, needs attention, sort) turned
into pages and the per-status counts the filter chips show.

Shared by the staff list, its CSV export (`ListResult.queryset`: every match, ordered) and the
admin. The web layer reads the state from the query string (web/staff/forms.py).

How a page stays fast on a million shipments:

- **Without a search** a page is the first rows of an index in the list's order (newest first,
  ties by id; within a status or carrier, an index that starts with it), read from a keyset
  cursor (the last row of the page before), so LIMIT stops after one page however deep. Rows
  without a date (never updated) come after all the others and are read apart, which keeps the
  plain indexes right on both databases (PostgreSQL puts NULLs first in a DESC index).
  The counts per status come from the tallies the database keeps (models/search.py,
  ShipmentTally): a sum over a few hundred rows instead of GROUP BY over a million.
- **A search** asks the exact fast path first (B-tree equality): a whole number or reference
  found is the answer, ranked first when the partial matches are asked for too. Then each index
  for at most STAFF_SEARCH_COUNT_CAP matches (`bounded_matches`). Within the cap (a narrow search)
  every match is known: they are counted by status and sorted in full. Past it (a broad search: a
  hub city, a common surname) nothing is counted in full: the page walks the list's newest-first
  index in chunks, each tested set-wise (`chunk_matches`), which stops after a page because
  matches are dense; a carrier's matches come from its own index in order; the counts are lower
  bounds over what the indexes gave ("more than N").
- **Nothing found** and the query is a name: the matches for the closest names instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F
from django.utils import timezone

from ..domain import statuses
from ..domain.statuses import NEVER_FETCHED, NEVER_FETCHED_PARAM
from ..models import Carrier, Shipment, ShipmentQuerySet
from ..models import search as shipment_search
from ..models.shipments import DEFAULT_QUIET_DAYS
from .keyset_pages import (
    DEFAULT_SORT,
    SORT_KEYS,
    Cursor,
    ListPage,
    PageRequest,
    order_key,
    sort_value,
    walk,
)

ORDERINGS: dict[str, list[Any]] = {
    # NULLS LAST: never-updated shipments go last on PostgreSQL too (its DESC puts NULLs first).
    # For the export; pages read the two parts apart (see keyset_pages.walk).
    "-updated": [F("last_event_at").desc(nulls_last=True), "-id"],
    "updated": [F("last_event_at").asc(nulls_last=True), "id"],
    "eta": [F("estimated_delivery_date").asc(nulls_last=True), "id"],
    "-eta": [F("estimated_delivery_date").desc(nulls_last=True), "-id"],
}
DEFAULT_PER_PAGE = 25
#: The vendors whose migrations keep ShipmentTally (0011's triggers).
_TALLIED = {"sqlite", "postgresql"}


@dataclass(frozen=True)
class ListState:
    """What the staff asked for. Status values are API codes or NEVER_FETCHED_PARAM."""

    q: str = ""
    statuses: tuple[str, ...] = ()
    carrier: str = ""
    shipped_from: date | None = None
    shipped_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    attention: tuple[str, ...] = ()
    quiet_days: int = DEFAULT_QUIET_DAYS
    sort: str = DEFAULT_SORT
    per_page: int = DEFAULT_PER_PAGE
    #: Also the shipments that only contain the query, when some match it exactly.
    contains: bool = False

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.statuses
            or self.carrier
            or self.shipped_from
            or self.shipped_to
            or self.updated_from
            or self.updated_to
            or self.attention
        )

    @property
    def by_dates_or_attention(self) -> bool:
        return bool(
            self.shipped_from
            or self.shipped_to
            or self.updated_from
            or self.updated_to
            or self.attention
        )

    @property
    def only_carrier(self) -> bool:
        """No filter but the status and carrier: the tallies have the counts."""
        return not (self.q or self.by_dates_or_attention)

    def count_key(self) -> str:
        """Everything but status, sort and page size: what the status counts depend on."""
        parts = (
            self.q,
            self.carrier,
            self.shipped_from,
            self.shipped_to,
            self.updated_from,
            self.updated_to,
            self.attention,
            self.quiet_days,
        )
        return repr(parts)


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------
@dataclass
class StatusCount:
    code: str  # an API code, or NEVER_FETCHED_PARAM
    label: str
    count: int
    selected: bool

    @property
    def css(self) -> str:
        return statuses.css(self.code)


#: A broad search's first chunk of the list to test set-wise, the least each next chunk grows
#: (it grows to what the density of matches seen so far says the page needs), and how many rows
#: one page may read at most: a page is bounded work however rare the matches get; a page cut
#: short by it links to the next, which carries on from where it stopped. A broad search matches
#: at least 1 % of the shipments (the cap over a million), so one or two chunks fill a page.
CHUNK = 250
CHUNK_GROWTH = 4
MAX_CHUNKS = 4
MAX_ROWS = 21_250
#: A broad search counts statuses (lower bounds) over the matches its index parts returned with
#: their status, plus at most this many place matches (the link index has no status: each costs
#: a row read).
PLACE_STATUS_SAMPLE = 500


@dataclass
class ListResult:
    state: ListState
    filtered: ShipmentQuerySet  # every filter except the search and the status
    carriers: list[Carrier] = field(default_factory=list)
    unknown_carrier: bool = False
    carrier_id: int | None = None
    #: Built on a given queryset (the admin's): its own rows only, never the whole tallies.
    narrowed: bool = False
    #: Nothing matched as typed: the search is for these names instead (one typo away).
    corrected: tuple[str, ...] = ()

    @cached_property
    def queryset(self) -> ShipmentQuerySet:
        """Every filter, ordered: the whole list (the CSV export). Not what a page reads."""
        everything = self.filtered
        if self.terms is not None:
            everything = shipment_search.search_shipments(everything, self.terms)
        if self._wanted is not None:
            everything = everything.filter(status_code__in=sorted(self._wanted))
        return everything.order_by(*ORDERINGS.get(self.state.sort, ORDERINGS[DEFAULT_SORT]))

    @cached_property
    def terms(self) -> shipment_search.SearchTerms | None:
        return shipment_search.terms_for(self.state.q, self.carriers)

    @property
    def _cap(self) -> int:
        """STAFF_SEARCH_COUNT_CAP; 0 sorts and counts every match, however many."""
        cap = settings.STAFF_SEARCH_COUNT_CAP
        return cap if cap > 0 else 10**12

    @property
    def _all(self) -> ShipmentQuerySet:
        return Shipment.objects.using(self.filtered.db).all()

    @cached_property
    def _exact_rows(self) -> list[shipment_search.MatchRow]:
        if self.terms is None:
            return []
        return shipment_search.exact_matches(self._all, self.terms, limit=self._cap)

    def answered_exactly(self) -> bool:
        """The exact fast path (B-tree equality, bounded) answers the search by itself: asked
        before anything else, it needs no substring work and no guard (see search_guard)."""
        return bool(self.terms and not self.state.contains and self._exact_rows)

    @property
    def exact_only(self) -> bool:
        """The search matched exactly, and the rest was not looked for (see ListState)."""
        return bool(self.matches and self.matches.exact_only)

    @property
    def similar(self) -> bool:
        return bool(self.corrected)

    @property
    def _terms(self) -> shipment_search.SearchTerms | None:
        """What is searched for: the terms as typed, or the corrected name."""
        if self.terms is not None and self.corrected:
            return replace(self.terms, patterns=self.corrected, place="", carrier_ids=())
        return self.terms

    @cached_property
    def matches(self) -> shipment_search.Matches | None:
        """What the indexes found for the search, each part cut at the cap. Nothing at all, and
        the query is a name: what they find for the closest names instead."""
        if self.terms is None:
            return None
        found = shipment_search.bounded_matches(
            self._all,
            self.terms,
            limit=self._cap,
            exact_only=not self.state.contains,
            exact=self._exact_rows,
        )
        if not found.rows and not found.overflow:
            words = shipment_search.corrected_words(self.terms, alias=self.filtered.db)
            if words:
                self.corrected = tuple(words)
                assert self._terms is not None
                found = shipment_search.bounded_matches(self._all, self._terms, limit=self._cap)
        return found

    @property
    def broad(self) -> bool:
        """The search matched more shipments than it sorts in full."""
        return bool(self.matches and self.matches.overflow)

    @property
    def _refiltered(self) -> bool:
        """Filters the match rows cannot answer by themselves (dates, needs attention)."""
        return self.state.by_dates_or_attention or self.narrowed

    def _rows(self, ids: Sequence[int]) -> list[shipment_search.MatchRow]:
        """MATCH_COLUMNS of these matches that pass every filter but the status (the ones the
        indexes gave are reused; the others are read)."""
        assert self.matches is not None
        known = self.matches.rows
        if self._refiltered:
            rows = list(
                self.filtered.filter(pk__in=list(ids))
                .order_by()
                .values_list(*shipment_search.MATCH_COLUMNS)
            )
        else:
            missing = [i for i in ids if known.get(i) is None]
            read = {
                r[0]: r
                for r in self._all.filter(pk__in=missing)
                .order_by()
                .values_list(*shipment_search.MATCH_COLUMNS)
            }
            rows = [row for i in ids if (row := known.get(i) or read.get(i)) is not None]
        if self.carrier_id is not None:
            rows = [r for r in rows if r[1] == self.carrier_id]
        return rows

    @cached_property
    def _candidates(self) -> list[shipment_search.MatchRow]:
        """A narrow search: every match that passes the filters."""
        assert self.matches is not None
        return self._rows(list(self.matches.rows))

    @cached_property
    def raw_counts(self) -> dict[str, int]:
        """{status code: shipments}, "" for never fetched. A search counts its matches (past the
        cap: lower bounds over those the indexes gave); otherwise the tallies when no other
        filter narrows the list, else one GROUP BY, cached briefly."""
        if self.matches is not None:
            if self.broad:
                known = [i for i, row in self.matches.rows.items() if row is not None]
                places = [i for i, row in self.matches.rows.items() if row is None]
                sample = known[: self._cap + 1] + places[:PLACE_STATUS_SAMPLE]
                rows = self._rows(sample)
            else:
                rows = self._candidates
            out: dict[str, int] = {}
            for row in rows:
                out[row[2]] = out.get(row[2], 0) + 1
            return out
        vendor = connections[self.filtered.db].vendor
        tallied = vendor in _TALLIED and not self.narrowed and not self.unknown_carrier
        if self.state.only_carrier and tallied:
            carriers = [self.carrier_id] if self.carrier_id is not None else None
            return shipment_search.tally_totals(carrier_ids=carriers, alias=self.filtered.db)
        ttl = settings.STAFF_STATUS_COUNTS_CACHE_SECONDS
        key = ""
        if ttl > 0:
            digest = hashlib.sha256(f"{self.filtered.db}|{self.state.count_key()}".encode())
            key = f"shiptrack:status-counts:{digest.hexdigest()[:32]}"
            hit = cache.get(key)
            if hit is not None:
                return dict(hit)
        counted = self.filtered.order_by().values_list("status_code").annotate(n=Count("pk"))
        counts = dict(counted)
        if key:
            cache.set(key, counts, ttl)
        return counts

    @property
    def capped(self) -> bool:
        """True when a search matched more shipments than it counted (see raw_counts)."""
        return self.broad

    def status_counts(self) -> list[StatusCount]:
        selected = set(self.state.statuses)
        out = [
            StatusCount(code, statuses.words(code), self.raw_counts.get(code, 0), code in selected)
            for code in statuses.CODES
        ]
        # Codes the API sent that this program does not know: shown as sent.
        out += [
            StatusCount(code, code, n, code in selected)
            for code, n in sorted(self.raw_counts.items())
            if code and code not in statuses.API_DESCRIPTIONS
        ]
        if self.raw_counts.get(NEVER_FETCHED):
            out.append(
                StatusCount(
                    NEVER_FETCHED_PARAM,
                    statuses.words(NEVER_FETCHED),
                    self.raw_counts[NEVER_FETCHED],
                    NEVER_FETCHED_PARAM in selected,
                )
            )
        return out

    @property
    def _wanted(self) -> set[str] | None:
        return {_code_of(s) for s in self.state.statuses} if self.state.statuses else None

    @property
    def total(self) -> int:
        """Shipments matching every filter, from the status counts (no extra COUNT query); a
        broad search: at least this many."""
        wanted = self._wanted
        return sum(n for code, n in self.raw_counts.items() if wanted is None or code in wanted)

    # ----------------------------------------------------------------------------------------
    def page(self, request: PageRequest | None = None) -> ListPage:
        """The rows of one page (the list's columns only) and where its links go."""
        request = request or PageRequest()
        per_page = self.state.per_page
        if self.matches is not None and not self.broad:
            return self._sorted_page(request, per_page)
        listed = self.filtered
        if self._wanted is not None:
            listed = listed.filter(status_code__in=sorted(self._wanted))
        if self.matches is not None:
            return self._broad_page(listed, request, per_page)
        total = self.total
        pages = max(1, -(-total // per_page))
        number = max(1, request.number)
        if request.last or (number > pages and request.after is None):
            last_count = total - (pages - 1) * per_page if total else per_page
            rows, _more = walk(_only(listed), self.state.sort, last_count, from_end=True)
            return self._linked(rows, pages, per_page, total, False, has_next=False)
        if request.after is None and request.before is None and number > 1:
            # A page number without a cursor (a typed or old link): by offset.
            ordering = ORDERINGS.get(self.state.sort, ORDERINGS[DEFAULT_SORT])
            offset = (number - 1) * per_page
            found = list(_only(listed).order_by(*ordering)[offset : offset + per_page + 1])
            return self._linked(
                found[:per_page], number, per_page, total, False, len(found) > per_page
            )
        if request.before is not None:
            rows, _more = walk(_only(listed), self.state.sort, per_page, before=request.before)
            return self._linked(rows, number, per_page, total, False, has_next=True)
        rows, more = walk(_only(listed), self.state.sort, per_page, after=request.after)
        return self._linked(rows, number, per_page, total, False, has_next=more)

    def _broad_page(
        self, listed: ShipmentQuerySet, request: PageRequest, per_page: int
    ) -> ListPage:
        """A broad search: the page merges, in list order, (a) the matches of the index parts
        that were complete, (b) when the carrier matched too many, the carrier's own index in
        list order, (c) when the document or the places matched too many, a walk over the list's
        index in chunks, each tested set-wise. Exact matches first, on the first page."""
        assert self.matches is not None and self._terms is not None
        matches, terms = self.matches, self._terms
        first = request.after is None and request.before is None
        ordering = ORDERINGS.get(self.state.sort, ORDERINGS[DEFAULT_SORT])
        exact: list[Shipment] = []
        if first and matches.exact:
            exact = list(_only(listed.filter(pk__in=matches.exact)).order_by(*ordering))
        rest = listed.exclude(pk__in=matches.exact) if matches.exact else listed
        need = per_page - len(exact)
        backward = request.before is not None
        cursor = request.before if backward else request.after
        column, _descending = SORT_KEYS.get(self.state.sort, SORT_KEYS[DEFAULT_SORT])
        key = order_key(self.state.sort)
        # Candidates as (order key, id), from each source, and how far each has looked.
        found: dict[int, tuple] = {}
        more = False
        horizon: tuple | None = None  # the walk stopped here: nothing past it is known
        edge_cursor: Cursor | None = None
        wanted = self._wanted
        complete = [
            r
            for r in self._rows([i for i in matches.complete if i not in matches.exact])
            if wanted is None or r[2] in wanted
        ]
        here = key(cursor.value, cursor.id) if cursor is not None else None
        for match in complete:
            k = key(match[3] if column == "last_event_at" else match[4], match[0])
            if here is None or (k < here if backward else k > here):
                found[match[0]] = k
        if "carrier" in matches.overflowed:
            stream, stream_more = walk(
                rest.filter(carrier_id__in=terms.carrier_ids).only("pk", column),
                self.state.sort,
                need + 1,
                after=None if backward else cursor,
                before=cursor if backward else None,
            )
            more |= stream_more
            for row in stream:
                found[row.pk] = key(sort_value(row, column), row.pk)
        if matches.overflowed & {"document", "notes", "places"}:
            size, walk_more, walked, scanned = CHUNK, True, 0, 0
            edge_cursor = cursor
            for _round in range(MAX_CHUNKS):
                chunk, walk_more = walk(
                    rest.only("pk", column),
                    self.state.sort,
                    size,
                    after=None if backward else edge_cursor,
                    before=edge_cursor if backward else None,
                )
                hits = shipment_search.chunk_matches(
                    self._all, [r.pk for r in chunk], terms, matches
                )
                for row in chunk:
                    if row.pk in hits:
                        found[row.pk] = key(sort_value(row, column), row.pk)
                        walked += 1
                if walked > need or not walk_more or not chunk:
                    break
                edge = chunk[0] if backward else chunk[-1]
                edge_cursor = Cursor(sort_value(edge, column), edge.pk)
                # The next chunk: what the matches seen so far say the rest of the page needs
                # (with room), at least CHUNK_GROWTH times this one, never past the budget.
                scanned += len(chunk)
                estimate = int(scanned * (need + 1 - walked) / max(walked, 1) * 1.5)
                size = min(max(size * CHUNK_GROWTH, estimate), MAX_ROWS - scanned)
                if size <= 0:
                    break
            if walk_more and walked <= need and edge_cursor is not None:
                horizon = key(edge_cursor.value, edge_cursor.id)
            more |= walk_more
        order = sorted(found.items(), key=lambda item: item[1], reverse=backward)
        if horizon is not None:
            order = [(pk, k) for pk, k in order if (k > horizon) == backward or k == horizon]
        more |= len(order) > need
        shown = [pk for pk, _k in order[:need]]
        by_id = {s.pk: s for s in _only(self._all.filter(pk__in=shown))}
        rows = [by_id[i] for i in shown if i in by_id]
        if backward:
            rows.reverse()
        number = max(1, request.number)
        page = self._linked(
            exact + rows, number, per_page, self.total, True, has_next=more or backward
        )
        if not backward and horizon is not None and len(order) <= need and edge_cursor:
            # The walk stopped before the page filled: the next page carries on from there.
            page.next = PageRequest(number + 1 if rows else number, after=edge_cursor)
            page.has_next = True
        state = self.state
        if not (state.statuses or state.carrier or state.by_dates_or_attention or self.narrowed):
            # No filter but the search: its own index parts found more than the cap.
            page.more_than = self._cap
        page.exact_ids = frozenset(r.pk for r in exact)
        return page

    def _linked(
        self,
        rows: list[Shipment],
        number: int,
        per_page: int,
        total: int,
        capped: bool,
        has_next: bool,
    ) -> ListPage:
        page = ListPage(rows, number, per_page, total, capped, has_next)
        column, _descending = SORT_KEYS.get(self.state.sort, SORT_KEYS[DEFAULT_SORT])
        if rows and has_next:
            page.next = PageRequest(
                number + 1, after=Cursor(sort_value(rows[-1], column), rows[-1].pk)
            )
        if number > 1:
            page.previous = (
                PageRequest(1)
                if number == 2 or not rows
                else PageRequest(number - 1, before=Cursor(sort_value(rows[0], column), rows[0].pk))
            )
        pages = page.num_pages
        if pages is not None and number < pages - 1:
            page.last = PageRequest(pages, last=True)
        if pages is not None and number >= pages:
            page.has_next = False
            page.next = None
        return page

    def _sorted_page(self, request: PageRequest, per_page: int) -> ListPage:
        """A narrow search: every match is known; sort them all, cut out one page."""
        assert self.matches is not None
        wanted = self._wanted
        exact = set(self.matches.exact)
        column, descending = SORT_KEYS.get(self.state.sort, SORT_KEYS[DEFAULT_SORT])
        rows = [r for r in self._candidates if wanted is None or r[2] in wanted]
        sign = -1 if descending else 1

        def key(row: shipment_search.MatchRow) -> tuple:
            value = row[3] if column == "last_event_at" else row[4]
            return (
                row[0] not in exact,
                value is None,
                sign * value.timestamp() if value else 0,
                sign * row[0],
            )

        rows.sort(key=key)
        total = len(rows)
        pages = max(1, -(-total // per_page))
        number = pages if request.last else min(max(1, request.number), pages)
        ids = [r[0] for r in rows[(number - 1) * per_page : number * per_page]]
        by_id = {s.pk: s for s in _only(self._all.filter(pk__in=ids))}
        page = ListPage(
            [by_id[i] for i in ids if i in by_id],
            number,
            per_page,
            total,
            False,
            number < pages,
            exact_ids=frozenset(i for i in ids if i in exact),
            similar=self.similar,
        )
        if number < pages:
            page.next = PageRequest(number + 1)
        if number > 1:
            page.previous = PageRequest(number - 1)
        if number < pages - 1:
            page.last = PageRequest(pages)
        return page


#: Columns the list shows; the raw answer and notes can be large and are not shown there.
LIST_FIELDS = (
    "id",
    "carrier_id",
    "tracking_number",
    "reference",
    "customer_name",
    "customer_email",
    "status_code",
    "status_description",
    "status_detail_code",
    "carrier_status_description",
    "last_event_at",
    "last_event_description",
    "last_event_location",
    "estimated_delivery_date",
    "actual_delivery_date",
    "consecutive_failures",
    "exception_description",
    # Our estimate (joined on the primary key: no extra query), for the ETA column.
    "delivery_estimate__predicted_on",
)


def _only(queryset: ShipmentQuerySet) -> ShipmentQuerySet:
    return queryset.select_related("delivery_estimate").only(*LIST_FIELDS)


def _code_of(status_param: str) -> str:
    return NEVER_FETCHED if status_param == NEVER_FETCHED_PARAM else status_param


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _day_end(day: date) -> datetime:
    """The start of the next day (exclusive end); the last representable day ends with itself."""
    if day >= date.max:
        return timezone.make_aware(datetime.max)
    return _day_start(day + timedelta(days=1))


def filter_shipments(
    state: ListState, queryset: ShipmentQuerySet | None = None, *, now: datetime | None = None
) -> ListResult:
    now = now or timezone.now()
    qs: ShipmentQuerySet = queryset if queryset is not None else Shipment.objects.all()
    carriers = list(Carrier.objects.only("id", "code", "name", "is_active").order_by("name"))
    unknown_carrier = False
    carrier_id = None
    if state.carrier:
        by_code = {c.code: c.pk for c in carriers}
        carrier_id = by_code.get(state.carrier)
        if carrier_id is None:
            unknown_carrier = True
        else:
            qs = qs.filter(carrier_id=carrier_id)
    if state.shipped_from:
        qs = qs.filter(ship_date__gte=_day_start(state.shipped_from))
    if state.shipped_to:
        qs = qs.filter(ship_date__lt=_day_end(state.shipped_to))
    if state.updated_from:
        qs = qs.filter(last_event_at__gte=_day_start(state.updated_from))
    if state.updated_to:
        qs = qs.filter(last_event_at__lt=_day_end(state.updated_to))
    if state.attention:
        qs = qs.needs_attention(state.attention, quiet_days=state.quiet_days, now=now)
    return ListResult(
        state=state,
        filtered=qs,
        carriers=carriers,
        unknown_carrier=unknown_carrier,
        carrier_id=carrier_id,
        narrowed=queryset is not None,
    )
