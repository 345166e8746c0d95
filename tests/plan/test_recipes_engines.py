"""Every printed vLLM and SGLang recipe passes the engine's own argument validation.

The engines are installed CPU-only by scripts/engines.sh into .cache/engines (scripts/test.sh
runs it); where that has not been run these tests skip and say so. tests/plan/engine_check.py
runs inside each engine's Python. For every catalog model: the recipes of its plan at its
native context on the fewest H100s that hold it, and for models with a published YaRN
setting at twice the native context, where vLLM also builds its model config from a
config.json written from the catalog (which refuses a --max-model-len above the rope-scaled
limit).
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from modelyard.catalog import Model, cached_catalog
from modelyard.catalog.schema import Architecture
from modelyard.plan.longctx import native_context
from tests.plan.helpers import fewest, plan

ROOT = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).with_name("engine_check.py")
HF_TYPES = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
"""Model types whose config.json the test writes, so vLLM checks the rope-scaled length."""


def _python(engine: str) -> Path:
    python = ROOT / ".cache" / "engines" / engine / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{engine} is not installed for the recipe checks: run scripts/engines.sh")
    return python


def run_checks(engine: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The engine's verdict on each case (tests/plan/engine_check.py in its venv)."""
    done = subprocess.run(
        [str(_python(engine)), str(CHECK)],
        input=json.dumps({"engine": engine, "cases": cases}),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_LOGGING_LEVEL": "ERROR"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ENGINE-CHECK "), done.stdout[-3000:]
    result: dict[str, Any] = json.loads(last.removeprefix("ENGINE-CHECK "))
    return result


def hf_config(model: Model) -> dict[str, Any] | None:
    """A config.json for ``model`` from the catalog (the model types in HF_TYPES only)."""
    arch = model.architecture
    if arch is None or arch.model_type not in HF_TYPES or arch.moe is not None:
        return None
    return _dense_config(arch)


def _dense_config(arch: Architecture) -> dict[str, Any]:
    return {
        "architectures": [HF_TYPES[arch.model_type]],
        "model_type": arch.model_type,
        "hidden_size": arch.hidden_size,
        "intermediate_size": arch.intermediate_size,
        "num_attention_heads": arch.num_attention_heads,
        "num_key_value_heads": arch.num_key_value_heads,
        "num_hidden_layers": arch.num_hidden_layers,
        "head_dim": arch.head_dim,
        "vocab_size": arch.vocab_size,
        "max_position_embeddings": arch.max_position_embeddings,
        "rope_theta": arch.rope_theta or 10000.0,
        "tie_word_embeddings": arch.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "use_sliding_window": False,
    }


VARIANTS: list[tuple[str, str, str, dict[str, Any]]] = [
    # (model, GPUs, weights, keywords): an FP8 cache, more sequences than vLLM's default,
    # pipeline stages, an explicit runtime FP8, an AWQ conversion, two nodes (vLLM on Ray)
    ("llama-3.1-8b-instruct", "h100-sxm", "auto", {"kv_dtype": "fp8"}),
    ("qwen3-0.6b", "l4", "auto", {"batch": 512, "context": 1024}),
    ("qwen3-8b", "a100-80g-sxm", "auto", {"batch": 300, "context": 2048}),
    ("llama-3.3-70b-instruct", "4xh100-sxm", "auto", {"pp": 2}),
    ("phi-4", "h100-sxm", "fp8", {}),
    ("phi-4", "rtx-4090", "awq", {}),
    ("gpt-oss-120b", "2xh100-sxm", "auto", {}),
    ("deepseek-v3", "8xh100-sxm", "fp8", {}),
]


def _variant_cases() -> dict[str, list[dict[str, Any]]]:
    cases: dict[str, list[dict[str, Any]]] = {"vllm": [], "sglang": []}
    for model_id, gpu, quant, kw in VARIANTS:
        engine = "llamacpp" if quant.startswith("gguf") else "vllm"
        found = plan(model_id, gpu, quant=quant, engine=engine, **kw)
        for recipe in found.recipes:
            name = "vllm" if recipe.engine in ("vllm", "ray", "compose") else recipe.engine
            if name in cases and recipe.argv:
                cases[name].append(
                    {
                        "id": f"{model_id}/{gpu}/{quant}/{kw}:{recipe.engine}",
                        "argv": list(recipe.argv),
                    }
                )
    return cases


@cache
def catalog_cases() -> dict[str, list[dict[str, Any]]]:
    """Recipe argv per engine for every catalog model, at native and extended context."""
    cases: dict[str, list[dict[str, Any]]] = {"vllm": [], "sglang": []}
    for model in cached_catalog().models.values():
        if model.architecture is None or not model.hf_repo:
            continue
        native = native_context(model)
        contexts = [min(native, 32768)]
        arch = model.architecture
        if arch.long_context is not None:
            contexts.append(native * 2)
        for context in contexts:
            found = fewest(model.id, context)
            for recipe in found.recipes:
                engine = "vllm" if recipe.engine in ("vllm", "ray", "compose") else recipe.engine
                if engine not in cases or not recipe.argv:
                    continue
                config = hf_config(model) if engine == "vllm" and context > native else None
                cases[engine].append(
                    {
                        "id": f"{model.id}@{context}:{recipe.engine}",
                        "argv": list(recipe.argv),
                        "config": config,
                    }
                )
    for engine, extra in _variant_cases().items():
        cases[engine] += extra
    return cases


def test_every_catalog_model_yields_cases() -> None:
    cases = catalog_cases()
    models = {c["id"].split("@")[0] for c in cases["vllm"] if "@" in c["id"]}
    with_arch = [m for m in cached_catalog().models.values() if m.architecture and m.hf_repo]
    assert models == {m.id for m in with_arch}
    # the long-context cases carry a config so vLLM checks the rope-scaled limit
    assert any(c["config"] for c in cases["vllm"])
    assert any("--hf-overrides" in c["argv"] for c in cases["vllm"])
    assert any("--json-model-override-args" in c["argv"] for c in cases["sglang"])
    every = [arg for c in cases["vllm"] for arg in c["argv"]]
    for flag in ("--kv-cache-dtype", "--max-num-seqs", "--pipeline-parallel-size",
                 "--quantization", "--distributed-executor-backend"):  # fmt: skip
        assert flag in every, flag


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_every_recipe_passes_the_engines_own_validation(engine: str) -> None:
    cases = catalog_cases()[engine]
    result = run_checks(engine, cases)
    failed = {k: v for k, v in result["results"].items() if v != "ok"}
    assert not failed, json.dumps(failed, indent=1)
    assert len(result["results"]) == len(cases)


def test_vllm_refuses_what_the_recipes_avoid() -> None:
    """The check has teeth: without the rope override vLLM refuses twice the native length,
    and the flag older planners printed does not exist."""
    model = cached_catalog().models["qwen3-8b"]
    config = hf_config(model)
    assert config is not None
    repo = model.hf_repo or ""
    too_long = ["--max-model-len", str(native_context(model) * 2)]
    cases: list[dict[str, Any]] = [
        {"id": "no-override", "argv": [repo, *too_long], "config": config},
        {
            "id": "rope-flag",
            "argv": [repo, "--rope-scaling", '{"rope_type":"yarn"}'],
            "config": None,
        },
        {"id": "bad-parser", "argv": [repo, "--reasoning-parser", "nonesuch"], "config": None},
    ]
    results = run_checks("vllm", cases)["results"]
    assert all(v != "ok" for v in results.values()), results


def test_sglang_refuses_an_unknown_parser() -> None:
    cases = [{"id": "bad", "argv": ["--model-path", "x", "--tool-call-parser", "nonesuch"]}]
    assert run_checks("sglang", cases)["results"]["bad"] != "ok"
