"""Planner vs published: vLLM startup logs (memory) and published decode speeds, llmfit beside."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfdoc import Section, error, load, num, pct, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
WEIGHTS, KV, SPEED = 0.02, 0.05, 0.10
"""How close counts: weights within 2 %, KV pool and sessions within 5 %, speed within 10 %."""
GROUPS = {
    "vllm": "served vLLM",
    "calibrations": "bare kernels, H100",
    "llamacpp_gpu": "llama.cpp, GPUs",
    "llamacpp_cpu": "llama.cpp, CPUs",
}
Run = dict[str, Any]


def _err(run: Run, field: str) -> float | None:
    return error(run["planned"][field], run["measured"][field])


def _within(runs: list[Run], field: str, limit: float) -> str:
    errors = [abs(e) for r in runs if (e := _err(r, field)) is not None]
    if not errors:
        return "n/a"
    close = sum(e <= limit for e in errors)
    return f"{close} (max {pct(max(errors), 1, False)})"


def _memory_row(name: str, runs: list[Run]) -> list[object]:
    started = [r for r in runs if r["started"]]
    judged = [r for r in runs if r["verdict"] != "n/a"]
    wrong = sum(r["verdict"] == "wrong" for r in judged)
    return [name, f"{len(started)} of {len(runs)}", _within(started, "weights_gib", WEIGHTS),
            _within(started, "kv_pool_gib", KV), _within(started, "concurrency", KV),
            f"{wrong} of {len(judged)}"]  # fmt: skip


def _llmfit_row(runs: list[Run]) -> list[object]:
    asked = [r for r in runs if r["verdict"] != "n/a" and r["llmfit"]]
    wrong = sum(r["llmfit"]["fits"] != r["started"] for r in asked)
    return ["llmfit", "", "n/a", "n/a", "n/a", f"{wrong} of {len(asked)}"]


def _memory_miss(run: Run) -> bool:
    far: Callable[[str, float], bool] = lambda f, limit: abs(_err(run, f) or 0) > limit  # noqa: E731
    return run["verdict"] == "wrong" or far("weights_gib", WEIGHTS) or far("kv_pool_gib", KV)


def _split(run: Run) -> str:
    return f"TP{run['tp']}" + (f" PP{run['pp']}" if run["pp"] > 1 else "")


def _speed_summary(name: str, rows: list[Run]) -> list[list[object]]:
    out = []
    for role in ("train", "test"):
        errors = [abs(r["error"]) for r in rows if r["role"] == role]
        if errors:
            out.append([name, "fitted on" if role == "train" else "held out", len(errors),
                        sum(e <= SPEED for e in errors), pct(statistics.median(errors), 1, False),
                        pct(max(errors), 1, False)])  # fmt: skip
    return out


def _speed_miss(r: Run) -> list[object]:
    prefill = r["what"].startswith("prefill")
    tok_s = (r["context"] if prefill else r["batch"]) * 1000 / r["measured_ms"]
    point = "prefill" if prefill else f"b{r['batch']}"
    return [r["model_id"], r["hardware"], f"{point}, {num(r['context'])}", num(tok_s, 1),
            pct(r["error"])]  # fmt: skip


def section() -> Section:
    run = load(RESULTS)
    runs = run["memory"]["runs"]
    held, fitted = [r for r in runs if not r["train"]], [r for r in runs if r["train"]]
    memory = [_memory_row("held out", held), _memory_row("fitted on", fitted), _llmfit_row(runs)]
    misses = [[r["model_id"], r["quant"], _split(r), pct(_err(r, "weights_gib")),
               pct(_err(r, "kv_pool_gib")), f"{'started' if r['started'] else 'failed'} / "
               f"{r['verdict']}"] for r in held if _memory_miss(r)]  # fmt: skip
    speed = [row for key, name in GROUPS.items() for row in _speed_summary(name, run["speed"][key])]
    slow = [_speed_miss(r) for key in GROUPS for r in run["speed"][key]
            if r["role"] == "test" and abs(r["error"]) > SPEED]  # fmt: skip
    body = (
        f"Memory: {len(runs)} vLLM startup logs (weights per GPU, KV pool, sessions at the "
        f"context; within {pct(WEIGHTS, 0, False)}, {pct(KV, 0, False)}, "
        f"{pct(KV, 0, False)}):\n\n"
        + table(["runs", "started", "weights", "KV pool", "sessions", "wrong fits"], memory)
        + "\n\nHeld-out runs outside those bounds, or judged wrong:\n\n"
        + table(
            ["model", "format", "split", "weights", "KV pool", "vLLM / verdict"], misses, right=3
        )
        + f"\n\nSpeed: decode (and CPU prefill) tok/s against published figures, within "
        f"{pct(SPEED, 0, False)}:\n\n"
        + table(["references", "points", "n", "within", "median", "max"], speed, right=2)
        + "\n\nHeld-out points outside it:\n\n"
        + table(["model", "hardware", "point, ctx", "published", "err"], slow, right=3)
    )
    return Section(
        title="Planner vs published",
        command=".venv/bin/python benchmarks/planner_vs_published/run.py",
        results=(RESULTS,),
        when=f"{run['when']} on the CPU machine (no GPU): profiles {run['profiles']['vllm']}, "
        f"{run['profiles']['llamacpp']}; llmfit {run['llmfit']}",
        body=body,
        notes=(
            "Everything here is the planner's arithmetic against figures other people "
            "published. Memory: every H100 run of a catalog model in llm-d-planner's vLLM "
            "0.19.0 startup logs (`accuracy/results/v0.19.0`), read from the logs' own lines; "
            "`fit.py` fits vLLM's activation peak and non-torch memory on the runs marked "
            "`train` only. Speed: `speed_refs.py` (served vLLM TPOT / inter-token latency, "
            "llama-bench on GPUs and CPUs, each with engine version and source) and the "
            'shipped H100 kernel calibrations ("GPU measurements"); `speed.py --fit` fits on '
            "the `train` points only, and points where the client rather than the GPU was the "
            "limit are excluded. llmfit has no tensor parallelism, KV pool or batch: it answers "
            "whether a run fits and batch-1 speed only. Known causes of the misses are in "
            "performance-history.md (fragmentation at 0.95 memory utilization, a kernel tile "
            "llama.cpp uses, thread-bound CPU runs): on CPU hosts pass `--ram-bandwidth` with a "
            "measured figure and read prefill as rough."
        ),
    )
