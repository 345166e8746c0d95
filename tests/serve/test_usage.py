"""`yard usage` and `yard keys`: sums from the ledger and savings at a known API price."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.catalog import ApiOffer, Ref
from modelyard.cli import app
from modelyard.errors import YardError
from modelyard.serve.ledger import Ledger, new_entry
from modelyard.serve.usage import open_store, parse_since, summarize

runner = CliRunner()

# $2 per 1M input, $0.50 per 1M cached input, $8 per 1M output
OFFER = ApiOffer(
    id="test/priced",
    provider="Test",
    model_name="priced-1",
    input_per_mtok=2.0,
    cached_input_per_mtok=0.5,
    output_per_mtok=8.0,
    ref=Ref(source="test:prices"),
)
APIS_YAML = """
sources:
  - {id: "test:prices", kind: vendor_page, title: Test price list}
apis:
  - id: test/priced
    provider: Test
    model_name: priced-1
    input_per_mtok: 2.0
    cached_input_per_mtok: 0.5
    output_per_mtok: 8.0
    ref: {source: "test:prices"}
"""


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def fill(home: Path) -> None:
    """Three requests: two on day 1 (one failed), one on day 2, over two keys and two models."""
    ledger = Ledger.open(None, home)
    rows = [
        ("2026-03-01T10:00:00.000+00:00", "k1", "qwen3-8b", 200, 1_000_000, 100_000, 200_000, 0.10),
        ("2026-03-01T11:00:00.000+00:00", "k2", "llama-3.1-8b", 502, 0, 0, 0, None),
        ("2026-03-02T09:00:00.000+00:00", "k1", "llama-3.1-8b", 200, 500_000, 50_000, 0, 0.05),
    ]
    for when, key, model, status, prompt, completion, cached, cost in rows:
        ledger.record(
            new_entry(
                datetime_utc=when, key_id=key, served_model=model, status=status,
                prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached,
                cost_usd=cost,
            )
        )  # fmt: skip
    ledger.close()


def test_summary_numbers_and_savings(yard_home: Path) -> None:
    fill(yard_home)
    report = summarize(open_store(None, yard_home), vs=OFFER)
    total = report.total
    assert (total.requests, total.errors) == (3, 1)
    assert (total.prompt_tokens, total.completion_tokens, total.cached_tokens) == (
        1_500_000, 150_000, 200_000,
    )  # fmt: skip
    assert total.cost_usd == pytest.approx(0.15)
    # 1.3M uncached x $2 + 0.2M cached x $0.5 + 0.15M out x $8 = 2.6 + 0.1 + 1.2
    assert total.vs_cost_usd == pytest.approx(3.9)
    assert total.savings_usd == pytest.approx(3.75)
    by_key = {r.group: r for r in report.by_key}
    assert by_key["k1"].requests == 2 and by_key["k1"].cost_usd == pytest.approx(0.15)
    assert by_key["k1"].vs_cost_usd == pytest.approx(3.9)
    assert [(r.group, r.requests) for r in report.by_day] == [("2026-03-01", 2), ("2026-03-02", 1)]
    by_model = {r.group: r.vs_cost_usd for r in report.by_model}
    assert by_model == pytest.approx({"qwen3-8b": 1.6 + 0.1 + 0.8, "llama-3.1-8b": 1.0 + 0.4})


def test_since_filters_rows(yard_home: Path) -> None:
    fill(yard_home)
    report = summarize(open_store(None, yard_home), since=parse_since("2026-03-02"))
    assert report.total.requests == 1 and report.by_day[0].group == "2026-03-02"


def test_parse_since() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == "2026-03-03T12:00:00.000+00:00"
    assert parse_since("90m", now) == "2026-03-10T10:30:00.000+00:00"
    assert parse_since("2026-03-01T01:00+01:00") == "2026-03-01T00:00:00.000+00:00"
    with pytest.raises(YardError, match="7d"):
        parse_since("last week")


def test_usage_cli_json_compares_with_a_catalog_offer(yard_home: Path) -> None:
    (yard_home / "catalog").mkdir(parents=True)
    (yard_home / "catalog" / "apis.yaml").write_text(APIS_YAML)
    fill(yard_home)
    data = json.loads(run("usage", "--vs", "test/priced", "--json"))
    assert data["vs"] == "test/priced"
    assert data["total"]["savings_usd"] == pytest.approx(3.75)
    assert set(data) == {
        "since", "vs", "total", "by_key", "by_model", "by_day", "by_backend", "by_adapter",
    }  # fmt: skip
    table = run("usage", "--vs", "test/priced", "--by", "model")
    assert "qwen3-8b" in table and "2.5000" in table and "usage by day" not in table


def test_usage_path_and_status(yard_home: Path) -> None:
    fill(yard_home)
    assert run("usage", "path").strip() == str(yard_home / "ledger.db")
    status = json.loads(run("usage", "status", "--json"))
    assert status["requests"] == 3 and status["journal_segments"] == 0
    assert status["migrations"][0] == "m001_initial"


def test_keys_cli_create_list_revoke(yard_home: Path) -> None:
    made = json.loads(run("keys", "create", "ci", "-m", "qwen*", "--budget", "5", "--json"))
    assert made["key"].startswith("sk-yard-") and made["models"] == ["qwen*"]
    listed = run("keys", "list", "--json")
    assert made["key"] not in listed
    assert json.loads(listed)[0]["budget_usd"] == 5.0
    assert "Revoked key" in run("keys", "revoke", made["id"])
    assert json.loads(run("keys", "list", "--json"))[0]["revoked_utc"]
    with pytest.raises(YardError, match="no key with id"):
        runner.invoke(app, ["keys", "revoke", "nope"], catch_exceptions=False)


def test_keys_cli_edit(yard_home: Path) -> None:
    made = json.loads(run("keys", "create", "ci", "-m", "qwen*", "--budget", "5", "--json"))
    args = ["--rpm", "60", "--unset", "budget", "-m", "llama*", "-m", "qwen*", "--private"]
    edited = json.loads(run("keys", "edit", made["id"], *args, "--json"))
    assert (edited["rpm"], edited["budget_usd"]) == (60, None)
    assert edited["models"] == ["llama*", "qwen*"]
    assert edited["private"] is True and edited["updated_utc"]
    assert json.loads(run("keys", "list", "--json"))[0]["rpm"] == 60
    for bad, message in ((["--unset", "colour"], "colour"), ([], "something to change")):
        result = runner.invoke(app, ["keys", "edit", made["id"], *bad])
        assert result.exit_code == 2 and message in result.output, result.output
    with pytest.raises(YardError, match="positive"):
        runner.invoke(app, ["keys", "edit", made["id"], "--rpm", "0"], catch_exceptions=False)
