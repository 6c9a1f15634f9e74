"""The analytics page's numbers computed by plain SQL over the raw tables (tracking_shipment and
tracking_trackingevent), with nothing of the rollups: the check the tests compare the page
against (tests/test_analytics_generated.py) and the baseline benchmarks/analytics.py times.

Written from the rules in tracking/domain/shipment_facts.py, not from the code that applies them:
regions from the first and last scan with a place, the delivery time (the API's, else the first
delivering scan, else the last scan), transit in quarter days with nearest-rank percentiles, on
time against the carrier's day, each exception or attempt reason once per parcel on its first
day. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from django.db import connection

from tracking.domain.analytics_figures import Filters
from tracking.queries import analytics as queries


def sqlite() -> bool:
    return connection.vendor == "sqlite"


def day(expr: str) -> str:
    return f"date({expr})" if sqlite() else f"CAST(({expr}) AT TIME ZONE 'UTC' AS date)"


def seconds_between(later: str, earlier: str) -> str:
    if sqlite():  # %% : the query has parameters, so a literal percent sign is doubled
        return (
            f"(CAST(strftime('%%s', {later}) AS INTEGER)"
            f" - CAST(strftime('%%s', {earlier}) AS INTEGER))"
        )
    return f"EXTRACT(EPOCH FROM ({later}) - ({earlier}))"


def parcels_sql() -> str:
    """One row per shipment with a dated scan: carrier, status, shipped, delivered, lane, the
    carrier's date."""
    region = "CASE WHEN c <> '' AND st <> '' THEN c || '-' || st WHEN c <> '' THEN c ELSE st END"
    return f"""
    WITH dated AS (
        SELECT shipment_id, id, occurred_at, status_code,
               UPPER(SUBSTR(TRIM(country_code), 1, 2)) AS c,
               UPPER(SUBSTR(REPLACE(state_province, ' ', ''), 1, 10)) AS st
        FROM tracking_trackingevent WHERE occurred_at IS NOT NULL
    ),
    placed AS (
        SELECT shipment_id, {region} AS r,
               ROW_NUMBER() OVER (PARTITION BY shipment_id ORDER BY occurred_at, id) AS first_k,
               ROW_NUMBER() OVER (PARTITION BY shipment_id ORDER BY occurred_at DESC, id DESC) AS last_k
        FROM dated WHERE c <> '' OR st <> ''
    ),
    span AS (
        SELECT shipment_id, MIN(occurred_at) AS shipped_at, MAX(occurred_at) AS last_at,
               MIN(CASE WHEN status_code IN ('DE', 'SP') THEN occurred_at END) AS delivering_at
        FROM dated GROUP BY shipment_id
    )
    SELECT s.id, s.carrier_id,
           CASE WHEN s.status_code = '' THEN 'UN' ELSE s.status_code END AS status,
           span.shipped_at,
           CASE WHEN s.status_code IN ('DE', 'SP')
                THEN COALESCE(s.actual_delivery_date, span.delivering_at, span.last_at) END
               AS delivered_at,
           COALESCE(o.r, '') AS origin, COALESCE(d.r, '') AS destination,
           s.estimated_delivery_date AS eta
    FROM tracking_shipment s
    JOIN span ON span.shipment_id = s.id
    LEFT JOIN placed o ON o.shipment_id = s.id AND o.first_k = 1
    LEFT JOIN placed d ON d.shipment_id = s.id AND d.last_k = 1
    """


def where(f: Filters, day_column: str) -> tuple[str, list]:
    clauses = [f"{day_column} >= %s", f"{day_column} <= %s"]
    params: list = [f.start, f.end]
    if f.carrier_id is not None:
        clauses.append("carrier_id = %s")
        params.append(f.carrier_id)
    if f.origin:
        clauses.append("origin = %s")
        params.append(f.origin)
    if f.destination:
        clauses.append("destination = %s")
        params.append(f.destination)
    return " AND ".join(clauses), params


def rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def as_day(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def plain_sql(f: Filters) -> dict:
    """The page's numbers for these filters, from the raw tables only."""
    p = parcels_sql()
    group = "carrier_id, origin, destination" if f.by_lane else "carrier_id"
    out: dict = {}

    cond, params = where(f, "shipped_day")
    found = rows(
        f"SELECT shipped_day, status, COUNT(*) FROM (SELECT *, {day('shipped_at')} AS shipped_day "
        f"FROM ({p}) parcels) x WHERE {cond} GROUP BY shipped_day, status",
        params,
    )
    per_day: dict[date, int] = defaultdict(int)
    status: dict[str, int] = defaultdict(int)
    for d, st, n in found:
        per_day[as_day(d)] += n
        status[st] += n
    out["per_day"] = dict(per_day)
    out["status"] = dict(status)

    bucket = f"FLOOR({seconds_between('delivered_at', 'shipped_at')} / 21600.0)"
    delivered = (
        f"SELECT *, {day('delivered_at')} AS delivered_day, "
        f"CASE WHEN {bucket} > 360 THEN 360 ELSE {bucket} END AS bucket "
        f"FROM ({p}) parcels WHERE delivered_at IS NOT NULL"
    )
    cond, params = where(f, "delivered_day")
    transit: dict = {}
    for q, name in ((1, "n"), (5, "median"), (9, "p90")):
        found = rows(
            f"SELECT {group}, bucket, cnt FROM ("
            f"  SELECT {group}, bucket,"
            f"    ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY bucket) AS rn,"
            f"    COUNT(*) OVER (PARTITION BY {group}) AS cnt"
            f"  FROM ({delivered}) x WHERE {cond} AND bucket >= 0"
            f") ranked WHERE rn = (cnt * {q} + 9) / 10",
            params,
        )
        for *key, b, cnt in found:
            entry = transit.setdefault(tuple(key), {})
            entry["parcels"] = cnt
            if name != "n":
                entry[name] = int(b)
    out["transit"] = {k: (v["parcels"], v["median"], v["p90"]) for k, v in transit.items()}

    punctual = (
        f"CASE WHEN eta IS NULL THEN 'no_date' WHEN {day('delivered_at')} <= {day('eta')} "
        "THEN 'on_time' ELSE 'late' END"
    )
    found = rows(
        f"SELECT {group}, {punctual}, COUNT(*) FROM ({delivered}) x WHERE {cond} "
        f"GROUP BY {group}, {punctual}",
        params,
    )
    punctuality: dict = defaultdict(dict)
    for *key, k, n in found:
        punctuality[tuple(key)][k] = n
    out["punctuality"] = dict(punctuality)

    reason = (
        "SUBSTR(COALESCE(NULLIF(TRIM(e.status_detail_description, ' '), ''), "
        "NULLIF(TRIM(e.description, ' '), ''), NULLIF(TRIM(e.carrier_status_description, ' '), ''), "
        "NULLIF(TRIM(e.status_detail_code, ' '), ''), ''), 1, 100)"
    )
    incidents_sql = (
        f"SELECT parcels.carrier_id, parcels.origin, parcels.destination, "
        f"CASE WHEN e.status_code = 'EX' THEN 'exception' ELSE 'attempt' END AS kind, "
        f"{reason} AS reason, MIN({day('e.occurred_at')}) AS first_day "
        f"FROM tracking_trackingevent e JOIN ({p}) parcels ON parcels.id = e.shipment_id "
        "WHERE e.status_code IN ('EX', 'AT') AND e.occurred_at IS NOT NULL "
        f"GROUP BY parcels.id, parcels.carrier_id, parcels.origin, parcels.destination, "
        f"CASE WHEN e.status_code = 'EX' THEN 'exception' ELSE 'attempt' END, {reason}"
    )
    cond, params = where(f, "first_day")
    found = rows(
        f"SELECT {group}, kind, reason, COUNT(*) FROM ({incidents_sql}) x WHERE {cond} "
        f"GROUP BY {group}, kind, reason",
        params,
    )
    out["incidents"] = {tuple(r[:-1]): r[-1] for r in found}
    return out


def page_numbers(f: Filters) -> dict:
    """The same numbers as the page reads them from the rollups (queries/analytics.py)."""
    report = queries.report(f)

    def key(group: tuple) -> tuple:
        return group if f.by_lane else (group[0],)

    return {
        "per_day": {d: n for d, n in report.per_day if n},
        "status": report.status_now,
        "transit": {key(g): (t.parcels, t.median, t.p90) for g, t in report.transit.items()},
        "punctuality": {key(g): counts for g, counts in report.punctuality.items()},
        "incidents": {
            (*key(g), kind, reason): n for (g, kind, reason), n in report.incidents.items()
        },
    }
