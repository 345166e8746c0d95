"""Why requests went where they went, counted from the ledger's ``route_reason``: how each was
routed (``auto``, a named model, refused first), the reason, the kinds of private data that
kept requests on self-hosted backends (counts only, never values), cascade escalations and
fallbacks.

Counting means reading every row's reason, so the counts are kept per hour (``route_hourly``)
and per day (``route_daily``, the sum of its hours): an hour is read again only when
``usage_hourly`` (kept by triggers, so always current) says its number of requests changed
since it was counted, a day summed again only when ``usage_daily`` says so, and everything
when this module's reading of reasons changes (``FACTS_VERSION``). A window takes whole days,
then the hours of its first day, then the rest of its first hour from the rows themselves.
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

from modelyard.serve.usage import UsageRow, summarize

FACTS_VERSION = 1
"""Bump when ``route_facts`` reads reasons differently: every counted hour is read again."""
Fact = tuple[str, str]
ESCALATED = ", escalated"
"""How `auto`'s cascade marks an attempt it escalated from (serve/auto.py)."""
PRIVATE_PREFIXES = ("private data, self-hosted only; ", "key is private, self-hosted only; ")

_requests = sa.table(
    "requests", *(sa.column(c) for c in ("datetime_utc", "route_reason", "backend", "status"))
)
_hourly = sa.table("route_hourly", *(sa.column(c) for c in ("hour", "fact", "value", "requests")))
_daily = sa.table("route_daily", *(sa.column(c) for c in ("day", "fact", "value", "requests")))
_hours_done = sa.table("route_hours", *(sa.column(c) for c in ("hour", "requests", "version")))
_days = sa.table("route_days", *(sa.column(c) for c in ("day", "requests", "version")))
_usage_hourly = sa.table("usage_hourly", sa.column("hour"), sa.column("requests"))
Grain = tuple[sa.TableClause, sa.TableClause, str]
"""A grain's facts table, its table of counted periods, and their time column."""
HOURS: Grain = (_hourly, _hours_done, "hour")
DAYS: Grain = (_daily, _days, "day")
_usage_daily = sa.table("usage_daily", sa.column("day"), sa.column("requests"))


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
    usage = summarize(engine, since)
    facts = Counter[Fact]()
    with engine.begin() as conn:
        facts.update(_whole_days(conn, since[:10] if since else None))
        if since is not None:  # the rest of since's day, by hour
            facts.update(_hours(conn, f"{since[:13]}~", f"{since[:10]}T23"))
    if since is not None:  # the rest of since's hour, from the rows
        with engine.connect() as conn:
            facts.update(_read(conn, since, _hour_end(since)))
    return RoutingSummary(
        since=since,
        requests=usage.total.requests,
        by_backend=_shares(usage.by_backend),
        by_model=_shares(usage.by_model),
        kinds=_top(facts, "kind"),
        reasons=_top(facts, "reason"),
        private=_top(facts, "private"),
        escalated_from=_top(facts, "escalated_from"),
        fell_back_from=_top(facts, "fell_back_from"),
    )


def _shares(rows: list[UsageRow]) -> list[Count]:
    return sorted((Count(r.group, r.requests) for r in rows), key=lambda c: (-c.requests, c.value))


def _top(facts: Counter[Fact], fact: str) -> list[Count]:
    found = [Count(value, n) for (name, value), n in facts.items() if name == fact and n]
    return sorted(found, key=lambda c: (-c.requests, c.value))


def _whole_days(conn: Connection, after: str | None) -> Counter[Fact]:
    """The facts of every day after ``after`` (all days: None), folding again the days whose
    number of requests changed since they were folded."""
    day = _usage_daily.c.day
    totals = sa.select(day, sa.func.sum(_usage_daily.c.requests)).group_by(day)
    if after is not None:
        totals = totals.where(day > after)
    in_range = _days.c.day > after if after is not None else sa.true()
    for stale in _stale(conn, dict(conn.execute(totals).all()), DAYS, in_range):
        _fold_day(conn, stale)
    return _sum(conn, _daily, _daily.c.day > after if after is not None else None)


def _fold_day(conn: Connection, day: str) -> None:
    """A day's facts: the sum of its hours' (each counted again first if it changed)."""
    requests = sum(_fresh_hours(conn, f"{day}T00", f"{day}T23").values())
    hours = _hourly.c.hour.between(f"{day}T00", f"{day}T23")
    facts = _sum(conn, _hourly, hours)
    conn.execute(sa.delete(_daily).where(_daily.c.day == day))
    rows = [{"day": day, "fact": f, "value": v, "requests": n} for (f, v), n in facts.items()]
    # upserts: another worker may be storing the same day at the same time
    _upsert(conn, _daily, rows, ("day", "fact", "value"))
    _upsert(conn, _days, [{"day": day, "requests": requests, "version": FACTS_VERSION}], ("day",))


def _hours(conn: Connection, first: str, last: str) -> Counter[Fact]:
    """The facts of the hours from ``first`` to ``last`` (inclusive), fresh."""
    _fresh_hours(conn, first, last)
    return _sum(conn, _hourly, _hourly.c.hour.between(first, last))


def _fresh_hours(conn: Connection, first: str, last: str) -> dict[str, int]:
    """Count again the hours from ``first`` to ``last`` whose requests changed; their totals."""
    hour = _usage_hourly.c.hour
    query = (
        sa.select(hour, sa.func.sum(_usage_hourly.c.requests))
        .where(hour.between(first, last))
        .group_by(hour)
    )
    totals = {h: int(n) for h, n in conn.execute(query).all()}
    for stale in _stale(conn, totals, HOURS, _hours_done.c.hour.between(first, last)):
        _count_hour(conn, stale, totals[stale])
    return totals


def _stale(
    conn: Connection, totals: dict[str, int], grain: Grain, in_range: sa.ColumnElement[bool]
) -> list[str]:
    """The periods of ``totals`` whose facts were counted for another number of requests; the
    counted periods in range that no longer have any request (their rows were deleted) are
    forgotten."""
    facts, done, name = grain
    period = done.c[name]
    known_query = sa.select(period, done.c.requests).where(done.c.version == FACTS_VERSION)
    known = dict(conn.execute(known_query.where(in_range)).all())
    gone = [p for p in known if p not in totals]
    if gone:
        conn.execute(sa.delete(facts).where(facts.c[name].in_(gone)))
        conn.execute(sa.delete(done).where(period.in_(gone)))
    return [p for p, n in totals.items() if known.get(p) != n]


def _count_hour(conn: Connection, hour: str, requests: int) -> None:
    """Read one hour's rows again and store its facts (replacing what was stored)."""
    start = f"{hour}:00:00"
    end = (datetime.fromisoformat(start).replace(tzinfo=UTC) + timedelta(hours=1)).isoformat()
    facts = _read(conn, start, end[:19])
    conn.execute(sa.delete(_hourly).where(_hourly.c.hour == hour))
    rows = [{"hour": hour, "fact": f, "value": v, "requests": n} for (f, v), n in facts.items()]
    _upsert(conn, _hourly, rows, ("hour", "fact", "value"))
    done = {"hour": hour, "requests": requests, "version": FACTS_VERSION}
    _upsert(conn, _hours_done, [done], ("hour",))


def _sum(conn: Connection, table: sa.TableClause, where: sa.ColumnElement | None) -> Counter[Fact]:
    query = sa.select(table.c.fact, table.c.value, sa.func.sum(table.c.requests))
    if where is not None:
        query = query.where(where)
    facts = Counter[Fact]()
    for fact, value, n in conn.execute(query.group_by(table.c.fact, table.c.value)):
        facts[(fact, value)] += int(n)
    return facts


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
