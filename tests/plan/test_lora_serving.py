"""Serving LoRA adapters: vLLM's preallocated slots in the memory plan, and the vLLM multi-LoRA
and llama.cpp recipes with the adapters named."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from modelyard.catalog import find_model
from modelyard.catalog.loader import load_catalog
from modelyard.catalog.lora import serving_bytes
from modelyard.cli import app
from modelyard.errors import PlanError, YardError

runner = CliRunner()
CATALOG = load_catalog()
LLAMA8 = find_model(CATALOG, "llama-3.1-8b-instruct").architecture


def test_vllm_slots_are_rank_times_every_layer_shape() -> None:
    assert LLAMA8 is not None
    # per layer d_in + d_out: q 8192, k 5120, v 5120, o 8192, gate/up/down 18432 each = 81,920;
    # × 32 layers × rank 64 × 4 slots × 2 bytes = 1.25 GiB
    assert serving_bytes(LLAMA8, 4, 64) == 81_920 * 32 * 64 * 4 * 2
    # TP 2 halves the split side of every matrix, not the rank side
    assert serving_bytes(LLAMA8, 4, 64, tp=2) < serving_bytes(LLAMA8, 4, 64)
    with pytest.raises(PlanError, match="--max-loras 0"):
        serving_bytes(LLAMA8, 0, 64)


def test_inference_plan_holds_the_slots_and_recipes_name_adapters() -> None:
    args = ["plan", "llama-3.1-8b-instruct", "--gpu", "h100", "--max-loras", "4"]
    result = runner.invoke(app, [*args, "--adapters", "support,sql", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    reserves = {r["name"]: r["gib"] for r in data["memory"]["reserves"]}
    assert reserves["LoRA slots"] == pytest.approx(1.25)
    vllm = next(r["text"] for r in data["recipes"] if r["engine"] == "vllm")
    for flag in ("--enable-lora", "support=./adapters/support", "--max-loras 4"):
        assert flag in vllm
    assert "--max-lora-rank 64" in vllm


def test_llamacpp_recipe_loads_each_adapter() -> None:
    args = ["plan", "llama-3.1-8b-instruct", "--gpu", "rtx-4090", "--engine", "llamacpp"]
    result = runner.invoke(app, [*args, "--quant", "Q4_K_M", "--adapters", "a,b"])
    assert result.exit_code == 0, result.output
    assert "--lora ./adapters/a.gguf" in result.output
    assert "--lora-init-without-apply" in result.output
    assert "convert_lora_to_gguf.py" in result.output


def test_bad_adapter_names_are_refused() -> None:
    args = ["plan", "llama-3.1-8b-instruct", "--gpu", "h100", "--adapters", "ok,rm -rf"]
    with pytest.raises(YardError, match="'rm -rf' is not a name"):
        runner.invoke(app, args, catch_exceptions=False)
