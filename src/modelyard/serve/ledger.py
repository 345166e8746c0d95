"""The request ledger: every gateway request as one row, written in batches off the request path.

``Ledger.record()`` appends one JSON line to the journal and returns; a background thread inserts
the pending entries into the database (SQLite in WAL mode by default, any SQLAlchemy URL such as
``postgresql://`` otherwise) and then drops the journal segment they came from. At open, segments a
crashed gateway left behind are replayed, idempotently by ``id``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import operator
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from ulid import ULID

from modelyard.errors import ConfigError
from modelyard.serve import journal, rollup
from modelyard.serve.migrations import migrate, reflect

log = logging.getLogger(__name__)

DB_NAME = "ledger.db"
JOURNAL_DIR = "journal"


def utc_now() -> str:
    """The current UTC time as ISO 8601 text, the form every ``*_utc`` column holds.

    Same text as ``datetime.now(UTC).isoformat(timespec="milliseconds")`` at half its cost:
    every ledger row takes one, on the request path.
    """
    now = time.time()
    second = int(now)
    return f"{_utc_second(second)}.{int((now - second) * 1000):03d}+00:00"


@functools.lru_cache(maxsize=1)
def _utc_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(slots=True)
class LedgerEntry:
    """One request as the ledger records it (one row of ``requests``)."""

    id: str = field(default_factory=lambda: str(ULID()))
    datetime_utc: str = field(default_factory=utc_now)
    key_id: str | None = None
    requested_model: str | None = None
    """The model the client asked for (``auto`` included)."""
    served_model: str | None = None
    """The public model that answered: the one asked for, or the candidate ``auto`` chose."""
    backend: str | None = None
    endpoint: str | None = None
    stream: bool = False
    status: int = 200
    error_type: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    duration_ms: int | None = None
    ttft_ms: int | None = None
    route_reason: str | None = None
    request_json: str | None = None
    """The client's request body as JSON text; kept only with prompt logging on."""
    response_json: str | None = None
    """The response body (or the assembled stream) as JSON text; kept only with prompt logging."""
    adapter: str | None = None
    """The LoRA adapter that answered (`MODEL:ADAPTER` or an alias); None for a base model."""
    upstream_model: str | None = None
    """The model name the answering backend was sent (its config's ``model``, else the public
    name)."""


COLUMNS = tuple(f.name for f in dataclasses.fields(LedgerEntry))


def new_entry(**fields: Any) -> LedgerEntry:
    """A LedgerEntry with a fresh ULID ``id`` and the current ``datetime_utc`` unless given."""
    return LedgerEntry(**fields)


def default_url(home: Path) -> str:
    """The embedded default store: ``<home>/ledger.db``."""
    return f"sqlite:///{home / DB_NAME}"


def connect(url: str | None, home: Path, *, durable: bool = False) -> Engine:
    """An engine on the ledger database, migrated to the current schema.

    Args:
        url: SQLAlchemy URL; None means the SQLite file under ``home``.
        home: The yard home directory (created if missing).
        durable: SQLite only: ``synchronous=FULL`` so a commit survives power loss.

    Raises:
        ConfigError: the URL cannot be used.
    """
    home.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url or default_url(home))
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(
            f"ledger URL {_safe_url(url)}: {exc}; use sqlite:///path or "
            "postgresql+psycopg://user@host/db (pip install 'psycopg[binary]')"
        ) from exc
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine, durable)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc  # a DBAPIError carries the driver's error
        raise ConfigError(f"ledger {_safe_url(url)}: cannot open: {cause}") from exc
    return engine


def _safe_url(url: str | None) -> str:
    """The URL with any password masked, fit for an error message."""
    if url is None:
        return "(default SQLite)"
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(url.split("@")[-1])


def _sqlite_pragmas(engine: Engine, durable: bool) -> None:
    sync = "FULL" if durable else "NORMAL"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def insert_rows(engine: Engine, entries: Sequence[LedgerEntry]) -> None:
    """Insert entries in one transaction, skipping ids already present (so replay is idempotent)."""
    if not entries:
        return
    sql, columns = _insert_sql(engine)
    # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing cost
    # ~25 µs per row here, in a thread that holds the GIL while the gateway serves.
    with engine.begin() as conn:
        fresh = rollup.unstored(conn, entries)
        conn.exec_driver_sql(sql, list(map(operator.attrgetter(*columns), entries)))
        rollup.add(conn, fresh)


def _entry_from_record(record: dict[str, Any]) -> LedgerEntry:
    """A journal line read back; a field this version does not know is dropped."""
    return LedgerEntry(**{k: v for k, v in record.items() if k in COLUMNS})


@functools.lru_cache(maxsize=16)
def _insert_sql(engine: Engine) -> tuple[str, tuple[str, ...]]:
    """The idempotent INSERT for ``requests`` as the database has it, and its column order."""
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"ledger: database {dialect!r} is not supported; use SQLite or PostgreSQL"
        )
    known = set(reflect(engine, "requests").c.keys())
    columns = tuple(c for c in COLUMNS if c in known)
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    values = ", ".join([mark] * len(columns))
    sql = (
        f"INSERT INTO requests ({', '.join(columns)}) VALUES ({values}) ON CONFLICT (id) DO NOTHING"
    )
    return sql, columns


def replay(engine: Engine, directory: Path) -> int:
    """Insert what journal segments left by dead processes hold, then delete them.

    Returns:
        How many journal lines were read (rows already in the database are skipped).
    """
    count = 0
    for path, fd in journal.orphans(directory):
        try:
            records = journal.read_records(path)
            insert_rows(engine, [_entry_from_record(r) for r in records])
            path.unlink(missing_ok=True)
            count += len(records)
        finally:
            os.close(fd)
    return count


class Ledger:
    """The gateway's request log: a cheap ``record()`` per request, batched inserts behind it."""

    def __init__(
        self,
        engine: Engine,
        journal_dir: Path,
        *,
        log_prompts: bool = False,
        fsync: bool = False,
        flush_interval_s: float = 0.5,
        batch_size: int = 1000,
    ) -> None:
        self.engine = engine
        self.journal_dir = journal_dir
        self.log_prompts = log_prompts
        self._fsync = fsync
        self._interval = flush_interval_s
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._pending: list[LedgerEntry] = []
        self._unsaved: list[tuple[journal.Segment, list[LedgerEntry]]] = []
        self._segment = journal.Segment.create(journal_dir)
        self._thread = threading.Thread(target=self._run, name="yard-ledger", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls,
        url: str | None,
        home: Path,
        *,
        log_prompts: bool = False,
        fsync: bool = False,
        flush_interval_s: float = 0.5,
        batch_size: int = 1000,
    ) -> Ledger:
        """Open (creating and migrating) the ledger and replay what a crashed gateway left.

        Args:
            url: SQLAlchemy database URL; None means SQLite at ``home/ledger.db``.
            home: The yard home; the journal lives in ``home/journal``.
            log_prompts: Keep ``request_json``/``response_json``; otherwise they are dropped.
            fsync: fsync each journal line (survives power loss; costs a disk flush per request).
            flush_interval_s: Longest time an entry waits before the background insert.
            batch_size: Pending entries that wake the writer before the interval is up.
        """
        engine = connect(url, home, durable=fsync)
        journal_dir = home / JOURNAL_DIR
        replay(engine, journal_dir)
        return cls(
            engine,
            journal_dir,
            log_prompts=log_prompts,
            fsync=fsync,
            flush_interval_s=flush_interval_s,
            batch_size=batch_size,
        )

    def record(self, entry: LedgerEntry) -> None:
        """Journal one entry; no database call. Safe from any thread."""
        if not self.log_prompts and (entry.request_json or entry.response_json):
            entry = dataclasses.replace(entry, request_json=None, response_json=None)
        line = orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        with self._lock:
            self._segment.write(line, self._fsync)
            self._pending.append(entry)
            full = len(self._pending) == self._batch_size
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Insert everything recorded so far now, from the calling thread.

        Returns:
            Rows written; 0 when there was nothing to write or the database refused (the
            entries stay journalled and pending for the next flush).
        """
        with self._flush_lock:
            if self._pending:  # only flush() empties it, so it stays non-empty below
                fresh = journal.Segment.create(self.journal_dir)
                with self._lock:
                    batch, self._pending = self._pending, []
                    self._segment, sealed = fresh, self._segment
                self._unsaved.append((sealed, batch))
            return self._save_unsaved()

    def close(self) -> None:
        """Drain (the SIGTERM path): stop the writer after a last flush; release the journal."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join()
        for segment, _ in self._unsaved:
            segment.close()
        if self._pending:
            self._segment.close()
        else:
            self._segment.discard()
        self.engine.dispose()

    def _save_unsaved(self) -> int:
        if not self._unsaved:
            return 0
        entries = [e for _, batch in self._unsaved for e in batch]
        try:
            insert_rows(self.engine, entries)
        except SQLAlchemyError as exc:
            log.warning("ledger: %d entries wait in the journal; database write failed: %s",
                        len(entries), type(exc).__name__)  # fmt: skip
            return 0
        for segment, _ in self._unsaved:
            segment.discard()
        self._unsaved.clear()
        return len(entries)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            stopping = self._stopping
            try:
                self.flush()
            except Exception:  # the writer must outlive any one failure; the journal keeps the rows
                log.exception("ledger: flush failed")
            if stopping:
                return


def count_rows(engine: Engine, ids: Iterable[str] | None = None) -> int:
    """Rows in ``requests`` (only those with the given ids, when given)."""
    query = sa.select(sa.func.count()).select_from(sa.table("requests"))
    if ids is not None:
        query = query.where(sa.column("id").in_(list(ids)))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
