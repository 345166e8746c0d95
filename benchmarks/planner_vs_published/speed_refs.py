"""Published decode-speed figures the planner is held to, each with engine version and source.

A reference is one step time: TPOT or median inter-token latency of a serving benchmark, or
1000 / tok/s of llama-bench (``pp512`` at micro-batch N stands for decode at batch N: each
step reads the weights once for N tokens). ``role`` says what the figure is used for:
``train`` (a factor of engines.yaml is fitted on it), ``test`` (held out), or ``excluded``
(kept visible with the reason it cannot be compared).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["train", "test", "excluded"]

INFERENCEBENCH = (
    "InferenceBench (github.com/yobitelcomm/bench), H100 80GB HBM3, vLLM 0.21.0, chatbot-short "
    "(5 built-in short prompts, max_tokens 128), TPOT p50"
)
MARATHON = (
    "InferenceBench multi-vendor marathon (github.com/yobitelcomm/bench "
    "docs/recipes/multi-vendor-marathon.md, validation-runs/2026-05-18-multi-vendor-marathon), "
    "H100 80GB HBM3, vLLM 0.21.0, chatbot-short closed loop (first sweep point, concurrency 4; "
    "the envelope's throughput implies 3-4 streams), TPOT p50"
)
MUSGRAVE = (
    "johnmusgrave.com/p/vllm-throughput-latency-sweep-on: A100 40GB (Lambda), vLLM 0.23.0, "
    "random 1024 in / 128 out, 'decode at one request per time runs at about 75 tokens/sec'"
)
WMX = (
    "ai.wmx.dev/benchmarks: NVIDIA L4, vLLM 0.23, Qwen2.5-0.5B-Instruct BF16, random 256 in / "
    "128 out, ITL p50"
)
KVCACHED = (
    "github.com/ovg-project/kvcached PR #331, H100_results.md: vLLM 0.19 baseline, Qwen3-0.6B, "
    "512 in / 128 out at 16 req/s (about 5.5 requests in flight), TPOT mean"
)
LLAMACPP_3090 = (
    "llama.cpp PR #15802 (github.com/ggml-org/llama.cpp), master before the PR: RTX 3090, "
    "llama 8B Q4_0, llama-bench pp512 at micro-batch 1-8"
)
LLAMACPP_4090 = (
    "llama.cpp PR #15131 (github.com/ggml-org/llama.cpp), master before the PR: RTX 4090, "
    "llama 8B Q4_0, llama-bench pp512 at micro-batch 10-16"
)
LHL = (
    "lhl's llama.cpp notes 'Testing llama.cpp with Intel's Xe2 iGPU (Core Ultra 7 258V)', "
    "comparison section: Mistral-7B-Instruct-v0.3 Q4_K_M, llama-bench -fa 1, build 1804adb0 (4006)"
)
LHL_LNL = (
    "lhl's llama.cpp notes 'Testing llama.cpp with Intel's Xe2 iGPU (Core Ultra 7 258V)': "
    "4 P-cores + 4 LP E-cores, AVX2/AVX-VNNI, LPDDR5X-8533 (136.5 GB/s), CPU backend, "
    "build ba6f62eb (4008)"
)
TR5995 = (
    "llama.cpp PR #8908 (github.com/ggml-org/llama.cpp), base commit 7e72aa74: AMD Threadripper "
    "PRO 5995WX (64 cores, AVX2), 8-channel DDR4-3200 (204.8 GB/s), Mistral-7B-v0.3 Q4_0, 64 "
    "threads"
)
IK54 = (
    "ik_llama.cpp PR #54 (github.com/ikawrakow/ik_llama.cpp), the 'llama.cpp' column (mainline, "
    "2024-09): LLaMA-3.1-8B Q4_0"
)


@dataclass(frozen=True)
class CpuSpec:
    """The CPU of a llama-bench CPU run."""

    name: str
    cores: int
    """Threads the run used (llama-bench -t), as physical cores."""
    isa: str
    bandwidth_gbps: float
    bandwidth_basis: str


@dataclass(frozen=True)
class SpeedRef:
    """One published step time and the question to ask the planner about it."""

    engine: str
    model_id: str
    quant: str
    gpu: str
    """Catalog GPU id (``cpu`` for a CPU run)."""
    batch: int
    context: int
    """Tokens each sequence holds at the average step."""
    measured_ms: float
    metric: str
    version: str
    source: str
    role: Role
    fits: str = ""
    """Which factor a training point fits."""
    tp: int = 1
    kernel_only: bool = False
    """A bare-model calibration (no sampler, no scheduler): compared without them."""
    cpu: CpuSpec | None = None
    prefill: bool = False
    """A prompt of ``context`` tokens processed at batch 1 (llama-bench pp512), not decode."""
    note: str = ""


def _tok_s(value: float, batch: int = 1) -> float:
    """Step time in ms of a run producing ``value`` tokens/s at ``batch`` tokens per step."""
    return batch * 1000 / value


LNL = CpuSpec("Core Ultra 7 258V", 4, "avx2", 136.5, "LPDDR5X-8533 theoretical")
LNL8 = CpuSpec("Core Ultra 7 258V (4 P + 4 LP E-cores)", 8, "avx2", 136.5, LNL.bandwidth_basis)
TR = CpuSpec("Threadripper PRO 5995WX", 64, "avx2", 204.8, "8-channel DDR4-3200 theoretical")
R7950 = CpuSpec("Ryzen 9 7950X", 16, "avx512", 89.6, "unstated: DDR5 dual-channel assumed")
R7950_4 = CpuSpec("Ryzen 9 7950X", 4, "avx512", 89.6, R7950.bandwidth_basis)
TR5975 = CpuSpec("Threadripper PRO 5975WX", 32, "avx2", 204.8, "unstated: 8-channel DDR4-3200")
TR5975_8 = CpuSpec("Threadripper PRO 5975WX", 8, "avx2", 204.8, TR5975.bandwidth_basis)

VLLM: list[SpeedRef] = [
    SpeedRef(
        "vllm",
        "llama-3.1-8b-instruct",
        "bf16",
        "h100-sxm",
        1,
        128,
        6.48,
        "TPOT p50",
        "0.21",
        INFERENCEBENCH + ", concurrency 1",
        "train",
        "eta_bw, step overhead",
    ),
    SpeedRef(
        "vllm",
        "llama-3.1-8b-instruct",
        "bf16",
        "a100-40g-sxm",
        1,
        1088,
        _tok_s(75),
        "1000 / decode tok/s",
        "0.23",
        MUSGRAVE,
        "train",
        "eta_bw, step overhead",
    ),
    SpeedRef(
        "vllm",
        "llama-3.1-8b-instruct",
        "bf16",
        "h100-sxm",
        4,
        128,
        6.59,
        "TPOT p50",
        "0.21",
        INFERENCEBENCH + ", concurrency 4",
        "test",
    ),
    SpeedRef(
        "vllm",
        "llama-3.1-8b-instruct",
        "bf16",
        "h100-sxm",
        16,
        128,
        10.94,
        "TPOT p50",
        "0.21",
        INFERENCEBENCH + ", concurrency 16",
        "excluded",
        note="client-bound: total throughput is flat from concurrency 16 (1,384 tok/s) to 64 "
        "(1,312 tok/s) while TPOT grows 4x, which the GPU cannot explain at 128-token contexts",
    ),
    SpeedRef(
        "vllm",
        "llama-3.1-8b-instruct",
        "bf16",
        "h100-sxm",
        64,
        128,
        46.91,
        "TPOT p50",
        "0.21",
        INFERENCEBENCH + ", concurrency 64",
        "excluded",
        note="client-bound (see concurrency 16)",
    ),
    SpeedRef(
        "vllm",
        "llama-3.1-8b-instruct",
        "bf16",
        "h100-sxm",
        4,
        128,
        6.60,
        "TPOT p50",
        "0.21",
        MARATHON,
        "test",
    ),
    SpeedRef(
        "vllm",
        "qwen2.5-7b-instruct",
        "bf16",
        "h100-sxm",
        4,
        128,
        6.27,
        "TPOT p50",
        "0.21",
        MARATHON,
        "test",
    ),
    SpeedRef(
        "vllm",
        "mistral-7b-instruct-v0.3",
        "bf16",
        "h100-sxm",
        4,
        128,
        7.04,
        "TPOT p50",
        "0.21",
        MARATHON,
        "test",
    ),
    SpeedRef(
        "vllm",
        "llama-3.1-70b-instruct",
        "bf16",
        "h100-sxm",
        4,
        128,
        15.86,
        "TPOT p50",
        "0.21",
        MARATHON + "; 4 GPUs (tensor parallel 4)",
        "train",
        "all-reduce time",
        tp=4,
    ),
    SpeedRef(
        "vllm",
        "qwen3-0.6b",
        "bf16",
        "h100-sxm",
        6,
        576,
        2.39,
        "TPOT mean",
        "0.19",
        KVCACHED,
        "train",
        "CPU floor",
    ),
    *(
        SpeedRef(
            "vllm",
            "qwen2.5-0.5b-instruct",
            "bf16",
            "l4",
            batch,
            320,
            ms,
            "ITL p50",
            "0.23",
            f"{WMX}, concurrency {batch}",
            "train" if batch == 32 else "test",
            "sampler passes" if batch == 32 else "",
        )
        for batch, ms in ((1, 5.1), (2, 5.2), (4, 5.3), (8, 5.5), (16, 6.0), (32, 7.1))
    ),
]
"""Current vLLM (0.19-0.23), served; the vLLM 0.19 profile answers for all of them."""

_CAL = "shipped `yard measure` calibration (src/modelyard/plan/data/calibrations), H100 SXM, torch"

CALIBRATIONS_TRAIN = {"llama-3.1-8b-instruct": "eta_bw", "qwen3-30b-a3b": "per-MoE-layer time"}
"""Calibrations factors are fitted on (Llama-3.1-8B's kernels with the two served batch-1
points for eta_bw; Qwen3-30B-A3B for the MoE time); the others test them."""

LLAMACPP: list[SpeedRef] = [
    *(
        SpeedRef(
            "llamacpp",
            "llama-3.1-8b-instruct",
            "gguf-q4_0",
            "rtx-3090",
            batch,
            256,
            _tok_s(tok_s, batch),
            "batch / pp512 t/s",
            "master 2025-09",
            LLAMACPP_3090,
            "train" if batch in (1, 8) else "test",
            "eta_bw, small-batch eta_compute" if batch in (1, 8) else "",
        )
        for batch, tok_s in enumerate(
            (155.02, 277.36, 390.23, 468.95, 514.50, 529.37, 559.17, 570.67), start=1
        )
    ),
    SpeedRef(
        "llamacpp",
        "llama-3.1-8b-instruct",
        "gguf-q4_0",
        "rtx-4090",
        16,
        256,
        _tok_s(1891.88, 16),
        "batch / pp512 t/s",
        "master 2025-08",
        LLAMACPP_4090,
        "train",
        "MMQ eta_compute",
    ),
    SpeedRef(
        "llamacpp",
        "llama-3.1-8b-instruct",
        "gguf-q4_0",
        "rtx-4090",
        10,
        256,
        _tok_s(1183.07, 10),
        "batch / pp512 t/s",
        "master 2025-08",
        LLAMACPP_4090,
        "test",
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_k_m",
        "rtx-3090",
        1,
        64,
        _tok_s(150.65),
        "1000 / tg128 t/s",
        "b4006",
        LHL,
        "test",
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_k_m",
        "rtx-4090",
        1,
        64,
        _tok_s(172.3),
        "1000 / tg128 t/s",
        "b4006",
        LHL,
        "test",
    ),
]
"""llama.cpp on NVIDIA GPUs (llama-bench)."""

CPU: list[SpeedRef] = [
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_0",
        "cpu",
        1,
        64,
        _tok_s(33.74),
        "1000 / tg128 t/s",
        "2024-08 (7e72aa74)",
        TR5995,
        "train",
        "CPU eta_bw",
        cpu=TR,
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_0",
        "cpu",
        1,
        512,
        _tok_s(189.30, 512),
        "512 / pp512 t/s",
        "2024-08 (7e72aa74)",
        TR5995,
        "train",
        "AVX2 GFLOP/s per core",
        cpu=TR,
        prefill=True,
    ),
    SpeedRef(
        "llamacpp",
        "llama-3.1-8b-instruct",
        "gguf-q4_0",
        "cpu",
        1,
        512,
        _tok_s(123.46, 512),
        "512 / pp512 t/s",
        "2024-09",
        IK54 + ", Ryzen 9 7950X, 16 threads",
        "train",
        "AVX-512 GFLOP/s per core",
        cpu=R7950,
        prefill=True,
    ),
    SpeedRef(
        "llamacpp",
        "llama-3.1-8b-instruct",
        "gguf-q4_0",
        "cpu",
        1,
        64,
        _tok_s(11.25),
        "1000 / tg128 t/s",
        "2024-09",
        IK54 + ", Ryzen 9 7950X, 4 threads",
        "test",
        cpu=R7950_4,
    ),
    SpeedRef(
        "llamacpp",
        "llama-3.1-8b-instruct",
        "gguf-q4_0",
        "cpu",
        1,
        512,
        _tok_s(139.09, 512),
        "512 / pp512 t/s",
        "2024-09",
        IK54 + ", Threadripper 5975WX, 32 threads",
        "test",
        cpu=TR5975,
        prefill=True,
    ),
    SpeedRef(
        "llamacpp",
        "llama-3.1-8b-instruct",
        "gguf-q4_0",
        "cpu",
        1,
        64,
        _tok_s(11.90),
        "1000 / tg128 t/s",
        "2024-09",
        IK54 + ", Threadripper 5975WX, 8 threads",
        "test",
        cpu=TR5975_8,
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_k_m",
        "cpu",
        1,
        64,
        _tok_s(12.36),
        "1000 / tg128 t/s",
        "b4008",
        LHL_LNL + ", 4 threads",
        "test",
        cpu=LNL,
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_k_m",
        "cpu",
        1,
        512,
        _tok_s(21.90, 512),
        "512 / pp512 t/s",
        "b4008",
        LHL_LNL + ", 4 threads",
        "test",
        cpu=LNL,
        prefill=True,
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_k_m",
        "cpu",
        1,
        64,
        _tok_s(11.76),
        "1000 / tg128 t/s",
        "b4008",
        LHL_LNL + ", 8 threads",
        "test",
        cpu=LNL8,
    ),
    SpeedRef(
        "llamacpp",
        "mistral-7b-instruct-v0.3",
        "gguf-q4_k_m",
        "cpu",
        1,
        512,
        _tok_s(30.35, 512),
        "512 / pp512 t/s",
        "b4008",
        LHL_LNL + ", 8 threads",
        "test",
        cpu=LNL8,
        prefill=True,
    ),
]
"""llama.cpp CPU backend (llama-bench): decode (tg128) and prompt processing (pp512)."""
