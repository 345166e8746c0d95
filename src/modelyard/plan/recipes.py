"""Launch recipes for a plan: vLLM, SGLang, Ollama, llama.cpp, TGI, docker compose, multi-node."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog.schema import Model
from modelyard.plan.memory import MemoryPlan

_QUANT_REPO_FORMATS = {
    "fp8": ("fp8",),
    "awq": ("awq-int4", "awq"),
    "gptq": ("gptq-int4", "gptq"),
    "mxfp4": ("mxfp4",),
}
_VLLM_QUANT = {"fp8": "fp8", "awq": "awq", "gptq": "gptq", "nf4": "bitsandbytes"}
_TGI_QUANT = {"fp8": "fp8", "awq": "awq", "gptq": "gptq", "nf4": "bitsandbytes-nf4"}
_VLLM_KV = {"fp8": "fp8"}
_SGLANG_KV = {"fp8": "fp8_e4m3"}


@dataclass(frozen=True)
class Recipe:
    """One way to launch the plan."""

    engine: str
    title: str
    text: str
    """Shell commands or file contents, ready to paste."""
    filename: str | None = None
    """Where to save ``text`` when it is a file (Modelfile, compose.yaml, lws.yaml)."""


def checkpoint(model: Model, quant: str) -> tuple[str, bool]:
    """The repo to load for ``quant`` and whether it is already quantized that way."""
    wanted = _QUANT_REPO_FORMATS.get(quant, ())
    for q in model.quantized:
        if q.format in wanted and q.repo and "/" in q.repo:
            return q.repo, True
    return model.hf_repo or model.id, False


def _gguf_repo(model: Model, quant: str) -> str | None:
    for q in model.quantized:
        if q.format.startswith("gguf") and q.repo and "/" in q.repo:
            return q.repo
    return None


def _vllm_args(model: Model, mem: MemoryPlan) -> list[str]:
    repo, prequantized = checkpoint(model, mem.quant)
    args = [repo, f"--tensor-parallel-size {mem.tensor_parallel}"]
    if mem.pipeline_parallel > 1:
        args.append(f"--pipeline-parallel-size {mem.pipeline_parallel}")
    args += [
        f"--max-model-len {mem.context}",
        f"--gpu-memory-utilization {mem.budget_gib / mem.gpu_gib:.2f}",
        f"--max-num-seqs {max(mem.batch, min(mem.max_sessions, 256))}",
    ]
    if not prequantized and mem.quant in _VLLM_QUANT:
        args.append(f"--quantization {_VLLM_QUANT[mem.quant]}")
    if mem.kv_dtype in _VLLM_KV:
        args.append(f"--kv-cache-dtype {_VLLM_KV[mem.kv_dtype]}")
    if model.is_moe and mem.gpus > 1:
        args.append("--enable-expert-parallel")
    return args + _vllm_lora_args(mem)


def _adapter_names(mem: MemoryPlan) -> tuple[str, ...]:
    slots = mem.lora
    assert slots is not None
    return slots.adapters or tuple(f"adapter{i + 1}" for i in range(slots.max_loras))


def _vllm_lora_args(mem: MemoryPlan) -> list[str]:
    """Multi-LoRA serving: every adapter named, as many on the GPU as the plan holds."""
    if mem.lora is None:
        return []
    names = _adapter_names(mem)
    modules = " ".join(f"{n}=./adapters/{n}" for n in names)
    return [
        "--enable-lora",
        f"--lora-modules {modules}",
        f"--max-loras {mem.lora.max_loras}",
        f"--max-lora-rank {mem.lora.max_rank}",
        f"--max-cpu-loras {max(mem.lora.max_loras, len(names))}",
    ]


def vllm(model: Model, mem: MemoryPlan) -> Recipe:
    """``vllm serve`` with the plan's parallelism, length, memory share and formats."""
    args = _vllm_args(model, mem)
    return Recipe("vllm", "vLLM", "vllm serve " + " \\\n  ".join(args))


def sglang(model: Model, mem: MemoryPlan) -> Recipe:
    """``sglang.launch_server`` equivalent of the plan."""
    repo, prequantized = checkpoint(model, mem.quant)
    args = [
        f"--model-path {repo}",
        f"--tp {mem.tensor_parallel}",
        f"--context-length {mem.context}",
        f"--mem-fraction-static {mem.budget_gib / mem.gpu_gib:.2f}",
    ]
    if not prequantized and mem.quant == "fp8":
        args.append("--quantization fp8")
    if mem.kv_dtype in _SGLANG_KV:
        args.append(f"--kv-cache-dtype {_SGLANG_KV[mem.kv_dtype]}")
    return Recipe("sglang", "SGLang", "python -m sglang.launch_server " + " \\\n  ".join(args))


def ollama(model: Model, mem: MemoryPlan) -> Recipe:
    """An Ollama Modelfile with num_ctx, and the commands that build and run it."""
    tag = model.ollama_tag or f"hf.co/{_gguf_repo(model, mem.quant) or model.hf_repo}"
    kv = {"q8_0": "q8_0", "q4_0": "q4_0"}.get(mem.kv_dtype)
    env = f"OLLAMA_NUM_PARALLEL={mem.batch} OLLAMA_FLASH_ATTENTION=1"
    if kv:
        env += f" OLLAMA_KV_CACHE_TYPE={kv}"
    text = (
        f"# Modelfile\nFROM {tag}\nPARAMETER num_ctx {mem.context}\n\n"
        f"# then:\n{env} ollama serve &\n"
        f"ollama create {model.id}-{mem.context // 1024}k -f Modelfile\n"
        f"ollama run {model.id}-{mem.context // 1024}k"
    )
    return Recipe("ollama", "Ollama", text, "Modelfile")


def llamacpp(model: Model, mem: MemoryPlan) -> Recipe:
    """``llama-server`` with the GGUF, -ngl layers on GPU, total context and slots."""
    quant = mem.quant.removeprefix("gguf-").upper()
    repo = _gguf_repo(model, mem.quant)
    source = f"-hf {repo}:{quant}" if repo else f"-m ./{model.id}-{quant}.gguf"
    args = [
        source,
        f"-ngl {mem.gpu_layers if mem.gpu_layers < mem.layers else 999}",
        f"-c {mem.context * mem.batch}",
        f"--parallel {mem.batch}",
        "-fa on",
    ]
    if mem.kv_dtype in ("q8_0", "q4_0"):
        args.append(f"-ctk {mem.kv_dtype} -ctv {mem.kv_dtype}")
    args += _llamacpp_lora_args(mem)
    text = "llama-server " + " \\\n  ".join(args)
    if mem.lora is not None:
        text = (
            "# each PEFT adapter to GGUF first (llama.cpp repo):\n"
            "#   python convert_lora_to_gguf.py --base BASE_HF_DIR --outtype f16 ADAPTER_DIR\n"
            + text
        )
    if not repo:
        text = f"# no GGUF repo in the catalog: convert {model.hf_repo} or find one\n" + text
    return Recipe("llamacpp", "llama.cpp llama-server", text)


def _llamacpp_lora_args(mem: MemoryPlan) -> list[str]:
    """Adapters loaded at start; with several, none applied until a request's `lora` field
    ([{"id": N, "scale": 1.0}]) picks one."""
    if mem.lora is None:
        return []
    names = _adapter_names(mem)
    args = [f"--lora ./adapters/{n}.gguf" for n in names]
    return [*args, "--lora-init-without-apply"] if len(names) > 1 else args


def tgi(model: Model, mem: MemoryPlan) -> Recipe:
    """Text Generation Inference in Docker."""
    repo, prequantized = checkpoint(model, mem.quant)
    quant = "" if prequantized else _TGI_QUANT.get(mem.quant, "")
    args = [
        f"--model-id {repo}",
        f"--num-shard {mem.tensor_parallel}",
        f"--max-total-tokens {mem.context}",
        f"--max-input-tokens {mem.context - 1}",
    ]
    if quant:
        args.append(f"--quantize {quant}")
    text = (
        "docker run --gpus all --shm-size 1g -p 8080:80 -v $PWD/data:/data "
        "-e HF_TOKEN \\\n  ghcr.io/huggingface/text-generation-inference:latest \\\n  "
        + " \\\n  ".join(args)
    )
    return Recipe("tgi", "TGI", text)


def compose(model: Model, mem: MemoryPlan) -> Recipe:
    """A docker compose file running the vLLM recipe with the GPUs it needs."""
    args = "\n".join(f"      - {a}" for a in " ".join(_vllm_args(model, mem)).split(" "))
    text = f"""services:
  vllm:
    image: vllm/vllm-openai:latest
    ipc: host
    ports: ["8000:8000"]
    environment: [HF_TOKEN]
    volumes: ["~/.cache/huggingface:/root/.cache/huggingface"]
    command:
{args}
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: {mem.gpus}
              capabilities: [gpu]
"""
    return Recipe("compose", "docker compose (vLLM)", text, "compose.yaml")


def multinode(model: Model, mem: MemoryPlan, nodes: int, gpus_per_node: int) -> list[Recipe]:
    """vLLM on Ray across ``nodes`` and the equivalent Kubernetes LeaderWorkerSet."""
    repo, _ = checkpoint(model, mem.quant)
    serve = (
        f"vllm serve {repo} --tensor-parallel-size {gpus_per_node} "
        f"--pipeline-parallel-size {nodes} --max-model-len {mem.context} "
        "--distributed-executor-backend ray"
    )
    ray = (
        "# on the head node\nray start --head --port 6379\n"
        f"# on each of the {nodes - 1} worker node(s)\nray start --address HEAD_IP:6379\n"
        f"# then, on the head node\n{serve}"
    )
    lws = f"""apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata:
  name: {model.id.replace(".", "-")}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: {nodes}
    leaderTemplate:
      spec:
        containers:
          - name: vllm-leader
            image: vllm/vllm-openai:latest
            command: ["sh", "-c", "ray start --head --port 6379 && {serve}"]
            resources: {{limits: {{nvidia.com/gpu: "{gpus_per_node}"}}}}
            ports: [{{containerPort: 8000}}]
    workerTemplate:
      spec:
        containers:
          - name: vllm-worker
            image: vllm/vllm-openai:latest
            command: ["sh", "-c", "ray start --address $(LWS_LEADER_ADDRESS):6379 --block"]
            resources: {{limits: {{nvidia.com/gpu: "{gpus_per_node}"}}}}
"""
    return [
        Recipe("ray", f"vLLM on Ray ({nodes} nodes × {gpus_per_node} GPUs)", ray),
        Recipe("kubernetes", "Kubernetes LeaderWorkerSet", lws, "lws.yaml"),
    ]


def recipes(model: Model, mem: MemoryPlan) -> list[Recipe]:
    """Every single-node recipe the plan's format allows (GGUF engines for GGUF formats)."""
    if mem.quant.startswith("gguf-"):
        return [llamacpp(model, mem), ollama(model, mem)]
    found = [vllm(model, mem), sglang(model, mem), tgi(model, mem), compose(model, mem)]
    if mem.quant == "mxfp4":
        found += [llamacpp(model, mem), ollama(model, mem)]
    return found
