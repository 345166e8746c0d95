"""The ledger schema: exact columns from a blank database, and upgrades from the oldest one."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from modelyard.serve.ledger import insert_rows, new_entry
from modelyard.serve.migrations import MIGRATIONS, applied, migrate, schema_sql

REQUEST_COLUMNS = [
    "id", "datetime_utc", "key_id", "requested_model", "served_model", "backend", "endpoint",
    "stream", "status", "error_type", "prompt_tokens", "completion_tokens", "cached_tokens",
    "cost_usd", "duration_ms", "ttft_ms", "route_reason", "request_json", "response_json",
    "adapter", "upstream_model",
]  # fmt: skip
KEY_COLUMNS = [
    "id", "name", "key_hash", "key_prefix", "models_json", "budget_usd", "rpm", "tpm",
    "created_utc", "revoked_utc", "private", "private_data", "updated_utc", "budget_period",
]  # fmt: skip
ALL = [
    "m001_initial", "m002_keys", "m003_request_indexes", "m004_key_private",
    "m005_finetune_adapter", "m006_key_private_data", "m007_dashboard",
    "m008_route_feedback", "m009_gateway",
]  # fmt: skip
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"


def columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def test_blank_database_gets_exact_columns() -> None:
    engine = sa.create_engine("sqlite://")
    ran = migrate(engine)
    assert ran == ALL
    assert sorted(sa.inspect(engine).get_table_names()) == [
        "_yard_migrations", "feedback", "keys", "requests", "route_daily", "route_days",
        "route_hourly", "route_hours", "usage_daily", "usage_hourly",
    ]  # fmt: skip
    assert columns(engine, "requests") == REQUEST_COLUMNS
    assert columns(engine, "keys") == KEY_COLUMNS
    assert columns(engine, "_yard_migrations") == ["name", "applied_utc"]
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("requests")}
    assert indexes == {
        "ix_requests_datetime_utc", "ix_requests_key_time", "ix_requests_backend_time",
        "ix_requests_served_time", "ix_requests_requested_time", "ix_requests_errors",
        "ix_requests_adapter",
    }  # fmt: skip


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
    assert migrate(engine) == ALL[1:]
    assert columns(engine, "keys") == KEY_COLUMNS
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, cost_usd FROM requests").all()
        hourly = conn.exec_driver_sql("SELECT hour, requests, cost_usd FROM usage_hourly").all()
    assert rows == [("01J00000000000000000000000", 0.5)]
    assert hourly == [("2026-01-02T03", 1, 0.5)]  # the rows already there are rolled up
    later = new_entry(datetime_utc="2026-01-02T03:30:00.000+00:00", status=200, cost_usd=0.25)
    insert_rows(engine, [later])  # and those that come later, by the ledger's writer
    with engine.connect() as conn:
        daily = conn.exec_driver_sql("SELECT day, requests, cost_usd FROM usage_daily").all()
    assert daily == [("2026-01-02", 2, 0.75)]


def test_docs_show_the_current_schema() -> None:
    engine = sa.create_engine("sqlite://")
    migrate(engine)
    assert schema_sql(engine) in DOCS.read_text(), (
        "docs/ledger.md is stale: paste `python -m modelyard.serve.migrations` into its schema"
    )
