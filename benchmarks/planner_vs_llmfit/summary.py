"""Planner vs llmfit: both tools' memory and batch-1 speed against published measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, error, load, num, pct, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
WITHIN = 0.05
"""The memory error both tools are counted against."""


def _row(row: dict[str, Any], unit: str, digits: int) -> list[object]:
    ref = row[f"reference_{unit}"]
    ours, theirs = row[f"modelyard_{unit}"], row[f"llmfit_{unit}"]
    return [num(ref, digits), num(ours, digits), pct(error(ours, ref)), num(theirs, digits),
            pct(error(theirs, ref))]  # fmt: skip


def _within(rows: list[dict[str, Any]], tool: str) -> int:
    return sum(abs(error(r[f"{tool}_gib"], r["reference_gib"]) or 1) <= WITHIN for r in rows)


def section() -> Section:
    run = load(RESULTS)
    measured = [r for r in run["vram"] if r["reference_gib"] is not None]
    vram = [[r["model_id"], r["quant"], f"{r['context'] // 1024}k", *_row(r, "gib", 2)]
            for r in measured]  # fmt: skip
    kv = [[r["model_id"], r["kv_dtype"], f"{r['context'] // 1024}k", *_row(r, "gib", 3)]
          for r in run["kv"]]  # fmt: skip
    speed = [[r["model_id"], r["quant"], r["gpu"], *_row(r, "tok_s", 1)]
             for r in run["decode"] if r["reference_tok_s"] is not None]  # fmt: skip
    unmeasured = len(run["vram"]) - len(measured) + len(run["decode"]) - len(speed)
    ctx = ["model", "format", "ctx", "ref", "ours", "err", "llmfit", "err"]
    body = (
        f"Weights + one sequence's KV, GiB (within {pct(WITHIN, 0, False)}: modelyard "
        f"{_within(measured, 'modelyard')} of {len(measured)}, llmfit "
        f"{_within(measured, 'llmfit')} of {len(measured)}):\n\n"
        + table(ctx, vram, right=3)
        + "\n\nKV cache alone, GiB:\n\n"
        + table(["model", "KV dtype", "ctx", *ctx[3:]], kv, right=3)
        + "\n\nDecode tok/s, batch 1, 8k context:\n\n"
        + table(["model", "format", "GPU", *ctx[3:]], speed, right=3)
        + f"\n\n{unmeasured} further answers of both tools (other models and GPUs) have no "
        "published measurement to score them; they are in the results file."
    )
    return Section(
        title="Planner vs llmfit",
        command=".venv/bin/python benchmarks/planner_vs_llmfit/run.py",
        results=(RESULTS,),
        when=f"{run['when']} on the CPU machine (no GPU), llmfit {run['llmfit']}",
        body=body,
        notes=(
            "llmfit is told the hardware with `--profile` (bundled `nvidia-rtx-4090`; an H100 "
            "SXM profile with the datasheet bandwidth, more favourable than what llmfit "
            "detects on a real H100). Memory references are the weights as vLLM loaded them "
            "(llm-d's table) plus one sequence's KV from vLLM's page formula, so only the "
            "weights part is independent; the GGUF Q6_K reference is llama-quantize's size "
            "table, where our bits per weight come from (true by construction). llmfit has no "
            "FP8 and is asked Q8_0 instead. The two speed references are old (vLLM and "
            'llama.cpp of 2024); "Planner vs published" holds the planner to current engines.'
        ),
    )
