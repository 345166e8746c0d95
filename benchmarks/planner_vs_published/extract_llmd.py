"""Extract vLLM 0.19.0 startup figures from llm-d-planner's published accuracy logs.

Usage:  python benchmarks/planner_vs_published/extract_llmd.py GIT_DIR [COMMIT]

GIT_DIR is a clone (or bare mirror) of github.com/llm-d-incubation/llm-d-planner; COMMIT
defaults to d3121e059da88662db39a926a3ead964be97359b, the last commit that carries the raw
logs (accuracy/results/v0.19.0/). Writes data/llmd_v019.json: one row per run with the
figures vLLM printed (weights, activation, non-torch, KV pool, KV tokens, concurrency) and, for
runs that failed, the error line. Only numbers and file names are kept, with the source.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMIT = "d3121e059da88662db39a926a3ead964be97359b"
RESULTS = "accuracy/results/v0.19.0"
NUMBERS = (
    "gpu_memory_utilization",
    "init_total_memory_gib",
    "init_cuda_memory_gib",
    "requested_memory_gib",
    "weight_memory_gib",
    "weights_memory_gib",
    "activation_memory_gib",
    "non_torch_forward_gib",
    "cuda_graph_actual_gib",
    "kv_cache_memory_gib",
    "kv_cache_tokens",
    "max_concurrency",
)
ERROR = re.compile(r"(?:RuntimeError|ValueError|AssertionError): (.{0,160})")
GENERIC = ("Engine core initialization failed", "Worker failed with error")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _error(repo: Path, commit: str, log: str) -> str | None:
    text = _git(repo, "show", f"{commit}:{RESULTS}/logs/{log}")
    causes = [m.strip() for m in ERROR.findall(text) if not m.startswith(GENERIC)]
    return causes[0] if causes else None


def extract(repo: Path, commit: str) -> list[dict[str, object]]:
    raw = _git(repo, "show", f"{commit}:{RESULTS}/results_raw.csv")
    rows = []
    for row in csv.DictReader(io.StringIO(raw)):
        if not row["model"]:
            continue
        entry: dict[str, object] = {
            "log": row["log_file"],
            "status": row["status"],
            "model": row["model"],
            "tp": int(row["tp"]),
            "pp": int(row["pp"]),
            "max_model_len": int(row["max_model_len"]),
            "dtype": row["dtype"].removeprefix("torch."),
            "quantization": row["quantization"],
            "kv_cache_dtype": row["kv_cache_dtype"],
        }
        entry.update({name: _number(row[name]) for name in NUMBERS})
        if row["status"] != "ok":
            entry["error"] = _error(repo, commit, row["log_file"])
        rows.append(entry)
    return rows


def main() -> None:
    repo = Path(sys.argv[1])
    commit = sys.argv[2] if len(sys.argv) > 2 else COMMIT
    rows = extract(repo, commit)
    doc = {
        "source": (
            f"github.com/llm-d-incubation/llm-d-planner@{commit} {RESULTS}/results_raw.csv "
            "and logs/ (vLLM 0.19.0, H100-80GB, --max-model-len as listed, "
            "--enable-prefix-caching off)"
        ),
        "runs": rows,
    }
    out = HERE / "data" / "llmd_v019.json"
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} runs -> {out}")


if __name__ == "__main__":
    main()
