"""Engine profiles: versions, what each factor rests on, and how profiles are looked up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from modelyard.errors import PlanError
from modelyard.plan.engines import (
    Engine,
    Factor,
    activation_class,
    engine_ids,
    get_engine,
    load_engines,
)
from tests.plan.helpers import model

FIT_SCRIPTS = ("benchmarks/planner_vs_published/fit.py", "benchmarks/planner_vs_published/speed.py")


def factors(node: object, path: str = "") -> Iterator[tuple[str, Factor]]:
    """Every Factor inside a profile, with where it sits."""
    if isinstance(node, Factor):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from factors(getattr(node, name), f"{path}.{name}".lstrip("."))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from factors(value, f"{path}[{key}]")


PROFILES = {e.key: e for e in load_engines()}


def test_every_engine_the_brief_names_has_a_profile() -> None:
    assert set(engine_ids()) == {"vllm", "sglang", "tgi", "llamacpp", "ollama"}
    assert {"vllm@0.19", "vllm@0.16"} <= set(PROFILES)


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_every_factor_names_its_source(key: str) -> None:
    found = list(factors(PROFILES[key]))
    assert len(found) >= 8
    for path, factor in found:
        assert len(factor.source) > 15, (key, path)


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_fitted_factors_name_the_script_that_fits_them(key: str) -> None:
    for path, factor in factors(PROFILES[key]):
        if factor.source.startswith("fitted"):
            assert any(script in factor.source for script in FIT_SCRIPTS), (key, path)


@pytest.mark.parametrize("key", ["sglang@0.5", "tgi@3.3", "ollama@0.12"])
def test_borrowed_speed_factors_say_so(key: str) -> None:
    engine = PROFILES[key]
    for factor in (engine.eta_bw, engine.step_overhead_ms, engine.moe_layer_us):
        assert "assumed" in factor.source, (key, factor.source)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("vllm", "vllm@0.19"),
        ("vLLM", "vllm@0.19"),
        ("vllm@0.19", "vllm@0.19"),
        ("vllm@0.19.1", "vllm@0.19"),
        ("vllm@0.17", "vllm@0.19"),
        ("vllm@0.16", "vllm@0.16"),
        ("vllm@0.11", "vllm@0.16"),
        ("vllm@v0.8.5", "vllm@0.16"),
        ("llama.cpp", "llamacpp@b6400"),
        ("llama-cpp", "llamacpp@b6400"),
        ("llamacpp@b6400", "llamacpp@b6400"),
        ("sglang", "sglang@0.5"),
        ("TGI", "tgi@3.3"),
        ("ollama", "ollama@0.12"),
    ],
)
def test_profile_lookup(name: str, key: str) -> None:
    assert get_engine(name).key == key


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("exllama", "unknown engine"),
        ("vllm@latest", "write numbers"),
        ("vllm@0.x", "write numbers"),
    ],
)
def test_bad_engine_names_say_what_to_write(name: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        get_engine(name)


def test_profiles_are_newest_first_within_an_engine() -> None:
    vllm = [e.version for e in load_engines() if e.id == "vllm"]
    assert vllm == ["0.19", "0.16"]


def test_the_newest_vllm_models_its_activation_and_the_old_one_tables_it() -> None:
    new, old = get_engine("vllm"), get_engine("vllm@0.16")
    assert new.activation.kind == "model" and old.activation.kind == "table"
    assert new.kv_accounting == "vllm_groups" and old.kv_accounting == "window"
    # the old profile's batch-1 overhead (4.7 ms) is what made batch 1 41% too slow
    assert old.step_overhead_ms.value > 10 * new.step_overhead_ms.value


def test_activation_table_needs_a_table_profile() -> None:
    with pytest.raises(PlanError, match="no class table"):
        get_engine("vllm").activation_table(model("qwen3-8b"))
    assert get_engine("vllm@0.16").activation_table(model("qwen3-8b")).value == 5.6


@pytest.mark.parametrize(
    ("model_id", "cls"),
    [
        ("llama-3.1-8b-instruct", "llama"),
        ("qwen3-8b", "qwen"),
        ("qwen3-30b-a3b", "moe"),
        ("gpt-oss-20b", "moe"),
        ("mistral-small-3.1-24b-instruct-2503", "multimodal"),
        ("phi-4", "dense"),
    ],
)
def test_activation_class(model_id: str, cls: str) -> None:
    assert activation_class(model(model_id)) == cls


def test_bare_engine_drops_what_the_kernels_do_not_pay() -> None:
    bare = get_engine("vllm").bare()
    assert bare.sampling_passes is None and bare.cpu_floor_ms is None
    assert bare.step_overhead_ms.value == 0.0
    assert bare.eta_bw == get_engine("vllm").eta_bw


@pytest.mark.parametrize("engine_id", ["llamacpp", "ollama"])
def test_gguf_engines_run_on_cpus_and_gpu_engines_do_not(engine_id: str) -> None:
    cpu = get_engine(engine_id).cpu
    assert cpu is not None and get_engine(engine_id).is_gguf
    assert cpu.gflops("avx512").value > cpu.gflops("avx2").value
    assert cpu.gflops("amx").value > cpu.gflops("avx512").value
    assert cpu.gflops("baseline") == cpu.gflops("avx2")
    for gpu_only in ("vllm", "sglang", "tgi"):
        assert get_engine(gpu_only).cpu is None


def test_llamacpp_kernels_read_then_compute() -> None:
    engine: Engine = get_engine("llamacpp")
    assert engine.compute_overlaps is False
    assert engine.small_batch is not None and engine.small_batch.max_batch == 8
    assert engine.small_batch.eta_compute.value < engine.eta_compute.value


def test_labels_name_the_version() -> None:
    assert get_engine("vllm").label == "vLLM 0.19"
    assert get_engine("vllm@0.16").key == "vllm@0.16"
