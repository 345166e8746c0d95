"""Eval runner throughput: 2,000 items against a fast local fake endpoint.

Starts tests/serve/fault_upstream.py as its own process (instant replies), writes a 2,000-item
numeric suite, then, for each of --runs rounds, runs `yard eval` as a child process twice with a
fresh YARD_HOME: a cold run (every item requested, every reply stored) and a warm rerun (every
reply read from the store). Writes wall time, runner time, requests and peak RSS of the `yard
eval` process to --out (docs/PERFORMANCE.md, "Eval throughput", is rendered from it).

    .venv/bin/python benchmarks/eval_throughput/run.py [--items 2000] [--concurrency 32] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "results" / "latest.json"
FAKE = REPO / "tests" / "serve" / "fault_upstream.py"
# the child reports its own peak RSS when it exits (KiB on Linux)
CHILD = (
    "import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
    "f'maxrss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')); "
    "from modelyard.cli import main; main()"
)


def write_suite(path: Path, items: int) -> None:
    with path.open("w") as handle:
        for i in range(items):
            row = {
                "id": f"q{i}",
                "prompt": f"Item {i}: what is 40 + 2?",
                "reference": 42,
                "scorer": "numeric",
                "category": f"c{i % 5}",
            }
            handle.write(json.dumps(row) + "\n")


def run_once(suite: Path, url: str, home: Path, concurrency: int) -> dict[str, float]:
    argv = [
        sys.executable,
        "-c",
        CHILD,
        "eval",
        str(suite),
        "-m",
        "fake",
        "--base-url",
        url,
        "-c",
        str(concurrency),
        "--json",
        "-o",
        str(home / "out"),
    ]
    env = {**os.environ, "YARD_HOME": str(home)}
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    body = json.loads(done.stdout)
    stats = body["stats"]
    peak_kib = int(done.stderr.rsplit("maxrss_kib=", 1)[1].split()[0])
    return {
        "wall_s": wall,
        "run_s": stats["duration_s"],
        "requests": stats["requests"],
        "cached": stats["cached"],
        "items": stats["items"],
        "peak_mib": peak_kib / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3, help="cold + warm pairs, each fresh")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    runs: list[dict[str, object]] = []
    report = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "items": args.items,
        "concurrency": args.concurrency,
        "runs": runs,
    }
    server = subprocess.Popen([sys.executable, str(FAKE)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp)
                suite = home / "suite.jsonl"
                write_suite(suite, args.items)
                for kind in ("cold", "warm"):
                    row = run_once(suite, url, home, args.concurrency)
                    runs.append({"kind": kind, **row})
                    print(kind, json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(10)
    report["loadavg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
