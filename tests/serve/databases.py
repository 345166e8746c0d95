"""Ledger databases for tests that must hold on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from ulid import ULID

from tests.serve.services import postgres_url


@contextmanager
def ledger_url(kind: str, home: Path) -> Iterator[str | None]:
    """A URL for a blank ledger: None (SQLite in ``home``) or a throwaway PostgreSQL schema."""
    if kind == "sqlite":
        yield None
        return
    base = postgres_url()
    schema = f"t_{str(ULID()).lower()}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
