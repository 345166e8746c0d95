"""Search the ledger: rows by key, model, backend, status and time, newest first, a page at a
time (keyset paging: a page costs the same at row 50 and at row 900,000).

Each filter has an index (migration m007_dashboard): key + time, model asked + time, model that
answered + time, backend + time, and the errors alone; time ranges use the time index. Prompt
and reply text is returned only for one row at a time, and only when the gateway logs prompts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelyard.errors import YardError

LIST_COLUMNS = (
    "id",
    "datetime_utc",
    "key_id",
    "requested_model",
    "served_model",
    "backend",
    "endpoint",
    "stream",
    "status",
    "error_type",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
    "duration_ms",
    "ttft_ms",
    "route_reason",
)
BODY_COLUMNS = ("request_json", "response_json")
MAX_PAGE = 500
STATUS_CLASSES = {
    "ok": (0, 400),
    "errors": (400, 1000),
    "2xx": (200, 300),
    "3xx": (300, 400),
    "4xx": (400, 500),
    "5xx": (500, 600),
}
_requests = sa.table("requests", *(sa.column(c) for c in LIST_COLUMNS + BODY_COLUMNS))
_keys = sa.table("keys", sa.column("id"), sa.column("name"))
CURSOR = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.+-]{8,25})\|([0-9A-Za-z]{1,40})$")


@dataclass(frozen=True)
class LedgerQuery:
    """What to look for; every field narrows the search."""

    key_id: str | None = None
    model: str | None = None
    """The model asked for or the one that answered."""
    backend: str | None = None
    status: str | None = None
    """A status code (``429``), a class (``4xx``), ``errors`` (400 and up) or ``ok``."""
    since: str | None = None
    """ISO UTC time, inclusive."""
    until: str | None = None
    """ISO UTC time, exclusive."""
    cursor: str | None = None
    """``next_cursor`` of the previous page."""
    limit: int = 50


@dataclass(frozen=True)
class LedgerPage:
    """One page of rows, newest first."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    """Pass it back for the next (older) page; None on the last page."""
    key_names: dict[str, str] = field(default_factory=dict)
    """Names of the keys the rows mention, by id."""


def search(engine: Engine, query: LedgerQuery) -> LedgerPage:
    """The page of rows ``query`` asks for.

    A model filter matches the model asked for or the one that answered (``auto``'s rows under
    ``auto`` and under the candidate that took them): one query per column, each down its
    own index, merged here.

    Raises:
        YardError: a malformed status, cursor or limit.
    """
    if not 1 <= query.limit <= MAX_PAGE:
        raise YardError(f"limit: {query.limit}: give 1 to {MAX_PAGE}")
    c = _requests.c
    filters = _filters(query)
    models = [c.served_model, c.requested_model] if query.model is not None else [None]
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for column in models:
            where = [*filters, column == query.model] if column is not None else filters
            select = sa.select(*(c[name] for name in LIST_COLUMNS)).where(*where)
            select = select.order_by(c.datetime_utc.desc(), c.id.desc()).limit(query.limit + 1)
            found.update((r.id, dict(r._mapping)) for r in conn.execute(select))
        rows = sorted(found.values(), key=lambda r: (r["datetime_utc"], r["id"]), reverse=True)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        ids = sorted({r["key_id"] for r in rows if r["key_id"]})
        names = dict(
            conn.execute(sa.select(_keys.c.id, _keys.c.name).where(_keys.c.id.in_(ids))).all()
        )
    last = rows[-1] if rows and more else None
    return LedgerPage(
        rows=[{**r, "stream": bool(r["stream"])} for r in rows],
        next_cursor=f"{last['datetime_utc']}|{last['id']}" if last else None,
        key_names=names,
    )


def entry(engine: Engine, request_id: str, with_bodies: bool) -> dict[str, Any] | None:
    """One row by id, with the request and reply bodies when ``with_bodies`` (prompt logging)."""
    c = _requests.c
    columns = LIST_COLUMNS + (BODY_COLUMNS if with_bodies else ())
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*(c[n] for n in columns)).where(c.id == request_id)
        ).one_or_none()
    return {**row._mapping, "stream": bool(row.stream)} if row is not None else None


def _filters(query: LedgerQuery) -> list[sa.ColumnElement[bool]]:
    c = _requests.c
    found: list[sa.ColumnElement[bool]] = []
    if query.key_id is not None:
        found.append(c.key_id == query.key_id)
    if query.backend is not None:
        found.append(c.backend == query.backend)
    if query.status is not None:
        found += _status(query.status)
    if query.since is not None:
        found.append(c.datetime_utc >= query.since)
    if query.until is not None:
        found.append(c.datetime_utc < query.until)
    if query.cursor is not None:
        found += _after(query.cursor)
    return found


def _status(text: str) -> list[sa.ColumnElement[bool]]:
    status = _requests.c.status
    if text.isdigit() and len(text) == 3:
        code = int(text)
        # the redundant bound lets the database use the errors-only index for an error code
        return [status == code, status >= 400] if code >= 400 else [status == code]
    if text in STATUS_CLASSES:
        low, high = STATUS_CLASSES[text]
        return [status >= low, status < high]
    raise YardError(f"status: {text!r}: give a code (429), a class (4xx), errors or ok")


def _after(cursor: str) -> list[sa.ColumnElement[bool]]:
    match = CURSOR.match(cursor)
    if match is None:
        raise YardError(f"cursor: {cursor[:80]!r} is not a cursor this search returned")
    when, last_id = match.groups()
    c = _requests.c
    return [c.datetime_utc <= when, sa.not_(sa.and_(c.datetime_utc == when, c.id >= last_id))]
