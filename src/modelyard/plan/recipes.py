"""Launch recipes for a plan: vLLM, SGLang, Ollama, llama.cpp, TGI, docker compose, multi-node.

Each command recipe keeps its argument vector (``argv``) beside the text to paste, so tests can
hand exactly what a user would run to the engine's own argument parser. Files (compose,
Kubernetes) are YAML dumps, so no value can break their syntax.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

import yaml

from modelyard.catalog.schema import Model
from modelyard.plan.checkpoints import Checkpoint
from modelyard.plan.cpu import CpuHost
from modelyard.plan.engines import Engine, get_engine
from modelyard.plan.longctx import RopeExtension, native_context, rope_extension
from modelyard.plan.memory import MemoryPlan
from modelyard.plan.parsers import parsers

_VLLM_KV = {"fp8": "fp8"}
_SGLANG_KV = {"fp8": "fp8_e4m3"}
_TGI_QUANT = {"fp8": "fp8", "awq": "awq", "gptq": "gptq", "nf4": "bitsandbytes-nf4"}
_IMAGE_TGI = "ghcr.io/huggingface/text-generation-inference:latest"
_RAY_WORKER = "ray start --address $(LWS_LEADER_ADDRESS):6379 --block"


@dataclass(frozen=True)
class Recipe:
    """One way to launch the plan."""

    engine: str
    title: str
    text: str
    """Shell commands or file contents, ready to paste."""
    filename: str | None = None
    """Where to save ``text`` when it is a file (Modelfile, compose.yaml, lws.yaml)."""
    argv: tuple[str, ...] = ()
    """The engine's arguments after its program name, as ``text`` passes them."""


Pairs = list[tuple[str, str | None]]


def _render(program: str, pairs: Pairs, comments: list[str], env: str = "") -> str:
    """``program`` with one flag (and its shell-quoted value) per line."""
    lines = [flag if v is None else f"{flag} {shlex.quote(v)}" for flag, v in pairs]
    head = f"{env} {program}".strip()
    body = " \\\n  ".join([head, *lines])
    return "\n".join([*(f"# {c}" for c in comments), body])


def _argv(pairs: Pairs) -> tuple[str, ...]:
    return tuple(part for flag, value in pairs for part in (flag, value) if part is not None)


def _source(model: Model, checkpoint: Checkpoint) -> tuple[str, list[str]]:
    """The repo to load and what the user must do first when no release holds the weights."""
    if checkpoint.origin == "convert" or not checkpoint.repo:
        path = f"./{model.id}-{checkpoint.fmt.key}"
        return path, [
            f"no {checkpoint.fmt.key} release of {model.id} is catalogued: quantize "
            f"{model.hf_repo} into {path} first (llm-compressor or AutoAWQ)"
        ]
    return checkpoint.repo, []


def _rope_json(ext: RopeExtension, key: str) -> str:
    """The override that scales RoPE. vLLM (0.16 and 0.19) applies --hf-overrides dicts after
    it has copied rope_scaling into rope_parameters (vllm/config/model.py
    _apply_dict_overrides), and replaces the whole dict: only ``rope_parameters`` with its
    ``rope_theta`` lifts the max_model_len check and keeps the model's base frequency."""
    params: dict[str, object] = {
        "rope_type": ext.rope_type,
        "factor": ext.factor,
        "original_max_position_embeddings": ext.original,
    }
    if ext.rope_theta is not None and key == "rope_parameters":
        params["rope_theta"] = ext.rope_theta
    return json.dumps({key: params}, separators=(",", ":"))


def _vllm_pairs(
    model: Model, mem: MemoryPlan, checkpoint: Checkpoint, engine: Engine
) -> tuple[Pairs, list[str]]:
    repo, comments = _source(model, checkpoint)
    pairs: Pairs = [(repo, None), ("--tensor-parallel-size", str(mem.tensor_parallel))]
    if mem.pipeline_parallel > 1:
        pairs.append(("--pipeline-parallel-size", str(mem.pipeline_parallel)))
    pairs += [
        ("--max-model-len", str(mem.context)),
        ("--gpu-memory-utilization", f"{mem.budget_gib / mem.gpu_gib:.2f}"),
    ]
    if engine.scheduler and mem.batch > engine.scheduler.max_num_seqs[1]:
        pairs.append(("--max-num-seqs", str(mem.batch)))
    if checkpoint.origin == "runtime":
        pairs.append(("--quantization", checkpoint.fmt.key))
    if mem.kv_dtype in _VLLM_KV:
        pairs.append(("--kv-cache-dtype", _VLLM_KV[mem.kv_dtype]))
    if model.is_moe and mem.gpus > 1:
        pairs.append(("--enable-expert-parallel", None))
    ext = rope_extension(model, mem.context)
    if ext is not None:
        pairs.append(("--hf-overrides", _rope_json(ext, "rope_parameters")))
    pairs += _vllm_lora_pairs(mem)
    found = parsers(model, "vllm")
    if found.tool:
        pairs += [("--enable-auto-tool-choice", None), ("--tool-call-parser", found.tool)]
    if found.reasoning:
        pairs.append(("--reasoning-parser", found.reasoning))
    if found.template:
        comments.append(
            f"vLLM's docs pair --tool-call-parser {found.tool} with --chat-template "
            f"examples/{found.template} from the vLLM repository"
        )
    return pairs, comments


def _adapter_names(mem: MemoryPlan) -> tuple[str, ...]:
    slots = mem.lora
    assert slots is not None
    return slots.adapters or tuple(f"adapter{i + 1}" for i in range(slots.max_loras))


def _vllm_lora_pairs(mem: MemoryPlan) -> Pairs:
    """Multi-LoRA serving: every adapter named, as many on the GPU as the plan holds."""
    if mem.lora is None:
        return []
    names = _adapter_names(mem)
    first, *rest = (f"{n}=./adapters/{n}" for n in names)
    return [
        ("--enable-lora", None),
        ("--lora-modules", first),
        *((module, None) for module in rest),  # nargs='+': the other modules follow the flag
        ("--max-loras", str(mem.lora.max_loras)),
        ("--max-lora-rank", str(mem.lora.max_rank)),
        ("--max-cpu-loras", str(max(mem.lora.max_loras, len(names)))),
    ]


def _llamacpp_lora_pairs(mem: MemoryPlan) -> Pairs:
    """Adapters loaded at start; with several, none applied until a request's `lora` field
    ([{"id": N, "scale": 1.0}]) picks one."""
    if mem.lora is None:
        return []
    names = _adapter_names(mem)
    pairs: Pairs = [("--lora", f"./adapters/{n}.gguf") for n in names]
    return [*pairs, ("--lora-init-without-apply", None)] if len(names) > 1 else pairs


def vllm(model: Model, mem: MemoryPlan, checkpoint: Checkpoint, engine: Engine) -> Recipe:
    """``vllm serve`` with the plan's parallelism, length, memory share, formats and parsers."""
    pairs, comments = _vllm_pairs(model, mem, checkpoint, engine)
    text = _render("vllm serve", pairs, comments)
    return Recipe("vllm", engine.label, text, argv=_argv(pairs))


def sglang(model: Model, mem: MemoryPlan, checkpoint: Checkpoint) -> Recipe:
    """``sglang.launch_server`` equivalent of the plan."""
    repo, comments = _source(model, checkpoint)
    pairs: Pairs = [
        ("--model-path", repo),
        ("--tp", str(mem.tensor_parallel)),
        ("--context-length", str(mem.context)),
        ("--mem-fraction-static", f"{mem.budget_gib / mem.gpu_gib:.2f}"),
    ]
    if checkpoint.origin == "runtime":
        pairs.append(("--quantization", checkpoint.fmt.key))
    if mem.kv_dtype in _SGLANG_KV:
        pairs.append(("--kv-cache-dtype", _SGLANG_KV[mem.kv_dtype]))
    ext = rope_extension(model, mem.context)
    if ext is not None:
        pairs.append(("--json-model-override-args", _rope_json(ext, "rope_scaling")))
    found = parsers(model, "sglang")
    if found.tool:
        pairs.append(("--tool-call-parser", found.tool))
    if found.reasoning:
        pairs.append(("--reasoning-parser", found.reasoning))
    text = _render("python -m sglang.launch_server", pairs, comments)
    return Recipe("sglang", "SGLang", text, argv=_argv(pairs))


def _gguf_repo(model: Model) -> str | None:
    for q in model.quantized:
        if q.format.startswith("gguf") and q.repo and "/" in q.repo:
            return q.repo
    return None


def llamacpp(model: Model, mem: MemoryPlan, host: CpuHost | None = None) -> Recipe:
    """``llama-server`` with the GGUF, -ngl layers on GPU (or threads on a CPU host), total
    context, slots and YaRN."""
    quant = mem.quant.removeprefix("gguf-").upper()
    repo = _gguf_repo(model)
    comments = [] if repo else [f"no GGUF repo in the catalog: convert {model.hf_repo} or find one"]
    pairs: Pairs = [
        ("-hf", f"{repo}:{quant}") if repo else ("-m", f"./{model.id}-{quant}.gguf"),
        ("-ngl", str(mem.gpu_layers if mem.gpu_layers < mem.layers else 999))
        if host is None
        else ("-t", str(host.cores)),
        ("-c", str(mem.context * mem.batch)),
        ("--parallel", str(mem.batch)),
        ("-fa", "on"),
    ]
    if mem.kv_dtype in ("q8_0", "q4_0"):
        pairs += [("-ctk", mem.kv_dtype), ("-ctv", mem.kv_dtype)]
    ext = rope_extension(model, mem.context)
    if ext is not None:
        pairs += [
            ("--rope-scaling", ext.rope_type),
            ("--rope-scale", f"{ext.factor:g}"),
            ("--yarn-orig-ctx", str(ext.original)),
        ]
    if model.capabilities.tools:
        pairs.append(("--jinja", None))
    pairs += _llamacpp_lora_pairs(mem)
    if mem.lora is not None:
        comments += [
            "each PEFT adapter to GGUF first (llama.cpp repo):",
            "  python convert_lora_to_gguf.py --base BASE_HF_DIR --outtype f16 ADAPTER_DIR",
        ]
    text = _render("llama-server", pairs, comments)
    return Recipe("llamacpp", "llama.cpp llama-server", text, argv=_argv(pairs))


def ollama(model: Model, mem: MemoryPlan, host: CpuHost | None = None) -> Recipe:
    """An Ollama Modelfile with num_ctx, and the commands that build and run it.

    Ollama exposes no YaRN setting, so a context above the model's native limit is capped
    there, and the recipe says so.
    """
    tag = model.ollama_tag or f"hf.co/{_gguf_repo(model) or model.hf_repo}"
    context = min(mem.context, native_context(model))
    kv = {"q8_0": "q8_0", "q4_0": "q4_0"}.get(mem.kv_dtype)
    env = f"OLLAMA_NUM_PARALLEL={mem.batch} OLLAMA_FLASH_ATTENTION=1"
    if kv:
        env += f" OLLAMA_KV_CACHE_TYPE={kv}"
    name = f"{model.id}-{context // 1024}k"
    note = ""
    if context < mem.context:
        note = (
            f"# Ollama cannot enable {model.id}'s RoPE scaling: num_ctx capped at its native "
            f"{context:,} tokens (use llama.cpp or vLLM for {mem.context:,})\n"
        )
    threads = f"PARAMETER num_thread {host.cores}\n" if host else ""
    text = (
        f"{note}# Modelfile\nFROM {tag}\nPARAMETER num_ctx {context}\n{threads}\n"
        f"# then:\n{env} ollama serve &\nollama create {name} -f Modelfile\nollama run {name}"
    )
    return Recipe("ollama", "Ollama", text, "Modelfile")


def tgi(model: Model, mem: MemoryPlan, checkpoint: Checkpoint) -> Recipe:
    """Text Generation Inference in Docker (its launcher has no YaRN: capped at the native
    context above it)."""
    repo, comments = _source(model, checkpoint)
    context = min(mem.context, native_context(model))
    if context < mem.context:
        comments.append(
            f"TGI's launcher offers --rope-scaling linear|dynamic only: capped at the native "
            f"{context:,} tokens (launcher/src/main.rs RopeScaling)"
        )
    pairs: Pairs = [
        ("--model-id", repo),
        ("--num-shard", str(mem.tensor_parallel)),
        ("--max-total-tokens", str(context)),
        ("--max-input-tokens", str(context - 1)),
    ]
    quant = _TGI_QUANT.get(mem.quant) if checkpoint.origin in ("runtime", "convert") else None
    if quant:
        pairs.append(("--quantize", quant))
    docker = (
        "docker run --gpus all --shm-size 1g -p 8080:80 -v $PWD/data:/data -e HF_TOKEN "
        + _IMAGE_TGI
    )
    text = _render(docker, pairs, comments)
    return Recipe("tgi", "TGI", text, argv=_argv(pairs))


def vllm_image(engine: Engine) -> str:
    """The vLLM image of the profile's version (the recipes are checked against it)."""
    version = engine.version if engine.version.count(".") >= 2 else f"{engine.version}.0"
    return f"vllm/vllm-openai:v{version}"


def compose(model: Model, mem: MemoryPlan, checkpoint: Checkpoint, engine: Engine) -> Recipe:
    """A docker compose file running the vLLM recipe with the GPUs it needs."""
    pairs, comments = _vllm_pairs(model, mem, checkpoint, engine)
    service = {
        "image": vllm_image(engine),
        "ipc": "host",
        "ports": ["8000:8000"],
        "environment": ["HF_TOKEN"],
        "volumes": ["~/.cache/huggingface:/root/.cache/huggingface"],
        "command": list(_argv(pairs)),
        "deploy": {
            "resources": {
                "reservations": {
                    "devices": [{"driver": "nvidia", "count": mem.gpus, "capabilities": ["gpu"]}]
                }
            }
        },
    }
    body = yaml.safe_dump({"services": {"vllm": service}}, sort_keys=False, width=1000)
    text = "".join(f"# {c}\n" for c in comments) + body
    return Recipe("compose", "docker compose (vLLM)", text, "compose.yaml", argv=_argv(pairs))


def multinode(
    model: Model, mem: MemoryPlan, checkpoint: Checkpoint, engine: Engine, nodes: int
) -> list[Recipe]:
    """vLLM on Ray across ``nodes`` and the equivalent Kubernetes LeaderWorkerSet."""
    gpus_per_node = mem.tensor_parallel
    pairs, comments = _vllm_pairs(model, mem, checkpoint, _vllm_profile(engine))
    pairs.append(("--distributed-executor-backend", "ray"))
    serve = _render("vllm serve", pairs, [])
    one_line = "vllm serve " + shlex.join(_argv(pairs))
    ray = "\n".join(
        [
            *(f"# {c}" for c in comments),
            "# on the head node",
            "ray start --head --port 6379",
            f"# on each of the {nodes - 1} worker node(s)",
            "ray start --address HEAD_IP:6379",
            "# then, on the head node",
            serve,
        ]
    )
    gpus = {"limits": {"nvidia.com/gpu": str(gpus_per_node)}}
    container = {"image": vllm_image(_vllm_profile(engine)), "resources": gpus}
    lws = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": model.id.replace(".", "-")},
        "spec": {
            "replicas": 1,
            "leaderWorkerTemplate": {
                "size": nodes,
                "leaderTemplate": {"spec": {"containers": [{
                    "name": "vllm-leader", **container, "ports": [{"containerPort": 8000}],
                    "command": ["sh", "-c", f"ray start --head --port 6379 && {one_line}"],
                }]}},
                "workerTemplate": {"spec": {"containers": [{
                    "name": "vllm-worker", **container,
                    "command": ["sh", "-c", _RAY_WORKER],
                }]}},
            },
        },
    }  # fmt: skip
    lws_text = yaml.safe_dump(lws, sort_keys=False, width=1000)
    return [
        Recipe(
            "ray", f"vLLM on Ray ({nodes} nodes × {gpus_per_node} GPUs)", ray, argv=_argv(pairs)
        ),
        Recipe("kubernetes", "Kubernetes LeaderWorkerSet", lws_text, "lws.yaml"),
    ]


def _vllm_profile(engine: Engine) -> Engine:
    """The planned vLLM profile, or the newest when the plan is for another engine."""
    return engine if engine.id == "vllm" else get_engine("vllm")


def recipes(
    model: Model,
    mem: MemoryPlan,
    checkpoint: Checkpoint,
    engine: Engine,
    host: CpuHost | None = None,
) -> list[Recipe]:
    """Every single-node recipe the plan's format allows (GGUF engines for GGUF formats and
    on a CPU-only ``host``)."""
    if mem.quant.startswith("gguf-") or host is not None:
        return [llamacpp(model, mem, host), ollama(model, mem, host)]
    profile = _vllm_profile(engine)
    found = [
        vllm(model, mem, checkpoint, profile),
        sglang(model, mem, checkpoint),
        tgi(model, mem, checkpoint),
        compose(model, mem, checkpoint, profile),
    ]
    if mem.quant == "mxfp4":
        found += [llamacpp(model, mem), ollama(model, mem)]
    return found
