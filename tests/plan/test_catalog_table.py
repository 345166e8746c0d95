"""Every catalog model through the whole planner: native release first, a plan that fits on
the fewest H100s that hold it, consistent memory, speed and cost, alternatives with their
published quality cost, and JSON that round-trips."""

from __future__ import annotations

import json

import pytest

from modelyard.catalog import cached_catalog
from modelyard.cli._render import to_jsonable
from modelyard.plan import GIB, checkpoints, get_engine, native_format, weight_bytes
from modelyard.plan.formats import FORMATS, QUALITY_ORDER
from tests.plan.helpers import fewest, model, plan

MODELS = sorted(
    m.id for m in cached_catalog().models.values() if m.architecture is not None and m.hf_repo
)
NATIVE = {
    "gpt-oss-20b": "mxfp4",
    "gpt-oss-120b": "mxfp4",
    "deepseek-v3": "fp8",
    "deepseek-v3-0324": "fp8",
    "deepseek-v3.1": "fp8",
    "deepseek-r1": "fp8",
    "kimi-k2-instruct": "fp8",
    "llama-3.1-8b-instruct": "bf16",
    "qwen3-30b-a3b": "bf16",
}


@pytest.mark.parametrize(("model_id", "key"), sorted(NATIVE.items()))
def test_native_formats_follow_the_vendors_release(model_id: str, key: str) -> None:
    assert native_format(model(model_id)).key == key


@pytest.mark.parametrize("model_id", MODELS)
def test_native_checkpoint_first_then_lossier_formats(model_id: str) -> None:
    m = model(model_id)
    found = checkpoints(m, "vllm")
    assert found[0].origin == "native" and found[0].fmt == native_format(m)
    assert found[0].repo == m.hf_repo
    order = [QUALITY_ORDER.index(c.fmt.key) for c in found[1:]]
    assert order == sorted(order)
    if native_format(m).bits < 16:
        assert all(c.fmt.bits <= native_format(m).bits for c in found)
    for c in found:
        assert "vllm" in c.fmt.engines
        if c.fmt.release_only:
            assert c.origin in ("native", "official", "community"), c
        if c.origin in ("official", "community"):
            assert c.repo and "/" in c.repo


@pytest.mark.parametrize("model_id", MODELS)
def test_every_model_gets_a_plan_that_holds_it(model_id: str) -> None:
    found = fewest(model_id)
    mem = found.memory
    assert mem.fits or mem.gpus > 8, (model_id, mem.max_sessions)
    assert mem.max_sessions >= 1 and mem.kv_pool_gib > 0
    assert mem.weights_gib <= mem.budget_gib
    fmt = FORMATS[mem.quant]
    total = weight_bytes(model(model_id), fmt, get_engine("vllm"), mem.tensor_parallel).total
    assert mem.weights_total_gib == pytest.approx(total / GIB)
    assert found.decode_single.tok_s_per_sequence > found.decode_batch.tok_s_per_sequence * 0.99
    assert found.decode_batch.tok_s_total >= found.decode_single.tok_s_total
    assert found.engine == "vllm@0.19" and "vLLM 0.19" in " ".join(found.decode_single.basis)


@pytest.mark.parametrize("model_id", MODELS)
def test_plans_prefer_the_native_release_when_it_fits(model_id: str) -> None:
    found = fewest(model_id)
    m, gpus = model(model_id), found.memory.gpus
    if gpus <= 8 and found.memory.quant != native_format(m).key:
        # a lossier release was picked only because the native one does not fit those GPUs
        native = plan(model_id, f"{gpus}xh100-sxm", quant=native_format(m).key)
        assert not native.memory.fits or native.memory.gpus != gpus


def test_gpt_oss_120b_fits_one_h100_in_its_mxfp4_release() -> None:
    found = fewest("gpt-oss-120b")
    assert found.memory.gpus == 1 and found.memory.quant == "mxfp4" and found.memory.fits
    assert found.checkpoint == "mxfp4 (the vendor's release)"


def test_405b_fp8_is_metas_mixed_layout() -> None:
    found = plan("llama-3.1-405b-instruct", "8xh100-sxm", quant="fp8-mixed")
    # vllm-project/vllm#6746: Meta-Llama-3.1-405B-Instruct-FP8 loads 57.752 GiB per GPU at TP8
    assert found.memory.weights_gib == pytest.approx(57.752, rel=0.02)
    assert found.repo == "meta-llama/Llama-3.1-405B-Instruct-FP8"


@pytest.mark.parametrize("model_id", MODELS)
def test_alternatives_cover_each_checkpoint_and_gguf(model_id: str) -> None:
    found = fewest(model_id)
    if found.memory.gpus > 8:
        return  # multi-node plans list no alternatives
    quants = [o.quant for o in found.alternatives]
    engine_formats = [c.fmt.key for c in checkpoints(model(model_id), "vllm")]
    assert quants[: len(engine_formats)] == engine_formats
    assert "gguf-q4_k_m" in quants
    # no 8-bit GGUF below a lower-precision release: it would only up-cast it (gpt-oss)
    assert ("gguf-q8_0" in quants) == (native_format(model(model_id)).bits >= 8)
    for option in found.alternatives:
        lossy = (
            FORMATS[option.quant].bits < 16 and option.quant != native_format(model(model_id)).key
        )
        if lossy and option.quant != "mxfp4":
            assert option.loss, option
        if option.fits:
            assert option.tok_s_single > 0 and option.max_sessions >= 1


@pytest.mark.parametrize("model_id", MODELS)
def test_plans_serialize_to_json(model_id: str) -> None:
    data = json.loads(json.dumps(to_jsonable(fewest(model_id))))
    assert data["model_id"] == model_id
    assert data["memory"]["engine"] == "vllm@0.19"
    assert all(r["text"] for r in data["recipes"])


@pytest.mark.parametrize("model_id", MODELS)
def test_single_node_plans_are_priced_in_a_range(model_id: str) -> None:
    found = fewest(model_id)
    if found.memory.gpus > 8:
        assert found.cost is None
        return
    cost = found.cost
    assert cost is not None
    assert cost.monthly_low <= cost.monthly_usd <= cost.monthly_high
    assert cost.usd_per_mtok_output > 0 and cost.replicas >= 1
