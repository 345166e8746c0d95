"""The fine-tuning planner: adapter counts against published trainable-parameter figures,
memory parts, sharding, time, recipes, and `yard plan --finetune` through the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from modelyard.catalog import find_gpu, find_model
from modelyard.catalog.loader import load_catalog
from modelyard.catalog.lora import lora_params, parse_targets
from modelyard.cli import app
from modelyard.errors import PlanError, YardError
from modelyard.plan.cluster import Cluster
from modelyard.plan.finetune import GIB, FinetuneSpec, plan_finetune_memory
from modelyard.plan.finetune_plan import plan_finetune
from modelyard.plan.finetune_time import plan_finetune_time

runner = CliRunner()
CATALOG = load_catalog()
LLAMA8 = find_model(CATALOG, "llama-3.1-8b-instruct")
H100 = find_gpu(CATALOG, "h100-sxm")


def _memory(spec: FinetuneSpec, gpus: int = 1):
    return plan_finetune_memory(LLAMA8, spec, gpus, H100.name, H100.memory_gib)


def test_lora_params_match_peft_printouts() -> None:
    arch = LLAMA8.architecture
    assert arch is not None
    # PEFT print_trainable_parameters on Llama-3-8B: r=8 on q,v -> 3,407,872;
    # r=16 on all seven linear layers -> 41,943,040 (widely reproduced PEFT output)
    assert lora_params(arch, parse_targets("q,v"), 8) == 3_407_872
    assert lora_params(arch, parse_targets("all-linear"), 16) == 41_943_040


def test_moe_experts_and_mla_projections_are_counted() -> None:
    qwen_moe = find_model(CATALOG, "qwen3-30b-a3b").architecture
    deepseek = find_model(CATALOG, "deepseek-v3").architecture
    assert qwen_moe is not None and deepseek is not None
    attention = lora_params(qwen_moe, parse_targets("attention"), 8)
    everything = lora_params(qwen_moe, parse_targets("all-linear"), 8)
    # 48 layers × 128 experts × 3 matrices dwarf the attention adapters
    assert everything > 20 * attention
    # MLA: q_a/q_b, kv_a, kv_b and o per layer, not a dense q/k/v shape
    per_layer = lora_params(deepseek, parse_targets("attention"), 1) / 61
    assert per_layer == (7168 + 1536) + (1536 + 128 * 192) + (7168 + 576) + (512 + 128 * 256) + (
        128 * 128 + 7168
    )


def test_bad_targets_and_settings_are_refused() -> None:
    with pytest.raises(PlanError, match="unknown qq"):
        parse_targets("q,qq")
    with pytest.raises(PlanError, match="--rank 0"):
        _memory(FinetuneSpec("lora", rank=0))
    with pytest.raises(PlanError, match="--seq-len 0"):
        _memory(FinetuneSpec("lora", seq_len=0))
    with pytest.raises(PlanError, match="--optimizer"):
        _memory(FinetuneSpec("lora", optimizer="lion"))  # type: ignore[arg-type]


def test_qlora_weights_are_nf4_with_double_quant() -> None:
    def base(spec: FinetuneSpec) -> float:
        return next(p.gib for p in _memory(spec).parts if p.name == "base weights")

    # 6.98B linear params at 4.127 bits + 1.05B embedding/head/norms in bf16 (Unsloth) or
    # fp32 (transformers' prepare_model_for_kbit_training)
    assert base(FinetuneSpec("qlora", framework="unsloth")) == pytest.approx(5.31, abs=0.02)
    assert base(FinetuneSpec("qlora")) == pytest.approx(5.31 + 1.05e9 * 2 / GIB, abs=0.03)


def test_methods_order_and_full_needs_optimizer_memory() -> None:
    full, lora, qlora = (_memory(FinetuneSpec(m)) for m in ("full", "lora", "qlora"))
    assert full.device_gib > lora.device_gib > qlora.device_gib
    optimizer = next(p for p in full.parts if p.name == "optimizer states")
    assert optimizer.gib == pytest.approx(8.03e9 * 4 / GIB, rel=0.01)  # bf16 AdamW moments
    assert full.fits  # pure bf16 with checkpointing: ~64 GiB on an 80 GiB H100
    mixed = _memory(FinetuneSpec("full", precision="fp16"))  # fp32 master weights, fp32 moments
    assert not mixed.fits and "does not fit" in mixed.verdict


def test_checkpointing_and_offload_shrink_activations() -> None:
    kept = {
        mode: next(p.gib for p in _memory(FinetuneSpec("lora", grad_ckpt=mode)).parts if
                   p.name == "activations kept")
        for mode in ("none", "full", "offload")
    }  # fmt: skip
    assert kept["none"] > 10 * kept["full"] > 10 * kept["offload"] > 0


def test_zero3_shards_weights_and_states() -> None:
    spec = FinetuneSpec("full", optimizer="adamw", sharding="zero3")
    one, eight = _memory(spec), _memory(spec, gpus=8)
    assert eight.device_gib < one.device_gib / 4
    zero2 = _memory(FinetuneSpec("full", sharding="zero2"), gpus=8)
    weights = next(p.gib for p in zero2.parts if p.name == "base weights")
    assert weights == pytest.approx(8.03e9 * 2 / GIB, rel=0.01)  # ZeRO-2 keeps full weights


def test_paged_optimizer_is_shown_but_not_counted() -> None:
    mem = _memory(FinetuneSpec("full", optimizer="paged-adamw-8bit"))
    paged = next(p for p in mem.parts if p.name == "optimizer states")
    assert not paged.counted and paged.gib > 10
    assert mem.peak_allocated_gib < sum(p.gib for p in mem.parts)


def test_time_scales_with_dataset_and_costs_hours() -> None:
    spec = FinetuneSpec("lora", dataset_tokens=100e6, epochs=2)
    mem = _memory(spec)
    time = plan_finetune_time(LLAMA8, spec, Cluster(H100, 2), mem.trainable, None, 3.0)
    assert time.tokens == 200e6 and time.hours is not None
    assert time.hours == pytest.approx(200e6 / time.tokens_per_s / 3600)
    assert time.usd == pytest.approx(time.hours * 6.0)


def test_plan_recipes_carry_the_settings() -> None:
    spec = FinetuneSpec("qlora", rank=32, seq_len=4096, micro_batch=2, grad_accum=8)
    plan = plan_finetune(LLAMA8, spec, Cluster(H100, 1))
    texts = {r.engine: r.text for r in plan.recipes}
    assert {"axolotl", "unsloth", "trl", "torchtune"} <= set(texts)
    assert "lora_r: 32" in texts["axolotl"] and "sequence_len: 4096" in texts["axolotl"]
    assert "load_in_4bit: true" in texts["axolotl"]
    assert "gradient_accumulation_steps=8" in texts["trl"] and "nf4" in texts["trl"]
    assert '"gate"' not in texts["axolotl"]  # a dense model has no router to adapt
    assert [m.method for m in plan.methods] == ["full", "lora", "qlora"]


def test_cli_finetune_json() -> None:
    args = ["plan", "llama-3.1-8b-instruct", "--finetune", "lora", "--gpu", "h100"]
    result = runner.invoke(app, [*args, "--dataset-tokens", "20M", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["memory"]["spec"]["method"] == "lora"
    assert data["time"]["hours"] > 0 and data["memory"]["device_gib"] > 15


def test_cli_finetune_table_and_errors() -> None:
    args = ["plan", "llama-3.1-8b-instruct", "--finetune", "qlora", "--gpu", "rtx-4090"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "fits:" in result.output and "Axolotl" in result.output
    with pytest.raises(YardError, match="--finetune 'dora'"):
        runner.invoke(app, [*args[:3], "dora"], catch_exceptions=False)
    with pytest.raises(YardError, match="--dataset-tokens"):
        runner.invoke(app, [*args, "--dataset-tokens", "lots"], catch_exceptions=False)
    with pytest.raises(YardError, match="--seq-len: 'abc'"):
        runner.invoke(app, [*args, "--seq-len", "abc"], catch_exceptions=False)
    with pytest.raises(YardError, match="needs a model"):
        runner.invoke(app, ["plan", "--finetune", "lora", "--gpu", "h100"], catch_exceptions=False)
