"""Several processes' worth of `migrate()` on one fresh database at once: each migration once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ulid import ULID

from modelyard.serve.migrations import MIGRATIONS, migrate
from tests.serve.services import postgres_url

MIGRATORS = 6


@pytest.fixture
def fresh_postgres() -> Iterator[Callable[[], sa.Engine]]:
    """Engines on a throwaway schema of the test PostgreSQL (dropped afterwards)."""
    schema = f"mig_{str(ULID()).lower()}"
    admin = sa.create_engine(postgres_url())
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    opts = {"options": f"-csearch_path={schema}"}
    yield lambda: sa.create_engine(postgres_url(), connect_args=opts, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


def migrate_together(engines: list[sa.Engine]) -> list[list[str] | BaseException]:
    """``migrate`` on every engine from its own thread, all let go at the same moment."""
    start = threading.Barrier(len(engines))
    results: list[list[str] | BaseException] = [[] for _ in engines]

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = migrate(engines[i])
        except BaseException as exc:  # reported by the assertion
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def assert_each_migration_once(engine: sa.Engine, results: list) -> None:
    assert [r for r in results if isinstance(r, BaseException)] == []
    names = [fn.__name__ for fn in MIGRATIONS]
    assert sorted(name for ran in results for name in ran) == names
    with engine.connect() as conn:
        recorded = conn.exec_driver_sql("SELECT name FROM _yard_migrations").scalars().all()
    assert sorted(recorded) == names


def test_replicas_migrating_a_fresh_postgres_at_once(fresh_postgres) -> None:
    engines = [fresh_postgres() for _ in range(MIGRATORS)]
    results = migrate_together(engines)
    assert_each_migration_once(engines[0], results)
    assert {"requests", "keys"} <= set(sa.inspect(engines[0]).get_table_names())


def test_processes_migrating_a_fresh_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engines = [sa.create_engine(url, poolclass=sa.NullPool) for _ in range(MIGRATORS)]
    assert_each_migration_once(engines[0], migrate_together(engines))
