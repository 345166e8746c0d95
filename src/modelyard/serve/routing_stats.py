"""Why requests went where they went, counted from the ledger's ``route_reason``: how each was
routed (``auto``, a named model, refused first), the reason, the kinds of private data that
kept requests on self-hosted backends (counts only, never values), cascade escalations and
fallbacks.

Counting means reading every row's reason, so the counts are kept per hour in
``route_hourly``: an hour is read again only when ``usage_hourly`` (kept by triggers, so always
current) says its number of requests changed since it was counted, or when this module's
reading of reasons changes (``FACTS_VERSION``). A window's first and partial hour is read from
the rows themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from modelyard.serve.usage import usage_source

FACTS_VERSION = 1
"""Bump when ``route_facts`` reads reasons differently: every counted hour is read again."""
Fact = tuple[str, str]
ESCALATED = ", escalated"
"""How `auto`'s cascade marks an attempt it escalated from (serve/auto.py)."""
PRIVATE_PREFIXES = ("private data, self-hosted only; ", "key is private, self-hosted only; ")

_requests = sa.table(
    "requests", *(sa.column(c) for c in ("datetime_utc", "route_reason", "backend", "status"))
)
_route = sa.table("route_hourly", *(sa.column(c) for c in ("hour", "fact", "value", "requests")))
_hours = sa.table("route_hours", *(sa.column(c) for c in ("hour", "requests", "version")))


@dataclass(frozen=True)
class Count:
    """How many requests share one value."""

    value: str
    requests: int


@dataclass(frozen=True)
class RoutingSummary:
    """The routing counts over a window."""

    since: str | None
    requests: int
    by_backend: list[Count]
    by_model: list[Count]
    kinds: list[Count]
    """auto, named (a model asked for by name), refused (before any backend)."""
    reasons: list[Count]
    private: list[Count]
    """Private-data kinds that kept requests self-hosted (a request may count for several)."""
    escalated_from: list[Count]
    """Cascade escalations, by the model whose reply was doubted."""
    fell_back_from: list[Count]
    """Failed attempts before the answer, by backend (or, under `auto`, candidate)."""


def route_facts(route_reason: str | None, backend: str | None, status: int) -> list[Fact]:
    """What one ledger row says about its routing."""
    if route_reason and route_reason.startswith("{"):
        try:
            verdict = orjson.loads(route_reason)
        except orjson.JSONDecodeError:
            verdict = None
        if isinstance(verdict, dict):
            return _auto_facts(verdict)
    if backend is None and status >= 400:
        return [("kind", "refused")]
    attempts = [a for a in (route_reason or "").split("; ") if a and a != "first in chain"]
    failed = {a.split(": ", 1)[0] for a in attempts}
    reason = "first in chain" if not failed else "retried" if failed == {backend} else "fell back"
    return [("kind", "named"), ("reason", reason), *(("fell_back_from", b) for b in failed)]


def _auto_facts(verdict: dict[str, Any]) -> list[Fact]:
    reason = str(verdict.get("reason") or "no candidate could take it")
    for prefix in PRIVATE_PREFIXES:
        reason = reason.removeprefix(prefix)
    kinds = verdict.get("private")
    attempts = verdict.get("attempts")
    facts: list[Fact] = [("kind", "auto"), ("reason", reason)]
    facts += [("private", str(k)) for k in (kinds if isinstance(kinds, list) else [])]
    for attempt in attempts if isinstance(attempts, list) else []:
        name = str(attempt).split(": ", 1)[0]
        escalated = str(attempt).endswith(ESCALATED)
        facts.append(("escalated_from" if escalated else "fell_back_from", name))
    return facts


def routing_summary(engine: Engine, since: str | None) -> RoutingSummary:
    """The routing counts since ``since`` (ISO UTC; None: everything in the ledger)."""
    source = usage_source(since)
    with engine.connect() as conn:
        by_backend = _counts(conn, source, source.c.backend)
        by_model = _counts(conn, source, source.c.model)
    facts = Counter[Fact]()
    with engine.begin() as conn:
        facts.update(_counted_hours(conn, since))
    if since is not None:
        with engine.connect() as conn:
            facts.update(_read(conn, since, _hour_end(since)))
    return RoutingSummary(
        since=since,
        requests=sum(c.requests for c in by_backend),
        by_backend=[Count(c.value or "(none)", c.requests) for c in by_backend],
        by_model=by_model,
        kinds=_top(facts, "kind"),
        reasons=_top(facts, "reason"),
        private=_top(facts, "private"),
        escalated_from=_top(facts, "escalated_from"),
        fell_back_from=_top(facts, "fell_back_from"),
    )


def _counts(conn: Connection, source: sa.Subquery, by: sa.ColumnElement) -> list[Count]:
    query = sa.select(by, sa.func.sum(source.c.requests)).group_by(by)
    rows = [Count(str(value), int(n)) for value, n in conn.execute(query) if n]
    return sorted(rows, key=lambda c: (-c.requests, c.value))


def _top(facts: Counter[Fact], fact: str) -> list[Count]:
    found = [Count(value, n) for (name, value), n in facts.items() if name == fact and n]
    return sorted(found, key=lambda c: (-c.requests, c.value))


def _counted_hours(conn: Connection, since: str | None) -> Counter[Fact]:
    """The facts of every whole hour after ``since``'s, counting again the hours that changed."""
    usage = sa.table("usage_hourly", sa.column("hour"), sa.column("requests"))
    totals = sa.select(usage.c.hour, sa.func.sum(usage.c.requests)).group_by(usage.c.hour)
    if since is not None:
        totals = totals.where(usage.c.hour > since[:13])
    now = dict(conn.execute(totals).all())
    known = dict(
        conn.execute(
            sa.select(_hours.c.hour, _hours.c.requests).where(_hours.c.version == FACTS_VERSION)
        ).all()
    )
    for hour, requests in now.items():
        if known.get(hour) != requests:
            _recount(conn, hour, int(requests))
    query = sa.select(_route.c.fact, _route.c.value, sa.func.sum(_route.c.requests))
    if since is not None:
        query = query.where(_route.c.hour > since[:13])
    facts = Counter[Fact]()
    for fact, value, n in conn.execute(query.group_by(_route.c.fact, _route.c.value)):
        facts[(fact, value)] += int(n)
    return facts


def _recount(conn: Connection, hour: str, requests: int) -> None:
    """Read one hour's rows again and store its facts (replacing what was stored)."""
    start = f"{hour}:00:00"
    end = (datetime.fromisoformat(start).replace(tzinfo=UTC) + timedelta(hours=1)).isoformat()
    facts = _read(conn, start, end[:19])
    conn.execute(sa.delete(_route).where(_route.c.hour == hour))
    rows = [{"hour": hour, "fact": f, "value": v, "requests": n} for (f, v), n in facts.items()]
    # upserts: another worker may be storing the same hour at the same time
    _upsert(conn, _route, rows, ("hour", "fact", "value"))
    counted = {"hour": hour, "requests": requests, "version": FACTS_VERSION}
    _upsert(conn, _hours, [counted], ("hour",))


def _upsert(
    conn: Connection, table: sa.TableClause, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def _read(conn: Connection, start: str, end: str) -> Counter[Fact]:
    c = _requests.c
    query = sa.select(c.route_reason, c.backend, c.status).where(
        c.datetime_utc >= start, c.datetime_utc < end
    )
    return Counter(_facts(conn.execute(query)))


def _facts(rows: Iterable[sa.Row]) -> Iterable[Fact]:
    for reason, backend, status in rows:
        yield from route_facts(reason, backend, status)


def _hour_end(since: str) -> str:
    start = datetime.fromisoformat(since).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return (start + timedelta(hours=1)).isoformat(timespec="milliseconds")
