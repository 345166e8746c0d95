"""The usage rollups (``usage_hourly``, ``usage_daily``) kept up to date as ledger rows arrive.

On PostgreSQL a statement trigger keeps them (migration m007_dashboard): one aggregated upsert
per inserted batch, whichever program inserts. SQLite has only per-row triggers, which cost
about 40 µs a row here against 6 µs for summing a batch in Python
(benchmarks/dashboard/insert.py), so on SQLite ``ledger.insert_rows`` calls ``unstored`` and
``add`` around its insert, in the same transaction: each batch is summed here, counting only
the rows not stored before (a replayed journal changes nothing). Deletes are followed by
triggers on both. The figures are those of the migration's SQL: a request counts for the model
that answered, else the one asked for; an error is a status of 400 or more; generation time is
a successful request's duration after its first token.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from modelyard.serve.ledger import LedgerEntry

GRAINS = (("usage_hourly", "hour", 13), ("usage_daily", "day", 10))
"""Table, time column and the length of the ISO time prefix that names a period."""
SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
    "duration_ms",
    "generation_ms",
)
CHUNK = 900
"""Ids per lookup (under SQLite's limit on bound parameters)."""


def unstored(conn: Connection, entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """On SQLite, the entries whose ids the ledger does not hold yet (each id once); on
    PostgreSQL none, since its trigger counts what it inserts."""
    if conn.dialect.name != "sqlite":
        return []
    ids = list(dict.fromkeys(e.id for e in entries))
    stored: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        query = f"SELECT id FROM requests WHERE id IN ({marks})"
        stored.update(row[0] for row in conn.exec_driver_sql(query, tuple(chunk)))
    fresh, seen = [], set(stored)
    for entry in entries:
        if entry.id not in seen:
            seen.add(entry.id)
            fresh.append(entry)
    return fresh


def add(conn: Connection, entries: Sequence[LedgerEntry]) -> None:
    """Add the usage of ``entries`` (just inserted) to every rollup."""
    if not entries:
        return
    for table, period, chars in GRAINS:
        groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(lambda: [0] * 8)
        for e in entries:
            key = (
                e.datetime_utc[:chars],
                e.key_id or "",
                e.served_model or e.requested_model or "?",
                e.backend or "",
            )
            ok = e.status < 400
            figures = (
                1,
                0 if ok else 1,
                e.prompt_tokens or 0,
                e.completion_tokens or 0,
                e.cached_tokens or 0,
                e.cost_usd or 0.0,
                e.duration_ms or 0,
                (e.duration_ms or 0) - (e.ttft_ms or 0) if ok else 0,
            )
            sums = groups[key]
            for i, value in enumerate(figures):
                sums[i] += value
        rows = [(*key, *sums) for key, sums in sorted(groups.items())]
        conn.exec_driver_sql(_upsert(table, period), rows)


def _upsert(table: str, period: str) -> str:
    columns = [period, "key_id", "model", "backend", *SUMS]
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMS)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({period}, key_id, model, backend) DO UPDATE SET {adds}"
    )
