"""The ledger schema: exact columns from a blank database, and upgrades from the oldest one."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from modelyard.serve.migrations import MIGRATIONS, applied, migrate, schema_sql

REQUEST_COLUMNS = [
    "id", "datetime_utc", "key_id", "requested_model", "served_model", "backend", "endpoint",
    "stream", "status", "error_type", "prompt_tokens", "completion_tokens", "cached_tokens",
    "cost_usd", "duration_ms", "ttft_ms", "route_reason", "request_json", "response_json",
    "upstream_model",
]  # fmt: skip
KEY_COLUMNS = [
    "id", "name", "key_hash", "key_prefix", "models_json", "budget_usd", "rpm", "tpm",
    "created_utc", "revoked_utc", "private", "budget_period",
]  # fmt: skip
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"


def columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def test_blank_database_gets_exact_columns() -> None:
    engine = sa.create_engine("sqlite://")
    ran = migrate(engine)
    assert ran == ["m001_initial", "m002_keys", "m003_request_indexes", "m004_key_private",
                   "m005_gateway"]  # fmt: skip
    assert sorted(sa.inspect(engine).get_table_names()) == ["_yard_migrations", "keys", "requests"]
    assert columns(engine, "requests") == REQUEST_COLUMNS
    assert columns(engine, "keys") == KEY_COLUMNS
    assert columns(engine, "_yard_migrations") == ["name", "applied_utc"]
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("requests")}
    assert indexes == {"ix_requests_datetime_utc", "ix_requests_key_id"}


def test_migrate_runs_each_migration_once() -> None:
    engine = sa.create_engine("sqlite://")
    migrate(engine)
    assert migrate(engine) == []
    assert applied(engine) == [fn.__name__ for fn in MIGRATIONS]


def test_upgrade_from_oldest_schema_keeps_rows(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:  # a database as the first release left it: m001 and its record
        MIGRATIONS[0](conn)
        conn.exec_driver_sql(
            "INSERT INTO requests (id, datetime_utc, stream, status, cost_usd) "
            "VALUES ('01J00000000000000000000000', '2026-01-02T03:04:05.000+00:00', 0, 200, 0.5)"
        )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE _yard_migrations "
            "(name VARCHAR(100) PRIMARY KEY, applied_utc TEXT NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO _yard_migrations VALUES ('m001_initial', '2026-01-01T00:00:00+00:00')"
        )
    assert migrate(engine) == ["m002_keys", "m003_request_indexes", "m004_key_private",
                               "m005_gateway"]  # fmt: skip
    assert columns(engine, "keys") == KEY_COLUMNS
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, cost_usd FROM requests").all()
    assert rows == [("01J00000000000000000000000", 0.5)]


def test_docs_show_the_current_schema() -> None:
    engine = sa.create_engine("sqlite://")
    migrate(engine)
    assert schema_sql(engine) in DOCS.read_text(), (
        "docs/ledger.md is stale: paste `python -m modelyard.serve.migrations` into its schema"
    )
