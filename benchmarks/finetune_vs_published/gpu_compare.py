"""Planned against measured for the training calibrations gpu_measure.sh leaves behind.

Usage:  .venv/bin/python benchmarks/finetune_vs_published/gpu_compare.py DIR

For every *.train.json in DIR: the model and GPU it names, and per point the measured peak
(torch allocated) and tokens/s beside the planner's, with errors. Writes results/gpu.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from modelyard.catalog import find_gpu, find_model, load_catalog
from modelyard.plan import Cluster, FinetuneSpec, load_train_calibrations, measured_training

HERE = Path(__file__).resolve().parent


def main(directory: Path) -> int:
    catalog = load_catalog()
    report = []
    for cal in load_train_calibrations(directory):
        if cal.gpu_id is None:
            print(f"{cal.model_id}: device {cal.device_name!r} matches no catalog GPU; skipped")
            continue
        model = find_model(catalog, cal.model_id)
        cluster = Cluster(find_gpu(catalog, cal.gpu_id))
        spec = FinetuneSpec(cal.method, rank=cal.rank or 16, optimizer=cal.optimizer)  # type: ignore[arg-type]
        spec = replace(spec, targets=tuple(cal.targets) or spec.targets)
        for found in measured_training(model, spec, cluster, directory):
            print(f"{cal.model_id} {cal.method} — {found.source}")
            head = f"{'point':<16}{'meas GiB':>9}{'plan GiB':>9}{'err':>6}"
            print(head + f"{'tok/s':>8}{'plan':>8}{'err':>6}")
            for c in found.points:
                label = f"{c.micro_batch}x{c.seq_len}" + (" ckpt" if c.grad_ckpt else "")
                speed = ""
                if c.measured_tok_s:
                    err = c.estimated_tok_s / c.measured_tok_s - 1
                    speed = f"{c.measured_tok_s:>8,.0f}{c.estimated_tok_s:>8,.0f}{err:>+6.0%}"
                print(f"{label:<16}{c.measured_gib:>9.2f}{c.estimated_gib:>9.2f}"
                      f"{c.memory_error:>+6.0%}{speed}")  # fmt: skip
            report.append(
                {"calibration": found.source, "points": [asdict(c) for c in found.points]}
            )
    out = HERE / "results" / "gpu.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
