"""The staff search: one box that finds a shipment by tracking number, order reference, label id,
customer name, email or postcode, the signer, the carrier's name, or any place its events were
scanned at ("Newark NJ", "Newark, NJ", a postcode, a state on its own).

What is searched, and the index that answers each part without joining the events:

- **Exact** (`exact_q`): the normalised tracking number (also without dashes and dots), the
  reference as typed, the label id, the email: B-tree equality. The list asks this first; when it
  finds the query, that is the answer (no substring work) unless the shipments that merely
  contain it are asked for too, and then it ranks first (queries/shipment_list.py).
- **The shipment's own document** (`DOCUMENT_FIELDS`): a substring of 3+ characters.
  PostgreSQL: one GIN pg_trgm index on `tracking_search_document(...)`, an IMMUTABLE SQL function
  of the row's columns (migrations 0011/0012): a per-shipment search document without a stored
  column (adding one would rewrite the million-row table) and without triggers. SQLite: the FTS5
  trigram table `tracking_shipment_search` (external content, rowid = shipment id), kept by
  triggers.
- **Places** (`Place`, `ShipmentPlace`): each distinct (city, state, postcode, country) once in a
  small dictionary, and one link row per shipment and place, written by the ingest when an event
  brings a new place (services/search_index.py). A query is matched against the dictionary (a few
  thousand rows), then the links by place id (B-tree). A 2-character query matches a state or
  country code exactly.
- **Carriers**: the name or code of a carrier (a few dozen rows, matched in Python) becomes
  `carrier_id IN (...)`, which the (carrier, newest first) index serves in the list's order.
- **A typo in a name** (`corrected_words`), only when nothing else matched: the closest words of
  the customer-name vocabulary (`NameWord`, kept by triggers), found by pg_trgm similarity on
  PostgreSQL and by length on SQLite, ranked by edit distance; the list then searches for those.

Two ways of asking, for two sizes of answer (queries/shipment_list.py chooses):
`bounded_matches()` asks each index for at most `limit` matches (a narrow search is then sorted
and counted in full); `chunk_matches()` tests a chunk of the list's own newest-first order
set-wise, for walking it when a search matches too many shipments to sort (a hub city).
`search_shipments()` is the whole match as one queryset (the admin, the CSV export).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connections, models
from django.db.models import F, Func, Q, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length
from django.db.models.lookups import Contains

from ..domain.numbers import normalize_label_id, normalize_tracking_number, without_separators
from .carriers import Carrier

if TYPE_CHECKING:
    from .shipments import ShipmentQuerySet

FTS_TABLE = "tracking_shipment_search"  # SQLite: one row per shipment (rowid = shipment id)
MIN_PARTIAL = 3
MAX_QUERY = 200
#: The shipment's own searchable text, in this order (the PostgreSQL function takes them so).
DOCUMENT_FIELDS = (
    "tracking_number",
    "label_id",
    "reference",
    "customer_name",
    "customer_email",
    "customer_postcode",
    "signer",
)
DOCUMENT_FUNCTION = "tracking_search_document"
_NOT_PLACE_TEXT = re.compile(r"[^\w]+")
_NAME_WORD = re.compile(r"^[^\W\d_]{4,30}$")


# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------
def place_text(*parts: str) -> str:
    """ "NEWARK NJ 07114 US": upper case, punctuation and runs of spaces as one space. Queries go
    through the same function, so "Newark, NJ" and "newark nj" find it alike."""
    return " ".join(_NOT_PLACE_TEXT.sub(" ", " ".join(parts)).upper().split())


class Place(models.Model):
    """A place events were scanned at, once however many events and shipments passed it."""

    city = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=32, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    #: place_text() of the four: what the search matches.
    text = models.CharField(max_length=400)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["city", "state", "postal_code", "country_code"], name="place_unique"
            )
        ]
        # The ingest looks its places up by their text.
        indexes = [models.Index(fields=["text"], name="place_text")]

    def __str__(self) -> str:
        return self.text


class ShipmentPlace(models.Model):
    """A shipment passed a place (insert-only; one row per pair, whatever the number of scans)."""

    pk = models.CompositePrimaryKey("shipment", "place")
    # No index of their own: the primary key starts with the shipment, the index below with the
    # place.
    shipment = models.ForeignKey(
        "tracking.Shipment", on_delete=models.CASCADE, related_name="place_links", db_index=False
    )
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="shipment_links", db_index=False
    )

    class Meta:
        # The primary key (shipment, place) answers "does this shipment have one of these places"
        # (the newest-first walk); this one "which shipments have this place".
        indexes = [models.Index(fields=["place", "shipment"], name="shipment_place_by_place")]

    def __str__(self) -> str:
        return f"{self.shipment_id} @ {self.place_id}"


# --------------------------------------------------------------------------------------------
# Shipments per carrier and status, kept by the database
# --------------------------------------------------------------------------------------------
class ShipmentTally(models.Model):
    """+1 / -1 rows written by triggers on tracking_shipment (migration 0010) whenever a shipment
    is added, deleted, or changes status or carrier, whoever writes it. The staff list sums them
    instead of counting a million shipments by status; rows are only ever inserted (no hot row
    that concurrent ingests would queue on), and housekeeping folds them into one row per
    carrier and status (`compact_tallies`)."""

    carrier_id = models.BigIntegerField()
    status_code = models.CharField(max_length=8, blank=True)
    shipments = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.carrier_id}/{self.status_code or '-'}: {self.shipments:+d}"


# --------------------------------------------------------------------------------------------
# The query
# --------------------------------------------------------------------------------------------
def clean_query(q: str | None) -> str:
    return " ".join((q or "").split())[:MAX_QUERY]


def _carrier_names(q: str) -> set[str]:
    """What a carrier's code or name must equal (case aside) for the query to name it."""
    lowered = q.lower()
    return {lowered, lowered.replace(" ", "_")}


def carrier_q(q: str) -> Q:
    """The carriers a query names, by their code or name (the SQL form of terms_for's test)."""
    condition = Q(name__iexact=q)
    for name in _carrier_names(q):
        condition |= Q(code__iexact=name)
    return condition


@dataclass(frozen=True)
class SearchTerms:
    """What one typed query asks for, worked out once."""

    q: str
    number: str  # as a tracking number: no whitespace, upper case
    patterns: tuple[str, ...]  # substrings of the document (upper case)
    place: str  # place_text(q)
    carrier_ids: tuple[int, ...] = ()
    short: bool = False  # under MIN_PARTIAL characters: exact values and codes only

    @property
    def exact_numbers(self) -> tuple[str, ...]:
        bare = without_separators(self.number)
        return (self.number, bare) if bare != self.number else (self.number,)

    @property
    def name_word(self) -> str:
        """The query as one name word for the typo search ("" if it is not one)."""
        return self.q.upper() if _NAME_WORD.match(self.q) else ""


def terms_for(q: str | None, carriers: Iterable[Carrier]) -> SearchTerms | None:
    """None when there is nothing to search for. `carriers`: all of them, to match their names
    here (the list loads them for its filter menu anyway)."""
    q = clean_query(q)
    if not q:
        return None
    number = normalize_tracking_number(q)
    names = _carrier_names(q)
    carrier_ids = tuple(
        c.pk for c in carriers if c.code.lower() in names or c.name.lower() == q.lower()
    )
    patterns = {q.upper()}
    if number != q.upper() and len(number) >= MIN_PARTIAL:
        patterns.add(number)  # "1Z 999 AA1" typed with spaces finds 1Z999AA1...
    return SearchTerms(
        q=q,
        number=number,
        patterns=tuple(sorted(patterns)),
        place=place_text(q),
        carrier_ids=carrier_ids,
        short=len(q) < MIN_PARTIAL,
    )


def exact_q(terms: SearchTerms) -> Q:
    """Equality on B-tree indexed columns: the fast path, ranked first."""
    condition = Q(tracking_number__in=terms.exact_numbers) | Q(reference=terms.q)
    if terms.q.lower().startswith("se-"):
        condition |= Q(label_id=normalize_label_id(terms.q))
    if "@" in terms.q:
        condition |= Q(customer_email=terms.q)
    return condition


class SearchDocument(Func):
    """PostgreSQL: the shipment's searchable text, exactly the expression migration 0011 indexes
    (the planner uses the index only for this very expression; tests/test_search_plans.py)."""

    function = DOCUMENT_FUNCTION
    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(*(F(name) for name in DOCUMENT_FIELDS))


def _is_postgres(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def _has_fts(alias: str) -> bool:
    # Migration 0010 creates the table on every SQLite database, so no query is spent asking.
    return connections[alias].vendor == "sqlite"


def document_q(terms: SearchTerms, alias: str) -> Q:
    """The document condition, row by row."""
    condition = Q(pk__in=[])
    for pattern in terms.patterns:
        if _is_postgres(alias):
            condition |= Q(Contains(SearchDocument(), pattern))
        else:
            # SQLite's LIKE ignores the case of ASCII letters; the FTS table is not used here.
            for name in DOCUMENT_FIELDS:
                condition |= Q(**{f"{name}__icontains": pattern})
    return condition


def place_q(terms: SearchTerms) -> Q:
    """Which places (the dictionary) the query names."""
    if terms.short:
        code = terms.q.upper()
        return Q(state=code) | Q(country_code=code) if len(code) == 2 else Q(pk__in=[])
    return Q(text__contains=terms.place) if len(terms.place) >= MIN_PARTIAL else Q(pk__in=[])


def _fts_phrase(text: str) -> str:
    # One FTS5 string: the trigram tokenizer turns it into a substring match; quotes are doubled
    # so nothing typed can become FTS query syntax.
    return '"' + text.replace('"', '""') + '"'


def _fts_match(terms: SearchTerms) -> str:
    return " OR ".join(_fts_phrase(p) for p in terms.patterns)


def document_ids(queryset: ShipmentQuerySet, terms: SearchTerms) -> ShipmentQuerySet:
    """Shipments whose document matches, as the index finds them (no order)."""
    if _has_fts(queryset.db):
        # The table name is a constant; what was typed is only ever a parameter.
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        return queryset.filter(pk__in=RawSQL(sql, [_fts_match(terms)]))  # noqa: S611
    return queryset.filter(document_q(terms, queryset.db))


#: What the list needs of a match to filter by carrier, count and sort it, without its row.
MATCH_COLUMNS = ("pk", "carrier_id", "status_code", "last_event_at", "estimated_delivery_date")
MatchRow = tuple[int, int, str, datetime | None, datetime | None]


@dataclass
class Matches:
    """What the indexes found, each part cut at `limit` (`overflow`: some part had more)."""

    #: Every match found, by id: its MATCH_COLUMNS, or None for a place match not read yet.
    rows: dict[int, MatchRow | None] = field(default_factory=dict)
    exact: list[int] = field(default_factory=list)
    place_ids: list[int] = field(default_factory=list)
    overflow: bool = False
    #: The parts that had more than `limit` ("document", "carrier", "places"); every match of
    #: the other parts is in `rows`.
    overflowed: set[str] = field(default_factory=set)
    #: The matches of the parts that did not overflow.
    complete: set[int] = field(default_factory=set)
    #: The exact matches are all there is: the substring parts were not asked.
    exact_only: bool = False


def exact_matches(shipments: ShipmentQuerySet, terms: SearchTerms, *, limit: int) -> list[MatchRow]:
    """The exact fast path alone: one query on B-tree indexes (equality), at most `limit` rows."""
    return list(
        shipments.order_by().filter(exact_q(terms)).values_list(*MATCH_COLUMNS)[: limit + 1]
    )


def bounded_matches(
    shipments: ShipmentQuerySet,
    terms: SearchTerms,
    *,
    limit: int,
    exact_only: bool = False,
    exact: list[MatchRow] | None = None,
) -> Matches:
    """At most `limit` matches from each index (exact, document, carrier, places): one short
    query each, the first three with the columns the list sorts and counts by. `shipments`: all
    of them (the list's filters come after). `exact_only`: when the exact fast path finds the
    query (a whole number, reference, label id or email), that is the answer: no substring work.
    `exact`: its rows, when the caller asked it already."""
    shipments = shipments.order_by()
    found = Matches()

    def add(rows: list[MatchRow]) -> None:
        for row in rows:
            if found.rows.get(row[0]) is None:
                found.rows[row[0]] = row

    if exact is None:
        exact = exact_matches(shipments, terms, limit=limit)
    found.exact = [row[0] for row in exact]
    add(exact)
    found.complete.update(found.exact)
    if exact_only and found.exact:
        found.exact_only = True
        return found
    parts = []
    if not terms.short:
        parts.append(("document", document_ids(shipments, terms)))
    if terms.carrier_ids:
        parts.append(("carrier", shipments.filter(carrier_id__in=terms.carrier_ids)))
    for name, part in parts:
        rows = list(part.values_list(*MATCH_COLUMNS)[: limit + 1])
        add(rows)
        if len(rows) > limit:
            found.overflowed.add(name)
        else:
            found.complete.update(row[0] for row in rows)
    found.place_ids = list(
        Place.objects.using(shipments.db).filter(place_q(terms)).values_list("pk", flat=True)
    )
    if found.place_ids:
        links = ShipmentPlace.objects.using(shipments.db).filter(place_id__in=found.place_ids)
        # A shipment may have passed several of the places: read links with room for that.
        ids = list(links.order_by().values_list("shipment_id", flat=True)[: 2 * limit + 1])
        if len(ids) > 2 * limit and len(set(ids)) <= limit:
            ids = list(links.order_by().values_list("shipment_id", flat=True))  # rare: read all
        for shipment_id in ids:
            found.rows.setdefault(shipment_id, None)
        if len(set(ids)) > limit:
            found.overflowed.add("places")
        else:
            found.complete.update(ids)
    found.overflow = bool(found.overflowed) or len(found.rows) > limit
    return found


def chunk_matches(
    shipments: ShipmentQuerySet, ids: Sequence[int], terms: SearchTerms, matches: Matches
) -> set[int]:
    """Which of these shipment ids (a chunk of the list, in index order) the search matches:
    two set-wise look-ups (its places by the link table's primary key, the rest row by row), so
    the work is the chunk's size whatever the whole match's."""
    hits: set[int] = set()
    if matches.place_ids:
        hits.update(
            ShipmentPlace.objects.using(shipments.db)
            .filter(shipment_id__in=ids, place_id__in=matches.place_ids)
            .values_list("shipment_id", flat=True)
        )
    condition = exact_q(terms)
    if terms.carrier_ids:
        condition |= Q(carrier_id__in=terms.carrier_ids)
    if not terms.short:
        condition |= document_q(terms, shipments.db)
    rest = [i for i in ids if i not in hits]
    if rest:
        hits.update(
            shipments.order_by().filter(pk__in=rest).filter(condition).values_list("pk", flat=True)
        )
    return hits


def search_shipments(queryset: ShipmentQuerySet, q: str | SearchTerms | None) -> ShipmentQuerySet:
    """Every shipment the query matches (no order), for the admin and the CSV export: the parts
    as one UNION, so that each uses its own index."""
    if isinstance(q, SearchTerms):
        terms: SearchTerms | None = q
        carrier_ids = Q(carrier_id__in=q.carrier_ids) if q.carrier_ids else None
    else:
        # The carriers it names in a subquery, rather than one more query to load them all.
        terms = terms_for(q, ())
        named = Carrier.objects.using(queryset.db).filter(carrier_q(terms.q)) if terms else None
        carrier_ids = Q(carrier_id__in=named.values("pk")) if named is not None else None
    if terms is None:
        return queryset
    model = queryset.model._default_manager.db_manager(queryset.db).order_by()
    parts: list[models.QuerySet] = [model.filter(exact_q(terms)).values("pk")]
    if not terms.short:
        parts.append(document_ids(model, terms).values("pk"))
    if carrier_ids is not None:
        parts.append(model.filter(carrier_ids).values("pk"))
    parts.append(
        ShipmentPlace.objects.using(queryset.db)
        .filter(place_id__in=Place.objects.using(queryset.db).filter(place_q(terms)).values("pk"))
        .order_by()
        .values("shipment_id")
    )
    first, *rest = parts
    return queryset.filter(pk__in=first.union(*rest))


# --------------------------------------------------------------------------------------------
# A typo in a name
# --------------------------------------------------------------------------------------------
class NameWord(models.Model):
    """Every word of every customer name, once (upper case): the vocabulary a misspelt name is
    corrected against. Written by database triggers on tracking_shipment (migration 0011), so
    imports, the admin and the API all add to it; never pruned (a word no shipment has any more
    finds nothing, which is harmless)."""

    word = models.CharField(max_length=60, primary_key=True)

    def __str__(self) -> str:
        return self.word


#: pg_trgm's similarity at which a vocabulary word is considered at all (a transposed letter in
#: a 7-letter name leaves about a third of its trigrams); the edit distance decides after.
TRIGRAM_SIMILARITY_THRESHOLD = 0.3


def edit_distance(a: str, b: str) -> int:
    """Letters dropped, added, changed, or two neighbours swapped (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def corrected_words(terms: SearchTerms, *, alias: str = "default") -> list[str]:
    """Customer-name words one typo (two for long names) from the query, closest first; [] when
    the query is not one name word. PostgreSQL: pg_trgm similarity on the vocabulary's trigram
    index finds the candidates; SQLite: the words of about the same length. The edit distance
    ranks them in both."""
    word = terms.name_word
    if not word:
        return []
    words = NameWord.objects.using(alias)
    if _is_postgres(alias):
        with connections[alias].cursor() as cursor:
            # Only for this transaction (the list runs searches in one, see search_guard).
            cursor.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                [str(TRIGRAM_SIMILARITY_THRESHOLD)],
            )
        candidates = list(
            words.filter(TrigramSimilar(F("word"), word))
            .annotate(similarity=TrigramSimilarity("word", word))
            .order_by("-similarity")
            .values_list("word", flat=True)[:200]
        )
    else:
        candidates = list(
            words.annotate(length=Length("word"))
            .filter(length__gte=len(word) - 2, length__lte=len(word) + 2)
            .values_list("word", flat=True)
        )
    allowed = 2 if len(word) >= 8 else 1
    scored = sorted(
        (d, w) for w in candidates if w != word and (d := edit_distance(word, w)) <= allowed
    )
    best = scored[0][0] if scored else 0
    return [w for d, w in scored if d == best][:5]


def tally_totals(
    *, carrier_ids: Sequence[int] | None = None, alias: str = "default"
) -> dict[str, int]:
    """{status code: shipments} from the tallies (all carriers, or these)."""
    rows = ShipmentTally.objects.using(alias).order_by()
    if carrier_ids is not None:
        rows = rows.filter(carrier_id__in=carrier_ids)
    totals: dict[str, int] = {}
    for code, n in rows.values_list("status_code").annotate(n=models.Sum("shipments")):
        if n:
            totals[code] = n
    return totals
