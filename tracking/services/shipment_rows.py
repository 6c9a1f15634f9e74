"""Many new shipment rows at once, fast: the CSV import's and the REST API's bulk insert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models.constants import OnConflict
from django.utils import timezone

from ..models import Shipment


def insert_new(rows: Sequence[Mapping[str, Any]], *, first_check: Any = None) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (a package someone else stored a moment ago is skipped)
    with executemany. Each row maps field names to values (`carrier` is the carrier's id, and a
    `public_token` is required: a caller tells its own rows from someone else's by it); fields
    not given get their defaults. `first_check` sets next_check_at (an import with "fetch" off
    is polled on the normal schedule, not at once).

    The ORM's bulk_create spends ~1 ms of Python per row on this 40-column model, most of a
    100,000-row import or of a 1,000-item API request; this is ~20 times faster."""
    if not rows:
        return
    fields = [f for f in Shipment._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    constant: dict[str, Any] = {}
    for f in fields:
        value = now if f.name in {"created_at", "updated_at"} else f.get_default()
        if f.name == "next_check_at" and first_check is not None:
            value = first_check
        constant[f.name] = f.get_db_prep_save(value, connection)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    sql = (
        f"{connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)} "
        f"{connection.ops.quote_name(Shipment._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        + connection.ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    )
    params = [[row[f.name] if f.name in row else constant[f.name] for f in fields] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
