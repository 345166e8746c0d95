"""Spend and tokens from the ledger, by key, model and day, and what one API would have cost."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelyard.catalog import ApiOffer
from modelyard.errors import YardError
from modelyard.serve import journal
from modelyard.serve.ledger import DB_NAME, JOURNAL_DIR, connect, replay
from modelyard.serve.migrations import applied
from modelyard.serve.pricing import Rate

SINCE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
NO_KEY = "(no key)"
NO_BACKEND = "(no backend)"
"""The backend group of requests refused before any backend was tried."""

_requests = sa.table(
    "requests",
    *(
        sa.column(c)
        for c in (
            "key_id",
            "served_model",
            "requested_model",
            "backend",
            "datetime_utc",
            "status",
            "prompt_tokens",
            "completion_tokens",
            "cached_tokens",
            "cost_usd",
            "duration_ms",
            "ttft_ms",
            "adapter",
        )
    ),
)
_keys = sa.table("keys", sa.column("id"), sa.column("name"))
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
_hourly = sa.table(
    "usage_hourly", *(sa.column(c) for c in ("hour", "key_id", "model", "backend", *SUMS))
)
_daily = sa.table(
    "usage_daily", *(sa.column(c) for c in ("day", "key_id", "model", "backend", *SUMS))
)
Step = Literal["hour", "day"]


def row_model() -> sa.ColumnElement[str]:
    """The model a ledger row counts for: the one that answered, else the one asked for (as
    the rollup's triggers count it)."""
    return sa.literal_column("coalesce(served_model, requested_model, '?')")


REPORT_ROWS = ("by_key", "by_model", "by_day", "by_backend", "by_adapter")
PERIODS = {"hour": 13, "day": 10}
"""Periods the usage can be summed by, as the length of the ISO time prefix that names one."""


@dataclass
class UsageRow:
    """Totals for one key, model or day."""

    group: str
    """The key's name, the model, or the day (YYYY-MM-DD, UTC)."""
    key_id: str | None
    """The key's id, on rows grouped by key."""
    requests: int
    errors: int
    """Requests answered with a status of 400 or more."""
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: float
    """What the ledger recorded."""
    duration_ms: int = 0
    """Request time, summed."""
    generation_ms: int = 0
    """Time successful requests spent producing output after their first token, summed."""
    vs_cost_usd: float | None = None
    """The same tokens at the compared API's prices."""
    savings_usd: float | None = None
    """``vs_cost_usd - cost_usd``: positive means modelyard's routing was cheaper."""


@dataclass
class UsageReport:
    """``yard usage``: totals, then the same by key, by model, by day and by backend."""

    since: str | None
    vs: str | None
    """The API offer id the spend is compared with."""
    total: UsageRow
    by_key: list[UsageRow] = field(default_factory=list)
    by_model: list[UsageRow] = field(default_factory=list)
    by_day: list[UsageRow] = field(default_factory=list)
    by_backend: list[UsageRow] = field(default_factory=list)
    by_adapter: list[UsageRow] = field(default_factory=list)
    """Requests a fine-tuned LoRA adapter answered, by adapter (base-model requests left out)."""


@dataclass
class StoreStatus:
    """``yard usage status``: where the ledger is and what it holds."""

    url: str
    requests: int
    keys: int
    first_utc: str | None
    last_utc: str | None
    migrations: list[str]
    journal_dir: str
    journal_segments: int
    """Segment files waiting to be written (a live gateway's own segment counts)."""


def open_store(url: str | None, home: Path) -> Engine:
    """The ledger database, migrated, with any journal a crashed gateway left replayed into it."""
    engine = connect(url, home)
    replay(engine, home / JOURNAL_DIR)
    return engine


def store_url(url: str | None, home: Path) -> str:
    """The ledger's location as a user would type it (password masked)."""
    if url is None:
        return str(home / DB_NAME)
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def parse_since(text: str, now: datetime | None = None) -> str:
    """``7d``, ``12h``, ``30m``, ``2w`` or an ISO date/time, as ISO UTC text like the rows hold.

    Raises:
        YardError: the text is neither form.
    """
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match:
        delta = timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})
        return (now - delta).isoformat(timespec="milliseconds")
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise YardError(
            f"--since {text!r}: expected a duration like 7d, 12h, 30m, 2w or a date like 2026-01-31"
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat(timespec="milliseconds")


def summarize(engine: Engine, since: str | None = None, vs: ApiOffer | None = None) -> UsageReport:
    """Sum the ledger by key, model, backend and day, optionally costing the same tokens at
    ``vs``'s prices.

    Read from the daily and hourly rollups for every whole day and hour, and from the ledger's
    rows only for the part of an hour ``since`` starts in (``usage_source``): exact, and about
    as fast on a million rows as on a thousand.

    Args:
        engine: The ledger database.
        since: Only rows at or after this ISO UTC time (see ``parse_since``).
        vs: An API offer to compare with: every request's tokens priced at its rates (prompt
            tokens include cached ones, which get the offer's cached price when it has one).
    """
    rate = Rate.of_offer(vs) if vs else None
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(_keys.c.id, _keys.c.name)).all())
        groups = _grouped(conn, usage_source(since), "day", BY_ALL, rate)
        by_adapter = _by_adapter(conn, since, rate)
    by_key = groups["key"]
    for row in by_key:
        row.key_id = row.group or None
        row.group = names.get(row.group, row.group or NO_KEY)
    for row in groups["backend"]:
        row.group = row.group or NO_BACKEND
    total = groups["total"]
    return UsageReport(
        since=since,
        vs=vs.id if vs else None,
        total=total[0] if total else _row("total", [0] * len(SUMS), rate),
        by_key=sorted(by_key, key=lambda r: -r.cost_usd),
        by_model=sorted(groups["model"], key=lambda r: -r.cost_usd),
        by_day=sorted(groups["period"], key=lambda r: r.group),
        by_backend=sorted(groups["backend"], key=lambda r: -r.requests),
        by_adapter=sorted(by_adapter, key=lambda r: -r.requests),
    )


def _by_adapter(conn: sa.Connection, since: str | None, rate: Rate | None) -> list[UsageRow]:
    """The ledger's adapter rows summed per adapter (read through migration m005's partial
    index: the rollups do not keep adapters)."""
    r = _requests.c
    ok = r.status < 400
    query = (
        sa.select(
            r.adapter,
            sa.func.count(),
            sa.func.sum(sa.case((r.status >= 400, 1), else_=0)),
            *(sa.func.sum(r[c]) for c in SUMS[2:7]),
            sa.func.sum(
                sa.case((ok, sa.func.coalesce(r.duration_ms, 0) - sa.func.coalesce(r.ttft_ms, 0)))
            ),
        )
        .where(r.adapter.is_not(None))
        .group_by(r.adapter)
    )
    if since is not None:
        query = query.where(r.datetime_utc >= since)
    return [_row(group, values, rate) for group, *values in conn.execute(query)]


@dataclass
class HourRow:
    """Requests and tokens in one UTC hour."""

    hour: str
    """``YYYY-MM-DDTHH`` (UTC)."""
    requests: int
    prompt_tokens: int
    completion_tokens: int


def by_hour(engine: Engine, since: str | None = None) -> list[HourRow]:
    """Requests and tokens per UTC hour that had any, oldest first (what `yard plan
    --from-ledger` sizes replicas for)."""
    source = usage_source(since, "hour")
    hour = period(source, "hour")
    query = sa.select(
        hour,
        sa.func.sum(source.c.requests),
        sa.func.sum(source.c.prompt_tokens),
        sa.func.sum(source.c.completion_tokens),
    ).group_by(hour)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(hour)).all()
    return [HourRow(h, int(n), int(p or 0), int(o or 0)) for h, n, p, o in rows]


def over_time(engine: Engine, since: str | None, vs: ApiOffer | None, step: Step) -> list[UsageRow]:
    """Totals per hour or day (UTC), oldest first: the dashboard's spend and savings chart."""
    rate = Rate.of_offer(vs) if vs else None
    with engine.connect() as conn:
        groups = _grouped(conn, usage_source(since, step), step, ("period",), rate)
    return sorted(groups["period"], key=lambda r: r.group)


def usage_source(since: str | None, grain: Step = "day") -> sa.Subquery:
    """Usage rows (``at``, key_id, model, backend and the sums) from ``since`` on, read from
    the smallest tables that hold them exactly: with ``grain`` day, ``usage_daily`` for the
    days after ``since``'s, ``usage_hourly`` for the rest of that day after ``since``'s hour, the
    ledger's rows for the rest of that hour; with ``grain`` hour, the hourly rollup and the
    rows. ``at`` is the day (``2026-03-01``) or hour (``2026-03-01T14``) a row counts for."""
    h = _hourly.c
    hours = sa.select(h.hour.label("at"), h.key_id, h.model, h.backend, *(h[c] for c in SUMS))
    if grain == "day":
        d = _daily.c
        days = sa.select(d.day.label("at"), d.key_id, d.model, d.backend, *(d[c] for c in SUMS))
        if since is None:
            return days.subquery("usage")
        rest_of_day = hours.where(h.hour > since[:13], h.hour <= f"{since[:10]}T23")
        parts = [days.where(d.day > since[:10]), rest_of_day]
    elif since is None:
        return hours.subquery("usage")
    else:
        parts = [hours.where(h.hour > since[:13])]
    return sa.union_all(*parts, _rest_of_hour(since)).subquery("usage")


def _rest_of_hour(since: str) -> sa.Select:
    """The ledger's rows from ``since`` to the end of its hour, shaped as rollup rows."""
    start = datetime.fromisoformat(since).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end = (start + timedelta(hours=1)).isoformat(timespec="milliseconds")
    r = _requests.c
    ok = r.status < 400
    return sa.select(
        sa.func.substr(r.datetime_utc, 1, 13).label("at"),
        sa.func.coalesce(r.key_id, "").label("key_id"),
        row_model().label("model"),
        sa.func.coalesce(r.backend, "").label("backend"),
        sa.literal(1).label("requests"),
        sa.case((r.status >= 400, 1), else_=0).label("errors"),
        *(sa.func.coalesce(r[c], 0).label(c) for c in SUMS[2:7]),
        sa.case(
            (ok, sa.func.coalesce(r.duration_ms, 0) - sa.func.coalesce(r.ttft_ms, 0)), else_=0
        ).label("generation_ms"),
    ).where(r.datetime_utc >= since, r.datetime_utc < end)


def period(source: sa.Subquery, step: Step) -> sa.ColumnElement:
    """The hour (``2026-03-01T14``) or day (``2026-03-01``) a usage row falls in."""
    return sa.func.substr(source.c.at, 1, PERIODS[step])


def remote_summary(
    url: str, admin_key: str, since: str | None = None, vs: str | None = None
) -> UsageReport:
    """The same report from a running gateway's ``GET /admin/usage``, for a ledger this machine
    cannot open (another host's SQLite, a database behind the gateway).

    Raises:
        YardError: the gateway is unreachable, refused the admin key, or answered an error.
    """
    query = urllib.parse.urlencode({k: v for k, v in (("since", since or "all"), ("vs", vs)) if v})
    request = urllib.request.Request(
        f"{url.rstrip('/')}/admin/usage?{query}",
        headers={"Authorization": f"Bearer {admin_key}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            report = orjson.loads(response.read())["report"]
    except urllib.error.HTTPError as exc:
        raise YardError(f"{url}: HTTP {exc.code}: {_message(exc.read())}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise YardError(f"{url}: cannot connect ({exc}); is `yard serve` running there?") from None
    rows = {name: [UsageRow(**row) for row in report[name]] for name in REPORT_ROWS}
    return UsageReport(
        since=report["since"], vs=report["vs"], total=UsageRow(**report["total"]), **rows
    )


def _message(body: bytes) -> str:
    try:
        return str(orjson.loads(body)["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


def status(engine: Engine, url: str, home: Path) -> StoreStatus:
    """Counts, time span, applied migrations and journal backlog of the ledger."""
    with engine.connect() as conn:
        count, first, last = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(_requests.c.datetime_utc),
                sa.func.max(_requests.c.datetime_utc),
            )
        ).one()
        keys = conn.execute(sa.select(sa.func.count()).select_from(_keys)).scalar_one()
    journal_dir = home / JOURNAL_DIR
    segments = list(journal_dir.glob(f"*{journal.SUFFIX}")) if journal_dir.is_dir() else []
    return StoreStatus(
        url=url,
        requests=int(count),
        keys=int(keys),
        first_utc=first,
        last_utc=last,
        migrations=applied(engine),
        journal_dir=str(journal_dir),
        journal_segments=len(segments),
    )


BY_ALL = ("total", "key", "model", "backend", "period")


def _grouped(
    conn: sa.Connection, source: sa.Subquery, step: Step, by: tuple[str, ...], rate: Rate | None
) -> dict[str, list[UsageRow]]:
    """The source's sums by each of ``by`` in one statement: the source is summed once per
    period, key, model and backend (a few thousand rows for a month), kept, and grouped again
    from there for each grouping."""
    columns = {
        "period": period(source, step),
        "key": source.c.key_id,
        "model": source.c.model,
        "backend": source.c.backend,
    }
    keys = list(columns.values())
    base = (
        sa.select(
            *(c.label(name) for name, c in columns.items()),
            *(sa.func.sum(source.c[s]).label(s) for s in SUMS),
        )
        .group_by(*keys)
        .cte("base")
        .prefix_with("MATERIALIZED")
    )
    parts = [
        sa.select(
            sa.literal(name).label("grouping"),
            sa.literal("total") if name == "total" else base.c[name],
            *(sa.func.sum(base.c[s]) for s in SUMS),
        ).group_by(*([] if name == "total" else [base.c[name]]))
        for name in by
    ]
    found: dict[str, list[UsageRow]] = {name: [] for name in by}
    for grouping, group, *values in conn.execute(sa.union_all(*parts)):
        if values[0]:
            found[grouping].append(_row(group, values, rate))
    return found


def _row(group: str | None, values: Sequence[float], rate: Rate | None) -> UsageRow:
    requests, errors, prompt, completion, cached, cost, duration, generation = (
        v or 0 for v in values
    )
    row = UsageRow(
        group=group or "",
        key_id=None,
        requests=int(requests),
        errors=int(errors),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        cached_tokens=int(cached),
        cost_usd=float(cost),
        duration_ms=int(duration),
        generation_ms=int(generation),
    )
    if rate is not None:
        row.vs_cost_usd = rate.cost(row.prompt_tokens, row.completion_tokens, row.cached_tokens, 0)
        row.savings_usd = row.vs_cost_usd - row.cost_usd
    return row
