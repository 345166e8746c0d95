"""Spend and tokens from the ledger, by key, model and day, and what one API would have cost."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

_requests = sa.table(
    "requests",
    *(
        sa.column(c)
        for c in (
            "key_id", "served_model", "requested_model", "datetime_utc", "status",
            "prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd", "adapter",
        )
    ),
)  # fmt: skip
_keys = sa.table("keys", sa.column("id"), sa.column("name"))


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
    vs_cost_usd: float | None = None
    """The same tokens at the compared API's prices."""
    savings_usd: float | None = None
    """``vs_cost_usd - cost_usd``: positive means modelyard's routing was cheaper."""


@dataclass
class UsageReport:
    """``yard usage``: totals, then the same by key, by model and by day."""

    since: str | None
    vs: str | None
    """The API offer id the spend is compared with."""
    total: UsageRow
    by_key: list[UsageRow] = field(default_factory=list)
    by_model: list[UsageRow] = field(default_factory=list)
    by_day: list[UsageRow] = field(default_factory=list)
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
    """Sum the ledger by key, model and day, optionally costing the same tokens at ``vs``'s prices.

    Args:
        engine: The ledger database.
        since: Only rows at or after this ISO UTC time (see ``parse_since``).
        vs: An API offer to compare with: every request's tokens priced at its rates (prompt
            tokens include cached ones, which get the offer's cached price when it has one).
    """
    rate = Rate.of_offer(vs) if vs else None
    day = sa.func.substr(_requests.c.datetime_utc, 1, 10)
    model = sa.func.coalesce(_requests.c.served_model, _requests.c.requested_model, "?")
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(_keys.c.id, _keys.c.name)).all())
        total = _grouped(conn, None, since, rate)
        by_key = _grouped(conn, _requests.c.key_id, since, rate)
        by_model = _grouped(conn, model, since, rate)
        by_day = _grouped(conn, day, since, rate)
        by_adapter = [r for r in _grouped(conn, _requests.c.adapter, since, rate) if r.group]
    for row in by_key:
        row.key_id = row.group or None
        row.group = names.get(row.group, row.group or NO_KEY)
    return UsageReport(
        since=since,
        vs=vs.id if vs else None,
        total=total[0] if total else _row("total", (0, 0, 0, 0, 0, 0.0), rate),
        by_key=sorted(by_key, key=lambda r: -r.cost_usd),
        by_model=sorted(by_model, key=lambda r: -r.cost_usd),
        by_day=sorted(by_day, key=lambda r: r.group),
        by_adapter=sorted(by_adapter, key=lambda r: -r.requests),
    )


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
    c = _requests.c
    hour = sa.func.substr(c.datetime_utc, 1, 13)
    query = sa.select(
        hour, sa.func.count(), sa.func.sum(c.prompt_tokens), sa.func.sum(c.completion_tokens)
    ).group_by(hour)
    if since is not None:
        query = query.where(c.datetime_utc >= since)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(hour)).all()
    return [HourRow(h, int(n), int(p or 0), int(o or 0)) for h, n, p, o in rows]


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


def _grouped(
    conn: sa.Connection, by: sa.ColumnElement | None, since: str | None, rate: Rate | None
) -> list[UsageRow]:
    c = _requests.c
    sums = [
        sa.func.count(),
        sa.func.sum(sa.case((c.status >= 400, 1), else_=0)),
        *(sa.func.sum(col) for col in (c.prompt_tokens, c.completion_tokens, c.cached_tokens)),
        sa.func.sum(c.cost_usd),
    ]
    query = sa.select(by if by is not None else sa.literal("total"), *sums)
    if since is not None:
        query = query.where(c.datetime_utc >= since)
    if by is not None:
        query = query.group_by(by)
    return [_row(group, values, rate) for group, *values in conn.execute(query) if values[0]]


def _row(group: str | None, values: tuple | list, rate: Rate | None) -> UsageRow:
    requests, errors, prompt, completion, cached, cost = (v or 0 for v in values)
    row = UsageRow(
        group=group or "",
        key_id=None,
        requests=int(requests),
        errors=int(errors),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        cached_tokens=int(cached),
        cost_usd=float(cost),
    )
    if rate is not None:
        row.vs_cost_usd = rate.cost(row.prompt_tokens, row.completion_tokens, row.cached_tokens, 0)
        row.savings_usd = row.vs_cost_usd - row.cost_usd
    return row
