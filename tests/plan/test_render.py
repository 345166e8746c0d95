"""`yard plan` output fits an 80-column terminal and never splits a number or an id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from modelyard.catalog import cached_catalog
from modelyard.cli.plan_render import loss_notes, money, money_range, render_plan, render_ranking
from modelyard.cli.plan_render import tokens as fmt_tokens
from modelyard.plan import CostOptions, ModelPlan, recommend, workload
from modelyard.plan.cpu import CpuHost
from modelyard.plan.quality import published_basis
from modelyard.policy import Policy
from tests.plan.helpers import dep, plan

WIDTH = 80


def _render(draw: Callable[[Console], None], width: int = WIDTH) -> list[str]:
    out = Console(record=True, width=width, color_system=None)
    draw(out)
    return out.export_text().splitlines()


def _fits(lines: list[str], width: int = WIDTH) -> None:
    too_long = [line for line in lines if len(line.rstrip()) > width]
    assert not too_long, "\n".join(too_long)


PLANS = [
    ("llama-3.1-8b-instruct", "h100-sxm", "vllm", {}),
    ("qwen3-8b", "h100-sxm", "vllm", {"context": 131072}),
    ("gpt-oss-120b", "h100-sxm", "vllm", {}),
    ("deepseek-v3", "h100-sxm", "vllm", {}),
    ("llama-3.3-70b-instruct", "rtx-4090", "llamacpp", {}),
    ("mistral-small-3.1-24b-instruct-2503", "2xa100-80g-sxm", "vllm", {"kv_dtype": "fp8"}),
]


def _plan(model_id: str, gpu: str, engine: str, kw: dict[str, Any]) -> ModelPlan:
    quant = "gguf-q4_k_m" if engine == "llamacpp" else "auto"
    return plan(model_id, gpu, quant=quant, engine=engine, **kw)


@pytest.mark.parametrize(("model_id", "gpu", "engine", "kw"), PLANS)
def test_breakdown_fits_80_columns_and_keeps_numbers_whole(
    model_id: str, gpu: str, engine: str, kw: dict[str, Any]
) -> None:
    found = _plan(model_id, gpu, engine, kw)
    lines = _render(lambda out: render_plan(found, out))
    recipe_lines = {line for r in found.recipes for line in r.text.splitlines()}
    # recipes print as they are (copy-paste exact); everything else wraps at 80
    _fits(
        [line for line in lines if line not in recipe_lines and line.rstrip() not in recipe_lines]
    )
    text = "\n".join(lines)
    single = found.decode_single
    assert f"{single.tok_s_per_sequence:,.1f}" in text
    assert f"{found.memory.kv_tokens:,}" in text
    assert f"{found.memory.weights_gib:.2f} GiB" in text


@pytest.mark.parametrize("gpu", ["h100-sxm", "rtx-4090", "8xb200"])
def test_ranking_fits_80_columns_and_keeps_ids_whole(gpu: str) -> None:
    catalog = cached_catalog()
    load = workload("chat", 20e6)
    d = dep(gpu, context=load.prompt_tokens + load.output_tokens)
    ranking = recommend(catalog, d, load, Policy(), published_basis(catalog, "chat"), CostOptions())
    lines = _render(lambda out: render_ranking(ranking, out))
    _fits(lines)
    rows = [line.split() for line in lines]
    for r in ranking.ranked:
        assert any(r.model_id in row for row in rows), r.model_id
    for e in ranking.excluded:
        assert any(e.model_id in row for row in rows), e.model_id


def test_cpu_breakdown_fits_80_columns() -> None:
    host = CpuHost("AMD EPYC 9654 96-Core Processor", 96, "avx512", (), 460.8, "12-channel DDR5")
    found = plan("qwen3-8b", "cpu", engine="llamacpp", host=host)
    lines = _render(lambda out: render_plan(found, out))
    recipe_lines = {line for r in found.recipes for line in r.text.splitlines()}
    _fits([line for line in lines if line not in recipe_lines])
    assert any("memory (RAM)" in line for line in lines)


@pytest.mark.parametrize("width", [60, 100, 160])
def test_other_widths_wrap_prose_not_tables(width: int) -> None:
    found = plan("qwen3-8b", "h100-sxm")
    lines = _render(lambda out: render_plan(found, out), width)
    recipe_lines = {line for r in found.recipes for line in r.text.splitlines()}
    _fits([line for line in lines if line not in recipe_lines], max(width, 62))


def test_converted_weights_are_marked_in_the_ranking() -> None:
    catalog = cached_catalog()
    load = workload("chat", 20e6)
    d = dep("rtx-4090", quant="awq", context=load.prompt_tokens + load.output_tokens)
    ranking = recommend(catalog, d, load, Policy(), published_basis(catalog, "chat"), CostOptions())
    text = "\n".join(_render(lambda out: render_ranking(ranking, out), 120))
    converted = [r for r in ranking.ranked if r.origin == "convert"]
    if converted:
        assert f"{converted[0].quant}*" in text
    assert "'*': no release" in " ".join(text.split())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (980, "$980"),
        (1600, "$1.6k"),
        (12_000, "$12k"),
        (1.2e6, "$1.2M"),
        (-2500, "$-2.5k"),
    ],
)
def test_money(value: float | None, text: str) -> None:
    assert money(value) == text


def test_money_range() -> None:
    assert money_range(1000, 1000) == "$1.0k"
    assert money_range(1600, 2900) == "$1.6k-2.9k"
    assert money_range(None, 5) == ""


@pytest.mark.parametrize(
    ("value", "text"), [(950, "950"), (12_800, "13k"), (1.2e6, "1.2M"), (3.4e9, "3.4B")]
)
def test_tokens(value: float, text: str) -> None:
    assert fmt_tokens(value) == text


def test_loss_notes_group_by_study() -> None:
    found = plan("qwen3-8b", "h100-sxm")
    notes = loss_notes(found)
    assert any("Kurtic" in source for source in notes)
    gguf = next(items for source, items in notes.items() if "quantize table" in source)
    assert any(item.startswith("q4_k_m +") for item in gguf)
    assert all(len(set(items)) == len(items) for items in notes.values())
