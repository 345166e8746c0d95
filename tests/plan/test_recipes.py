"""Recipes for every catalog model: the text runs what argv says, files parse, RoPE scaling
above the native context, parsers where the model needs them, nothing Rich could eat."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml
from rich.console import Console

from modelyard.catalog import cached_catalog
from modelyard.cli.plan_render import render_recipe
from modelyard.errors import PlanError
from modelyard.plan import checkpoints, get_engine
from modelyard.plan.cpu import CpuHost
from modelyard.plan.longctx import longest_context, native_context, rope_extension
from modelyard.plan.parsers import parser_source, parsers
from modelyard.plan.recipes import Recipe, vllm_image
from modelyard.plan.weights import require_arch
from tests.plan.helpers import fewest, model, plan

MODELS = sorted(
    m.id for m in cached_catalog().models.values() if m.architecture is not None and m.hf_repo
)
LONG = sorted(m for m in MODELS if require_arch(model(m)).long_context is not None)
PROGRAMS = {
    "vllm": "vllm serve",
    "sglang": "python -m sglang.launch_server",
    "llamacpp": "llama-server",
}


def _command(text: str) -> list[str]:
    """The command a shell recipe runs: comments dropped, continuations joined."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return shlex.split(" ".join(line.removesuffix("\\") for line in lines))


@pytest.mark.parametrize("model_id", MODELS)
def test_shell_recipes_run_exactly_their_argv(model_id: str) -> None:
    found = fewest(model_id)
    checked = 0
    for recipe in found.recipes:
        program = PROGRAMS.get(recipe.engine)
        if program is None:
            continue
        words = _command(recipe.text)
        head = program.split()
        assert words[: len(head)] == head, recipe.text
        assert tuple(words[len(head) :]) == recipe.argv, recipe.text
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("model_id", MODELS)
def test_file_recipes_parse(model_id: str) -> None:
    for recipe in fewest(model_id).recipes:
        if recipe.filename in ("compose.yaml", "lws.yaml"):
            doc = yaml.safe_load(recipe.text)
            assert isinstance(doc, dict), recipe.title
        if recipe.filename == "compose.yaml":
            service = yaml.safe_load(recipe.text)["services"]["vllm"]
            assert tuple(service["command"]) == recipe.argv
            assert service["image"] == vllm_image(get_engine("vllm"))
        if recipe.filename == "Modelfile":
            assert "FROM " in recipe.text and "PARAMETER num_ctx" in recipe.text


def test_vllm_image_is_the_profile_version() -> None:
    assert vllm_image(get_engine("vllm")) == "vllm/vllm-openai:v0.19.0"
    assert vllm_image(get_engine("vllm@0.16")) == "vllm/vllm-openai:v0.16.0"


@pytest.mark.parametrize("model_id", LONG)
def test_rope_scaling_above_the_native_context_for_every_engine(model_id: str) -> None:
    m = model(model_id)
    context = native_context(m) * 2
    found = fewest(model_id, context)
    ext = rope_extension(m, context)
    assert ext is not None and ext.reaches >= context
    by_engine = {r.engine: r for r in found.recipes}
    vllm = by_engine["vllm"].argv
    override = json.loads(vllm[vllm.index("--hf-overrides") + 1])["rope_parameters"]
    assert override["rope_type"] == "yarn" and override["factor"] == ext.factor
    assert override["original_max_position_embeddings"] == ext.original
    assert override["rope_theta"] == require_arch(m).rope_theta
    sglang = by_engine["sglang"].argv
    scaling = json.loads(sglang[sglang.index("--json-model-override-args") + 1])["rope_scaling"]
    assert scaling["factor"] == ext.factor
    assert "--rope-scaling" not in vllm  # vLLM 0.19 has no such flag
    tgi = by_engine["tgi"]
    assert str(native_context(m)) in tgi.argv and "capped at the native" in tgi.text


@pytest.mark.parametrize("model_id", LONG)
def test_gguf_recipes_scale_rope_in_llamacpp_and_cap_ollama(model_id: str) -> None:
    m = model(model_id)
    context = native_context(m) * 2
    found = plan(model_id, "8xh100-sxm", quant="gguf-q4_k_m", engine="llamacpp", context=context)
    by_engine = {r.engine: r for r in found.recipes}
    argv = by_engine["llamacpp"].argv
    assert argv[argv.index("--rope-scaling") + 1] == "yarn"
    assert argv[argv.index("--yarn-orig-ctx") + 1] == "32768"
    assert f"num_ctx {native_context(m)}" in by_engine["ollama"].text
    assert "RoPE scaling" in by_engine["ollama"].text


def test_within_the_native_context_no_scaling_is_asked() -> None:
    found = fewest("qwen3-8b", 16384)
    assert all("--hf-overrides" not in r.argv for r in found.recipes)


def test_above_every_documented_scaling_is_an_error() -> None:
    m = model("qwen3-8b")
    with pytest.raises(PlanError, match="no documented RoPE scaling reaches"):
        rope_extension(m, longest_context(m) + 1)
    with pytest.raises(PlanError, match="no documented RoPE scaling"):
        rope_extension(model("llama-3.1-8b-instruct"), 10**6)


@pytest.mark.parametrize("model_id", MODELS)
def test_parsers_only_where_the_model_has_the_capability(model_id: str) -> None:
    m = model(model_id)
    for engine in ("vllm", "sglang"):
        found = parsers(m, engine)
        if found.tool:
            assert m.capabilities.tools, (model_id, engine)
        if found.reasoning:
            assert m.capabilities.reasoning, (model_id, engine)
    vllm = next(r for r in fewest(model_id).recipes if r.engine == "vllm")
    expected = parsers(m, "vllm")
    assert ("--tool-call-parser" in vllm.argv) == bool(expected.tool)
    assert ("--reasoning-parser" in vllm.argv) == bool(expected.reasoning)
    if expected.tool:
        assert "--enable-auto-tool-choice" in vllm.argv


@pytest.mark.parametrize(
    ("model_id", "tool", "reasoning"),
    [
        ("qwen3-8b", "hermes", "qwen3"),
        ("gpt-oss-20b", "openai", "openai_gptoss"),
        ("deepseek-r1", None, "deepseek_r1"),  # the catalog lists no tool calling for R1
        ("llama-3.1-8b-instruct", "llama3_json", None),
        ("kimi-k2-instruct", "kimi_k2", None),
    ],
)
def test_known_vllm_parsers(model_id: str, tool: str, reasoning: str | None) -> None:
    found = parsers(model(model_id), "vllm")
    assert (found.tool, found.reasoning) == (tool, reasoning)


def test_parser_sources_are_named() -> None:
    assert "vLLM" in parser_source("vllm") and "SGLang" in parser_source("sglang")


def test_templates_are_named_in_a_comment() -> None:
    vllm = next(r for r in fewest("llama-3.1-8b-instruct").recipes if r.engine == "vllm")
    assert "examples/tool_chat_template_llama3.1_json.jinja" in vllm.text
    assert all(line.startswith("#") for line in vllm.text.splitlines() if "jinja" in line)


def test_native_checkpoints_load_without_runtime_quantization() -> None:
    oss = next(r for r in fewest("gpt-oss-120b").recipes if r.engine == "vllm")
    assert oss.argv[0] == "openai/gpt-oss-120b" and "--quantization" not in oss.argv
    runtime = next(
        m for m in MODELS if any(c.origin == "runtime" for c in checkpoints(model(m), "vllm"))
    )
    found = plan(runtime, "8xh100-sxm", quant="fp8")
    vllm = next(r for r in found.recipes if r.engine == "vllm")
    assert vllm.argv[vllm.argv.index("--quantization") + 1] == "fp8"
    assert vllm.argv[0] == model(runtime).hf_repo


def test_conversions_say_what_to_do_first() -> None:
    found = plan("phi-4", "h100-sxm", quant="awq")
    vllm = next(r for r in found.recipes if r.engine == "vllm")
    assert vllm.argv[0] == "./phi-4-awq" and "quantize" in vllm.text


def test_multinode_recipes() -> None:
    found = plan("deepseek-v3", "h100-sxm")
    titles = {r.engine: r for r in found.recipes}
    assert set(titles) == {"ray", "kubernetes"}
    ray = titles["ray"]
    assert "ray start --head" in ray.text
    argv = ray.argv
    assert argv[argv.index("--pipeline-parallel-size") + 1] == str(found.memory.pipeline_parallel)
    assert argv[argv.index("--distributed-executor-backend") + 1] == "ray"
    lws = yaml.safe_load(titles["kubernetes"].text)
    assert lws["kind"] == "LeaderWorkerSet"
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == found.memory.pipeline_parallel


def test_cpu_recipes_name_threads_and_no_gpu_layers() -> None:
    host = CpuHost("Xeon", 24, "avx512", (), 300.0, "test")
    found = plan("qwen3-8b", "cpu", engine="llamacpp", host=host)
    assert {r.engine for r in found.recipes} == {"llamacpp", "ollama"}
    llama = next(r for r in found.recipes if r.engine == "llamacpp")
    assert llama.argv[llama.argv.index("-t") + 1] == "24" and "-ngl" not in llama.argv
    ollama = next(r for r in found.recipes if r.engine == "ollama")
    assert "PARAMETER num_thread 24" in ollama.text


def test_partial_offload_sets_gpu_layers() -> None:
    found = plan("llama-3.3-70b-instruct", "rtx-4090", quant="gguf-q4_k_m", engine="llamacpp")
    llama = next(r for r in found.recipes if r.engine == "llamacpp")
    layers = int(llama.argv[llama.argv.index("-ngl") + 1])
    assert 0 < layers < 80 and any("partial offload" in n for n in found.notes)


@pytest.mark.parametrize(
    "text",
    ["vllm serve x \\\n  --flag '[gpu]'", "echo [bold]not bold[/bold] [/] [red]", "a [link=x]b"],
)
def test_recipes_print_exactly_their_text(text: str) -> None:
    """Rich markup would eat '[gpu]'; a recipe prints as --json holds it, at any width."""
    for width in (40, 80, 200):
        out = Console(record=True, width=width, color_system=None)
        render_recipe(Recipe("vllm", "t", text), out)
        printed = out.export_text()
        assert text in printed


def test_kv_cache_dtype_flags() -> None:
    found = plan("llama-3.1-8b-instruct", "h100-sxm", quant="bf16", kv_dtype="fp8")
    by_engine = {r.engine: r.argv for r in found.recipes}
    assert by_engine["vllm"][by_engine["vllm"].index("--kv-cache-dtype") + 1] == "fp8"
    assert by_engine["sglang"][by_engine["sglang"].index("--kv-cache-dtype") + 1] == "fp8_e4m3"
    q8 = plan("qwen3-8b", "rtx-4090", quant="gguf-q4_k_m", engine="llamacpp", kv_dtype="q8_0")
    llama = next(r.argv for r in q8.recipes if r.engine == "llamacpp")
    assert llama[llama.index("-ctk") + 1] == "q8_0" and llama[llama.index("-ctv") + 1] == "q8_0"


def test_moe_across_gpus_uses_expert_parallel() -> None:
    found = plan("qwen3-235b-a22b", "8xh100-sxm", quant="fp8")
    vllm = next(r for r in found.recipes if r.engine == "vllm")
    assert "--enable-expert-parallel" in vllm.argv
