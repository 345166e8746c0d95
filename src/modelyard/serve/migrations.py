"""The ledger schema, one numbered migration per change; a shipped migration is never edited.

``migrate(engine)`` runs at every open and records each applied migration's name in
``_yard_migrations``, so a database created by any older release upgrades in place. Replicas
starting together on one fresh database migrate it one at a time (``_locked``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

Migration = Callable[[Connection], None]
MIGRATIONS: list[Migration] = []
LOCK_ID = int.from_bytes(b"yardmig", "big")
"""PostgreSQL advisory lock key held while migrating (the same in every release)."""

_applied = sa.Table(
    "_yard_migrations",
    sa.MetaData(),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_utc", sa.Text, nullable=False),
)


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration; its name is recorded once it has run."""
    MIGRATIONS.append(fn)
    return fn


def applied(engine: Engine) -> list[str]:
    """Names of the migrations this database has already run (numbered, so sorted = run order)."""
    if not sa.inspect(engine).has_table(_applied.name):
        return []
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_applied.c.name).order_by(_applied.c.name))
        return [name for (name,) in rows]


@lru_cache(maxsize=16)
def reflect(engine: Engine, name: str) -> sa.Table:
    """The current shape of table ``name`` (read once per engine)."""
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


def migrate(engine: Engine) -> list[str]:
    """Run every registered migration this database lacks, each in its own transaction.

    Each transaction holds the database's migration lock and re-reads what has run, so
    processes migrating one database at once run and record each migration exactly once.

    Returns:
        The names of the migrations run now (empty when the schema was current).
    """
    with _locked(engine) as conn:
        _applied.create(conn, checkfirst=True)
        done = _done(conn)
    ran = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with _locked(engine) as conn:
            if fn.__name__ in _done(conn):
                continue  # another process ran it meanwhile
            fn(conn)
            now = datetime.now(UTC).isoformat(timespec="microseconds")
            conn.execute(sa.insert(_applied).values(name=fn.__name__, applied_utc=now))
        ran.append(fn.__name__)
    return ran


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database-wide migration lock until it ends: a
    transaction-level advisory lock on PostgreSQL, the write lock on SQLite."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_ID)))
        elif conn.dialect.name == "sqlite":
            # pysqlite has not begun yet (it begins before DML only): take the lock up front
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _done(conn: Connection) -> set[str]:
    return set(conn.execute(sa.select(_applied.c.name)).scalars())


@migration
def m001_initial(conn: Connection) -> None:
    sa.Table(
        "requests",
        sa.MetaData(),
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("datetime_utc", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(26)),
        sa.Column("requested_model", sa.Text),
        sa.Column("served_model", sa.Text),
        sa.Column("backend", sa.Text),
        sa.Column("endpoint", sa.Text),
        sa.Column("stream", sa.Boolean, nullable=False, default=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_type", sa.Text),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("cached_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("ttft_ms", sa.Integer),
        sa.Column("route_reason", sa.Text),
        sa.Column("request_json", sa.Text),
        sa.Column("response_json", sa.Text),
    ).create(conn)


@migration
def m002_keys(conn: Connection) -> None:
    sa.Table(
        "keys",
        sa.MetaData(),
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.Text, nullable=False),
        sa.Column("models_json", sa.Text),
        sa.Column("budget_usd", sa.Float),
        sa.Column("rpm", sa.Integer),
        sa.Column("tpm", sa.Integer),
        sa.Column("created_utc", sa.Text, nullable=False),
        sa.Column("revoked_utc", sa.Text),
    ).create(conn)


@migration
def m003_request_indexes(conn: Connection) -> None:
    # `yard usage --since` and budget sums at open scan by time and by key
    conn.execute(sa.text("CREATE INDEX ix_requests_datetime_utc ON requests (datetime_utc)"))
    conn.execute(sa.text("CREATE INDEX ix_requests_key_id ON requests (key_id)"))


@migration
def m004_key_private(conn: Connection) -> None:
    # a private key's requests only ever reach self-hosted backends
    conn.execute(sa.text("ALTER TABLE keys ADD COLUMN private BOOLEAN NOT NULL DEFAULT FALSE"))


@migration
def m005_finetune_adapter(conn: Connection) -> None:
    # which fine-tuned LoRA adapter answered (`yard usage` groups by it)
    conn.execute(sa.text("ALTER TABLE requests ADD COLUMN adapter TEXT"))
    conn.execute(
        sa.text(
            "CREATE INDEX ix_requests_adapter ON requests (adapter, datetime_utc) "
            "WHERE adapter IS NOT NULL"
        )
    )


@migration
def m006_key_private_data(conn: Connection) -> None:
    # a key's own private_data mode: local, redact or block (NULL: the gateway's)
    conn.execute(sa.text("ALTER TABLE keys ADD COLUMN private_data TEXT"))


_SUMS = (
    "requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd",
    "duration_ms", "generation_ms",
)  # fmt: skip
_GRAINS = (("usage_hourly", "hour", 13), ("usage_daily", "day", 10))
"""The usage rollups: table, time column and the length of the ISO time prefix it holds."""


def _usage_into(table: str, period: str) -> str:
    columns = [period, "key_id", "model", "backend", *_SUMS]
    return f"INSERT INTO {table} ({', '.join(columns[:6])},\n        {', '.join(columns[6:])})"


def _usage_row(row: str, chars: int) -> str:
    """One request's usage figures, its columns read from ``row`` (``NEW``, ``OLD``)."""
    values = [
        f"substr({row}.datetime_utc, 1, {chars})", f"coalesce({row}.key_id, '')",
        f"coalesce({row}.served_model, {row}.requested_model, '?')",
        f"coalesce({row}.backend, '')", "1", f"CASE WHEN {row}.status >= 400 THEN 1 ELSE 0 END",
        *(f"coalesce({row}.{c}, 0)" for c in _SUMS[2:7]),
        f"CASE WHEN {row}.status < 400\n"
        f"        THEN coalesce({row}.duration_ms, 0) - coalesce({row}.ttft_ms, 0) ELSE 0 END",
    ]  # fmt: skip
    return ",\n        ".join(values)


def _usage_sums(rows: str, chars: int) -> str:
    """The usage of every request in ``rows`` (a table), summed per period, key, model and
    backend."""
    group = f"substr(datetime_utc, 1, {chars}), coalesce(key_id, ''),\n        " \
        "coalesce(served_model, requested_model, '?'), coalesce(backend, '')"  # fmt: skip
    sums = [
        "count(*)", "sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END)",
        *(f"coalesce(sum({c}), 0)" for c in _SUMS[2:7]),
        "coalesce(sum(CASE WHEN status < 400\n"
        "        THEN duration_ms - coalesce(ttft_ms, 0) ELSE 0 END), 0)",
    ]  # fmt: skip
    return (
        f"SELECT {group},\n        " + ",\n        ".join(sums)
        + f"\n    FROM {rows} GROUP BY {group}"
    )  # fmt: skip


def _usage_update(table: str, period: str, sign: str) -> str:
    adds = ",\n        ".join(f"{c} = {table}.{c} {sign} excluded.{c}" for c in _SUMS)
    return f"ON CONFLICT ({period}, key_id, model, backend) DO UPDATE SET\n        {adds}"


@migration
def m007_dashboard(conn: Connection) -> None:
    """The dashboard's aggregates (docs/dashboard.md): ``usage_hourly`` and ``usage_daily``, the
    ledger summed per hour (and day), key, model and backend, kept by triggers on every insert
    and delete (on SQLite on delete only: the ledger's writer sums its inserts, serve/rollup.py);
    ``route_hourly`` and ``route_daily`` for the routing counts, filled by the gateway from the
    rows of each hour; indexes for the ledger search; ``keys.updated_utc`` so an edited key
    reaches every gateway process."""
    for table, period, chars in _GRAINS:
        sa.Table(
            table,
            sa.MetaData(),
            sa.Column(period, sa.Text, primary_key=True),
            sa.Column("key_id", sa.Text, primary_key=True),
            sa.Column("model", sa.Text, primary_key=True),
            sa.Column("backend", sa.Text, primary_key=True),
            *(sa.Column(c, sa.Integer, nullable=False) for c in _SUMS[:5]),
            sa.Column("cost_usd", sa.Float, nullable=False),
            sa.Column("duration_ms", sa.Integer, nullable=False),
            sa.Column("generation_ms", sa.Integer, nullable=False),
        ).create(conn)
        conn.execute(sa.text(f"{_usage_into(table, period)}\n    {_usage_sums('requests', chars)}"))
    if conn.dialect.name == "postgresql":
        _usage_triggers_postgresql(conn)
    else:
        _usage_triggers_sqlite(conn)
    for grain, period in (("hourly", "hour"), ("daily", "day")):
        sa.Table(
            f"route_{grain}",
            sa.MetaData(),
            sa.Column(period, sa.Text, primary_key=True),
            sa.Column("fact", sa.Text, primary_key=True),
            sa.Column("value", sa.Text, primary_key=True),
            sa.Column("requests", sa.Integer, nullable=False),
        ).create(conn)
        sa.Table(
            f"route_{period}s",
            sa.MetaData(),
            sa.Column(period, sa.Text, primary_key=True),
            sa.Column("requests", sa.Integer, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        ).create(conn)
    for statement in (
        "DROP INDEX ix_requests_key_id",
        "CREATE INDEX ix_requests_key_time ON requests (key_id, datetime_utc)",
        "CREATE INDEX ix_requests_backend_time ON requests (backend, datetime_utc)",
        "CREATE INDEX ix_requests_served_time ON requests (served_model, datetime_utc)",
        "CREATE INDEX ix_requests_requested_time ON requests (requested_model, datetime_utc)",
        "CREATE INDEX ix_requests_errors ON requests (datetime_utc) WHERE status >= 400",
        "ALTER TABLE keys ADD COLUMN updated_utc TEXT",
    ):
        conn.execute(sa.text(statement))


def _usage_triggers_sqlite(conn: Connection) -> None:
    # inserts are summed per batch by the ledger's writer (serve/rollup.py): a per-row trigger
    # costs SQLite ~40 µs a row; deletes are rare
    for event, row, sign in (("DELETE", "OLD", "-"),):
        body = []
        for table, period, chars in _GRAINS:
            body.append(
                f"    {_usage_into(table, period)}\n    VALUES (\n        {_usage_row(row, chars)})"
                f"\n    {_usage_update(table, period, sign)};"
            )
            if event == "DELETE":  # a group whose last request went goes too (by its key)
                body.append(
                    f"    DELETE FROM {table} WHERE {period} = substr(OLD.datetime_utc, 1, {chars})"
                    "\n        AND key_id = coalesce(OLD.key_id, '')"
                    "\n        AND model = coalesce(OLD.served_model, OLD.requested_model, '?')"
                    "\n        AND backend = coalesce(OLD.backend, '') AND requests <= 0;"
                )
        conn.execute(sa.text(
            f"CREATE TRIGGER requests_usage_{event.lower()} AFTER {event} ON requests BEGIN\n"
            + "\n".join(body) + "\nEND"
        ))  # fmt: skip


def _usage_triggers_postgresql(conn: Connection) -> None:
    # one aggregated upsert per statement (a ledger batch) and grain, its groups in key order:
    # concurrent batches from several replicas lock the rows they share in the same order
    for event, rows, sign in (("INSERT", "new_rows", "+"), ("DELETE", "old_rows", "-")):
        name = f"yard_usage_{event.lower()}"
        body = "".join(
            f"    {_usage_into(table, period)}\n    {_usage_sums(rows, chars)} ORDER BY 1, 2, 3, 4"
            f"\n    {_usage_update(table, period, sign)};\n"
            f"    DELETE FROM {table} WHERE requests <= 0;\n"
            for table, period, chars in _GRAINS
        )
        conn.execute(sa.text(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN\n"
            f"{body}    RETURN NULL;\nEND $$"
        ))  # fmt: skip
        transition = "NEW" if event == "INSERT" else "OLD"
        conn.execute(sa.text(
            f"CREATE TRIGGER requests_usage_{event.lower()} AFTER {event} ON requests "
            f"REFERENCING {transition} TABLE AS {rows} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        ))  # fmt: skip


@migration
def m008_route_feedback(conn: Connection) -> None:
    # POST /v1/feedback: a key's verdict on one of its requests, the labels of route training
    sa.Table(
        "feedback",
        sa.MetaData(),
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("key_id", sa.String(26)),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_utc", sa.Text, nullable=False),
    ).create(conn)


@migration
def m009_gateway(conn: Connection) -> None:
    # served_model is the public model that answered; the name the upstream was sent, here.
    # Budgets may be per UTC day or month.
    conn.execute(sa.text("ALTER TABLE requests ADD COLUMN upstream_model TEXT"))
    conn.execute(sa.text("ALTER TABLE keys ADD COLUMN budget_period TEXT"))


def schema_sql(engine: Engine) -> str:
    """The SQLite schema ``migrate()`` produces, as CREATE statements (for docs/ledger.md)."""
    query = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, name"
    with engine.connect() as conn:
        text = ";\n".join(sql for (sql,) in conn.exec_driver_sql(query)) + ";\n"
    return "\n".join(line.rstrip().replace("\t", "    ") for line in text.splitlines()) + "\n"


if __name__ == "__main__":  # python -m modelyard.serve.migrations > the schema block of the docs
    memory = sa.create_engine("sqlite://")
    migrate(memory)
    print(schema_sql(memory), end="")
