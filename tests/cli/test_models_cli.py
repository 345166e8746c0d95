"""`yard models` as a user runs it: tables, JSON with stable fields, helpful errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import CatalogError

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_json_has_stable_fields() -> None:
    rows = json.loads(run("models", "list", "--json"))
    assert rows, "catalog is empty"
    expected = {
        "id", "name", "family", "vendor", "verified", "params_total", "params_active",
        "context_window", "license", "languages", "capabilities", "hf_repo", "ollama_tag",
        "released", "excluded_because", "fits_as",
    }  # fmt: skip
    assert set(rows[0]) == expected
    assert all(r["verified"] for r in rows), "unverified models need --all"


def test_show_cites_sources_and_checks_params() -> None:
    out = run("models", "show", "llama-3.1-8b-instruct")
    assert "sources" in out and "huggingface.co/meta-llama" in out
    assert "published 8.03B, computed 8.03B" in out


def test_show_json_includes_param_check() -> None:
    data = json.loads(run("models", "show", "llama3.1-8b", "--json"))
    assert data["model"]["architecture"]["num_key_value_heads"] == 8
    assert abs(data["param_check"]["total_error"]) < 0.02
    assert data["sources"][0]["id"] == "hf:meta-llama/Llama-3.1-8B-Instruct"


def test_unknown_model_suggests() -> None:
    with pytest.raises(CatalogError, match="did you mean"):
        runner.invoke(app, ["models", "show", "llama-3.1-8b-instruc"], catch_exceptions=False)


def test_excluded_models_say_why() -> None:
    rows = json.loads(run("models", "list", "--language", "xx", "--show-excluded", "--json"))
    assert rows and all(r["excluded_because"] for r in rows)
    assert "does not list language(s) xx" in rows[0]["excluded_because"]


def test_bad_sort_key_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="--sort 'speed': choose one of"):
        runner.invoke(app, ["models", "list", "--sort", "speed"], catch_exceptions=False)


def test_fits_keeps_what_fits_and_says_how() -> None:
    rows = json.loads(
        run("models", "list", "--fits", "1xRTX-4090", "--fit-context", "32k", "--json")
    )
    ids = {r["id"]: r for r in rows}
    assert "llama-3.1-8b-instruct" in ids and ids["llama-3.1-8b-instruct"]["fits_as"]
    assert "llama-3.1-405b-instruct" not in ids  # ~200 GiB even at 4 bits
    assert "gemma-2-27b-it" not in ids  # an 8k window cannot hold a 32k sequence


def test_fits_show_excluded_says_why() -> None:
    rows = json.loads(
        run("models", "list", "--fits", "rtx-4090", "--fit-context", "32k", "--show-excluded",
            "--json")
    )  # fmt: skip
    reasons = {r["id"]: r["excluded_because"] for r in rows}
    assert reasons["llama-3.1-405b-instruct"] == ["does not fit rtx-4090 at 32k context"]
    assert reasons["gemma-2-27b-it"] == ["context window 8k < 32k"]


def test_kind_api_lists_offers() -> None:
    offers = json.loads(run("models", "list", "--kind", "api", "--json"))
    assert any(o["id"].startswith("openai/") for o in offers)
    assert all("output_per_mtok" in o for o in offers)
