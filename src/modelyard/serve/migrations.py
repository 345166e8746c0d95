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
def m005_gateway(conn: Connection) -> None:
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
