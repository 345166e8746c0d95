"""Measure the GPU grid: every model below, one calibration file each, within one device call.

Usage (on the GPU machine, through run_all.sh):
    python3 benchmarks/gpu_measure/run_all.py OUT_DIR [MODEL ...]
Naming models measures only those (the ones an earlier call had no time left for, say).

A model that fails (out of memory while building, a kernel that refuses) is logged and skipped;
the next one still runs. Models stop being started once the time budget is spent, so the device
call (10 minutes at most) always returns what was measured.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from modelyard.catalog import cached_catalog, find_model
from modelyard.measure import calibration_filename, measure, parse_grid

BUDGET_S = 420
MODELS: list[tuple[str, int | None, str, str]] = [
    # catalog id, layers (None = all), batches, contexts
    ("llama-3.1-8b-instruct", None, "1,8,32,128", "1k,8k,32k"),
    ("qwen2.5-7b-instruct", None, "1,8,32,128", "1k,8k,32k"),
    ("mistral-7b-instruct-v0.3", None, "1,8,32,128", "1k,8k,32k"),
    ("qwen3-30b-a3b", None, "1,8,32", "1k,8k,32k"),
    ("gemma-3-27b-it", None, "1,8,32", "1k,8k,32k"),
    # MLA + MoE: 3 dense and 2 MoE layers with DeepSeek-V3's exact shapes (49.6 GiB of weights)
    ("deepseek-v3", 5, "1,8,32", "1k,8k"),
    # MoE with a 128-token sliding window on every other layer (bf16 here; it ships in MXFP4)
    ("gpt-oss-20b", None, "1,8,32", "1k,8k,32k"),
]


def main(out: Path, only: list[str]) -> None:
    catalog = cached_catalog()
    start = time.monotonic()
    for model_id, layers, batches, contexts in MODELS:
        if only and model_id not in only:
            continue
        if time.monotonic() - start > BUDGET_S:
            print(f"SKIPPED {model_id}: time budget of {BUDGET_S} s spent")
            continue
        began = time.monotonic()
        try:
            model = find_model(catalog, model_id)
            grid = parse_grid(batches, contexts)
            cal, _ = measure(model, catalog, grid, "bf16", "cuda", layers, out / "pending.json")
            path = (out / "pending.json").rename(out / calibration_filename(cal))
        except Exception:  # one model's failure must not lose the others' figures
            print(f"FAILED {model_id}:\n{traceback.format_exc()}")
            continue
        print(f"{model_id}: {path.name} in {time.monotonic() - began:.0f} s")
        print(path.read_text())


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
